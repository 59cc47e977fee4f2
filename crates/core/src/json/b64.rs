//! Base64 as TF Serving does it through absl: standard alphabet; decoding skips ASCII
//! whitespace and accepts input with or without `=` padding (but not partial padding).
//! Encoding always pads.

use base64::Engine as _;

const INVALID: u8 = 0xFF;

const fn decode_table() -> [u8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

static DECODE: [u8; 256] = decode_table();

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Decodes like `absl::Base64Unescape`, appending to `out`. Returns false on bad input (the
/// caller reports `Unable to base64 decode`); `out` may then hold a partial result.
pub fn decode_into(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.reserve(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0; // sextets in `acc`
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        let d = DECODE[c as usize];
        if d == INVALID {
            if is_space(c) {
                i += 1;
                continue;
            }
            break;
        }
        acc = acc << 6 | u32::from(d);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
        i += 1;
    }
    // The rest may only be padding and whitespace.
    let mut pads = 0;
    for &c in &input[i..] {
        if c == b'=' {
            pads += 1;
        } else if !is_space(c) {
            return false;
        }
    }
    match n {
        0 => pads == 0,
        // One leftover sextet cannot encode a byte.
        1 => false,
        2 => {
            out.push((acc >> 4) as u8);
            pads == 0 || pads == 2
        }
        _ => {
            out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
            pads == 0 || pads == 1
        }
    }
}

/// Decodes to a new vector, `None` on bad input.
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_into(input, &mut out).then_some(out)
}

/// Standard padded base64 (`absl::Base64Escape`).
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_padded_unpadded_and_spaced() {
        for (input, want) in [
            (&b"aGVsbG8="[..], &b"hello"[..]),
            (b"aGVsbG8", b"hello"),
            (b"aGVs\nbG8=", b"hello"),
            (b"", b""),
            (b"AAEC/w==", &[0, 1, 2, 255]),
            (b"AAEC/w", &[0, 1, 2, 255]),
            (b" YQ== ", b"a"),
        ] {
            assert_eq!(decode(input).as_deref(), Some(want), "{input:?}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for input in [
            &b"a"[..],
            b"aGVsbG8=x",
            b"aGVsbG8==",
            b"YQ=",
            b"a-b_",
            b"====",
            b"\xff",
        ] {
            assert_eq!(decode(input), None, "{input:?}");
        }
    }

    #[test]
    fn encodes_with_padding() {
        assert_eq!(encode(b"hello"), "aGVsbG8=");
        assert_eq!(encode(&[0, 1, 2, 255]), "AAEC/w==");
    }
}
