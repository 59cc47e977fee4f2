//! HTTP/1.1 target: one hyper client connection per worker, kept alive between requests.
//!
//! The request (method, path, headers, body) is built once; each call clones its cheap parts.
//! The whole response body is read before a request counts as answered, so a connection is
//! always ready for the next request. Plain `http://` only: the generator measures servers, not
//! TLS stacks.

use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use tensorserve_selfwake::SelfWake;

use super::inline::exchange_beside;
use super::{Connection, ErrorKind, Target};

/// What to send, as given by the user; validated by [`HttpTarget::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSpec {
    /// Absolute `http://` URL.
    pub url: String,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Extra headers, `(name, value)`. A `Content-Type: application/json` is added for a
    /// non-empty body unless one is given here.
    pub headers: Vec<(String, String)>,
    /// Request body (may be empty).
    pub body: Bytes,
}

impl HttpSpec {
    /// A POST of `body` (JSON) to `url`.
    pub fn post_json(url: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            url: url.into(),
            method: "POST".into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

/// Why an [`HttpSpec`] cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HttpTargetError {
    /// The URL does not parse.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name does not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// `host:port`.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The method or a header is not valid HTTP.
    #[error("invalid {what}: {value:?}")]
    Invalid {
        /// `method`, `header name` or `header value`.
        what: &'static str,
        /// The offending text.
        value: String,
    },
}

/// Completes a URL the way the lab uses it: adds `http://` when no scheme is given (as in
/// `$(minikube ip):30001`) and the predict path of `model` when the URL has no path.
pub fn predict_url(url: &str, model: &str) -> String {
    let url = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.trim_end_matches('/').contains('/') {
        url
    } else {
        format!("{}/v1/models/{model}:predict", url.trim_end_matches('/'))
    }
}

/// The request template shared by all connections of a target.
#[derive(Debug)]
struct Template {
    addr: SocketAddr,
    method: Method,
    /// Origin form (`/path?query`), as HTTP/1.1 sends it.
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
    describe: String,
}

/// An HTTP/1.1 endpoint; see the module docs.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    template: Arc<Template>,
}

impl HttpTarget {
    /// Validates `spec` and resolves its host once (connections reuse the address).
    pub fn new(spec: &HttpSpec) -> Result<Self, HttpTargetError> {
        let url_error = |reason: &str| HttpTargetError::Url {
            url: spec.url.clone(),
            reason: reason.into(),
        };
        let uri: Uri = spec
            .url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| url_error(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(url_error("https is not supported; use http://")),
            _ => return Err(url_error("expected an http:// URL")),
        }
        let authority = uri.authority().ok_or_else(|| url_error("no host"))?.clone();
        let port = authority.port_u16().unwrap_or(80);
        let host = format!(
            "{}:{port}",
            authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
        );
        let addr = host
            .to_socket_addrs()
            .and_then(|mut addrs| {
                addrs
                    .next()
                    .ok_or_else(|| std::io::Error::other("no address"))
            })
            .map_err(|source| HttpTargetError::Resolve {
                host: host.clone(),
                source,
            })?;
        let path: Uri = uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .parse()
            .map_err(|_| url_error("bad path"))?;
        let method =
            Method::from_bytes(spec.method.as_bytes()).map_err(|_| HttpTargetError::Invalid {
                what: "method",
                value: spec.method.clone(),
            })?;

        let mut headers = HeaderMap::new();
        let value = |v: &str| {
            HeaderValue::from_str(v).map_err(|_| HttpTargetError::Invalid {
                what: "header value",
                value: v.into(),
            })
        };
        headers.insert(HOST, value(authority.as_str())?);
        for (name, v) in &spec.headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                HttpTargetError::Invalid {
                    what: "header name",
                    value: name.clone(),
                }
            })?;
            headers.append(name, value(v.trim())?);
        }
        if !spec.body.is_empty() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let describe = format!("{method} {}", spec.url);
        Ok(Self {
            template: Arc::new(Template {
                addr,
                method,
                path,
                headers,
                body: spec.body.clone(),
                describe,
            }),
        })
    }
}

impl Target for HttpTarget {
    type Conn = HttpConnection;

