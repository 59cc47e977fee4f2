//! The reader: token kinds, strings, rapidjson error texts and offsets, hostile input, and the
//! debug rendering used in error messages.

use crate::Status;
use crate::json::writer::{DEBUG_LIMIT, debug_string};
use crate::json::{Document, Number, ParseErrorKind as E};

fn root_number(text: &str) -> Number {
    let doc = Document::parse(text.as_bytes()).unwrap();
    doc.root().as_number().unwrap()
}

fn parse_err(text: &[u8]) -> (E, usize) {
    let e = Document::parse(text).unwrap_err();
    (e.kind, e.offset)
}

fn debug(text: &str) -> String {
    let doc = Document::parse(text.as_bytes()).unwrap();
    String::from_utf8(debug_string(doc.root())).unwrap()
}

#[test]
fn numbers_keep_their_token_kind() {
    let table: &[(&str, Number)] = &[
        ("1", Number::Int(1)),
        ("-0", Number::Int(0)),
        ("1.0", Number::Double(1.0)),
        ("1e2", Number::Double(100.0)),
        ("1E+2", Number::Double(100.0)),
        ("-2.5e-1", Number::Double(-0.25)),
        ("9223372036854775807", Number::Int(i64::MAX)),
        ("-9223372036854775808", Number::Int(i64::MIN)),
        ("9223372036854775808", Number::Uint(1 << 63)),
        ("18446744073709551615", Number::Uint(u64::MAX)),
        (
            "18446744073709551616",
            Number::Double(18446744073709551616.0),
        ),
        (
            "-9223372036854775809",
            Number::Double(-9223372036854775809.0),
        ),
        ("Infinity", Number::Double(f64::INFINITY)),
        ("-Infinity", Number::Double(f64::NEG_INFINITY)),
        ("Inf", Number::Double(f64::INFINITY)),
        ("-Inf", Number::Double(f64::NEG_INFINITY)),
        ("1e-400", Number::Double(0.0)),
    ];
    for (text, want) in table {
        assert_eq!(root_number(text), *want, "{text}");
    }
    assert!(root_number("NaN").as_f64().is_nan());
    assert!(root_number("-NaN").as_f64().is_nan());
}

#[test]
fn number_predicates_follow_rapidjson() {
    let n = root_number("3000000000");
    assert_eq!(
        (n.as_i32(), n.as_u32(), n.as_i64()),
        (None, Some(3_000_000_000), Some(3_000_000_000))
    );
    let n = root_number("-1");
    assert_eq!((n.as_u32(), n.as_u64(), n.as_i32()), (None, None, Some(-1)));
    let n = root_number("1.0");
    assert_eq!((n.as_i32(), n.as_i64(), n.as_u64()), (None, None, None));
    assert_eq!(root_number("1435774380").as_f32(), 1435774336.0);
}

