//! RFC 7541 Appendix C examples (spec test vectors): integers (C.1), single representations
//! (C.2), request sequences without and with Huffman (C.3, C.4) and response sequences with
//! evictions in a 256-byte table (C.5, C.6), checking the decoded fields and the dynamic
//! table's entries and size after each block; and our encoder reproducing C.3 and C.5.

use super::table::DynamicTable;
use super::{Decoder, Encoder, huffman, huffman_code::CODES, integer};

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

pub(crate) type Fields = Vec<(String, String)>;

pub(crate) fn decode_all(d: &mut Decoder, block: &[u8]) -> Fields {
    let mut out = Vec::new();
    d.decode(block, &mut |n, v| {
        out.push((
            String::from_utf8_lossy(n).into_owned(),
            String::from_utf8_lossy(v).into_owned(),
        ))
    })
    .unwrap_or_else(|e| panic!("decoding {block:02x?}: {e}"));
    out
}

pub(crate) fn entries(t: &DynamicTable) -> Fields {
    (0..t.len())
        .map(|i| {
            let (n, v) = t.get(i).unwrap();
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

fn fields(list: &[(&str, &str)]) -> Fields {
    list.iter()
        .map(|&(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// One block of a sequence: its encoding, the fields, the table after it (newest first) and
/// the table's size.
struct Step {
    block: &'static str,
    fields: &'static [(&'static str, &'static str)],
    table: &'static [(&'static str, &'static str)],
    size: usize,
}

fn run(table_size: usize, steps: &[Step]) {
    let mut d = Decoder::new(table_size);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(
            decode_all(&mut d, &hex(step.block)),
            fields(step.fields),
            "block {i}"
        );
        assert_eq!(
            entries(d.table()),
            fields(step.table),
            "table after block {i}"
        );
        assert_eq!(d.table().size(), step.size, "table size after block {i}");
    }
}

const A: (&str, &str) = (":authority", "www.example.com");
const NC: (&str, &str) = ("cache-control", "no-cache");
const CK: (&str, &str) = ("custom-key", "custom-value");
const REQ1: &[(&str, &str)] = &[(":method", "GET"), (":scheme", "http"), (":path", "/"), A];
const REQ2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    A,
    NC,
];
const REQ3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    A,
    CK,
];

const DATE1: (&str, &str) = ("date", "Mon, 21 Oct 2013 20:13:21 GMT");
const DATE2: (&str, &str) = ("date", "Mon, 21 Oct 2013 20:13:22 GMT");
const LOC: (&str, &str) = ("location", "https://www.example.com");
const PRIV: (&str, &str) = ("cache-control", "private");
const COOKIE: (&str, &str) = (
    "set-cookie",
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
);
const GZIP: (&str, &str) = ("content-encoding", "gzip");
const RESP1: &[(&str, &str)] = &[(":status", "302"), PRIV, DATE1, LOC];
const RESP2: &[(&str, &str)] = &[(":status", "307"), PRIV, DATE1, LOC];
const RESP3: &[(&str, &str)] = &[(":status", "200"), PRIV, DATE2, LOC, GZIP, COOKIE];

const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];
const C5: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
     6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
     3d31",
];

fn request_steps(blocks: [&'static str; 3]) -> [Step; 3] {
    [
        Step {
            block: blocks[0],
            fields: REQ1,
            table: &[A],
            size: 57,
        },
        Step {
            block: blocks[1],
            fields: REQ2,
            table: &[NC, A],
            size: 110,
        },
        Step {
            block: blocks[2],
            fields: REQ3,
            table: &[CK, NC, A],
            size: 164,
        },
    ]
}

fn response_steps(blocks: [&'static str; 3]) -> [Step; 3] {
    [
        Step {
            block: blocks[0],
            fields: RESP1,
            table: &[LOC, DATE1, PRIV, (":status", "302")],
            size: 222,
        },
        Step {
            block: blocks[1],
            fields: RESP2,
            table: &[(":status", "307"), LOC, DATE1, PRIV],
            size: 222,
        },
        Step {
            block: blocks[2],
            fields: RESP3,
            table: &[COOKIE, GZIP, DATE2],
            size: 215,
        },
    ]
}

#[test]
fn c1_integers() {
    for (value, prefix, flags, want) in [
        (10, 5, 0, "0a"),
        (1337, 5, 0, "1f9a0a"),
        (42, 8, 0, "2a"),
        (1337, 5, 0xe0, "ff9a0a"),
    ] {
        let mut out = Vec::new();
        integer::encode(&mut out, flags, prefix, value);
        assert_eq!(out, hex(want), "{value} with a {prefix}-bit prefix");
        let mut pos = 0;
        assert_eq!(integer::decode(&out, &mut pos, prefix), Ok(value as u32));
        assert_eq!(pos, out.len());
    }
}

#[test]
fn c2_single_representations() {
    const CUSTOM: (&str, &str) = ("custom-key", "custom-header");
    run(
        4096,
        &[Step {
            block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
            fields: &[CUSTOM],
            table: &[CUSTOM],
            size: 55,
        }],
    );
    const PATH: (&str, &str) = (":path", "/sample/path");
    run(
        4096,
        &[Step {
            block: "040c 2f73 616d 706c 652f 7061 7468",
            fields: &[PATH],
            table: &[],
            size: 0,
        }],
    );
    const PASSWORD: (&str, &str) = ("password", "secret");
    run(
        4096,
        &[Step {
            block: "1008 7061 7373 776f 7264 0673 6563 7265 74",
            fields: &[PASSWORD],
            table: &[],
            size: 0,
        }],
    );
    run(
        4096,
        &[Step {
            block: "82",
            fields: &[(":method", "GET")],
            table: &[],
            size: 0,
        }],
    );
}

#[test]
fn c3_requests_without_huffman() {
    run(4096, &request_steps(C3));
}

#[test]
fn c4_requests_with_huffman() {
    run(
        4096,
        &request_steps([
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ]),
    );
}

#[test]
fn c5_responses_without_huffman() {
    run(256, &response_steps(C5));
}

#[test]
fn c6_responses_with_huffman() {
    run(
        256,
        &response_steps([
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]),
    );
}

/// The Huffman strings of C.4 and C.6, both ways.
#[test]
fn huffman_strings_of_appendix_c() {
    for (text, code) in [
        ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
        ("no-cache", "a8eb 1064 9cbf"),
        ("custom-key", "25a8 49e9 5ba9 7d7f"),
        ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
        ("302", "6402"),
        ("307", "640e ff"),
        ("private", "aec3 771a 4b"),
        (
            "Mon, 21 Oct 2013 20:13:21 GMT",
            "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
        ),
        (
            "https://www.example.com",
            "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
        ),
        ("gzip", "9bd9 ab"),
        (
            COOKIE.1,
            "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                    9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ),
    ] {
        let mut decoded = Vec::new();
        huffman::decode(&hex(code), &mut decoded).unwrap();
        assert_eq!(decoded, text.as_bytes());
        let mut encoded = Vec::new();
        huffman::encode(text.as_bytes(), &mut encoded);
        assert_eq!(encoded, hex(code), "{text}");
    }
}

/// The generated table is a complete prefix code (Kraft sum exactly 1) with EOS as 30 ones.
#[test]
fn huffman_table_is_complete() {
    let kraft: u64 = CODES.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
    assert_eq!(kraft, 1 << 30);
    assert_eq!(CODES[256], (0x3fff_ffff, 30));
    // Every symbol decodes back from its own code.
    for sym in 0..=255u8 {
        let mut enc = Vec::new();
        huffman::encode(&[sym; 3], &mut enc);
        let mut dec = Vec::new();
        huffman::decode(&enc, &mut dec).unwrap();
        assert_eq!(dec, [sym; 3]);
    }
}

/// Our encoder, given the fields of C.3 (and C.5 with a 256-byte table), produces the RFC's
/// bytes: same representation choices, same dynamic table.
#[test]
fn encoder_reproduces_c3_and_c5() {
    let mut e = Encoder::new();
    for (list, want) in [REQ1, REQ2, REQ3].iter().zip(C3) {
        let mut out = Vec::new();
        let f = fields(list);
        e.encode(
            f.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut out,
        );
        assert_eq!(out, hex(want));
    }
    let mut e = Encoder::new();
    e.set_peer_table_size(256);
    for (i, (list, want)) in [RESP1, RESP2, RESP3].iter().zip(C5).enumerate() {
        let mut out = Vec::new();
        let f = fields(list);
        e.encode(
            f.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut out,
        );
        // The first block starts with the size update to 256 (3f e1 01) the RFC leaves out.
        let body = if i == 0 {
            assert_eq!(out[..3], hex("3fe101"));
            &out[3..]
        } else {
            &out[..]
        };
        assert_eq!(body, hex(want), "response {i}");
    }
    assert_eq!(entries(e.table()), fields(&[COOKIE, GZIP, DATE2]));
}
