//! Table-driven request cases: one request each, and the status and `error` message TF
//! Serving answers with.

use std::net::SocketAddr;

use super::http::request;

/// One hostile request and TF Serving's answer.
pub struct Case {
    /// What the case tries.
    pub what: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The request target.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
    /// TF Serving's status.
    pub status: u16,
    /// The `error` message; `None` when the response is not TF Serving's JSON error body.
    pub error: Option<String>,
}

/// A case answered with an error.
pub fn case(
    what: &'static str,
    method: &'static str,
    path: &str,
    body: &str,
    status: u16,
    error: &str,
) -> Case {
    Case {
        what,
        method,
        path: path.to_string(),
        body: body.as_bytes().to_vec(),
        status,
        error: Some(error.to_string()),
    }
}

/// A request TF Serving answers with 200.
pub fn accepted(what: &'static str, path: &str, body: &str) -> Case {
    Case {
        what,
        method: "POST",
        path: path.to_string(),
        body: body.as_bytes().to_vec(),
        status: 200,
        error: None,
    }
}

/// Sends every case; returns a description of each one answered differently.
pub async fn run(addr: SocketAddr, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        let r = request(addr, c.method, &c.path, &[], &c.body)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.what));
        let got_error = serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from));
        let content_type = r.header("content-type");
        if r.status != c.status || got_error != c.error {
            failures.push(format!(
                "{}: want {} {:?}\n   got {} {:?}",
                c.what,
                c.status,
                c.error,
                r.status,
                got_error.unwrap_or_else(|| r.text())
            ));
        } else if content_type != Some("application/json") {
            failures.push(format!("{}: Content-Type {content_type:?}", c.what));
        }
    }
    failures
}
