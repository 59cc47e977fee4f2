//! Writing answers on the plain path ([`super`]) byte for byte as hyper writes them: the status
//! line, the headers in order with lower-case names, then `content-length` when the response
//! has none, then `date` (cached per second, as hyper caches it), a blank line and the body.
//! `bench/compare_rest_bytes.py` checks the two against each other.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::Response;
use http_body_util::BodyExt;

/// The CORS headers `super::super::add_cors` sets, in its order.
const CORS_LINES: &[u8] = b"access-control-allow-origin: *\r\n\
access-control-allow-methods: POST, GET\r\n\
access-control-allow-headers: Content-Type\r\n";

/// Appends a 200 answer with a JSON body (the predict path: no header map, no body box).
pub(super) fn write_json_ok(out: &mut Vec<u8>, body: &[u8], cors: bool) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
    if cors {
        out.extend_from_slice(CORS_LINES);
    }
    finish(out, body);
}

/// Appends any other answer (errors): its own status and headers, its body read whole.
pub(super) async fn write_response(out: &mut Vec<u8>, response: Response) {
    let (parts, body) = response.into_parts();
    // The bodies here are whole buffers (JSON errors), so this never waits on anything.
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    write_status_line(out, parts.status);
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if parts
        .headers
        .contains_key(axum::http::header::CONTENT_LENGTH)
    {
        write_date(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
    } else {
        finish(out, &body);
    }
}

fn write_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `content-length`, `date`, the blank line and the body.
fn finish(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    write_date(out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

thread_local! {
    /// The `date` line for one second: formatting it costs more than the rest of the head.
    static DATE_LINE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

fn write_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE_LINE.with(|cell| {
        let mut line = cell.borrow_mut();
        if line.0 != second {
            line.1.clear();
            line.1.extend_from_slice(b"date: ");
            line.1
                .extend_from_slice(httpdate::fmt_http_date(now).as_bytes());
            line.1.extend_from_slice(b"\r\n");
            line.0 = second;
        }
        out.extend_from_slice(&line.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    fn without_date(out: &[u8]) -> String {
        let text = String::from_utf8(out.to_vec()).unwrap();
        let date = text.find("date: ").expect("a date line");
        let end = date + text[date..].find("\r\n").unwrap() + 2;
        format!("{}{}", &text[..date], &text[end..])
    }

    #[test]
    fn a_json_answer_is_laid_out_as_hyper_writes_it() {
        let mut out = Vec::new();
        write_json_ok(&mut out, b"{}", false);
        assert_eq!(
            without_date(&out),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        );
        let mut cors = Vec::new();
        write_json_ok(&mut cors, b"{}", true);
        assert!(without_date(&cors).contains(
            "application/json\r\naccess-control-allow-origin: *\r\naccess-control-allow-methods: \
             POST, GET\r\naccess-control-allow-headers: Content-Type\r\ncontent-length: 2\r\n"
        ));
    }

    #[tokio::test]
    async fn an_error_keeps_its_status_and_headers() {
        let response = (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            "{ \"error\": \"x\" }",
        )
            .into_response();
        let mut out = Vec::new();
        write_response(&mut out, response).await;
        assert_eq!(
            without_date(&out),
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\
             \r\n{ \"error\": \"x\" }"
        );
    }

    #[test]
    fn the_date_is_an_http_date() {
        let mut out = Vec::new();
        write_date(&mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with("date: ") && line.ends_with(" GMT\r\n"),
            "{line}"
        );
        assert_eq!(line.len(), "date: Sun, 06 Nov 1994 08:49:37 GMT\r\n".len());
    }
}
