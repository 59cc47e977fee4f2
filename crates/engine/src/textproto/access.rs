//! Typed access to a parsed tree, for the schema-aware readers built on it: scalar conversions
//! with protobuf's syntax and error sentences, and the unknown/repeated/oneof field checks.

use std::collections::BTreeSet;

use super::{Field, Node, Scalar, SyntaxError};

/// `Message type "<message_type>" has no field named "<name>".`, where protobuf reports it.
pub fn unknown_field(field: &Field, message_type: &str) -> SyntaxError {
    SyntaxError::new(
        field.after_name,
        format!(
            "Message type \"{message_type}\" has no field named \"{}\".",
            field.name
        ),
    )
}

/// Tracks which singular fields of one message were set, for protobuf's repeated-field and
/// oneof errors.
#[derive(Debug, Default)]
pub struct Seen(BTreeSet<String>);

impl Seen {
    /// Records a singular field; errors if it was already set.
    pub fn once(&mut self, field: &Field) -> Result<(), SyntaxError> {
        if self.0.insert(field.name.clone()) {
            Ok(())
        } else {
            Err(SyntaxError::new(
                field.after_name,
                format!(
                    "Non-repeated field \"{}\" is specified multiple times.",
                    field.name
                ),
            ))
        }
    }

    /// Records a member of oneof `oneof`, whose members are `members`; errors if another member
    /// (or this one) was already set.
    pub fn oneof(
        &mut self,
        field: &Field,
        oneof: &str,
        members: &[&str],
    ) -> Result<(), SyntaxError> {
        if let Some(other) = members
            .iter()
            .find(|m| **m != field.name && self.0.contains(**m))
        {
            return Err(SyntaxError::new(
                field.after_name,
                format!(
                    "Field \"{}\" is specified along with field \"{other}\", another member of oneof \"{oneof}\".",
                    field.name
                ),
            ));
        }
        self.once(field)
    }
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    }
}

/// Parses protobuf's integer syntax: decimal, `0x` hex or leading-`0` octal, optional `-`.
fn parse_integer(s: &str) -> Option<(bool, u64)> {
    let (negative, digits) = split_sign(s);
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some((negative, value))
}

