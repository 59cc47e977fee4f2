//! Tests of the float formatting: TF Serving's examples, the fast paths against the literal
//! printf algorithm, and ties.

use super::*;

fn f32s(v: f32) -> String {
    let mut out = Vec::new();
    write_decimal_f32(v, &mut out);
    String::from_utf8(out).unwrap()
}

fn f64s(v: f64) -> String {
    let mut out = Vec::new();
    write_decimal_f64(v, &mut out);
    String::from_utf8(out).unwrap()
}

fn grisu(v: f64) -> String {
    let mut out = Vec::new();
    write_grisu_f64(v, &mut out);
    String::from_utf8(out).unwrap()
}

/// The general path alone (shortest digits, else nine), for checking the shortcut.
fn f32s_general(v: f32) -> String {
    let mut out = Vec::new();
    let start = out.len();
    let mut ryu = ryu::Buffer::new();
    let d = Decimal::from_text(ryu.format_finite(v));
    assert!(d.len <= 6, "{v} has {} digits", d.len);
    d.write_g(6, &mut out);
    finish_decimal(&mut out, start);
    String::from_utf8(out).unwrap()
}

#[test]
fn few_exact_digits_print_as_the_general_path_does() {
    let mut checked = 0;
    // Dyadic fractions (the values with short exact decimals) and whole numbers, both
    // signs, around the edges: 6 digits, 10^6, 2^-6 (six places), 2^-7 (seven places).
    for denominator in [1u32, 2, 4, 8, 16, 32, 64, 128, 1024] {
        for numerator in (0..4000u32).chain(999_000..1_001_000) {
            for sign in [1.0f32, -1.0] {
                let v = sign * numerator as f32 / denominator as f32;
                if few_digits_exactly(v).is_some() {
                    assert_eq!(f32s(v), f32s_general(v), "{v}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 40_000, "{checked}");
    assert!(few_digits_exactly(0.1).is_none()); // not exact in binary
    assert!(few_digits_exactly(1e6).is_none());
    assert!(few_digits_exactly(1.0 / 128.0).is_none()); // seven places
    assert_eq!(f32s(2.5), "2.5");
    assert_eq!(f32s(-1024.0), "-1024.0");
    assert_eq!(f32s(0.015625), "0.015625");
    assert_eq!(f32s(100.0), "100.0");
    assert_eq!(f32s(999999.0), "999999.0");
}

#[test]
fn reference_examples_for_floats() {
    let table: &[(f32, &str)] = &[
        (3.0, "3.0"),
        (0.5, "0.5"),
        (9000000.0, "9e+06"),
        (999999.0, "999999.0"),
        (0.00003, "3e-05"),
        (1.0 / 3.0, "0.333333343"),
        (-0.0, "-0.0"),
        (555557.5, "555557.5"),
        (2.5, "2.5"),
        (0.2, "0.2"),
        (1435774380.0, "1.43577434e+09"),
        (1e-4, "0.0001"),
        (123456789.0, "123456792.0"),
        (f32::NAN, "NaN"),
        (f32::INFINITY, "Infinity"),
        (f32::NEG_INFINITY, "-Infinity"),
        (f32::MAX, "3.40282347e+38"),
        (1e-45, "1.4013e-45"),
    ];
    for &(v, want) in table {
        assert_eq!(f32s(v), want, "formatting {v:e}");
    }
}

#[test]
fn doubles_use_seventeen_digits_when_needed() {
    let table: &[(f64, &str)] = &[
        (3.0, "3.0"),
        (0.1, "0.1"),
        (1.0 / 3.0, "0.33333333333333331"),
        (1e100, "1e+100"),
        (123456.0, "123456.0"),
        (1234567.0, "1234567.0"),
        (-2.5e-300, "-2.5e-300"),
        (5e-324, "4.94066e-324"),
    ];
    for &(v, want) in table {
        assert_eq!(f64s(v), want, "formatting {v:e}");
    }
}

/// The C code, literally: 6 digits; if they do not read back, `max` digits.
fn literal<T>(v: T, max: usize) -> String
where
    T: std::fmt::LowerExp + std::str::FromStr + PartialEq + Copy,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    let six = format!("{v:.5e}");
    let mut want = Vec::new();
    if six.parse::<T>().unwrap() == v {
        Decimal::from_text(&six).write_g(6, &mut want);
    } else {
        Decimal::from_text(&format!("{v:.*e}", max - 1)).write_g(max as i32, &mut want);
    }
    finish_decimal(&mut want, 0);
    String::from_utf8(want).unwrap()
}

/// The ryu-based fast paths must agree with the literal algorithm everywhere.
#[test]
fn fast_paths_match_literal_algorithm() {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..100_000 {
        let bits = next();
        let v = f32::from_bits(bits as u32);
        if v.is_finite() {
            assert_eq!(f32s(v), literal(v, 9), "f32 bits {:#x}", bits as u32);
        }
        // Floats that print with few digits exercise the 6-digit path and carries.
        let short = (bits % 2_000_000) as f32 / 1000.0;
        assert_eq!(f32s(short), literal(short, 9), "{short:e}");
        let d = f64::from_bits(bits);
        if d.is_finite() {
            assert_eq!(f64s(d), literal(d, 17), "f64 bits {bits:#x}");
        }
    }
    // Exact midpoints at the 9th digit take the exact path (ties to even).
    for v in [
        1048576.0f32 + 0.125,
        1048577.0 + 0.125,
        2097153.0 + 0.25,
        100000.0 - 0.0078125,
        0.5,
        1e-40,
        1e-45,
    ] {
        assert_eq!(f32s(v), literal(v, 9), "{v:e}");
    }
    assert_eq!(f32s(1048576.0 + 0.125), "1048576.12");
    assert_eq!(f32s(1048577.0 + 0.125), "1048577.12");
}

/// The integer nine-digit path against the literal algorithm on runs of consecutive floats
/// across the whole exponent range (both sides of its 1e-23 limit included).
#[test]
fn nine_digit_path_matches_literal_algorithm_on_consecutive_floats() {
    for exp in 0..255u32 {
        for sign in [0u32, 1 << 31] {
            let first = sign | (exp << 23) | (exp * 40503 % (1 << 23));
            for bits in first..first + 200 {
                let v = f32::from_bits(bits);
                if v.is_finite() {
                    assert_eq!(f32s(v), literal(v, 9), "f32 bits {bits:#x}");
                }
            }
        }
    }
}

#[test]
fn nine_digit_path_covers_its_range_and_rounds_ties_to_even() {
    let d = nine_digits_f32(1.0 / 3.0).unwrap();
    assert_eq!((d.digits(), d.exp), (&b"333333343"[..], -1));
    let d = nine_digits_f32(-f32::MAX).unwrap();
    assert_eq!(
        (d.digits(), d.exp, d.negative),
        (&b"340282347"[..], 38, true)
    );
    // 1048576.125 is a midpoint at the ninth digit: ties go to the even 2.
    let d = nine_digits_f32(1048576.0 + 0.125).unwrap();
    assert_eq!((d.digits(), d.exp), (&b"104857612"[..], 6));
    let d = nine_digits_f32(1.5e-23).unwrap();
    assert_eq!(d.exp, -23);
    assert!(nine_digits_f32(1e-30).is_none());
    assert!(nine_digits_f32(1e-40).is_none());
}

#[test]
fn rounding_carries_into_a_new_digit() {
    let d = Decimal::from_text("9.9999999996e2").round_to(9).unwrap();
    assert_eq!((d.digits(), d.exp), (&b"1"[..], 3));
    assert!(Decimal::from_text("1.234567895e0").round_to(9).is_none());
    let d = Decimal::from_text("1.2345678951e0").round_to(9).unwrap();
    assert_eq!(d.digits(), b"12345679");
    let d = Decimal::from_text("0.000120").round_to(9).unwrap();
    assert_eq!((d.digits(), d.exp), (&b"12"[..], -4));
}

#[test]
fn rapidjson_double_layout() {
    let table: &[(f64, &str)] = &[
        (1.0, "1.0"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (0.001234, "0.001234"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e21, "1e21"),
        (1e20, "100000000000000000000.0"),
        (123.456, "123.456"),
        (1.2345e30, "1.2345e30"),
    ];
    for &(v, want) in table {
        assert_eq!(grisu(v), want);
    }
}
