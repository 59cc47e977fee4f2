//! A reader for protobuf's text format that knows no schema: it builds a tree of [`Field`]s, and
//! typed readers ([`crate::config`], later the batching parameters) walk that tree with the
//! accessors here, which produce protobuf's own error sentences at protobuf's positions.
//!
//! Accepted syntax: `name: value`, `name { ... }`, `name: { ... }`, `name < ... >`, `name: [a, b]`
//! lists (scalars or messages), strings in single or double quotes with C escapes (adjacent
//! literals concatenate), `#` comments, and an optional `,` or `;` after each field. Positions are
//! 1-based; columns count a tab as reaching the next multiple of 8, as protobuf's tokenizer does.

mod access;
mod lexer;

pub use access::{Seen, unknown_field};
use lexer::{Lexer, Tok};

/// A 1-based source position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

/// A scalar as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A quoted string, escapes decoded.
    Str(String),
    /// An unquoted token: a number, an enum name or `true`/`false`.
    Token(String),
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar.
    Scalar(Scalar),
    /// A nested message.
    Message(Vec<Field>),
}

/// One occurrence of a field. A repeated field, or a `[..]` list, gives one `Field` per element.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Value.
    pub value: Node,
    /// Where the name starts.
    pub pos: Pos,
    /// The token after the name: where protobuf reports an unknown or repeated field.
    pub after_name: Pos,
    /// Where the value starts (the scalar, or the opening brace).
    pub value_pos: Pos,
}

/// A syntax or schema error at a position; displays as protobuf does: `line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {message}", pos.line, pos.column)]
pub struct SyntaxError {
    /// Where.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl SyntaxError {
    /// An error at `pos`.
    pub fn new(pos: Pos, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos,
            message: message.into(),
        }
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<(Tok, Pos)>,
}

fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&(Tok, Pos), SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn take(&mut self) -> Result<(Tok, Pos), SyntaxError> {
        self.peek()?;
        Ok(self.peeked.take().expect("just peeked"))
    }

    /// Fields up to `end` (a closing delimiter), or to the end of input at top level.
    fn message(&mut self, end: Option<char>) -> Result<Vec<Field>, SyntaxError> {
        let mut fields = Vec::new();
        loop {
            let (tok, pos) = self.take()?;
            match tok {
                Tok::Eof if end.is_none() => return Ok(fields),
                Tok::Punct(c) if Some(c) == end => return Ok(fields),
                Tok::Word(name) if is_identifier(&name) => {
                    self.field(name, pos, &mut fields)?;
                    if let (Tok::Punct(',' | ';'), _) = self.peek()? {
                        self.take()?;
                    }
                }
                Tok::Eof => {
                    let close = end.unwrap_or('}');
                    return Err(SyntaxError::new(
                        pos,
                        format!("Expected \"{close}\", got end of input."),
                    ));
                }
                other => {
                    return Err(SyntaxError::new(
                        pos,
                        format!("Expected identifier, got: {other}"),
                    ));
                }
            }
        }
    }

    fn field(&mut self, name: String, pos: Pos, out: &mut Vec<Field>) -> Result<(), SyntaxError> {
        let after_name = self.peek()?.1;
        let colon = matches!(self.peek()?.0, Tok::Punct(':'));
        if colon {
            self.take()?;
        }
        let (tok, value_pos) = self.take()?;
        let mut push = |value, value_pos| {
            out.push(Field {
                name: name.clone(),
                value,
                pos,
                after_name,
                value_pos,
            })
        };
        match tok {
            Tok::Punct(open @ ('{' | '<')) => {
                let close = if open == '{' { '}' } else { '>' };
                push(Node::Message(self.message(Some(close))?), value_pos);
            }
            Tok::Punct('[') if colon => {
                if let (Tok::Punct(']'), _) = self.peek()? {
                    self.take()?;
                    return Ok(());
                }
                loop {
                    let (tok, at) = self.take()?;
                    let value = match tok {
                        Tok::Str(s) => Node::Scalar(Scalar::Str(s)),
                        Tok::Word(s) => Node::Scalar(Scalar::Token(s)),
                        Tok::Punct('{') => Node::Message(self.message(Some('}'))?),
                        Tok::Punct('<') => Node::Message(self.message(Some('>'))?),
                        other => {
                            return Err(SyntaxError::new(
                                at,
                                format!("Expected value, got: {other}"),
                            ));
                        }
                    };
                    push(value, at);
                    match self.take()? {
                        (Tok::Punct(','), _) => {}
                        (Tok::Punct(']'), _) => return Ok(()),
                        (other, at) => {
                            return Err(SyntaxError::new(
                                at,
                                format!("Expected \"]\", found \"{other}\"."),
                            ));
                        }
                    }
                }
            }
            Tok::Str(s) if colon => push(Node::Scalar(Scalar::Str(s)), value_pos),
            Tok::Word(s) if colon => push(Node::Scalar(Scalar::Token(s)), value_pos),
            other if colon => {
                return Err(SyntaxError::new(
                    value_pos,
                    format!("Expected value, got: {other}"),
                ));
            }
            other => {
                return Err(SyntaxError::new(
                    value_pos,
                    format!("Expected \":\", found \"{other}\"."),
                ));
            }
        }
        Ok(())
    }
}

