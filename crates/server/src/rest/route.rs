//! TF Serving's REST URL grammar (reference §1.2), matched by hand rather than with a regex
//! engine: the routes are few, and this keeps the hot path allocation-light.
//!
//! ```text
//! POST (?i)/v1/models/NAME[/versions/N | /labels/L]:(classify|regress|predict)
//! GET  (?i)/v1/models[/NAME][/versions/N | /labels/L][/metadata]
//! ```
//! Matching is case-insensitive for the literal parts, but dispatch compares the verb in lower
//! case, so `:PREDICT` is a malformed request, exactly as in TF Serving.

use tensorserve_core::Status;

/// How the URL chose a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    /// None given: the latest available.
    Latest,
    /// `/versions/N`.
    Version(i64),
    /// `/labels/L`.
    Label(String),
}

/// The prediction APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `:predict`
    Predict,
    /// `:classify`
    Classify,
    /// `:regress`
    Regress,
}

impl Api {
    /// The lower-case name used in URLs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Api::Predict => "predict",
            Api::Classify => "classify",
            Api::Regress => "regress",
        }
    }
}

/// A recognised `/v1/...` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// POST ...:predict|classify|regress
    Infer {
        /// The model.
        model: String,
        /// The version choice.
        version: VersionSpec,
        /// Which API.
        api: Api,
    },
    /// GET /v1/models/NAME[...]
    Status {
        /// The model.
        model: String,
        /// The version choice (labels are ignored by status, as in TF Serving).
        version: VersionSpec,
    },
    /// GET /v1/models/NAME[...]/metadata
    Metadata {
        /// The model.
        model: String,
        /// The version choice.
        version: VersionSpec,
    },
}

fn malformed(method: &str, path: &str) -> Status {
    Status::invalid_argument(format!("Malformed request: {method} {path}"))
}

/// Percent-decodes like `curl_easy_unescape` (`+` stays `+`).
fn unescape(s: &str) -> String {
    // Nearly every name has no escape: one copy, no UTF-8 re-validation.
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes()))
    .then(|| &s[prefix.len()..])
}

/// A path segment as `[^/:]+`.
fn segment(s: &str) -> Option<(&str, &str)> {
    let end = s
        .bytes()
        .position(|b| b == b'/' || b == b':')
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// Parses `[/versions/N | /labels/L]`, returning the rest.
fn version_part(s: &str) -> Result<(VersionSpec, &str), ()> {
    if let Some(rest) = strip_prefix_ci(s, "/versions/") {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            return Err(());
        }
        let digits = &rest[..end];
        return match digits.parse::<i64>() {
            Ok(v) => Ok((VersionSpec::Version(v), &rest[end..])),
            // Matched \d+ but does not fit int64: TF Serving's own message.
            Err(_) => Ok((VersionSpec::Label(format!("\u{0}{digits}")), &rest[end..])),
        };
    }
    if let Some(rest) = strip_prefix_ci(s, "/labels/") {
        let (label, rest) = segment(rest).ok_or(())?;
        return Ok((VersionSpec::Label(unescape(label)), rest));
    }
    Ok((VersionSpec::Latest, s))
}

fn check_version(v: VersionSpec) -> Result<VersionSpec, Status> {
    match v {
        VersionSpec::Label(l) if l.starts_with('\u{0}') => Err(Status::invalid_argument(format!(
            "Failed to convert version: {} to numeric.",
            &l[1..]
        ))),
        v => Ok(v),
    }
}