    async fn connect(&self) -> Result<HttpConnection, ErrorKind> {
        let stream = TcpStream::connect(self.template.addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // Requests are small and answered one at a time: never wait for Nagle.
        stream.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
        // A request is small: one copy into one buffer and a plain write() costs less than a
        // vectored write of its head and body.
        let (sender, driver) = http1::Builder::new()
            .writev(false)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|_| ErrorKind::Io)?;
        Ok(HttpConnection {
            sender,
            driver: Some(Box::pin(driver)),
            template: Arc::clone(&self.template),
            inline: SelfWake::default(),
        })
    }

    fn describe(&self) -> String {
        self.template.describe.clone()
    }
}

/// hyper's connection state machine (reads and writes the socket).
type Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection; see [`HttpTarget`].
///
/// The connection is driven inside [`Connection::call`], in the worker's own task, rather than
/// by a spawned task: no wake-up crosses tasks or threads on the way, which is most of the cost
/// of a request to a fast server. Dropping it closes the socket.
pub struct HttpConnection {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection has ended.
    driver: Option<Pin<Box<Driver>>>,
    template: Arc<Template>,
    inline: SelfWake,
}

impl std::fmt::Debug for HttpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConnection")
            .field("target", &self.template.describe)
            .finish_non_exhaustive()
    }
}

impl Connection for HttpConnection {
    async fn call(&mut self) -> Result<(), ErrorKind> {
        let Self {
            sender,
            driver,
            template,
            inline,
        } = self;
        if driver.is_none() {
            return Err(ErrorKind::Io);
        }
        exchange_beside(inline, driver, exchange(sender, template)).await
    }
}

/// Sends the request and reads the whole answer; the connection must be driven meanwhile.
async fn exchange(sender: &mut SendRequest<Full<Bytes>>, t: &Template) -> Result<(), ErrorKind> {
    sender.ready().await.map_err(|_| ErrorKind::Io)?;
    let mut request = Request::new(Full::new(t.body.clone()));
    *request.method_mut() = t.method.clone();
    *request.uri_mut() = t.path.clone();
    *request.headers_mut() = t.headers.clone();
    let response = sender
        .send_request(request)
        .await
        .map_err(|_| ErrorKind::Io)?;
    let status = response.status();
    read_body(response.into_body()).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(ErrorKind::HttpStatus(status.as_u16()))
    }
}

/// Reads (and discards) a whole body. Stops as soon as the body says it is complete (a
/// `Content-Length` body once that many bytes came), which saves a wake-up per request.
async fn read_body(mut body: Incoming) -> Result<(), ErrorKind> {
    while !body.is_end_stream() {
        match body.frame().await {
            Some(frame) => frame.map_err(|_| ErrorKind::Io).map(drop)?,
            None => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_url_completes_what_the_lab_passes() {
        let lab = "http://192.0.2.7:30001/v1/models/half_plus_two:predict";
        assert_eq!(predict_url("192.0.2.7:30001", "half_plus_two"), lab);
        assert_eq!(predict_url("http://192.0.2.7:30001/", "half_plus_two"), lab);
        assert_eq!(predict_url(lab, "other"), lab);
        assert_eq!(
            predict_url("localhost:8501/v1/models/m", "x"),
            "http://localhost:8501/v1/models/m"
        );
    }

    #[test]
    fn new_validates_and_builds_the_template() {
        let mut spec = HttpSpec::post_json("http://127.0.0.1:9/v1/models/m:predict?x=1", "{}");
        spec.headers.push(("X-Test".into(), " yes ".into()));
        let target = HttpTarget::new(&spec).unwrap();
        let t = &target.template;
        assert_eq!(t.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(t.path, "/v1/models/m:predict?x=1");
        assert_eq!(t.headers[HOST], "127.0.0.1:9");
        assert_eq!(t.headers[CONTENT_TYPE], "application/json");
        assert_eq!(t.headers["x-test"], "yes");
        assert_eq!(
            target.describe(),
            "POST http://127.0.0.1:9/v1/models/m:predict?x=1"
        );

        let https = HttpSpec::post_json("https://127.0.0.1/", "");
        assert!(matches!(
            HttpTarget::new(&https),
            Err(HttpTargetError::Url { .. })
        ));
        let mut bad = HttpSpec::post_json("http://127.0.0.1/", "");
        bad.method = "NOT A METHOD".into();
        assert!(matches!(
            HttpTarget::new(&bad),
            Err(HttpTargetError::Invalid { what: "method", .. })
        ));
    }
}
