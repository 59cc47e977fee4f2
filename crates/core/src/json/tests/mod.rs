//! Unit tests for the REST JSON codecs, one file per concern; each rule and error string of
//! reference §1.6–§1.8 has a case.

mod classify;
mod parse;
mod predict;
mod response;

/// Throughput probe, not a pass/fail test. Run optimised, e.g.
/// `CARGO_PROFILE_TEST_OPT_LEVEL=3 CARGO_PROFILE_TEST_DEBUG_ASSERTIONS=false cargo test -p
/// tensorserve-core perf_probe -- --ignored --nocapture`.
#[test]
#[ignore]
fn perf_probe() {
    use crate::{DType, Tensor, TensorData, TensorInfo};
    use std::collections::BTreeMap;
    let mut x: u32 = 12345;
    let mut vals = Vec::new();
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        vals.push((x % 1_000_000) as f32 / 1000.0 - 500.0);
    }
    let rows: Vec<String> = vals
        .chunks(100)
        .map(|c| {
            format!(
                "[{}]",
                c.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let body = format!("{{\"instances\": [{}]}}", rows.join(", "));
    let mut infos = BTreeMap::new();
    infos.insert(
        "x".to_string(),
        TensorInfo {
            name: "x:0".into(),
            dtype: DType::F32,
            shape: None,
        },
    );
    let t = std::time::Instant::now();
    let n = 20;
    for _ in 0..n {
        let r = super::parse_predict_request(body.as_bytes(), |_| Ok(&infos)).unwrap();
        assert_eq!(r.inputs["x"].shape(), [1000, 100]);
    }
    let dt = t.elapsed() / n;
    println!(
        "decode {} bytes: {:?} ({:.0} MB/s)",
        body.len(),
        dt,
        body.len() as f64 / dt.as_secs_f64() / 1e6
    );
    let mut out = BTreeMap::new();
    out.insert(
        "y".to_string(),
        Tensor::new(
            vec![1000, 100],
            TensorData::F32(vals.iter().map(|v| v * 1.37).collect()),
        )
        .unwrap(),
    );
    let t = std::time::Instant::now();
    let mut len = 0;
    for _ in 0..n {
        len = super::predict_response(&out, super::RequestFormat::Row)
            .unwrap()
            .len();
    }
    let dt = t.elapsed() / n;
    println!(
        "encode 100k floats ({len} bytes): {:?} ({:.0} ns/value)",
        dt,
        dt.as_nanos() as f64 / 1e5
    );
    let t = std::time::Instant::now();
    let mut buf = Vec::with_capacity(64);
    for _ in 0..10 {
        for v in &vals {
            buf.clear();
            super::float::write_decimal_f32(v * 1.37, &mut buf);
        }
    }
    println!(
        "write_decimal_f32: {:.1} ns",
        t.elapsed().as_nanos() as f64 / 1e6
    );
    let small = br#"{"instances": [1.0, 2.0, 5.0]}"#;
    let t = std::time::Instant::now();
    for _ in 0..100_000 {
        let r = super::parse_predict_request(small, |_| Ok(&infos)).unwrap();
        std::hint::black_box(r);
    }
    println!("small decode: {:?}", t.elapsed() / 100_000);
}
