//! HPACK Huffman decoding (RFC 7541 §5.2, Appendix B).
//!
//! The code is canonical (gen_huffman.py checked it), so two small tables built at compile
//! time from [`CODES`] decode it: a direct lookup on the next [`FAST_BITS`] bits for the short
//! codes that make up nearly all header text (letters, digits, `-`, `/`, `:` …), and for longer
//! codes the canonical "first code of each length" walk. Bits are consumed from a 64-bit
//! accumulator refilled a byte at a time.
//!
//! Strict per §5.2: EOS inside the string, padding of more than 7 bits, and padding that is not
//! the most significant bits of EOS (all ones) are errors.

use super::DecodeError;
use super::huffman_code::CODES;

const FAST_BITS: u32 = 10;
const EOS: u16 = 256;

/// By the next `FAST_BITS` bits: `symbol | length << 9`, or 0 when the code is longer.
static FAST: [u16; 1 << FAST_BITS] = build_fast();

const fn build_fast() -> [u16; 1 << FAST_BITS] {
    let mut table = [0u16; 1 << FAST_BITS];
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        if len as u32 <= FAST_BITS {
            let spare = FAST_BITS - len as u32;
            let base = (code << spare) as usize;
            let mut i = 0;
            while i < 1 << spare {
                table[base + i] = sym as u16 | (len as u16) << 9;
                i += 1;
            }
        }
        sym += 1;
    }
    table
}

/// The canonical code's layout by length: symbols ordered by (length, symbol), and per length
/// the first code, the number of codes and where its symbols start in `symbols`.
struct Canonical {
    symbols: [u16; 257],
    first: [u32; 31],
    count: [u32; 31],
    start: [u32; 31],
}

static CANONICAL: Canonical = build_canonical();

const fn build_canonical() -> Canonical {
    let mut c = Canonical {
        symbols: [0; 257],
        first: [0; 31],
        count: [0; 31],
        start: [0; 31],
    };
    let mut n = 0;
    let mut len = 1;
    while len <= 30 {
        c.start[len] = n as u32;
        let mut sym = 0;
        while sym < CODES.len() {
            if CODES[sym].1 as usize == len {
                if c.count[len] == 0 {
                    c.first[len] = CODES[sym].0;
                }
                c.count[len] += 1;
                c.symbols[n] = sym as u16;
                n += 1;
            }
            sym += 1;
        }
        len += 1;
    }
    c
}

/// The symbol whose code starts the 30 bits `window` (left-aligned in the low 30 bits), and
/// that code's length. Canonical codes of each length are consecutive and, left-aligned, lie
/// above all shorter ones, so the first length whose range contains the prefix is the one.
#[inline]
fn lookup(window: u32) -> (u16, u32) {
    let fast = FAST[(window >> (30 - FAST_BITS)) as usize];
    if fast != 0 {
        return (fast & 0x1ff, u32::from(fast >> 9));
    }
    let c = &CANONICAL;
    for len in FAST_BITS as usize + 1..=30 {
        let code = window >> (30 - len);
        if code.wrapping_sub(c.first[len]) < c.count[len] {
            return (
                c.symbols[(c.start[len] + code - c.first[len]) as usize],
                len as u32,
            );
        }
    }
    unreachable!("the Huffman code is complete: every 30-bit window starts with a code")
}

/// Appends the decoding of `src` to `dst`.
pub(crate) fn decode(src: &[u8], dst: &mut Vec<u8>) -> Result<(), DecodeError> {
    // The shortest code is 5 bits, so this is all the room the output can need.
    dst.reserve(src.len() * 8 / 5 + 1);
    let mut acc: u64 = 0; // next bits, left-aligned
    let mut nbits: u32 = 0;
    let mut pos = 0;
    loop {
        while nbits <= 56 && pos < src.len() {
            acc |= u64::from(src[pos]) << (56 - nbits);
            nbits += 8;
            pos += 1;
        }
        if nbits < 8 {
            // Input exhausted. Up to 7 bits of ones are padding; no code is that many ones.
            if nbits == 0 || acc >> (64 - nbits) == (1 << nbits) - 1 {
                return Ok(());
            }
        }
        let (sym, len) = lookup((acc >> 34) as u32);
        if len > nbits {
            // The rest is no complete code: padding that is too long or not all ones.
            return Err(DecodeError::HuffmanPadding);
        }
        if sym == EOS {
            return Err(DecodeError::HuffmanEos);
        }
        dst.push(sym as u8);
        acc <<= len;
        nbits -= len;
    }
}

/// Appends the Huffman encoding of `src` to `dst` (the encoder sends strings raw; the tests
/// use this to feed the decoder).
#[cfg(test)]
pub(crate) fn encode(src: &[u8], dst: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut nbits = 0;
    for &b in src {
        let (code, len) = CODES[usize::from(b)];
        acc = acc << len | u64::from(code);
        nbits += u32::from(len);
        while nbits >= 8 {
            nbits -= 8;
            dst.push((acc >> nbits) as u8);
        }
    }
    if nbits > 0 {
        let pad = 8 - nbits;
        dst.push(((acc << pad) as u8) | ((1u8 << pad) - 1));
    }
}
