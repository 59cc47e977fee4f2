//! Number formatting, byte-for-byte as TF Serving writes it.
//!
//! Two formatters exist because TF Serving uses two:
//! * [`write_decimal_f32`] / [`write_decimal_f64`] are its `WriteDecimal`, used for every float
//!   in a response: `%g` with 6 significant digits (`absl::StrCat`), or `%.9g` / `%.17g` when
//!   6 digits do not read back as the same value; `.0` appended when the text has neither `.`
//!   nor `e`; non-finite values as the bare tokens `NaN`, `Infinity`, `-Infinity`.
//! * [`write_grisu_f64`] is rapidjson's `Writer::Double` (shortest round-trip digits laid out by
//!   rapidjson's `Prettify`), which only appears inside error messages that echo a request.
//!
//! Responses are the hot path, so digits come from `ryu` (shortest round-trip) where that is
//! provably the same as printf's correctly rounded digits, and from Rust's exact formatting
//! (which rounds ties to even, like glibc) otherwise:
//! * For a normal value whose shortest representation has at most 6 digits, that *is* the
//!   6-digit `%g` rounding (the value is closer to it than half a unit in the 6th digit); if the
//!   shortest needs more, no 6-digit text can round-trip, so `%.N g` follows.
//! * A float's `%.9g` is its double's shortest digits rounded to 9, unless those digits sit
//!   exactly on a rounding midpoint: any midpoint between the value and its shortest double
//!   digits would itself be a shorter (or equally short and closer) representation.
//! * Subnormals, midpoints and `%.17g` take the literal, slower path.

use std::fmt::Write as _;

/// A small stack buffer for `write!`, so formatting a number allocates nothing.
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl StackBuf {
    fn new() -> StackBuf {
        StackBuf {
            buf: [0; 48],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("only ASCII is written")
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A finite value as significant digits `d1 d2 … dn` (no trailing zeros unless the value is
/// zero) and a decimal exponent `exp`, meaning `d1.d2…dn × 10^exp`.
struct Decimal {
    negative: bool,
    digits: [u8; 24],
    len: usize,
    exp: i32,
}

impl Decimal {
    /// Reads any float text Rust or `ryu` writes: `-1.25e-5`, `0.000125`, `125.0`, `1e30`.
    fn from_text(s: &str) -> Decimal {
        let (mantissa, exp) = match s.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().expect("exponent")),
            None => (s, 0),
        };
        let (negative, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mantissa),
        };
        let point = mantissa.find('.').unwrap_or(mantissa.len()) as i32;
        let mut d = Decimal {
            negative,
            digits: [0; 24],
            len: 0,
            exp: 0,
        };
        // Index of each digit in the mantissa with the point removed; digit i has power
        // point - 1 - i.
        for (i, c) in mantissa.bytes().filter(u8::is_ascii_digit).enumerate() {
            if d.len == 0 && c == b'0' {
                continue;
            }
            if d.len == 0 {
                d.exp = point - 1 - i as i32 + exp;
            }
            d.digits[d.len] = c;
            d.len += 1;
        }
        if d.len == 0 {
            d.digits[0] = b'0';
            d.len = 1;
        }
        while d.len > 1 && d.digits[d.len - 1] == b'0' {
            d.len -= 1;
        }
        d
    }

    /// Rounds to `n` significant digits (half up, which equals printf's rounding of the exact
    /// value here), or `None` when the digits are exactly a midpoint and the exact value must
    /// decide.
    fn round_to(mut self, n: usize) -> Option<Decimal> {
        if self.len <= n {
            return Some(self);
        }
        let next = self.digits[n];
        if next == b'5' && self.len == n + 1 {
            return None;
        }
        self.len = n;
        if next >= b'5' {
            let mut i = n;
            loop {
                if i == 0 {
                    // 999… rounded up: one digit, next power of ten.
                    self.digits[0] = b'1';
                    self.len = 1;
                    self.exp += 1;
                    break;
                }
                i -= 1;
                if self.digits[i] == b'9' {
                    self.len = i;
                } else {
                    self.digits[i] += 1;
                    break;
                }
            }
        }
        while self.len > 1 && self.digits[self.len - 1] == b'0' {
            self.len -= 1;
        }
        Some(self)
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    /// printf `%.{precision}g` of this (already rounded to at most `precision` digits) value,
    /// without the `#` flag, so trailing zeros are dropped.
    fn write_g(&self, precision: i32, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        let digits = self.digits();
        let x = self.exp;
        if x < -4 || x >= precision {
            out.push(digits[0]);
            if digits.len() > 1 {
                out.push(b'.');
                out.extend_from_slice(&digits[1..]);
            }
            out.push(b'e');
            out.push(if x < 0 { b'-' } else { b'+' });
            push_uint(out, x.unsigned_abs(), 2);
        } else if x >= 0 {
            let int_len = x as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_len - digits.len(), b'0');
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-x - 1) as usize, b'0');
            out.extend_from_slice(digits);
        }
    }
}

