//! The parser: a state machine over an explicit stack, mirroring rapidjson's iterative parser
//! (`kParseIterativeFlag | kParseNanAndInfFlag | kParseStopWhenDoneFlag`) so that error kinds
//! and offsets match what TF Serving reports, and so that 100k nested `[` cost heap, not stack.
//!
//! Quirks kept on purpose, because they are observable through error messages:
//! * a NUL byte ends the input, as it ends rapidjson's `MemoryStream`;
//! * the bytes EF, BB, BF are each skipped if they appear in that order at the start (rapidjson's
//!   UTF-8 BOM handling), and offsets still count them;
//! * strings are not checked for valid UTF-8, but raw control characters are rejected;
//! * the error for an unexpected token depends only on the parser state (e.g. `]` where a
//!   document should start is "The document is empty.").

use super::error::{ParseError, ParseErrorKind as E};
use super::value::{Document, Node};

/// Largest integer every smaller one of which is exact in an f64 (2^53).
const MAX_EXACT: u64 = 1 << 53;

/// `10^k` for `k` in `0..=22`: every one is exact in an f64.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    ArrayInitial,
    Element,
    ElementDelimiter,
    ObjectInitial,
    MemberKey,
    KeyValueDelimiter,
    MemberValue,
    MemberDelimiter,
    Finish,
}

impl State {
    /// rapidjson `HandleError`: the error reported when the next token does not fit.
    fn error(self) -> E {
        match self {
            State::Start => E::DocumentEmpty,
            State::ObjectInitial | State::MemberDelimiter => E::ObjectMissName,
            State::MemberKey => E::ObjectMissColon,
            State::MemberValue => E::ObjectMissCommaOrCurlyBracket,
            State::ArrayInitial | State::ElementDelimiter | State::KeyValueDelimiter => {
                E::ValueInvalid
            }
            // Unreachable with stop-when-done; kept for completeness.
            State::Element | State::Finish => E::ArrayMissCommaOrSquareBracket,
        }
    }

    fn expects_value(self) -> bool {
        matches!(
            self,
            State::Start | State::ArrayInitial | State::ElementDelimiter | State::KeyValueDelimiter
        )
    }
}

/// An open container: its node index and how many elements or members it has so far.
struct Frame {
    node: u32,
    count: u32,
    object: bool,
}

pub(crate) struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    nodes: Vec<Node>,
    scratch: Vec<u8>,
    stack: Vec<Frame>,
}

type Res<T> = Result<T, ParseError>;

