//! A reader for protobuf's text format, generic over messages: it builds a tree of fields that
//! typed readers ([`crate::config`], batching parameters) map onto their structs.
//!
//! Accepts what `TextFormat::Parse` accepts in practice: `name: value`, `name { ... }`,
//! `name: { ... }`, `name < ... >`, `[a, b]` lists, strings in single or double quotes with
//! C escapes (adjacent strings concatenate), `#` comments, and `,`/`;` separators.

/// A scalar as written, with whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A quoted string (escapes decoded).
    Str(String),
    /// An unquoted token: number, identifier (enum value) or `true`/`false`.
    Token(String),
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar value.
    Scalar(Scalar),
    /// A nested message.
    Message(Vec<Field>),
}

/// One field occurrence, with its 1-based source position for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Value.
    pub value: Node,
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based).
    pub column: usize,
}

/// A syntax error at a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SyntaxError {
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    Eof,
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
    col: usize,
}

impl Lexer<'_> {
    fn err(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line: self.line,
            column: self.col,
            message: message.into(),
        }
    }

    fn bump(&mut self) -> Option<u8> {
        let c = *self.src.get(self.pos)?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(&c) = self.src.get(self.pos) {
            if c == b'#' {
                while self.src.get(self.pos).is_some_and(|&c| c != b'\n') {
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
    fn next(&mut self) -> Result<(Tok, usize, usize), SyntaxError> {
        self.skip_space();
        let (line, col) = (self.line, self.col);
        let Some(&c) = self.src.get(self.pos) else {
            return Ok((Tok::Eof, line, col));
        };
        if c == b'"' || c == b'\'' {
            let mut s = Vec::new();
            // Adjacent string literals concatenate, as in C and protobuf.
            while self
                .src
                .get(self.pos)
                .is_some_and(|&q| q == b'"' || q == b'\'')
            {
                let quote = self.bump().expect("peeked");
                loop {
                    match self.bump() {
                        None | Some(b'\n') => {
                            return Err(self.err("String literals cannot cross line boundaries."));
                        }
                        Some(q) if q == quote => break,
                        Some(b'\\') => s.push(self.escape()?),
                        Some(other) => s.push(other),
                    }
                }
                self.skip_space();
            }
            let s = String::from_utf8(s).map_err(|_| self.err("String is not valid UTF-8."))?;
            return Ok((Tok::Str(s), line, col));
        }
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' || c == b'+' {
            let start = self.pos;
            while self
                .src
                .get(self.pos)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || b"_-.+".contains(&c))
            {
                self.bump();
            }
            let ident = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
            return Ok((Tok::Ident(ident), line, col));
        }
        self.bump();
        Ok((Tok::Punct(c as char), line, col))
    }

    fn escape(&mut self) -> Result<u8, SyntaxError> {
        Ok(
            match self
                .bump()
                .ok_or_else(|| self.err("Invalid escape sequence in string literal."))?
            {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'\\' => b'\\',
                b'\'' => b'\'',
                b'"' => b'"',
                b'0'..=b'7' => {
                    // Octal escapes are rare in configs; accept a single digit.
                    self.src[self.pos - 1] - b'0'
                }
                _ => return Err(self.err("Invalid escape sequence in string literal.")),
            },
        )
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<(Tok, usize, usize)>,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&(Tok, usize, usize), SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn take(&mut self) -> Result<(Tok, usize, usize), SyntaxError> {
        self.peek()?;
        Ok(self.peeked.take().expect("just peeked"))
    }

    fn error_at(line: usize, column: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }

    fn message(&mut self, end: Option<char>) -> Result<Vec<Field>, SyntaxError> {
        let mut fields = Vec::new();
        loop {
            let (tok, line, column) = self.take()?;
            match tok {
                Tok::Eof if end.is_none() => return Ok(fields),
                Tok::Eof => {
                    return Err(Self::error_at(
                        line,
                        column,
                        format!("Expected \"{}\".", end.unwrap_or('}')),
                    ));
                }
                Tok::Punct(c) if Some(c) == end => return Ok(fields),
                Tok::Ident(name) => {
                    self.field_value(&name, line, column, &mut fields)?;
                    if let (Tok::Punct(',' | ';'), _, _) = self.peek()? {
                        self.take()?;
                    }
                }
                other => {
                    return Err(Self::error_at(
                        line,
                        column,
                        format!("Expected identifier, got: {}", describe(&other)),
                    ));
                }
            }
        }
    }

    fn field_value(
        &mut self,
        name: &str,
        line: usize,
        column: usize,
        out: &mut Vec<Field>,
    ) -> Result<(), SyntaxError> {
        let mut colon = false;
        if let (Tok::Punct(':'), _, _) = self.peek()? {
            self.take()?;
            colon = true;
        }
        let (tok, l, c) = self.take()?;
        let push = |out: &mut Vec<Field>, value| {
            out.push(Field {
                name: name.to_string(),
                value,
                line,
                column,
            })
        };
        match tok {
            Tok::Punct('{') => push(out, Node::Message(self.message(Some('}'))?)),
            Tok::Punct('<') => push(out, Node::Message(self.message(Some('>'))?)),
            Tok::Punct('[') if colon => loop {
                let (tok, l, c) = self.take()?;
                match tok {
                    Tok::Punct(']') => break,
                    Tok::Punct(',') => continue,
                    Tok::Str(s) => push(out, Node::Scalar(Scalar::Str(s))),
                    Tok::Ident(s) => push(out, Node::Scalar(Scalar::Token(s))),
                    Tok::Punct('{') => push(out, Node::Message(self.message(Some('}'))?)),
                    other => {
                        return Err(Self::error_at(
                            l,
                            c,
                            format!("Expected value, got: {}", describe(&other)),
                        ));
                    }
                }
            },
            Tok::Str(s) if colon => push(out, Node::Scalar(Scalar::Str(s))),
            Tok::Ident(s) if colon => push(out, Node::Scalar(Scalar::Token(s))),
            other if colon => {
                return Err(Self::error_at(
                    l,
                    c,
                    format!("Expected value, got: {}", describe(&other)),
                ));
            }
            other => {
                return Err(Self::error_at(
                    l,
                    c,
                    format!("Expected \":\", found \"{}\".", describe(&other)),
                ));
            }
        }
        Ok(())
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(s) => s.clone(),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Punct(c) => c.to_string(),
        Tok::Eof => "end of input".into(),
    }
}

/// Parses a whole document into its top-level fields.
pub fn parse(text: &str) -> Result<Vec<Field>, SyntaxError> {
    let mut parser = Parser {
        lex: Lexer {
            src: text.as_bytes(),
            pos: 0,
            line: 1,
            col: 1,
        },
        peeked: None,
    };
    parser.message(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_messages_lists_and_strings() {
        let f =
            parse("a: 1 b { c: 'x' \"y\" } d: [1, 2] e < f: true >; # comment\n g: ENUM").unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f[0].value, Node::Scalar(Scalar::Token("1".into())));
        let Node::Message(b) = &f[1].value else {
            panic!()
        };
        assert_eq!(b[0].value, Node::Scalar(Scalar::Str("xy".into())));
        assert_eq!(f[2].name, "d");
        assert_eq!(f[3].name, "d");
        assert_eq!(f[5].value, Node::Scalar(Scalar::Token("ENUM".into())));
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("improperly formatted file").unwrap_err();
        assert_eq!((e.line, e.column), (1, 12));
        assert!(parse("a { b: 1").is_err());
        assert!(parse("a: 'unterminated\n'").is_err());
    }
}