/// Appends `v` in decimal, zero-padded to `min_width` digits (printf pads exponents to 2).
fn push_uint(out: &mut Vec<u8>, v: u32, min_width: usize) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    let mut v = v;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for _ in (tmp.len() - i)..min_width {
        out.push(b'0');
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Appends `text` with `.0` when it has neither a point nor an exponent (WriteDecimal's rule,
/// so that whole numbers still read as decimals).
fn finish_decimal(out: &mut Vec<u8>, start: usize) {
    if !out[start..].iter().any(|&c| c == b'.' || c == b'e') {
        out.extend_from_slice(b".0");
    }
}

fn write_non_finite(v: f64, out: &mut Vec<u8>) {
    out.extend_from_slice(if v.is_nan() {
        b"NaN"
    } else if v > 0.0 {
        b"Infinity"
    } else {
        b"-Infinity"
    });
}

/// printf `%.{digits}e` of `v` through Rust's exact formatting.
fn exact<T: std::fmt::LowerExp>(v: T, digits: usize) -> Decimal {
    let mut buf = StackBuf::new();
    write!(buf, "{:.*e}", digits - 1, v).expect("fits");
    Decimal::from_text(buf.as_str())
}

/// Subnormals: the C code literally (6 digits; keep them if they read back as `v`).
fn subnormal_six<T>(v: T) -> Option<Decimal>
where
    T: std::fmt::LowerExp + std::str::FromStr + PartialEq + Copy,
{
    let mut buf = StackBuf::new();
    write!(buf, "{v:.5e}").expect("fits");
    let back: T = buf.as_str().parse().ok()?;
    (back == v).then(|| Decimal::from_text(buf.as_str()))
}

/// TF Serving's `WriteDecimal<float>`: `3.0`, `0.5`, `9e+06`, `0.333333343`, `NaN`.
pub fn write_decimal_f32(v: f32, out: &mut Vec<u8>) {
    if !v.is_finite() {
        return write_non_finite(f64::from(v), out);
    }
    let start = out.len();
    if let Some(d) = few_digits_exactly(v) {
        d.write_g(6, out);
        return finish_decimal(out, start);
    }
    let mut ryu = ryu::Buffer::new();
    let six = if v == 0.0 || v.is_normal() {
        Some(Decimal::from_text(ryu.format_finite(v))).filter(|d| d.len <= 6)
    } else {
        subnormal_six(v)
    };
    match six {
        Some(d) => d.write_g(6, out),
        None => {
            let nine = nine_digits_f32(v).unwrap_or_else(|| {
                Decimal::from_text(ryu.format_finite(f64::from(v)))
                    .round_to(9)
                    .unwrap_or_else(|| exact(v, 9))
            });
            nine.write_g(9, out);
        }
    }
    finish_decimal(out, start);
}

/// `v` as a decimal when its exact value has at most six significant digits, with no more
/// than six after the point (`3`, `2.5`, `0.015625`, `-1024`): then `%.6g` prints exactly those
/// digits and they read back as `v`, so they are TF Serving's answer without formatting the
/// shortest digits and parsing them back. Most answers of small models are like this.
///
/// `|v|·10^k` is exact in f64 (24 significand bits times `5^k < 2^14`, then a power of two),
/// so "is a whole number under 10^6" is decided without rounding.
fn few_digits_exactly(v: f32) -> Option<Decimal> {
    const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
    if v == 0.0 || !v.is_normal() {
        return None;
    }
    let magnitude = f64::from(v).abs();
    for (k, scale) in POW10.iter().enumerate() {
        let scaled = magnitude * scale;
        if scaled >= 1e6 {
            return None;
        }
        let n = scaled as u32;
        if f64::from(n) == scaled {
            let mut d = Decimal {
                negative: v < 0.0,
                digits: [0; 24],
                len: 0,
                exp: 0,
            };
            let mut text = [0u8; 6];
            let mut i = text.len();
            let mut rest = n;
            while rest > 0 {
                i -= 1;
                text[i] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            let digits = &text[i..];
            d.exp = digits.len() as i32 - 1 - k as i32;
            let significant =
                digits.len() - digits.iter().rev().take_while(|&&c| c == b'0').count();
            d.digits[..significant].copy_from_slice(&digits[..significant]);
            d.len = significant;
            return Some(d);
        }
    }
    None
}

/// `10^p` for `p` in `0..=38`.
fn pow10(p: u32) -> u128 {
    10u128.pow(p)
}

/// `n / d` rounded to nearest, ties to even (printf's rounding of an exact value).
fn div_round_even(n: u128, d: u128) -> u128 {
    let (q, r) = (n / d, n % d);
    if r * 2 > d || (r * 2 == d && q % 2 == 1) {
        q + 1
    } else {
        q
    }
}

/// `%.9g`'s digits of a normal f32 from about 1e-23 up, by integer arithmetic: `|v| = m·2^e`,
/// so `|v|·10^p` is a ratio of integers that fits `u128` over that range, and rounding it to
/// nine digits is one division. About four times faster than shortest-f64-digits-then-round,
/// which stays the fallback (with the exact formatter for midpoints) outside the range.
fn nine_digits_f32(v: f32) -> Option<Decimal> {
    let bits = v.to_bits();
    let biased = ((bits >> 23) & 0xff) as i32;
    if biased == 0 || biased == 0xff {
        return None;
    }
    let m = u128::from((bits & 0x7f_ffff) | 0x80_0000);
    let e = biased - 150;
    // floor(log10 |v|) is floor(log2 |v| · log10 2) or one more (78913 / 2^18 ≈ log10 2).
    let mut k = ((i64::from(e + 23) * 78913) >> 18) as i32;
    for _ in 0..3 {
        let p = 8 - k;
        let q = if e >= 0 {
            let n = m << e;
            if p >= 0 {
                n * pow10(p as u32)
            } else {
                div_round_even(n, pow10((-p) as u32))
            }
        } else {
            // |v| < 2^24 here, so p > 0; m·10^p must fit, and 2^-e always does then.
            if !(1..=31).contains(&p) {
                return None;
            }
            div_round_even(m * pow10(p as u32), 1u128 << (-e))
        };
        if q >= 1_000_000_000 {
            k += 1;
            continue;
        }
        if q < 100_000_000 {
            k -= 1;
            continue;
        }
        let mut d = Decimal {
            negative: bits >> 31 != 0,
            digits: [0; 24],
            len: 9,
            exp: k,
        };
        let mut rest = q as u32;
        for i in (0..9).rev() {
            d.digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        while d.len > 1 && d.digits[d.len - 1] == b'0' {
            d.len -= 1;
        }
        return Some(d);
    }
    None
}

/// TF Serving's `WriteDecimal<double>`: as for floats, with `%.17g` as the fallback.
pub fn write_decimal_f64(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        return write_non_finite(v, out);
    }
    let start = out.len();
    let six = if v == 0.0 || v.is_normal() {
        Some(Decimal::from_text(ryu::Buffer::new().format_finite(v))).filter(|d| d.len <= 6)
    } else {
        subnormal_six(v)
    };
    match six {
        Some(d) => d.write_g(6, out),
        None => exact(v, 17).write_g(17, out),
    }
    finish_decimal(out, start);
}

/// rapidjson's `Writer::Double` for a finite value: shortest digits, laid out by its
/// `Prettify` (`1.0`, `0.001`, `1e21`, `1.5e-7`, `-0.0`).
pub fn write_grisu_f64(v: f64, out: &mut Vec<u8>) {
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let d = Decimal::from_text(ryu::Buffer::new().format_finite(v));
    if d.negative {
        out.push(b'-');
    }
    let digits = d.digits();
    let length = digits.len() as i32;
    let kk = d.exp + 1; // 10^(kk-1) <= |v| < 10^kk
    let k = kk - length; // |v| = digits × 10^k
    if 0 <= k && kk <= 21 {
        out.extend_from_slice(digits);
        out.resize(out.len() + k as usize, b'0');
        out.extend_from_slice(b".0");
    } else if 0 < kk && kk <= 21 {
        out.extend_from_slice(&digits[..kk as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[kk as usize..]);
    } else if -6 < kk && kk <= 0 {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-kk) as usize, b'0');
        out.extend_from_slice(digits);
    } else {
        out.push(digits[0]);
        if length > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        if kk - 1 < 0 {
            out.push(b'-');
        }
        push_uint(out, (kk - 1).unsigned_abs(), 1);
    }
}

#[cfg(test)]
mod tests;
