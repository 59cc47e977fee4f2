//! One gRPC client connection on our HTTP/2 client ([`super::http2`]): the pre-framed Predict
//! request goes out as HEADERS and DATA, the answer is read in full (framing checked, message
//! not decoded) and its `grpc-status` decides success.
//!
//! What counts as what (the split gRPC's own clients make):
//! * `grpc-status: 0` in the trailers (after exactly one well-framed message) is a success;
//! * any other `grpc-status`, in the trailers or in a trailers-only answer, is
//!   [`ErrorKind::GrpcStatus`] and keeps the connection; an answer that ends without a
//!   `grpc-status` is INTERNAL (13), as gRPC's own clients report it;
//! * an HTTP status other than 200 is [`ErrorKind::HttpStatus`];
//! * a body that is not gRPC's length-prefixed framing, a reset stream or a broken connection
//!   is [`ErrorKind::Io`] (the runner then opens a new connection).
//!
//! A connection the server is closing (GOAWAY) takes no new calls: the runner reopens it before
//! the next call ([`Connection::accepts_calls`]), as a gRPC channel moves to a new transport.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, BufMut};

use super::http2::{self, Client, Part};
use super::{Connection, ErrorKind};

/// gRPC's message prefix: the compressed flag and a big-endian length.
const PREFIX: usize = 5;

/// gRPC's INTERNAL status code.
const INTERNAL: i32 = 13;

/// What every call sends, built once per target.
#[derive(Debug)]
pub(crate) struct Template {
    addr: SocketAddr,
    /// `:authority`, `host:port`.
    authority: String,
    path: String,
    /// The request message with its gRPC prefix.
    body: Vec<u8>,
    /// Largest answer message accepted.
    max_message: usize,
}

impl Template {
    /// A call of `path` on `addr` with the (unframed) `message`.
    pub(crate) fn new(addr: SocketAddr, path: &str, message: &[u8], max_message: usize) -> Self {
        let mut body = Vec::with_capacity(PREFIX + message.len());
        body.put_u8(0);
        body.put_u32(message.len() as u32);
        body.put_slice(message);
        Self {
            addr,
            authority: addr.to_string(),
            path: path.to_owned(),
            body,
            max_message,
        }
    }

    /// The request's header fields, in the order gRPC's clients send them.
    fn fields(&self) -> [(&[u8], &[u8]); 6] {
        [
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", self.path.as_bytes()),
            (b":authority", self.authority.as_bytes()),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
        ]
    }
}

/// One HTTP/2 connection to the gRPC port, carrying one call at a time.
#[derive(Debug)]
pub struct GrpcConnection {
    client: Client,
    template: Arc<Template>,
}

/// Opens a connection to `template`'s server.
pub(crate) async fn connect(template: Arc<Template>) -> Result<GrpcConnection, ErrorKind> {
    Ok(GrpcConnection {
        client: Client::connect(template.addr).await?,
        template,
    })
}

impl Connection for GrpcConnection {
    async fn call(&mut self) -> Result<(), ErrorKind> {
        let t = &*self.template;
        let mut answer = GrpcAnswer::new(t.max_message);
        self.client.call(&t.fields(), &t.body, &mut answer).await?;
        answer.outcome()
    }

    fn accepts_calls(&self) -> bool {
        self.client.accepts_calls()
    }
}

/// What a call's answer said, gathered as it arrives.
#[derive(Debug)]
struct GrpcAnswer {
    /// The block being read; `Trailers` at the end when the answer had trailers.
    part: Part,
    /// `:status`, once read (`Err` when it is not a number).
    http_status: Option<Result<u16, ()>>,
    /// `grpc-status` in the head (a trailers-only answer) and in the trailers.
    head_status: Option<i32>,
    trailer_status: Option<i32>,
    framing: Framing,
}

impl GrpcAnswer {
    fn new(max_message: usize) -> Self {
        Self {
            part: Part::Head,
            http_status: None,
            head_status: None,
            trailer_status: None,
            framing: Framing::new(max_message),
        }
    }

    fn outcome(&self) -> Result<(), ErrorKind> {
        match self.http_status {
            Some(Ok(200)) => {}
            Some(Ok(code)) => return Err(ErrorKind::HttpStatus(code)),
            Some(Err(())) | None => return Err(ErrorKind::Io),
        }
        // A trailers-only answer (an error before any message) carries its status in the head.
        let status = if self.part == Part::Trailers {
            self.trailer_status
        } else {
            self.head_status
        };
        match status {
            Some(0) if self.framing.messages == 1 && self.framing.at_boundary() => Ok(()),
            Some(0) => Err(ErrorKind::Io),
            Some(code) => Err(ErrorKind::GrpcStatus(code)),
            None => Err(ErrorKind::GrpcStatus(INTERNAL)),
        }
    }
}

impl http2::Answer for GrpcAnswer {
    fn block(&mut self, part: Part) {
        self.part = part;
    }

    fn field(&mut self, name: &[u8], value: &[u8]) {
        match (self.part, name) {
            (Part::Head, b":status") => {
                self.http_status = Some(number(value).ok_or(()));
            }
            (Part::Head, b"grpc-status") => self.head_status = number(value),
            (Part::Trailers, b"grpc-status") => self.trailer_status = number(value),
            _ => {}
        }
    }

