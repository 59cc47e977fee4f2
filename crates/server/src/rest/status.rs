//! The model status response (reference §1.4): `GetModelStatusResponse` as proto3 JSON with
//! TF Serving's snake_case keys, string versions and enum names.

use serde_json::json;
use tensorserve_engine::VersionStatus;

/// The body of `GET /v1/models/NAME[/versions/N]`.
pub fn status_json(versions: &[VersionStatus]) -> Vec<u8> {
    let list: Vec<_> = versions
        .iter()
        .map(|v| {
            let (code, message) = match &v.status {
                Ok(()) => ("OK", String::new()),
                Err(e) => (e.code().name(), e.message().to_string()),
            };
            json!({
                "version": v.version.to_string(),
                "state": v.state.name(),
                "status": {"error_code": code, "error_message": message},
            })
        })
        .collect();
    serde_json::to_vec_pretty(&json!({ "model_version_status": list }))
        .expect("JSON values serialize")
}