/// Parses a whole document into its top-level fields.
pub fn parse(text: &str) -> Result<Vec<Field>, SyntaxError> {
    let mut parser = Parser {
        lex: Lexer {
            src: text.as_bytes(),
            at: 0,
            pos: Pos { line: 1, column: 1 },
        },
        peeked: None,
    };
    parser.message(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Field {
        let mut fields = parse(text).unwrap();
        assert_eq!(fields.len(), 1, "{fields:?}");
        fields.remove(0)
    }

    #[test]
    fn nested_messages_lists_and_separators() {
        let f =
            parse("a: 1 b { c: 'x' \"y\" } d: [1, 2] e < f: true >; # comment\n g: ENUM, h: []")
                .unwrap();
        let names: Vec<_> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "d", "d", "e", "g"]);
        assert_eq!(f[1].fields().unwrap()[0].string().unwrap(), "xy");
        assert_eq!((f[2].int().unwrap(), f[3].int().unwrap()), (1, 2));
        assert!(f[4].fields().unwrap()[0].boolean().unwrap());
        assert_eq!(f[5].value, Node::Scalar(Scalar::Token("ENUM".into())));
        let listed = parse("m: [{x: 1}, <x: 2>]").unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(parse("m: { x: 1 }").unwrap()[0].fields().unwrap().len(), 1);
    }

    #[test]
    fn string_escapes() {
        let s = |t: &str| one(t).string().unwrap().to_string();
        assert_eq!(s(r"s: 'a\n\t\\\'\x41\101\0b'"), "a\n\t\\'AA\0b");
        assert_eq!(s(r#"s: "\u00e9\U0001F600\?""#), "é😀?");
        assert_eq!(s("s: 'ünï'"), "ünï");
        let err = parse(r"s: '\q'").unwrap_err();
        assert_eq!(err.message, "Invalid escape sequence in string literal.");
        assert_eq!(
            parse("s: 'open\n'").unwrap_err().message,
            "String literals cannot cross line boundaries."
        );
        assert_eq!(
            parse("s: 'open").unwrap_err().message,
            "Unexpected end of string."
        );
    }

    #[test]
    fn syntax_errors_carry_protobuf_positions() {
        let e = parse("improperly formatted file").unwrap_err();
        assert_eq!(e.to_string(), "1:12: Expected \":\", found \"formatted\".");
        let e = parse("a {\n  b: 1\n").unwrap_err();
        assert_eq!(e.to_string(), "3:1: Expected \"}\", got end of input.");
        assert_eq!(
            parse("a { b: 1 >").unwrap_err().pos,
            Pos {
                line: 1,
                column: 10
            }
        );
        assert_eq!(
            parse("\tx: }").unwrap_err().to_string(),
            "1:12: Expected value, got: }"
        );
        assert_eq!(
            parse("1x: 2").unwrap_err().message,
            "Expected identifier, got: 1x"
        );
        assert_eq!(
            parse("a: [1 2]").unwrap_err().message,
            "Expected \"]\", found \"2\"."
        );
        assert!(parse("").unwrap().is_empty());
    }
}
