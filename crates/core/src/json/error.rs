//! Parse errors, worded exactly as rapidjson's `GetParseError_En` words them, because TF Serving
//! puts that text (and the byte offset) straight into the REST error body.

use crate::Status;

/// What went wrong while reading a JSON document. Each variant is one of rapidjson's
/// `ParseErrorCode`s that the iterative parser can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // named after rapidjson's codes; `message` gives the text
pub enum ParseErrorKind {
    DocumentEmpty,
    ValueInvalid,
    ObjectMissName,
    ObjectMissColon,
    ObjectMissCommaOrCurlyBracket,
    ArrayMissCommaOrSquareBracket,
    StringUnicodeEscapeInvalidHex,
    StringUnicodeSurrogateInvalid,
    StringEscapeInvalid,
    StringMissQuotationMark,
    StringInvalidEncoding,
    NumberTooBig,
    NumberMissFraction,
    NumberMissExponent,
    /// Not a rapidjson code: the input does not fit the 32-bit offsets of the value arena.
    DocumentTooLarge,
}

impl ParseErrorKind {
    /// rapidjson's English message, including its trailing period (TF Serving keeps it:
    /// `JSON Parse error: Invalid value. at offset: 0`).
    pub fn message(self) -> &'static str {
        match self {
            ParseErrorKind::DocumentEmpty => "The document is empty.",
            ParseErrorKind::ValueInvalid => "Invalid value.",
            ParseErrorKind::ObjectMissName => "Missing a name for object member.",
            ParseErrorKind::ObjectMissColon => "Missing a colon after a name of object member.",
            ParseErrorKind::ObjectMissCommaOrCurlyBracket => {
                "Missing a comma or '}' after an object member."
            }
            ParseErrorKind::ArrayMissCommaOrSquareBracket => {
                "Missing a comma or ']' after an array element."
            }
            ParseErrorKind::StringUnicodeEscapeInvalidHex => {
                "Incorrect hex digit after \\u escape in string."
            }
            ParseErrorKind::StringUnicodeSurrogateInvalid => {
                "The surrogate pair in string is invalid."
            }
            ParseErrorKind::StringEscapeInvalid => "Invalid escape character in string.",
            ParseErrorKind::StringMissQuotationMark => {
                "Missing a closing quotation mark in string."
            }
            ParseErrorKind::StringInvalidEncoding => "Invalid encoding in string.",
            ParseErrorKind::NumberTooBig => "Number too big to be stored in double.",
            ParseErrorKind::NumberMissFraction => "Miss fraction part in number.",
            ParseErrorKind::NumberMissExponent => "Miss exponent in number.",
            ParseErrorKind::DocumentTooLarge => "The document is too large.",
        }
    }
}

/// A parse failure: the kind and the byte offset rapidjson would report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Byte offset into the input (a UTF-8 BOM counts, as in rapidjson's `MemoryStream`).
    pub offset: usize,
}

impl From<ParseError> for Status {
    fn from(e: ParseError) -> Status {
        Status::invalid_argument(format!(
            "JSON Parse error: {} at offset: {}",
            e.kind.message(),
            e.offset
        ))
    }
}

/// The status TF Serving returns for a zero-length body; it is checked before rapidjson runs,
/// hence the different wording (no period, no offset).
pub fn empty_body_status() -> Status {
    Status::invalid_argument("JSON Parse error: The document is empty")
}
