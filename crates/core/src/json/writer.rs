//! A re-creation of rapidjson 1.1.0's `PrettyWriter` (4-space indent), the only writer TF
//! Serving uses, including `kFormatSingleLineArray`, which TF Serving switches on and off in
//! the middle of a document and which produces its odd-looking `[2.5, 3.0\n    ]` rows.
//!
//! Also here: the debug rendering of a request value that TF Serving pastes into error
//! messages (`JsonValueToString`), capped at 256 bytes.

use super::float;
use super::value::{Node, Value};

/// The most bytes of a request value quoted in an error message.
pub const DEBUG_LIMIT: usize = 256;

struct Level {
    in_array: bool,
    count: u32,
}

/// Streams JSON into a byte vector with rapidjson's pretty layout. The caller is trusted to
/// nest calls correctly (keys only in objects, balanced ends), as rapidjson's caller is.
pub struct PrettyWriter<'o> {
    out: &'o mut Vec<u8>,
    levels: Vec<Level>,
    single_line: bool,
}

impl<'o> PrettyWriter<'o> {
    /// A writer appending to `out`.
    pub fn new(out: &'o mut Vec<u8>) -> PrettyWriter<'o> {
        PrettyWriter {
            out,
            levels: Vec::new(),
            single_line: false,
        }
    }

    /// `SetFormatOptions(kFormatSingleLineArray)` (true) or `kFormatDefault` (false). Takes
    /// effect for every later separator and array end, whatever array they belong to.
    pub fn set_single_line_arrays(&mut self, on: bool) {
        self.single_line = on;
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    fn indent(&mut self) {
        let n = self.levels.len() * 4;
        self.out.resize(self.out.len() + n, b' ');
    }

    /// rapidjson `PrettyPrefix`: the separator and indentation before a value or key.
    fn prefix(&mut self) {
        let single_line = self.single_line;
        let Some(level) = self.levels.last_mut() else {
            return;
        };
        let count = level.count;
        level.count += 1;
        if level.in_array {
            if count > 0 {
                self.out.push(b',');
                if single_line {
                    self.out.push(b' ');
                }
            }
            if !single_line {
                self.out.push(b'\n');
                self.indent();
            }
        } else {
            if count == 0 {
                self.out.push(b'\n');
            } else if count % 2 == 0 {
                self.out.extend_from_slice(b",\n");
            } else {
                self.out.extend_from_slice(b": ");
            }
            if count % 2 == 0 {
                self.indent();
            }
        }
    }

    /// `{`
    pub fn start_object(&mut self) {
        self.prefix();
        self.out.push(b'{');
        self.levels.push(Level {
            in_array: false,
            count: 0,
        });
    }

    /// `}`
    pub fn end_object(&mut self) {
        let level = self.levels.pop().expect("balanced end_object");
        if level.count > 0 {
            self.out.push(b'\n');
            self.indent();
        }
        self.out.push(b'}');
    }

    /// `[`
    pub fn start_array(&mut self) {
        self.prefix();
        self.out.push(b'[');
        self.levels.push(Level {
            in_array: true,
            count: 0,
        });
    }

    /// `]`
    pub fn end_array(&mut self) {
        let level = self.levels.pop().expect("balanced end_array");
        if level.count > 0 && !self.single_line {
            self.out.push(b'\n');
            self.indent();
        }
        self.out.push(b']');
    }

    /// An object key (the same as a string; the layout depends only on position).
    pub fn key(&mut self, key: &[u8]) {
        self.string(key);
    }

    /// A string value, escaped as rapidjson escapes (no UTF-8 validation).
    pub fn string(&mut self, s: &[u8]) {
        self.prefix();
        write_escaped(self.out, s);
    }

    /// A number or token written verbatim.
    pub fn raw(&mut self, text: &[u8]) {
        self.prefix();
        self.out.extend_from_slice(text);
    }

    /// `null`
    pub fn null(&mut self) {
        self.raw(b"null");
    }

    /// `true` / `false`
    pub fn bool(&mut self, v: bool) {
        self.raw(if v { b"true" } else { b"false" });
    }

    /// A signed integer.
    pub fn int(&mut self, v: i64) {
        self.prefix();
        if v < 0 {
            self.out.push(b'-');
        }
        push_u64(self.out, v.unsigned_abs());
    }

    /// An unsigned integer.
    pub fn uint(&mut self, v: u64) {
        self.prefix();
        push_u64(self.out, v);
    }

    /// A float as TF Serving's `WriteDecimal<float>` writes it.
    pub fn f32(&mut self, v: f32) {
        self.prefix();
        float::write_decimal_f32(v, self.out);
    }

    /// A double as TF Serving's `WriteDecimal<double>` writes it.
    pub fn f64(&mut self, v: f64) {
        self.prefix();
        float::write_decimal_f64(v, self.out);
    }

    /// rapidjson's own `Double`: false, after the separator, for NaN and infinities (which it
    /// refuses without `kWriteNanAndInfFlag`).
    fn rapidjson_double(&mut self, v: f64) -> bool {
        self.prefix();
        if !v.is_finite() {
            return false;
        }
        float::write_grisu_f64(v, self.out);
        true
    }
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Writes `s` as a quoted JSON string with rapidjson's escapes: `\"`, `\\`, `\b`, `\f`, `\n`,
/// `\r`, `\t`, other control bytes as `\u00XX` (upper-case hex); everything else verbatim.
pub fn write_escaped(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &c) in s.iter().enumerate() {
        let escaped: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0..=0x1F => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ],
            _ => continue,
        };
        out.extend_from_slice(&s[run..i]);
        out.extend_from_slice(escaped);
        run = i + 1;
    }
    out.extend_from_slice(&s[run..]);
    out.push(b'"');
}

