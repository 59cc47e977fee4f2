//! HPACK header compression (RFC 7541): a strict, allocation-free-in-the-steady-state decoder
//! for request header blocks and a small encoder for our response headers and trailers.
//!
//! # Decoder
//!
//! After a connection's first request, a gRPC client's header block is mostly one-byte indexed
//! fields. Those reach the callback as slices of the static table or of the dynamic table's
//! arena (`table.rs`): no copy, no allocation. Raw literals are slices of the block itself;
//! Huffman ones are decoded into a scratch buffer the decoder reuses (a decoded string is at
//! most 8/5 of its encoded length, so the scratch is bounded by the block, which the caller
//! bounds). Inserting into the dynamic table copies name and value once into the arena.
//!
//! Anything RFC 7541 forbids is an error, reported as [`DecodeError`] (the connection then
//! ends with COMPRESSION_ERROR): index 0 or past the tables, integers past `u32` or with more
//! than five continuation octets, strings past the block, EOS or bad padding in Huffman
//! strings, size updates above our SETTINGS_HEADER_TABLE_SIZE or after a field.
//!
//! # Encoder
//!
//! No Huffman: it would save a few bytes of what are already tiny blocks (`:status`,
//! `content-type`, `grpc-status`, `grpc-message`) at a CPU cost per byte on every response,
//! and after the first response these fields are one-byte indexes anyway. Short values go into
//! the dynamic table so that they are; long ones (≥ 65 bytes, e.g. error messages) are sent
//! without indexing so they do not evict the repeated ones. See `encoder.rs`.

mod decoder;
mod encoder;
mod huffman;
mod huffman_code;
mod integer;
mod table;

#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_rfc;
#[cfg(test)]
mod tests_roundtrip;

pub use decoder::Decoder;
pub use encoder::Encoder;

/// Why a header block could not be decoded; the connection's answer is COMPRESSION_ERROR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside an integer or a string.
    Truncated,
    /// An integer does not fit in 32 bits or uses more than five continuation octets.
    IntegerOverflow,
    /// Index 0, or one past the static and dynamic tables.
    BadIndex(usize),
    /// A Huffman string contains the EOS symbol.
    HuffmanEos,
    /// A Huffman string ends in padding longer than 7 bits or not all ones.
    HuffmanPadding,
    /// A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE.
    SizeUpdateTooLarge {
        /// The size the update asked for.
        requested: usize,
        /// Our SETTINGS_HEADER_TABLE_SIZE.
        max: usize,
    },
    /// A dynamic table size update after the first field of the block.
    SizeUpdateNotAtStart,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("HPACK: header block truncated"),
            DecodeError::IntegerOverflow => f.write_str("HPACK: integer too large"),
            DecodeError::BadIndex(i) => write!(f, "HPACK: no table entry at index {i}"),
            DecodeError::HuffmanEos => f.write_str("HPACK: EOS inside a Huffman string"),
            DecodeError::HuffmanPadding => {
                f.write_str("HPACK: Huffman padding longer than 7 bits or not all ones")
            }
            DecodeError::SizeUpdateTooLarge { requested, max } => write!(
                f,
                "HPACK: dynamic table size update to {requested} above the {max} we allow"
            ),
            DecodeError::SizeUpdateNotAtStart => {
                f.write_str("HPACK: dynamic table size update after a header field")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
