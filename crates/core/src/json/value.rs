//! A parsed JSON document kept as a flat arena ("tape") of 16-byte nodes in document order.
//!
//! Why a tape rather than a tree of boxed values: a predict body is mostly numbers, and a tape
//! costs one `Vec` push per value with no per-value allocation. Containers record the index just
//! past their last descendant, so siblings are skipped in O(1) and nothing needs recursion.
//! Strings without escapes point into the input; unescaped strings live in one side buffer.
//!
//! Numbers keep rapidjson's token kinds: an integer token that fits `i64` is [`Number::Int`], one
//! that only fits `u64` is [`Number::Uint`], anything with a fraction, an exponent, `NaN`/`Inf` or
//! too many digits is [`Number::Double`]. `1.0` is therefore a double and `1` an integer, which is
//! what decides, for example, that `1.0` is rejected for an `int32` input.

use super::error::ParseError;
use super::parse::Parser;

/// One arena slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Node {
    Null,
    False,
    True,
    Int(i64),
    Uint(u64),
    Double(f64),
    /// A string with no escapes: `input[start..start + len]`.
    Str {
        start: u32,
        len: u32,
    },
    /// An unescaped string: `scratch[start..start + len]`.
    Owned {
        start: u32,
        len: u32,
    },
    /// `len` elements follow; `end` is the index just past the last descendant.
    Array {
        len: u32,
        end: u32,
    },
    /// `len` members follow as key node then value subtree; `end` as for arrays.
    Object {
        len: u32,
        end: u32,
    },
}

/// A JSON number with the kind of its token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer token that fits `i64`.
    Int(i64),
    /// An integer token above `i64::MAX` that fits `u64`.
    Uint(u64),
    /// A token with a fraction or exponent, `NaN`/`Inf`/`Infinity`, or an integer too large
    /// for `u64`.
    Double(f64),
}

impl Number {
    /// The value as a double (rapidjson `GetDouble`).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Uint(v) => v as f64,
            Number::Double(v) => v,
        }
    }

    /// The value as a float (rapidjson `GetFloat`: via double, so integers round twice, as
    /// TF Serving's do).
    pub fn as_f32(self) -> f32 {
        self.as_f64() as f32
    }

    /// `IsInt`: an integer token that fits `i32`.
    pub fn as_i32(self) -> Option<i32> {
        match self {
            Number::Int(v) => i32::try_from(v).ok(),
            _ => None,
        }
    }

    /// `IsUint`: an integer token that fits `u32`.
    pub fn as_u32(self) -> Option<u32> {
        match self {
            Number::Int(v) => u32::try_from(v).ok(),
            Number::Uint(v) => u32::try_from(v).ok(),
            Number::Double(_) => None,
        }
    }

    /// `IsInt64`: an integer token that fits `i64`.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Int(v) => Some(v),
            _ => None,
        }
    }

    /// `IsUint64`: a non-negative integer token that fits `u64`.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Number::Int(v) => u64::try_from(v).ok(),
            Number::Uint(v) => Some(v),
            Number::Double(_) => None,
        }
    }

    /// `IsDouble`: the token had a fraction, exponent or special name.
    pub fn is_double(self) -> bool {
        matches!(self, Number::Double(_))
    }
}

/// A parsed document. Borrows the input so that plain strings need no copy.
#[derive(Debug)]
pub struct Document<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) nodes: Vec<Node>,
    pub(crate) scratch: Vec<u8>,
}

impl<'a> Document<'a> {
    /// Parses with TF Serving's rapidjson flags: iterative (no recursion), `NaN`/`Inf` accepted,
    /// and parsing stops after the first complete value, so trailing bytes are ignored.
    pub fn parse(input: &'a [u8]) -> Result<Document<'a>, ParseError> {
        Parser::new(input).run()
    }

    /// The top-level value.
    pub fn root(&self) -> Value<'_> {
        Value { doc: self, idx: 0 }
    }
}

/// A handle to one value of a [`Document`]; cheap to copy.
#[derive(Clone, Copy)]
pub struct Value<'d> {
    doc: &'d Document<'d>,
    idx: u32,
}

impl std::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&super::writer::debug_string(
            *self,
        )))
    }
}