impl Field {
    /// An error about this field's value.
    pub fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.value_pos, message)
    }

    fn token(&self, expected: &str) -> Result<&str, SyntaxError> {
        match &self.value {
            Node::Scalar(Scalar::Token(t)) => Ok(t),
            Node::Scalar(Scalar::Str(s)) => {
                Err(self.error(format!("Expected {expected}, got: \"{s}\"")))
            }
            Node::Message(_) => Err(self.error("Expected \":\", found \"{\".")),
        }
    }

    /// The fields of a message value.
    pub fn fields(&self) -> Result<&[Field], SyntaxError> {
        match &self.value {
            Node::Message(fields) => Ok(fields),
            Node::Scalar(Scalar::Token(t)) => {
                Err(self.error(format!("Expected \"{{\", found \"{t}\".")))
            }
            Node::Scalar(Scalar::Str(s)) => {
                Err(self.error(format!("Expected \"{{\", found \"\"{s}\"\".")))
            }
        }
    }

    /// A string value (quoted in the text).
    pub fn string(&self) -> Result<&str, SyntaxError> {
        match &self.value {
            Node::Scalar(Scalar::Str(s)) => Ok(s),
            Node::Scalar(Scalar::Token(t)) => Err(self.error(format!("Expected string, got: {t}"))),
            Node::Message(_) => Err(self.error("Expected \":\", found \"{\".")),
        }
    }

    /// A signed integer (int64, or narrower with `try_into`).
    pub fn int(&self) -> Result<i64, SyntaxError> {
        let t = self.token("integer")?;
        let (negative, magnitude) =
            parse_integer(t).ok_or_else(|| self.error(format!("Expected integer, got: {t}")))?;
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or_else(|| self.error(format!("Integer out of range ({t})")))
    }

    /// A signed integer that must fit `T` (e.g. int32).
    pub fn int_as<T: TryFrom<i64>>(&self) -> Result<T, SyntaxError> {
        let v = self.int()?;
        T::try_from(v).map_err(|_| self.error(format!("Integer out of range ({v})")))
    }

    /// An unsigned integer (uint64, or narrower with `try_into`).
    pub fn uint(&self) -> Result<u64, SyntaxError> {
        let t = self.token("integer")?;
        match parse_integer(t) {
            Some((false, v)) => Ok(v),
            _ => Err(self.error(format!("Expected integer, got: {t}"))),
        }
    }

    /// An unsigned integer that must fit `T` (e.g. uint32).
    pub fn uint_as<T: TryFrom<u64>>(&self) -> Result<T, SyntaxError> {
        let v = self.uint()?;
        T::try_from(v).map_err(|_| self.error(format!("Integer out of range ({v})")))
    }

    /// A floating-point value: decimal, exponent, `f` suffix, `inf`, `infinity`, `nan`.
    pub fn float(&self) -> Result<f64, SyntaxError> {
        let t = self.token("double")?;
        let (negative, body) = split_sign(t);
        let lower = body.to_ascii_lowercase();
        let magnitude = match lower.as_str() {
            "inf" | "infinity" => Some(f64::INFINITY),
            "nan" => Some(f64::NAN),
            _ if lower.starts_with("0x") => parse_integer(body).map(|(_, v)| v as f64),
            _ => {
                let trimmed = lower.strip_suffix('f').unwrap_or(&lower);
                trimmed
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_digit() || b == b'.')
                    .then(|| trimmed.parse::<f64>().ok())
                    .flatten()
            }
        };
        let v = magnitude.ok_or_else(|| self.error(format!("Expected double, got: {t}")))?;
        Ok(if negative { -v } else { v })
    }

    /// A boolean: `true`/`True`/`t`/`1` or `false`/`False`/`f`/`0`.
    pub fn boolean(&self) -> Result<bool, SyntaxError> {
        let t = self.token("identifier")?;
        match t {
            "true" | "True" | "t" | "1" => Ok(true),
            "false" | "False" | "f" | "0" => Ok(false),
            _ => Err(self.error(format!(
                "Invalid value for boolean field \"{}\". Value: \"{t}\".",
                self.name
            ))),
        }
    }

    /// An enum value, by name or number, out of `values` (name, number).
    pub fn enumeration(&self, values: &[(&str, i32)]) -> Result<i32, SyntaxError> {
        let t = self.token("identifier")?;
        let found = match t.parse::<i32>() {
            Ok(n) => values.iter().find(|(_, v)| *v == n),
            Err(_) => values.iter().find(|(name, _)| *name == t),
        };
        found.map(|(_, v)| *v).ok_or_else(|| {
            self.error(format!(
                "Unknown enumeration value of \"{t}\" for field \"{}\".",
                self.name
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn one(text: &str) -> Field {
        let mut fields = parse(text).unwrap();
        assert_eq!(fields.len(), 1, "{fields:?}");
        fields.remove(0)
    }

    #[test]
    fn numbers_booleans_and_enums() {
        assert_eq!(one("n: -42").int().unwrap(), -42);
        assert_eq!(one("n: 0x1F").int().unwrap(), 31);
        assert_eq!(one("n: 017").int().unwrap(), 15);
        assert_eq!(one("n: -9223372036854775808").int().unwrap(), i64::MIN);
        assert_eq!(
            one("n: 9223372036854775808").int().unwrap_err().message,
            "Integer out of range (9223372036854775808)"
        );
        assert_eq!(
            one("n: 1.5").int().unwrap_err().message,
            "Expected integer, got: 1.5"
        );
        assert_eq!(
            one("n: '7'").int().unwrap_err().message,
            "Expected integer, got: \"7\""
        );
        assert!(one("n: -1").uint().is_err());
        assert_eq!(
            one("n: 300").uint_as::<u8>().unwrap_err().message,
            "Integer out of range (300)"
        );
        assert_eq!(one("n: 300").int_as::<i32>().unwrap(), 300);
        assert_eq!(one("x: 0.1").float().unwrap(), 0.1);
        assert_eq!(one("x: -1e-3").float().unwrap(), -0.001);
        assert_eq!(one("x: 2.5f").float().unwrap(), 2.5);
        assert_eq!(one("x: 3").float().unwrap(), 3.0);
        assert_eq!(one("x: -inf").float().unwrap(), f64::NEG_INFINITY);
        assert!(one("x: nan").float().unwrap().is_nan());
        assert!(one("x: abc").float().is_err());
        assert!(!one("b: False").boolean().unwrap());
        assert_eq!(
            one("b: yes").boolean().unwrap_err().message,
            "Invalid value for boolean field \"b\". Value: \"yes\"."
        );
        let values = [("A", 0), ("B", 1)];
        assert_eq!(one("e: B").enumeration(&values).unwrap(), 1);
        assert_eq!(one("e: 0").enumeration(&values).unwrap(), 0);
        assert_eq!(
            one("e: C").enumeration(&values).unwrap_err().message,
            "Unknown enumeration value of \"C\" for field \"e\"."
        );
    }

    #[test]
    fn schema_helpers() {
        let f = parse("m {\n  name: 'a'\n  name: 'b'\n}").unwrap();
        let inner = f[0].fields().unwrap();
        let mut seen = Seen::default();
        seen.once(&inner[0]).unwrap();
        assert_eq!(
            seen.once(&inner[1]).unwrap_err().to_string(),
            "3:7: Non-repeated field \"name\" is specified multiple times."
        );
        let f = parse("all {} latest {}").unwrap();
        let mut seen = Seen::default();
        let members = ["all", "latest", "specific"];
        seen.oneof(&f[0], "policy_choice", &members).unwrap();
        assert_eq!(
            seen.oneof(&f[1], "policy_choice", &members)
                .unwrap_err()
                .message,
            "Field \"latest\" is specified along with field \"all\", another member of oneof \"policy_choice\"."
        );
        assert_eq!(
            unknown_field(&f[0], "T").to_string(),
            "1:5: Message type \"T\" has no field named \"all\"."
        );
        assert_eq!(
            f[0].string().unwrap_err().message,
            "Expected \":\", found \"{\"."
        );
        assert_eq!(
            one("m: 5").fields().unwrap_err().message,
            "Expected \"{\", found \"5\"."
        );
    }
}
