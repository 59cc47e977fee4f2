//! The HPACK decoder: one header block in, `(name, value)` callbacks out (RFC 7541 §3, §6).

use super::table::{DynamicTable, STATIC};
use super::{DecodeError, huffman, integer};

/// Decodes header blocks of one connection; keeps the dynamic table between blocks.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// SETTINGS_HEADER_TABLE_SIZE as we advertise it: the most a size update may ask for.
    max_table_size: usize,
    /// Huffman-decoded names and values of the current field, reused from field to field.
    scratch: Vec<u8>,
    /// Recently decoded Huffman strings, by their encoded bytes ([`Recent`]).
    recent: Recent,
}

/// The last few Huffman strings decoded, with their decodings.
///
/// Clients send some fields as literals on every request rather than indexing them (h2load's
/// nghttp2 sent `:path` as a Huffman literal without indexing on every call we looked at, and a
/// gRPC client calls the same method over and over), so the same
/// encoded bytes come back request after request. Comparing them with a remembered copy costs
/// a few instructions a byte; decoding them again costs tens a symbol.
#[derive(Debug, Default)]
struct Recent {
    /// (encoded, decoded) pairs; replaced round-robin.
    entries: [(Vec<u8>, Vec<u8>); RECENT],
    next: usize,
}

/// How many decoded strings [`Recent`] keeps.
const RECENT: usize = 4;

/// Longer strings are decoded every time: the cache stays small.
const RECENT_MAX_LEN: usize = 128;

impl Recent {
    fn get(&self, encoded: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(e, _)| e.as_slice() == encoded && !e.is_empty())
            .map(|(_, d)| d.as_slice())
    }

    fn put(&mut self, encoded: &[u8], decoded: &[u8]) {
        if encoded.is_empty() || encoded.len() > RECENT_MAX_LEN {
            return;
        }
        let (e, d) = &mut self.entries[self.next];
        e.clear();
        e.extend_from_slice(encoded);
        d.clear();
        d.extend_from_slice(decoded);
        self.next = (self.next + 1) % RECENT;
    }
}

/// Where a literal's string lies: raw in the block, or Huffman-decoded in the scratch buffer.
#[derive(Clone, Copy)]
enum Str {
    Block(usize, usize),
    Scratch(usize, usize),
}

impl Str {
    #[inline]
    fn bytes<'a>(self, block: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        match self {
            Str::Block(start, end) => &block[start..end],
            Str::Scratch(start, end) => &scratch[start..end],
        }
    }
}

/// A literal's name: by index into either table, or a string.
#[derive(Clone, Copy)]
enum Name {
    Static(usize),
    Dynamic(usize),
    Literal(Str),
}