impl<'d> Value<'d> {
    pub(crate) fn node(&self) -> Node {
        self.doc.nodes[self.idx as usize]
    }

    pub(crate) fn index(&self) -> u32 {
        self.idx
    }

    pub(crate) fn at(&self, idx: u32) -> Value<'d> {
        Value { doc: self.doc, idx }
    }

    /// The index just past this value's subtree.
    pub(crate) fn end(&self) -> u32 {
        match self.node() {
            Node::Array { end, .. } | Node::Object { end, .. } => end,
            _ => self.idx + 1,
        }
    }

    /// Number of arena nodes in this value's subtree (an upper bound on its leaves).
    pub fn node_count(&self) -> usize {
        (self.end() - self.idx) as usize
    }

    /// rapidjson's type name as TF Serving prints it: `Null`, `False`, `True`, `Object`,
    /// `Array`, `String` or `Number`.
    pub fn type_name(&self) -> &'static str {
        match self.node() {
            Node::Null => "Null",
            Node::False => "False",
            Node::True => "True",
            Node::Object { .. } => "Object",
            Node::Array { .. } => "Array",
            Node::Str { .. } | Node::Owned { .. } => "String",
            Node::Int(_) | Node::Uint(_) | Node::Double(_) => "Number",
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.node(), Node::Null)
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self.node(), Node::Array { .. })
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self.node(), Node::Object { .. })
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::True => Some(true),
            Node::False => Some(false),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number> {
        match self.node() {
            Node::Int(v) => Some(Number::Int(v)),
            Node::Uint(v) => Some(Number::Uint(v)),
            Node::Double(v) => Some(Number::Double(v)),
            _ => None,
        }
    }

    /// The string's bytes (unescaped; not validated as UTF-8, as rapidjson does not).
    pub fn as_bytes(&self) -> Option<&'d [u8]> {
        let doc = self.doc;
        match self.node() {
            Node::Str { start, len } => Some(&doc.input[start as usize..(start + len) as usize]),
            Node::Owned { start, len } => {
                Some(&doc.scratch[start as usize..(start + len) as usize])
            }
            _ => None,
        }
    }

    /// Number of elements or members (0 for scalars).
    pub fn len(&self) -> usize {
        match self.node() {
            Node::Array { len, .. } | Node::Object { len, .. } => len as usize,
            _ => 0,
        }
    }

    /// Whether this is not a container or an empty one.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements of an array in order (nothing for other values).
    pub fn elements(&self) -> Elements<'d> {
        let remaining = if self.is_array() { self.len() } else { 0 };
        Elements {
            next: self.at(self.idx + 1),
            remaining,
        }
    }

    /// The members of an object in document order, duplicates included (nothing for other
    /// values).
    pub fn members(&self) -> Members<'d> {
        let remaining = if self.is_object() { self.len() } else { 0 };
        Members {
            next: self.at(self.idx + 1),
            remaining,
        }
    }

    /// The first member named `key` (rapidjson `FindMember`), if this is an object.
    pub fn get(&self, key: &str) -> Option<Value<'d>> {
        self.members()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// The first element of a non-empty array.
    pub fn first(&self) -> Option<Value<'d>> {
        self.elements().next()
    }

    /// Whether this is TF Serving's base64 wrapper: an object with exactly one member, `b64`,
    /// whose value is a string.
    pub fn is_b64_object(&self) -> bool {
        self.len() == 1 && self.get("b64").is_some_and(|v| v.as_bytes().is_some())
    }
}

/// Iterator over array elements.
pub struct Elements<'d> {
    next: Value<'d>,
    remaining: usize,
}

impl<'d> Iterator for Elements<'d> {
    type Item = Value<'d>;

    fn next(&mut self) -> Option<Value<'d>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.next;
        self.next = current.at(current.end());
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Elements<'_> {}

/// Iterator over object members as (key bytes, value).
pub struct Members<'d> {
    next: Value<'d>,
    remaining: usize,
}

impl<'d> Iterator for Members<'d> {
    type Item = (&'d [u8], Value<'d>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let key = self.next;
        let value = key.at(key.idx + 1);
        self.next = value.at(value.end());
        Some((key.as_bytes().unwrap_or_default(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Members<'_> {}
