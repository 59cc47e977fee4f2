//! REST classify and regress bodies: `parse_classify_request` / `parse_regress_request`, then
//! every decoded tf.Example (with its context merged) must survive a protobuf round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tensorserve_core::example::Example;
use tensorserve_core::json::{parse_classify_request, parse_regress_request};

fuzz_target!(|body: &[u8]| {
    let classify = parse_classify_request(body);
    let regress = parse_regress_request(body);
    assert_eq!(
        classify.is_ok(),
        regress.is_ok(),
        "the two share one decoder"
    );
    let Ok(request) = classify else {
        return;
    };
    assert!(!request.examples.is_empty());
    for example in request.merged_examples() {
        let bytes = example.encode();
        let decoded = Example::decode(&bytes).expect("an encoded Example decodes");
        // Compared as bytes: NaN features make `==` on the values useless.
        assert_eq!(decoded.encode(), bytes);
    }
});
