//! One gRPC client connection on the `h2` crate directly: the pre-framed Predict request is sent
//! as HEADERS and one DATA frame, the answer is read in full (framing checked, message not
//! decoded) and its `grpc-status` decides success.
//!
//! tonic's client (what this replaces) wraps every call in a tower stack, a request and
//! response body pipeline, an encoder and a decoder, and drives its HTTP/2 connection from a
//! task of its own, so each call crossed tasks twice; it cost the client about 17.6 µs of CPU
//! per call against 8.5-12 µs for the HTTP/1 target, and on a machine shared with the server a
//! heavier client measures as a slower server. Here, as in [`super::http`], the connection is
//! driven inside the call's own task ([`SelfWake`]), and nothing is built per call beyond h2's
//! request head.
//!
//! What counts as what (the same split tonic's client made):
//! * `grpc-status: 0` in the trailers (after exactly one well-framed message) is a success;
//! * any other `grpc-status`, in the trailers or in a trailers-only answer, is
//!   [`ErrorKind::GrpcStatus`] and keeps the connection; an answer that ends without a
//!   `grpc-status` is INTERNAL (13), as gRPC's own clients report it;
//! * an HTTP status other than 200 is [`ErrorKind::HttpStatus`];
//! * a body that is not gRPC's length-prefixed framing, a reset stream or a broken connection
//!   is [`ErrorKind::Io`] (the runner then opens a new connection).

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2::client::SendRequest;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue, TE};
use hyper::{Method, Request, Uri};
use tokio::net::TcpStream;

use tensorserve_selfwake::SelfWake;

use super::inline::exchange_beside;
use super::{Connection, ErrorKind};

/// gRPC's message prefix: the compressed flag and a big-endian length.
const PREFIX: usize = 5;

/// gRPC's INTERNAL status code.
const INTERNAL: i32 = 13;

/// What every call sends, built once per target.
#[derive(Debug)]
pub(crate) struct Template {
    uri: Uri,
    headers: HeaderMap,
    /// The request message with its gRPC prefix.
    body: Bytes,
    /// Largest answer message accepted.
    max_message: usize,
}

impl Template {
    /// A call of `path` on `addr` with the (unframed) `message`.
    pub(crate) fn new(addr: SocketAddr, path: &str, message: &[u8], max_message: usize) -> Self {
        let uri = Uri::builder()
            .scheme("http")
            .authority(addr.to_string())
            .path_and_query(path)
            .build()
            .expect("a socket address and a method path make a valid URI");
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        let mut body = BytesMut::with_capacity(PREFIX + message.len());
        body.put_u8(0);
        body.put_u32(message.len() as u32);
        body.put_slice(message);
        Self {
            uri,
            headers,
            body: body.freeze(),
            max_message,
        }
    }

    /// The framed request message (tests read it back).
    #[cfg(test)]
    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }
}

/// h2's connection state machine (reads and writes the socket).
type Driver = h2::client::Connection<TcpStream, Bytes>;

/// One HTTP/2 connection to the gRPC port, carrying one call at a time.
pub struct GrpcConnection {
    send: SendRequest<Bytes>,
    /// `None` once the connection has ended.
    driver: Option<Pin<Box<Driver>>>,
    template: Arc<Template>,
    inline: SelfWake,
}

impl std::fmt::Debug for GrpcConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcConnection")
            .field("uri", &self.template.uri)
            .finish_non_exhaustive()
    }
}

/// Opens a connection to `addr` for `template`'s calls.
pub(crate) async fn connect(
    addr: SocketAddr,
    template: Arc<Template>,
) -> Result<GrpcConnection, ErrorKind> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|_| ErrorKind::Connect)?;
    // Requests are small and answered one at a time: never wait for Nagle.
    stream.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
    let (send, driver) = h2::client::Builder::new()
        // Windows as large as the server's (1 MB), so a large answer is not throttled by the
        // spec's 64 kB default.
        .initial_window_size(1024 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .handshake(stream)
        .await
        .map_err(|_| ErrorKind::Io)?;
    Ok(GrpcConnection {
        send,
        driver: Some(Box::pin(driver)),
        template,
        inline: SelfWake::default(),
    })
}

impl Connection for GrpcConnection {
    async fn call(&mut self) -> Result<(), ErrorKind> {
        let Self {
            send,
            driver,
            template,
            inline,
        } = self;
        if driver.is_none() {
            return Err(ErrorKind::Io);
        }
        exchange_beside(inline, driver, exchange(send, template)).await
    }
}

/// Sends the request and reads the whole answer; the connection must be driven meanwhile.
async fn exchange(send: &mut SendRequest<Bytes>, t: &Template) -> Result<(), ErrorKind> {
    // Waits only if the server's concurrent-stream limit is reached (one call at a time here).
    poll_fn(|cx| send.poll_ready(cx))
        .await
        .map_err(|_| ErrorKind::Io)?;
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = t.uri.clone();
    *request.headers_mut() = t.headers.clone();
    let (response, mut stream) = send
        .send_request(request, false)
        .map_err(|_| ErrorKind::Io)?;
    stream
        .send_data(t.body.clone(), true)
        .map_err(|_| ErrorKind::Io)?;
    let response = response.await.map_err(|_| ErrorKind::Io)?;
    let (head, mut body) = response.into_parts();
    if head.status != 200 {
        return Err(ErrorKind::HttpStatus(head.status.as_u16()));
    }
    let mut framing = Framing::new(t.max_message);
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|_| ErrorKind::Io)?;
        // Only fails once the stream is closed, which the next read reports.
        let _ = body.flow_control().release_capacity(chunk.len());
        framing.push(&chunk)?;
    }
    let trailers = body.trailers().await.map_err(|_| ErrorKind::Io)?;
    // A trailers-only answer (an error before any message) carries its status in the headers.
    let status = match &trailers {
        Some(trailers) => grpc_status(trailers),
        None => grpc_status(&head.headers),
    };
    match status {
        Some(0) if framing.messages == 1 && framing.at_boundary() => Ok(()),
        Some(0) => Err(ErrorKind::Io),
        Some(code) => Err(ErrorKind::GrpcStatus(code)),
        None => Err(ErrorKind::GrpcStatus(INTERNAL)),
    }
}

/// The `grpc-status` in `headers`, if there is one that parses.
fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    std::str::from_utf8(headers.get("grpc-status")?.as_bytes())
        .ok()?
        .parse()
        .ok()
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
    fn statuses_are_read_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", HeaderValue::from_static("5"));
        assert_eq!(grpc_status(&headers), Some(5));
        headers.insert("grpc-status", HeaderValue::from_static("x"));
        assert_eq!(grpc_status(&headers), None);
    }

    #[test]
    fn the_template_frames_the_message() {
        let t = Template::new("127.0.0.1:1".parse().unwrap(), "/a/B", b"abc", 10);
        assert_eq!(t.body().as_ref(), &[0, 0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(t.uri.to_string(), "http://127.0.0.1:1/a/B");
    }
}
