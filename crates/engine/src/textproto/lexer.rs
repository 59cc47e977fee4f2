//! The tokenizer: words (identifiers and numbers), quoted strings with their escapes decoded,
//! and single punctuation characters, each with its position.

use std::fmt;

use super::{Pos, SyntaxError};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Str(String),
    Punct(char),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(s) => f.write_str(s),
            Tok::Str(s) => write!(f, "\"{s}\""),
            Tok::Punct(c) => write!(f, "{c}"),
            Tok::Eof => Ok(()),
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+')
}

pub(super) struct Lexer<'a> {
    pub(super) src: &'a [u8],
    pub(super) at: usize,
    pub(super) pos: Pos,
}

impl Lexer<'_> {
    fn peek_byte(&self) -> Option<u8> {
        self.src.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek_byte()?;
        self.at += 1;
        match c {
            b'\n' => {
                self.pos = Pos {
                    line: self.pos.line + 1,
                    column: 1,
                }
            }
            b'\t' => self.pos.column += 8 - (self.pos.column - 1) % 8,
            _ => self.pos.column += 1,
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek_byte() {
            if c == b'#' {
                while self.peek_byte().is_some_and(|c| c != b'\n') {
                    self.bump();
                }
            } else if c.is_ascii_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// The next token and where it starts.
    pub(super) fn next(&mut self) -> Result<(Tok, Pos), SyntaxError> {
        self.skip_space();
        let start = self.pos;
        let Some(c) = self.peek_byte() else {
            return Ok((Tok::Eof, start));
        };
        if c == b'"' || c == b'\'' {
            let mut bytes = Vec::new();
            // Adjacent literals concatenate, as in C and protobuf.
            while let Some(quote @ (b'"' | b'\'')) = self.peek_byte() {
                self.bump();
                self.string_body(quote, &mut bytes)?;
                self.skip_space();
            }
            let s = String::from_utf8(bytes)
                .map_err(|_| SyntaxError::new(start, "String is not valid UTF-8."))?;
            return Ok((Tok::Str(s), start));
        }
        if is_word_byte(c) {
            let from = self.at;
            while self.peek_byte().is_some_and(is_word_byte) {
                self.bump();
            }
            let word = String::from_utf8_lossy(&self.src[from..self.at]).into_owned();
            return Ok((Tok::Word(word), start));
        }
        self.bump();
        // Multi-byte UTF-8 outside strings is never valid; report its first byte's position.
        Ok((Tok::Punct(char::from(c)), start))
    }

    fn string_body(&mut self, quote: u8, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        loop {
            let here = self.pos;
            match self.bump() {
                None => return Err(SyntaxError::new(here, "Unexpected end of string.")),
                Some(b'\n') => {
                    return Err(SyntaxError::new(
                        here,
                        "String literals cannot cross line boundaries.",
                    ));
                }
                Some(c) if c == quote => return Ok(()),
                Some(b'\\') => self.escape(here, out)?,
                Some(c) => out.push(c),
            }
        }
    }

    fn digits(&mut self, max: usize, radix: u32) -> u32 {
        let mut value = 0;
        for _ in 0..max {
            match self.peek_byte().and_then(|c| char::from(c).to_digit(radix)) {
                Some(d) => {
                    value = value * radix + d;
                    self.bump();
                }
                None => break,
            }
        }
        value
    }

    fn escape(&mut self, at: Pos, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        let invalid = || SyntaxError::new(at, "Invalid escape sequence in string literal.");
        let c = self.bump().ok_or_else(invalid)?;
        let byte = match c {
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'\\' | b'?' | b'\'' | b'"' => c,
            b'0'..=b'7' => {
                // Up to three octal digits, the first already read.
                let rest_len = self.at;
                let rest = self.digits(2, 8);
                let n = self.at - rest_len;
                let value = u32::from(c - b'0') * 8u32.pow(n as u32) + rest;
                u8::try_from(value).map_err(|_| invalid())?
            }
            b'x' | b'X' => {
                if !self.peek_byte().is_some_and(|d| d.is_ascii_hexdigit()) {
                    return Err(invalid());
                }
                self.digits(2, 16) as u8
            }
            b'u' | b'U' => {
                let len = if c == b'u' { 4 } else { 8 };
                let from = self.at;
                let value = self.digits(len, 16);
                let ch = (self.at - from == len)
                    .then(|| char::from_u32(value))
                    .flatten()
                    .ok_or_else(invalid)?;
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(invalid()),
        };
        out.push(byte);
        Ok(())
    }
}