impl Decoder {
    /// `max_table_size`: the SETTINGS_HEADER_TABLE_SIZE we advertise (the most the peer may
    /// use); 4096 typically. The table starts at that size; the peer may shrink it with size
    /// updates and grow it back up to this.
    pub fn new(max_table_size: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(max_table_size),
            max_table_size,
            scratch: Vec::new(),
            recent: Recent::default(),
        }
    }

    /// Decodes one complete header block (HEADERS + CONTINUATION fragments already joined),
    /// calling `field(name, value)` for each field in order. On error the connection is torn
    /// down (COMPRESSION_ERROR), so state after an error does not matter.
    ///
    /// Generic so that a closure passed directly is inlined (all-indexed blocks decode about
    /// a third faster than through a `dyn` call per field: benches/hpack.rs); `?Sized` so a
    /// `&mut dyn FnMut(&[u8], &[u8])` works as well.
    pub fn decode<F: FnMut(&[u8], &[u8]) + ?Sized>(
        &mut self,
        block: &[u8],
        field: &mut F,
    ) -> Result<(), DecodeError> {
        let mut pos = 0;
        let mut fields_seen = false;
        while pos < block.len() {
            let first = block[pos];
            if first & 0x80 != 0 {
                // §6.1 indexed field: the slices go out straight from the tables.
                let index = integer::decode(block, &mut pos, 7)? as usize;
                let (name, value) = self.entry(index)?;
                field(name, value);
            } else if first & 0xe0 == 0x20 {
                // §6.3 dynamic table size update: only before the block's first field (§4.2).
                if fields_seen {
                    return Err(DecodeError::SizeUpdateNotAtStart);
                }
                let size = integer::decode(block, &mut pos, 5)? as usize;
                if size > self.max_table_size {
                    return Err(DecodeError::SizeUpdateTooLarge {
                        requested: size,
                        max: self.max_table_size,
                    });
                }
                self.table.set_max_size(size);
                continue;
            } else {
                // §6.2: 01 = incremental indexing (6-bit index), 0000 / 0001 = without / never
                // indexed (4-bit index).
                let indexing = first & 0x40 != 0;
                let prefix = if indexing { 6 } else { 4 };
                self.literal(block, &mut pos, prefix, indexing, field)?;
            }
            fields_seen = true;
        }
        Ok(())
    }

    /// The field at HPACK `index` (1-based over the static table, then the dynamic one).
    #[inline]
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
        if index == 0 {
            return Err(DecodeError::BadIndex(0));
        }
        if index <= STATIC.len() {
            return Ok(STATIC[index - 1]);
        }
        self.table
            .get(index - STATIC.len() - 1)
            .ok_or(DecodeError::BadIndex(index))
    }

    fn literal<F: FnMut(&[u8], &[u8]) + ?Sized>(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        prefix: u32,
        indexing: bool,
        field: &mut F,
    ) -> Result<(), DecodeError> {
        self.scratch.clear();
        let index = integer::decode(block, pos, prefix)? as usize;
        let name = if index == 0 {
            Name::Literal(self.string(block, pos)?)
        } else if index <= STATIC.len() {
            Name::Static(index - 1)
        } else if index - STATIC.len() - 1 < self.table.len() {
            Name::Dynamic(index - STATIC.len() - 1)
        } else {
            return Err(DecodeError::BadIndex(index));
        };
        let value = self.string(block, pos)?;
        let value = value.bytes(block, &self.scratch);
        let name_bytes = match name {
            Name::Static(i) => STATIC[i].0,
            Name::Dynamic(i) => self.table.get(i).expect("index checked above").0,
            Name::Literal(s) => s.bytes(block, &self.scratch),
        };
        field(name_bytes, value);
        if indexing {
            match name {
                Name::Static(i) => self.table.insert(STATIC[i].0, value),
                Name::Dynamic(i) => self.table.insert_with_name_of(i, value),
                Name::Literal(s) => self.table.insert(s.bytes(block, &self.scratch), value),
            }
        }
        Ok(())
    }

    /// Reads a string literal (§5.2) at `*pos`; Huffman ones are decoded into the scratch.
    fn string(&mut self, block: &[u8], pos: &mut usize) -> Result<Str, DecodeError> {
        let first = *block.get(*pos).ok_or(DecodeError::Truncated)?;
        let len = integer::decode(block, pos, 7)? as usize;
        let start = *pos;
        if len > block.len() - start {
            return Err(DecodeError::Truncated);
        }
        *pos = start + len;
        if first & 0x80 == 0 {
            return Ok(Str::Block(start, start + len));
        }
        let encoded = &block[start..start + len];
        let from = self.scratch.len();
        if let Some(decoded) = self.recent.get(encoded) {
            self.scratch.extend_from_slice(decoded);
        } else {
            huffman::decode(encoded, &mut self.scratch)?;
            self.recent.put(encoded, &self.scratch[from..]);
        }
        Ok(Str::Scratch(from, self.scratch.len()))
    }

    /// The dynamic table's size (RFC 7541 §4.1) and its entries newest first, for tests.
    #[cfg(test)]
    pub(crate) fn table(&self) -> &DynamicTable {
        &self.table
    }
}