/// Routes a `/v1/...` request. `path` is the path plus any `?query` as received.
pub fn route(method: &str, path: &str) -> Result<Route, Status> {
    let Some(rest) = strip_prefix_ci(path, "/v1/models") else {
        return Err(malformed(method, path));
    };
    match method {
        "POST" => {
            let parsed = (|| {
                let rest = rest.strip_prefix('/')?;
                let (name, rest) = segment(rest)?;
                let (version, rest) = version_part(rest).ok()?;
                let verb = rest.strip_prefix(':')?;
                let api = match verb {
                    "predict" => Api::Predict,
                    "classify" => Api::Classify,
                    "regress" => Api::Regress,
                    _ => return None,
                };
                Some((unescape(name), version, api))
            })();
            let (model, version, api) = parsed.ok_or_else(|| malformed(method, path))?;
            Ok(Route::Infer {
                model,
                version: check_version(version)?,
                api,
            })
        }
        "GET" => {
            if rest.is_empty() || rest == "/" {
                return Err(Status::invalid_argument("Missing model name in request."));
            }
            let parsed = (|| {
                let rest = rest.strip_prefix('/')?;
                let (name, rest) = segment(rest)?;
                let (version, rest) = version_part(rest).ok()?;
                let metadata = match rest {
                    "" => false,
                    r if r.eq_ignore_ascii_case("/metadata") => true,
                    _ => return None,
                };
                Some((unescape(name), version, metadata))
            })();
            let (model, version, metadata) = parsed.ok_or_else(|| malformed(method, path))?;
            let version = check_version(version)?;
            Ok(if metadata {
                Route::Metadata { model, version }
            } else {
                Route::Status { model, version }
            })
        }
        _ => Err(malformed(method, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(model: &str, version: VersionSpec, api: Api) -> Route {
        Route::Infer {
            model: model.into(),
            version,
            api,
        }
    }

    #[test]
    fn predict_routes() {
        assert_eq!(
            route("POST", "/v1/models/half_plus_two:predict"),
            Ok(infer("half_plus_two", VersionSpec::Latest, Api::Predict))
        );
        assert_eq!(
            route("POST", "/v1/models/m/versions/123:classify"),
            Ok(infer("m", VersionSpec::Version(123), Api::Classify))
        );
        assert_eq!(
            route("POST", "/v1/models/m/labels/stable:regress"),
            Ok(infer(
                "m",
                VersionSpec::Label("stable".into()),
                Api::Regress
            ))
        );
        assert_eq!(
            route("POST", "/V1/MODELS/m:predict"),
            Ok(infer("m", VersionSpec::Latest, Api::Predict))
        );
        assert_eq!(
            route("POST", "/v1/models/a%20b:predict"),
            Ok(infer("a b", VersionSpec::Latest, Api::Predict))
        );
    }

    #[test]
    fn unescape_decodes_percent_escapes_like_curl() {
        assert_eq!(unescape("plain_name"), "plain_name");
        assert_eq!(unescape("a%20b"), "a b");
        assert_eq!(unescape("a+b%2"), "a+b%2");
        assert_eq!(unescape("%zz%41"), "%zzA");
        assert_eq!(unescape("caf%C3%A9"), "café");
        // Invalid UTF-8 after decoding becomes U+FFFD, as before.
        assert_eq!(unescape("x%FFy"), "x\u{fffd}y");
    }

    #[test]
    fn get_routes() {
        assert_eq!(
            route("GET", "/v1/models/m"),
            Ok(Route::Status {
                model: "m".into(),
                version: VersionSpec::Latest
            })
        );
        assert_eq!(
            route("GET", "/v1/models/m/versions/7"),
            Ok(Route::Status {
                model: "m".into(),
                version: VersionSpec::Version(7)
            })
        );
        assert_eq!(
            route("GET", "/v1/models/m/metadata"),
            Ok(Route::Metadata {
                model: "m".into(),
                version: VersionSpec::Latest
            })
        );
        assert_eq!(
            route("GET", "/v1/models/m/labels/x/metadata"),
            Ok(Route::Metadata {
                model: "m".into(),
                version: VersionSpec::Label("x".into())
            })
        );
        // A query string becomes part of the model name, as with TF Serving's regex.
        assert_eq!(
            route("GET", "/v1/models/foo?x=1"),
            Ok(Route::Status {
                model: "foo?x=1".into(),
                version: VersionSpec::Latest
            })
        );
    }

    #[test]
    fn malformed_requests_match_tf_serving() {
        let msg = |m: &str, p: &str| route(m, p).unwrap_err().message().to_string();
        assert_eq!(msg("GET", "/v1/models"), "Missing model name in request.");
        assert_eq!(msg("GET", "/v1/foo"), "Malformed request: GET /v1/foo");
        assert_eq!(
            msg("POST", "/v1/models/m:PREDICT"),
            "Malformed request: POST /v1/models/m:PREDICT"
        );
        assert_eq!(
            msg("POST", "/v1/models/foo/metadata"),
            "Malformed request: POST /v1/models/foo/metadata"
        );
        assert_eq!(
            msg("GET", "/v1/models/m/versions/abc"),
            "Malformed request: GET /v1/models/m/versions/abc"
        );
        assert_eq!(
            msg("GET", "/v1/models/m/version/5"),
            "Malformed request: GET /v1/models/m/version/5"
        );
        assert_eq!(
            msg("GET", "/v1/models/m/versions/5/labels/x"),
            "Malformed request: GET /v1/models/m/versions/5/labels/x"
        );
        assert_eq!(
            msg("GET", "/v1/models/m:predict"),
            "Malformed request: GET /v1/models/m:predict"
        );
        assert_eq!(
            msg("PUT", "/v1/models/m"),
            "Malformed request: PUT /v1/models/m"
        );
        assert_eq!(
            msg("POST", "/v1/models/m:predict?x=1"),
            "Malformed request: POST /v1/models/m:predict?x=1"
        );
        assert_eq!(
            msg("GET", "/v1/models/m/versions/99999999999999999999"),
            "Failed to convert version: 99999999999999999999 to numeric."
        );
    }
}