/// TF Serving's `JsonValueToString`: the value pretty-printed, except that a top-level decimal
/// goes through `WriteDecimal` (as a float when rapidjson's `IsFloat` range check allows), and
/// that nested NaN/Infinity stop the output where rapidjson's writer gives up. At most
/// [`DEBUG_LIMIT`] bytes; writing stops early so a huge body costs little.
pub fn debug_string(value: Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Node::Double(d) = value.node() {
        // rapidjson 1.1.0 `IsFloat`: a double within ±3.4028234e38 (NaN is not).
        if (-3.4028234e38..=3.4028234e38).contains(&d) {
            float::write_decimal_f32(d as f32, &mut out);
        } else {
            float::write_decimal_f64(d, &mut out);
        }
        return out;
    }
    let mut w = PrettyWriter::new(&mut out);
    // The tape is in document order, so a linear walk with a stack of pending container ends
    // reproduces rapidjson's recursive `Accept` without recursion.
    let mut open: Vec<(u32, bool)> = Vec::new();
    let end = value.end();
    let mut i = value.index();
    let mut completed = true;
    while i < end {
        while let Some(&(close_at, object)) = open.last() {
            if close_at != i {
                break;
            }
            open.pop();
            if object {
                w.end_object();
            } else {
                w.end_array();
            }
        }
        if w.len() >= DEBUG_LIMIT {
            completed = false;
            break;
        }
        let v = value.at(i);
        match v.node() {
            Node::Null => w.null(),
            Node::False => w.bool(false),
            Node::True => w.bool(true),
            Node::Int(n) => w.int(n),
            Node::Uint(n) => w.uint(n),
            Node::Double(d) => {
                if !w.rapidjson_double(d) {
                    completed = false;
                    break;
                }
            }
            Node::Str { .. } | Node::Owned { .. } => w.string(v.as_bytes().unwrap_or_default()),
            Node::Array { end, .. } => {
                w.start_array();
                open.push((end, false));
            }
            Node::Object { end, .. } => {
                w.start_object();
                open.push((end, true));
            }
        }
        i += 1;
    }
    if completed {
        while let Some((_, object)) = open.pop() {
            if object {
                w.end_object();
            } else {
                w.end_array();
            }
        }
    }
    out.truncate(DEBUG_LIMIT);
    out
}

/// [`debug_string`] as text for a status message (a multi-byte character cut by the limit,
/// or invalid UTF-8 from the request, becomes U+FFFD).
pub fn debug_text(value: Value<'_>) -> String {
    String::from_utf8_lossy(&debug_string(value)).into_owned()
}
