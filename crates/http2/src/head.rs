//! A request's header block, checked as RFC 9113 §8.2–8.3 requires, kept as one byte buffer
//! with field offsets: the hot path reads the few fields it needs without a map; a call that
//! wants an `http::Request` gets one ([`RequestHead::into_request`]).

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use smallvec::SmallVec;

/// Why a header block does not make a request (a stream error, PROTOCOL_ERROR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A name with uppercase or invalid characters, or a value with CR, LF or NUL.
    BadField,
    /// A pseudo-header after a regular field, repeated, unknown, or a response's.
    BadPseudo,
    /// `connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, or `te`
    /// other than `trailers`.
    ConnectionSpecific,
    /// `:method`, `:scheme` or `:path` missing or empty.
    Missing,
    /// The list is larger than our SETTINGS_MAX_HEADER_LIST_SIZE.
    TooLarge,
}

/// Offsets of one field in [`RequestHead`]'s buffer: name `[start, mid)`, value `[mid, end)`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    mid: u32,
    end: u32,
}

/// A request's pseudo-headers and fields.
#[derive(Debug, Clone)]
pub struct RequestHead {
    bytes: Bytes,
    method: Span,
    scheme: Span,
    authority: Option<Span>,
    path: Span,
    fields: Fields,
}

/// A head's regular fields: a gRPC request has a handful, kept inline.
type Fields = SmallVec<[Span; 8]>;

impl RequestHead {
    /// `:method`.
    pub fn method(&self) -> &[u8] {
        self.value(self.method)
    }

    /// `:path`.
    pub fn path(&self) -> &[u8] {
        self.value(self.path)
    }

    /// `:scheme`.
    pub fn scheme(&self) -> &[u8] {
        self.value(self.scheme)
    }

    /// `:authority`, if sent.
    pub fn authority(&self) -> Option<&[u8]> {
        self.authority.map(|s| self.value(s))
    }

    /// The first field called `name` (lowercase).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The regular fields in the order sent.
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields.iter().map(|&s| (self.name(s), self.value(s)))
    }

    fn name(&self, s: Span) -> &[u8] {
        &self.bytes[s.start as usize..s.mid as usize]
    }

    fn value(&self, s: Span) -> &[u8] {
        &self.bytes[s.mid as usize..s.end as usize]
    }

    fn shared_value(&self, s: Span) -> Bytes {
        self.bytes.slice(s.mid as usize..s.end as usize)
    }

    /// The same request as an `http::Request` carrying `body`.
    pub fn into_request<B>(self, body: B) -> Result<Request<B>, http::Error> {
        let mut uri = Uri::builder().scheme(self.scheme()).path_and_query(
            http::uri::PathAndQuery::from_maybe_shared(self.shared_value(self.path))?,
        );
        if let Some(a) = self.authority {
            uri = uri.authority(http::uri::Authority::from_maybe_shared(
                self.shared_value(a),
            )?);
        }
        let mut headers = HeaderMap::with_capacity(self.fields.len());
        for &s in &self.fields {
            let name = HeaderName::from_bytes(self.name(s))?;
            // Checked when the head was built: no CR, LF or NUL.
            let value = HeaderValue::from_maybe_shared(self.shared_value(s))?;
            headers.append(name, value);
        }
        let mut request = Request::builder()
            .method(Method::from_bytes(self.method())?)
            .uri(uri.build()?)
            .version(http::Version::HTTP_2)
            .body(body)?;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// Builds a [`RequestHead`] from decoded fields, checking each as it comes.
///
/// The fields are copied into `bytes`, the connection's buffer for heads: each head is split
/// off it, and once the heads of finished calls are dropped the buffer's space is used again,
/// so a connection allocates nothing per head in the steady state.
pub struct HeadBuilder<'a> {
    bytes: &'a mut BytesMut,
    method: Option<Span>,
    scheme: Option<Span>,
    authority: Option<Span>,
    path: Option<Span>,
    fields: Fields,
    list_size: usize,
    max_list_size: usize,
    error: Option<Malformed>,
    pseudo_seen: bool,
}