    fn data(&mut self, chunk: &[u8]) -> Result<(), ErrorKind> {
        self.framing.push(chunk)
    }
}

/// A header value read as a decimal number (`:status`, `grpc-status`).
fn number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Follows gRPC's length-prefixed framing across DATA chunks without keeping the messages.
#[derive(Debug)]
struct Framing {
    /// Prefix bytes of the current message seen so far.
    prefix: [u8; PREFIX],
    prefix_len: usize,
    /// Bytes of the current message's body still to come, once its prefix is complete.
    remaining: usize,
    messages: usize,
    limit: usize,
}

impl Framing {
    fn new(limit: usize) -> Self {
        Self {
            prefix: [0; PREFIX],
            prefix_len: 0,
            remaining: 0,
            messages: 0,
            limit,
        }
    }

    fn push(&mut self, mut chunk: &[u8]) -> Result<(), ErrorKind> {
        while chunk.has_remaining() {
            if self.remaining > 0 {
                let n = self.remaining.min(chunk.len());
                self.remaining -= n;
                chunk.advance(n);
                continue;
            }
            self.prefix[self.prefix_len] = chunk.get_u8();
            self.prefix_len += 1;
            if self.prefix_len == PREFIX {
                self.prefix_len = 0;
                let len = u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]) as usize;
                // Compression is never asked for, so the flag must be 0.
                if self.prefix[0] != 0 || len > self.limit {
                    return Err(ErrorKind::Io);
                }
                self.remaining = len;
                self.messages += 1;
            }
        }
        Ok(())
    }

    /// Whether the last message is complete (no partial prefix or body pending).
    fn at_boundary(&self) -> bool {
        self.prefix_len == 0 && self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    #[test]
    fn framing_is_followed_across_chunks() {
        let bytes = framed(0, b"hello");
        for split in 0..bytes.len() {
            let mut f = Framing::new(100);
            f.push(&bytes[..split]).unwrap();
            f.push(&bytes[split..]).unwrap();
            assert_eq!((f.messages, f.at_boundary()), (1, true), "split at {split}");
        }
        let mut f = Framing::new(100);
        f.push(&bytes[..bytes.len() - 1]).unwrap();
        assert!(!f.at_boundary(), "a cut message is not complete");

        let mut f = Framing::new(100);
        f.push(&framed(0, b"")).unwrap();
        f.push(&framed(0, b"x")).unwrap();
        assert_eq!((f.messages, f.at_boundary()), (2, true));

        assert_eq!(
            Framing::new(100).push(&framed(1, b"x")),
            Err(ErrorKind::Io),
            "compressed"
        );
        assert_eq!(
            Framing::new(4).push(&framed(0, b"hello")),
            Err(ErrorKind::Io),
            "over the limit"
        );
    }

    #[test]
    fn statuses_decide_the_outcome() {
        use http2::Answer as _;
        let answer = |blocks: &[(Part, &[(&str, &str)])], body: &[u8]| {
            let mut a = GrpcAnswer::new(100);
            for (part, fields) in blocks {
                a.block(*part);
                for (name, value) in *fields {
                    a.field(name.as_bytes(), value.as_bytes());
                }
                if *part == Part::Head {
                    a.data(body).unwrap();
                }
            }
            a.outcome()
        };
        let ok = framed(0, b"x");
        let head: &[(&str, &str)] = &[(":status", "200")];
        assert_eq!(
            answer(
                &[
                    (Part::Head, head),
                    (Part::Trailers, &[("grpc-status", "0")])
                ],
                &ok
            ),
            Ok(())
        );
        assert_eq!(
            answer(
                &[
                    (Part::Head, head),
                    (Part::Trailers, &[("grpc-status", "9")])
                ],
                &ok
            ),
            Err(ErrorKind::GrpcStatus(9))
        );
        assert_eq!(
            answer(&[(Part::Head, head), (Part::Trailers, &[])], &ok),
            Err(ErrorKind::GrpcStatus(INTERNAL)),
            "no grpc-status"
        );
        assert_eq!(
            answer(
                &[(Part::Head, &[(":status", "200"), ("grpc-status", "5")])],
                b""
            ),
            Err(ErrorKind::GrpcStatus(5)),
            "trailers-only"
        );
        assert_eq!(
            answer(&[(Part::Head, &[(":status", "503")])], b""),
            Err(ErrorKind::HttpStatus(503))
        );
        assert_eq!(
            answer(&[(Part::Head, &[(":status", "2x0")])], b""),
            Err(ErrorKind::Io)
        );
        assert_eq!(
            answer(
                &[
                    (Part::Head, head),
                    (Part::Trailers, &[("grpc-status", "0")])
                ],
                b""
            ),
            Err(ErrorKind::Io),
            "success without a message"
        );
    }

    #[test]
    fn the_template_frames_the_message() {
        let t = Template::new("127.0.0.1:1".parse().unwrap(), "/a/B", b"abc", 10);
        assert_eq!(t.body, [0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(t.fields()[2], (&b":path"[..], &b"/a/B"[..]));
        assert_eq!(t.fields()[3], (&b":authority"[..], &b"127.0.0.1:1"[..]));
    }
}