fn err<T>(kind: E, offset: usize) -> Res<T> {
    Err(ParseError { kind, offset })
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Parser<'a> {
        Parser {
            src,
            pos: 0,
            // A number token plus its separator is rarely shorter than 4 bytes.
            nodes: Vec::with_capacity(src.len() / 4 + 1),
            scratch: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// The byte at `pos`, or NUL past the end (as rapidjson's `MemoryStream::Peek`).
    #[inline]
    fn peek_at(&self, pos: usize) -> u8 {
        self.src.get(pos).copied().unwrap_or(0)
    }

    #[inline]
    fn peek(&self) -> u8 {
        self.peek_at(self.pos)
    }

    /// Advances past `c` if it is next.
    #[inline]
    fn consume(&mut self, c: u8) -> bool {
        if self.peek() == c {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    pub(crate) fn run(mut self) -> Res<Document<'a>> {
        if u32::try_from(self.src.len()).is_err() {
            return err(E::DocumentTooLarge, 0);
        }
        for bom in [0xEF, 0xBB, 0xBF] {
            self.consume(bom);
        }
        self.skip_whitespace();
        let mut state = State::Start;
        loop {
            let c = self.peek();
            if c == 0 {
                break;
            }
            state = self.step(state, c)?;
            if state == State::Finish {
                break;
            }
            self.skip_whitespace();
        }
        if state != State::Finish {
            return err(state.error(), self.pos);
        }
        Ok(Document {
            input: self.src,
            nodes: self.nodes,
            scratch: self.scratch,
        })
    }

    /// One transition of the state machine on the token starting with `c`.
    fn step(&mut self, state: State, c: u8) -> Res<State> {
        if state.expects_value() {
            return match c {
                b'[' | b'{' => {
                    self.pos += 1;
                    let object = c == b'{';
                    let node = self.nodes.len() as u32;
                    self.nodes.push(if object {
                        Node::Object { len: 0, end: 0 }
                    } else {
                        Node::Array { len: 0, end: 0 }
                    });
                    self.stack.push(Frame {
                        node,
                        count: 0,
                        object,
                    });
                    Ok(if object {
                        State::ObjectInitial
                    } else {
                        State::ArrayInitial
                    })
                }
                b']' if state == State::ArrayInitial => {
                    self.pos += 1;
                    Ok(self.close())
                }
                b'}' | b']' | b',' | b':' => err(state.error(), self.pos),
                _ => {
                    let node = self.scalar(c)?;
                    self.nodes.push(node);
                    Ok(self.after_value())
                }
            };
        }
        match (state, c) {
            (State::ObjectInitial | State::MemberDelimiter, b'"') => {
                let key = self.string()?;
                self.nodes.push(key);
                Ok(State::MemberKey)
            }
            (State::ObjectInitial, b'}') | (State::MemberValue, b'}') => {
                self.pos += 1;
                Ok(self.close())
            }
            (State::Element, b']') => {
                self.pos += 1;
                Ok(self.close())
            }
            (State::MemberKey, b':') => {
                self.pos += 1;
                Ok(State::KeyValueDelimiter)
            }
            (State::Element, b',') => {
                self.pos += 1;
                Ok(State::ElementDelimiter)
            }
            (State::MemberValue, b',') => {
                self.pos += 1;
                Ok(State::MemberDelimiter)
            }
            _ => err(state.error(), self.pos),
        }
    }

    /// The state after a complete value: counts it in its container.
    fn after_value(&mut self) -> State {
        match self.stack.last_mut() {
            None => State::Finish,
            Some(frame) => {
                frame.count += 1;
                if frame.object {
                    State::MemberValue
                } else {
                    State::Element
                }
            }
        }
    }

    /// Closes the innermost container, filling in its length and extent.
    fn close(&mut self) -> State {
        let frame = self
            .stack
            .pop()
            .expect("close is only called inside a container");
        let end = self.nodes.len() as u32;
        let len = frame.count;
        self.nodes[frame.node as usize] = if frame.object {
            Node::Object { len, end }
        } else {
            Node::Array { len, end }
        };
        self.after_value()
    }

    fn scalar(&mut self, c: u8) -> Res<Node> {
        match c {
            b'"' => self.string(),
            b'n' => self.literal(b"null", Node::Null),
            b't' => self.literal(b"true", Node::True),
            b'f' => self.literal(b"false", Node::False),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8], node: Node) -> Res<Node> {
        self.pos += 1;
        for &c in &word[1..] {
            if !self.consume(c) {
                return err(E::ValueInvalid, self.pos);
            }
        }
        Ok(node)
    }

    /// A string token; `pos` is at the opening quote.
    fn string(&mut self) -> Res<Node> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes, the node points into the input.
        loop {
            match self.peek() {
                b'"' => {
                    let len = (self.pos - start) as u32;
                    self.pos += 1;
                    return Ok(Node::Str {
                        start: start as u32,
                        len,
                    });
                }
                b'\\' => break,
                0 => return err(E::StringMissQuotationMark, self.pos),
                c if c < 0x20 => return err(E::StringInvalidEncoding, self.pos),
                _ => self.pos += 1,
            }
        }
        let out_start = self.scratch.len();
        self.scratch.extend_from_slice(&self.src[start..self.pos]);
        loop {
            match self.peek() {
                b'"' => {
                    self.pos += 1;
                    let len = (self.scratch.len() - out_start) as u32;
                    return Ok(Node::Owned {
                        start: out_start as u32,
                        len,
                    });
                }
                b'\\' => self.escape()?,
                0 => return err(E::StringMissQuotationMark, self.pos),
                c if c < 0x20 => return err(E::StringInvalidEncoding, self.pos),
                c => {
                    self.scratch.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// One escape sequence; `pos` is at the backslash, which is where rapidjson reports
    /// escape errors.
    fn escape(&mut self) -> Res<()> {
        let at = self.pos;
        self.pos += 1;
        let simple = match self.peek() {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                self.pos += 1;
                let mut cp = self.hex4(at)?;
                if (0xD800..=0xDBFF).contains(&cp) {
                    if !(self.consume(b'\\') && self.consume(b'u')) {
                        return err(E::StringUnicodeSurrogateInvalid, at);
                    }
                    let low = self.hex4(at)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return err(E::StringUnicodeSurrogateInvalid, at);
                    }
                    cp = (((cp - 0xD800) << 10) | (low - 0xDC00)) + 0x10000;
                }
                encode_utf8(cp, &mut self.scratch);
                return Ok(());
            }
            _ => return err(E::StringEscapeInvalid, at),
        };
        self.scratch.push(simple);
        self.pos += 1;
        Ok(())
    }

    fn hex4(&mut self, at: usize) -> Res<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                c @ b'A'..=b'F' => c - b'A' + 10,
                _ => return err(E::StringUnicodeEscapeInvalidHex, at),
            };
            v = v << 4 | u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// A number token (anything that is not another token starts one, as in rapidjson).
    fn number(&mut self) -> Res<Node> {
        let start = self.pos;
        let minus = self.consume(b'-');
        let c = self.peek();
        if c == b'N' || c == b'I' {
            return self.nan_or_inf(minus);
        }
        let limit: u64 = if minus { 1 << 63 } else { u64::MAX };
        let mut acc: u64 = 0;
        let mut is_double = false;
        if c == b'0' {
            self.pos += 1;
        } else if c.is_ascii_digit() {
            while let d @ b'0'..=b'9' = self.peek() {
                let digit = u64::from(d - b'0');
                match acc.checked_mul(10).and_then(|v| v.checked_add(digit)) {
                    Some(v) if v <= limit => acc = v,
                    _ => is_double = true,
                }
                self.pos += 1;
            }
        } else {
            return err(E::ValueInvalid, self.pos);
        }
        // All the digits as one integer while it stays exact in an f64 (Clinger's fast path).
        let mut mantissa = Some(acc).filter(|&m| !is_double && m <= MAX_EXACT);
        let mut frac_digits = 0i64;
        if self.consume(b'.') {
            if !self.peek().is_ascii_digit() {
                return err(E::NumberMissFraction, self.pos);
            }
            while let d @ b'0'..=b'9' = self.peek() {
                mantissa = mantissa
                    .map(|m| m * 10 + u64::from(d - b'0'))
                    .filter(|&m| m <= MAX_EXACT);
                self.pos += 1;
                frac_digits += 1;
            }
            is_double = true;
        }
        let mut exp10 = -frac_digits;
        if self.consume(b'e') || self.consume(b'E') {
            let negative_exp = if self.consume(b'+') {
                false
            } else {
                self.consume(b'-')
            };
            if !self.peek().is_ascii_digit() {
                return err(E::NumberMissExponent, self.pos);
            }
            let mut exp: i64 = 0;
            while let d @ b'0'..=b'9' = self.peek() {
                exp = (exp * 10 + i64::from(d - b'0')).min(1 << 40);
                self.pos += 1;
            }
            // rapidjson refuses a positive exponent beyond 308 plus the fraction digits,
            // whatever the mantissa (so even `0e400`).
            if !negative_exp && exp > 308 + frac_digits {
                return err(E::NumberTooBig, start);
            }
            exp10 += if negative_exp { -exp } else { exp };
            is_double = true;
        }
        if !is_double {
            return Ok(if minus {
                // acc <= 2^63 here, so the negation always fits.
                Node::Int((acc as i64).wrapping_neg())
            } else if let Ok(v) = i64::try_from(acc) {
                Node::Int(v)
            } else {
                Node::Uint(acc)
            });
        }
        if let Some(m) = mantissa
            && (-22..=22).contains(&exp10)
        {
            // m and 10^|exp10| are exact doubles, so one multiplication or division rounds
            // once: the correctly rounded value, as parsing the text gives.
            let scale = EXACT_POWERS_OF_TEN[exp10.unsigned_abs() as usize];
            let magnitude = if exp10 < 0 {
                m as f64 / scale
            } else {
                m as f64 * scale
            };
            return Ok(Node::Double(if minus { -magnitude } else { magnitude }));
        }
        let token =
            std::str::from_utf8(&self.src[start..self.pos]).expect("a number token is ASCII");
        let value: f64 = token
            .parse()
            .expect("a number token is valid Rust float syntax");
        if value.is_infinite() {
            return err(E::NumberTooBig, start);
        }
        Ok(Node::Double(value))
    }

    /// `NaN`, `Inf` or `Infinity` (sign already consumed). Mismatches are reported where
    /// rapidjson's `Consume` chain stops.
    fn nan_or_inf(&mut self, minus: bool) -> Res<Node> {
        if self.consume(b'N') && self.consume(b'a') && self.consume(b'N') {
            return Ok(Node::Double(f64::NAN));
        }
        if self.consume(b'I') && self.consume(b'n') && self.consume(b'f') {
            if self.peek() == b'i'
                && !(self.consume(b'i')
                    && self.consume(b'n')
                    && self.consume(b'i')
                    && self.consume(b't')
                    && self.consume(b'y'))
            {
                return err(E::ValueInvalid, self.pos);
            }
            let inf = if minus {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            return Ok(Node::Double(inf));
        }
        err(E::ValueInvalid, self.pos)
    }
}

/// UTF-8 encoding of any code point up to 0x10FFFF, lone surrogates included (rapidjson writes
/// them as three bytes rather than failing).
fn encode_utf8(cp: u32, out: &mut Vec<u8>) {
    match cp {
        0..=0x7F => out.push(cp as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]),
        0x800..=0xFFFF => out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
        _ => out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
    }
}