impl<'a> HeadBuilder<'a> {
    /// A builder refusing lists larger than `max_list_size` (RFC 9113 §6.5.2's accounting),
    /// keeping the fields in `bytes`.
    pub fn new(max_list_size: usize, bytes: &'a mut BytesMut) -> HeadBuilder<'a> {
        bytes.clear();
        HeadBuilder {
            bytes,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            fields: Fields::new(),
            list_size: 0,
            max_list_size,
            error: None,
            pseudo_seen: false,
        }
    }

    /// Takes one decoded field. After the first error the rest are only counted.
    pub fn field(&mut self, name: &[u8], value: &[u8]) {
        self.list_size += name.len() + value.len() + 32;
        if self.error.is_some() {
            return;
        }
        if self.list_size > self.max_list_size {
            self.fail(Malformed::TooLarge);
            return;
        }
        if has_forbidden_value_byte(value) {
            self.fail(Malformed::BadField);
            return;
        }
        if let Some(pseudo) = name.strip_prefix(b":") {
            self.pseudo_seen = true;
            if !self.fields.is_empty() {
                return self.fail(Malformed::BadPseudo);
            }
            // Only a pseudo-header's value is ever read: its name is not kept.
            let span = self.push(b"", value);
            let slot = match pseudo {
                b"method" => &mut self.method,
                b"scheme" => &mut self.scheme,
                b"authority" => &mut self.authority,
                b"path" => &mut self.path,
                _ => return self.fail(Malformed::BadPseudo),
            };
            if slot.replace(span).is_some() {
                self.fail(Malformed::BadPseudo);
            }
            return;
        }
        if name.is_empty() || !name.iter().all(|&b| TOKEN_LOWER[usize::from(b)]) {
            return self.fail(Malformed::BadField);
        }
        match name {
            b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding"
            | b"upgrade" => {
                return self.fail(Malformed::ConnectionSpecific);
            }
            b"te" if value != b"trailers" => return self.fail(Malformed::ConnectionSpecific),
            _ => {}
        }
        let span = self.push(name, value);
        self.fields.push(span);
    }

    fn fail(&mut self, error: Malformed) {
        self.error = Some(error);
    }

    fn push(&mut self, name: &[u8], value: &[u8]) -> Span {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(name);
        let mid = self.bytes.len() as u32;
        self.bytes.extend_from_slice(value);
        Span {
            start,
            mid,
            end: self.bytes.len() as u32,
        }
    }

    /// Whether the block is valid as a request's trailers: well-formed regular fields only.
    pub fn valid_trailers(&self) -> bool {
        self.error.is_none() && !self.pseudo_seen
    }

    /// The request head, or why the block is not one.
    pub fn finish(self) -> Result<RequestHead, Malformed> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (Some(method), Some(scheme), Some(path)) = (self.method, self.scheme, self.path) else {
            return Err(Malformed::Missing);
        };
        if path.end == path.mid || method.end == method.mid {
            return Err(Malformed::Missing);
        }
        Ok(RequestHead {
            bytes: self.bytes.split().freeze(),
            method,
            scheme,
            authority: self.authority,
            path,
            fields: self.fields,
        })
    }
}

/// Whether a field value holds CR, LF or NUL (RFC 9113 §8.2.1). All three are below 14, so the
/// loop first asks only that, with no early exit, which the compiler turns into wide compares;
/// the exact check runs only for values that have such a low byte (tabs, say).
fn has_forbidden_value_byte(value: &[u8]) -> bool {
    let any_low = value.iter().fold(false, |low, &b| low | (b <= b'\r'));
    any_low && value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

/// The characters allowed in a header name as HTTP/2 carries it (RFC 9110 token, lowercase).
static TOKEN_LOWER: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn build(fields: &[(&str, &str)]) -> Result<RequestHead, Malformed> {
        let mut buf = BytesMut::new();
        let mut b = HeadBuilder::new(16 * 1024, &mut buf);
        for (n, v) in fields {
            b.field(n.as_bytes(), v.as_bytes());
        }
        b.finish()
    }

    const GOOD: &[(&str, &str)] = &[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/a.B/C"),
        (":authority", "localhost:8500"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ];

    #[test]
    fn a_grpc_request_head_is_read_and_converted() {
        let head = build(GOOD).unwrap();
        assert_eq!(head.path(), b"/a.B/C");
        assert_eq!(head.get("content-type"), Some(&b"application/grpc"[..]));
        assert_eq!(head.get("grpc-timeout"), None);
        let request = head.into_request(()).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().path(), "/a.B/C");
        assert_eq!(
            request.uri().authority().unwrap().as_str(),
            "localhost:8500"
        );
        assert_eq!(request.headers()["te"], "trailers");
    }

    #[test]
    fn malformed_heads_are_refused() {
        let with = |extra: (&'static str, &'static str)| {
            let mut f = GOOD.to_vec();
            f.push(extra);
            build(&f).unwrap_err()
        };
        assert_eq!(with(("Upper", "x")), Malformed::BadField);
        assert_eq!(
            with(("connection", "keep-alive")),
            Malformed::ConnectionSpecific
        );
        assert_eq!(with(("te", "gzip")), Malformed::ConnectionSpecific);
        assert_eq!(with((":path", "/again")), Malformed::BadPseudo);
        assert_eq!(with(("x", "a\nb")), Malformed::BadField);
        assert_eq!(with(("x", "a\rb")), Malformed::BadField);
        assert_eq!(with(("x", "a\0b")), Malformed::BadField);
        assert_eq!(with(("bad name", "x")), Malformed::BadField);
        // A tab is a low byte that values may hold.
        assert!(build(&[GOOD, &[("x", "a\tb")]].concat()).is_ok());
        assert_eq!(build(&GOOD[1..]).unwrap_err(), Malformed::Missing);
        assert_eq!(
            build(&[(":status", "200")]).unwrap_err(),
            Malformed::BadPseudo
        );
        let mut late = GOOD.to_vec();
        late.swap(0, 5);
        assert_eq!(build(&late).unwrap_err(), Malformed::BadPseudo);
        let big = "x".repeat(20_000);
        let mut buf = BytesMut::new();
        let mut b = HeadBuilder::new(16 * 1024, &mut buf);
        for (n, v) in GOOD {
            b.field(n.as_bytes(), v.as_bytes());
        }
        b.field(b"big", big.as_bytes());
        assert_eq!(b.finish().unwrap_err(), Malformed::TooLarge);
    }
}