#[test]
fn strings_unescape_and_keep_raw_bytes() {
    let table: &[(&[u8], &[u8])] = &[
        (br#""plain""#, b"plain"),
        (br#""a\"b\\c\/d""#, b"a\"b\\c/d"),
        (br#""\b\f\n\r\t""#, b"\x08\x0c\n\r\t"),
        (br#""\u0041\u00e9\u20AC""#, "Aé€".as_bytes()),
        (br#""\uD83D\uDE00""#, "😀".as_bytes()),
        (br#""\uDC00""#, b"\xed\xb0\x80"),
        (br#""\u0000""#, b"\0"),
        (b"\"\xff\xfe\"", b"\xff\xfe"),
    ];
    for (text, want) in table {
        let doc = Document::parse(text).unwrap();
        assert_eq!(doc.root().as_bytes().unwrap(), *want);
    }
}

#[test]
fn rapidjson_errors_and_offsets() {
    let table: &[(&[u8], E, usize)] = &[
        (b"x", E::ValueInvalid, 0),
        (b"   ", E::DocumentEmpty, 3),
        (b"]", E::DocumentEmpty, 0),
        (b"{", E::ObjectMissName, 1),
        (b"{1:2}", E::ObjectMissName, 1),
        (b"{\"a\":1,}", E::ObjectMissName, 7),
        (b"{\"a\" 1}", E::ObjectMissColon, 5),
        (b"{\"a\":}", E::ValueInvalid, 5),
        (b"{\"a\":1 \"b\"}", E::ObjectMissCommaOrCurlyBracket, 7),
        (b"[1 2]", E::ArrayMissCommaOrSquareBracket, 3),
        (b"[1,]", E::ValueInvalid, 3),
        (b"[,1]", E::ValueInvalid, 1),
        (b"[1", E::ArrayMissCommaOrSquareBracket, 2),
        (b"nul", E::ValueInvalid, 3),
        (b"trux", E::ValueInvalid, 3),
        (b"-", E::ValueInvalid, 1),
        (b"-x", E::ValueInvalid, 1),
        (b"1.", E::NumberMissFraction, 2),
        (b"[1.e5]", E::NumberMissFraction, 3),
        (b"1e", E::NumberMissExponent, 2),
        (b"1e+", E::NumberMissExponent, 3),
        (b"[1e309]", E::NumberTooBig, 1),
        (b"[0e400]", E::NumberTooBig, 1),
        (b"[-2e308]", E::NumberTooBig, 1),
        (b"Nax", E::ValueInvalid, 2),
        (b"Infin", E::ValueInvalid, 5),
        (b"\"abc", E::StringMissQuotationMark, 4),
        (b"\"a\0b\"", E::StringMissQuotationMark, 2),
        (b"\"a\nb\"", E::StringInvalidEncoding, 2),
        (b"\"a\\x\"", E::StringEscapeInvalid, 2),
        (b"\"a\\u12G4\"", E::StringUnicodeEscapeInvalidHex, 2),
        (b"\"\\uD800\"", E::StringUnicodeSurrogateInvalid, 1),
        (b"\"\\uD800\\u0041\"", E::StringUnicodeSurrogateInvalid, 1),
        (b"[1,\0]", E::ValueInvalid, 3),
    ];
    for (text, kind, offset) in table {
        assert_eq!(
            parse_err(text),
            (*kind, *offset),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn error_status_text_matches_tf_serving() {
    let status: Status = Document::parse(b"x").unwrap_err().into();
    assert_eq!(
        status.message(),
        "JSON Parse error: Invalid value. at offset: 0"
    );
    let status: Status = Document::parse(b"[0.]").unwrap_err().into();
    assert_eq!(
        status.message(),
        "JSON Parse error: Miss fraction part in number. at offset: 3"
    );
}

#[test]
fn trailing_bytes_after_the_root_are_ignored() {
    let doc = Document::parse(b"{\"a\": [1, 2]}X garbage ]]]").unwrap();
    assert_eq!(doc.root().get("a").unwrap().len(), 2);
    assert_eq!(root_number("0123"), Number::Int(0));
    assert_eq!(root_number("1 2"), Number::Int(1));
}

#[test]
fn utf8_bom_is_skipped_but_counted_in_offsets() {
    let doc = Document::parse(b"\xef\xbb\xbf{}").unwrap();
    assert!(doc.root().is_object());
    assert_eq!(parse_err(b"\xef\xbb\xbfx"), (E::ValueInvalid, 3));
}

#[test]
fn containers_iterate_in_document_order_with_duplicates() {
    let doc = Document::parse(br#"{"b": [1, [2, 3], {"x": null}], "a": true, "b": 5}"#).unwrap();
    let root = doc.root();
    let keys: Vec<&[u8]> = root.members().map(|(k, _)| k).collect();
    assert_eq!(keys, [&b"b"[..], b"a", b"b"]);
    assert_eq!(
        root.get("b").unwrap().len(),
        3,
        "FindMember returns the first"
    );
    let b = root.get("b").unwrap();
    let types: Vec<&str> = b.elements().map(|v| v.type_name()).collect();
    assert_eq!(types, ["Number", "Array", "Object"]);
    assert_eq!(root.get("a").unwrap().as_bool(), Some(true));
    assert!(root.get("missing").is_none());
    assert!(Document::parse(b"[]").unwrap().root().first().is_none());
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = vec![b'['; 100_000];
    assert_eq!(parse_err(&deep), (E::ValueInvalid, 100_000));
    let mut balanced = vec![b'['; 100_000];
    balanced.extend(vec![b']'; 100_000]);
    let doc = Document::parse(&balanced).unwrap();
    assert_eq!(doc.root().len(), 1);
    assert!(debug_string(doc.root()).len() <= DEBUG_LIMIT);
    let objects = "{\"a\":".repeat(50_000) + &"}".repeat(50_000);
    assert_eq!(parse_err(objects.as_bytes()), (E::ValueInvalid, 250_000));
}

#[test]
fn hostile_inputs_never_panic() {
    let samples: &[&[u8]] = &[
        br#"{"instances": [{"a": [1.5, "x\u00e9", {"b64": "AA=="}]}], "sig": -1e-5}"#,
        b"[1e999999999999999999999, 99999999999999999999999999999999999999]",
        b"\"\\uD83D\\uDE00\\uDBFF\\uDFFF\"",
        b"\xff\xfe\xfd{\"\xc3\x28\": \"\xe2\x82\"}",
    ];
    for sample in samples {
        for cut in 0..=sample.len() {
            let _ = Document::parse(&sample[..cut]);
        }
        for i in 0..sample.len() {
            for b in [b'[', b'{', b'"', b'\\', b'-', b'e', b'.', 0, 0xff] {
                let mut m = sample.to_vec();
                m[i] = b;
                if let Ok(doc) = Document::parse(&m) {
                    let _ = debug_string(doc.root());
                }
            }
        }
    }
    let huge = format!("[{}]", "9".repeat(100_000));
    assert_eq!(parse_err(huge.as_bytes()), (E::NumberTooBig, 1));
    let long_fraction = format!("0.{}", "1".repeat(100_000));
    assert!((root_number(&long_fraction).as_f64() - 0.1111111111111111).abs() < 1e-15);
}

#[test]
fn debug_rendering_matches_rapidjson_pretty_writer() {
    assert_eq!(debug(r#""x""#), r#""x""#);
    assert_eq!(debug("1"), "1");
    assert_eq!(debug("1.0"), "1.0");
    assert_eq!(debug("0.1"), "0.1");
    assert_eq!(debug("1e300"), "1e+300");
    assert_eq!(debug("NaN"), "NaN");
    assert_eq!(debug("-Infinity"), "-Infinity");
    assert_eq!(debug("[]"), "[]");
    assert_eq!(debug("{}"), "{}");
    assert_eq!(debug("[1,2]"), "[\n    1,\n    2\n]");
    assert_eq!(
        debug(r#"{"a": [1.5, {"b": null}], "c": "q\"\n"}"#),
        "{\n    \"a\": [\n        1.5,\n        {\n            \"b\": null\n        }\n    ],\n    \"c\": \"q\\\"\\n\"\n}"
    );
    // Nested doubles use rapidjson's own shortest formatting.
    assert_eq!(
        debug("[1e21, 1e-7, 100.0]"),
        "[\n    1e21,\n    1e-7,\n    100.0\n]"
    );
    // rapidjson's writer gives up at a nested NaN, leaving what it wrote so far.
    assert_eq!(debug("[1, NaN, 2]"), "[\n    1,\n    ");
}

#[test]
fn debug_rendering_is_truncated_at_256_bytes() {
    let long = format!("[{}]", vec!["123456789"; 100].join(","));
    let text = debug(&long);
    assert_eq!(text.len(), DEBUG_LIMIT);
    assert!(text.starts_with("[\n    123456789,\n    123456789"));
}

/// Doubles read by the exact fast path (all digits within 2^53, a power of ten within 22)
/// must be the very bits the text parses to; tokens outside it take the text route.
#[test]
fn doubles_are_the_bits_their_text_parses_to() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut tokens: Vec<String> = [
        "0.977",
        "-0.0",
        "0.0",
        "-0.003",
        "1.5e3",
        "1e22",
        "1e23",
        "1e-22",
        "1e-23",
        "9007199254740992.0",
        "9007199254740993.0",
        "0.1",
        "0.30000000000000004",
        "123456789012345678.5",
        "4.9e-324",
        "1.7976931348623157e308",
        "2.5E-5",
        "0.000000000000000000001",
        "100000000000000000000000.0",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    for _ in 0..200_000 {
        let int = next() % 1_000_000;
        let frac_len = (next() % 18) as usize;
        let frac: String = (0..frac_len)
            .map(|_| char::from(b'0' + (next() % 10) as u8))
            .collect();
        let exp = (next() % 61) as i64 - 30;
        let sign = if next() % 2 == 0 { "" } else { "-" };
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        tokens.push(match next() % 3 {
            0 => format!("{sign}{int}.{frac}"),
            1 => format!("{sign}{int}.{frac}e{exp}"),
            _ => format!("{sign}{int}e{exp}"),
        });
    }
    for token in &tokens {
        let want: f64 = token.parse().unwrap();
        match root_number(token) {
            Number::Double(got) => assert_eq!(got.to_bits(), want.to_bits(), "{token}"),
            other => panic!("{token} read as {other:?}"),
        }
    }
}
