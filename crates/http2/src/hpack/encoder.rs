//! The HPACK encoder for our response headers and trailers (RFC 7541 §6), without Huffman.
//!
//! Per field, in order: an entry of the dynamic table equal to it → indexed (1 byte for the
//! first 65 entries); one of the static table → indexed; otherwise a literal, naming the field
//! by index when either table has the name, and added to the dynamic table when the value is
//! short enough to be worth remembering ([`MAX_INDEXED_VALUE`]). Our dynamic table mirrors the
//! peer's decoder exactly: same insertions, same size accounting, same evictions.

use super::integer;
use super::table::{DynamicTable, ENTRY_OVERHEAD, STATIC, find_static};

/// The protocol's initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
const DEFAULT_TABLE_SIZE: usize = 4096;

/// The most table we use even when the peer allows more: our blocks are a handful of short
/// fields, and a larger table only costs both sides memory.
const MAX_USED_TABLE_SIZE: usize = 4096;

/// Longer values are sent as literals without indexing: long values (messages, ids) are rarely
/// repeated and would push the repeated short ones out of the table.
const MAX_INDEXED_VALUE: usize = 64;

/// Encodes header blocks of one connection; keeps the dynamic table between blocks.
#[derive(Debug)]
pub struct Encoder {
    table: DynamicTable,
    /// Set by [`Encoder::set_peer_table_size`]: the smallest size the table had since the last
    /// block (§4.2), to signal before the final one.
    pending_min: Option<usize>,
    /// Changes whenever the next block for the same fields could differ (an insertion, a size
    /// change): see [`Encoder::generation`].
    generation: u64,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder::new()
    }
}

impl Encoder {
    /// Peer's table size 4096 (the protocol default) until told otherwise.
    pub fn new() -> Encoder {
        Encoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            pending_min: None,
            generation: 0,
        }
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: evict as needed and start the next block
    /// with a dynamic table size update (RFC 7541 §4.2, §6.3), signalling the smallest size
    /// first when it changed more than once between blocks.
    pub fn set_peer_table_size(&mut self, size: usize) {
        let used = size.min(MAX_USED_TABLE_SIZE);
        let smallest = self.pending_min.map_or(used, |min| min.min(used));
        if self.pending_min.is_none() && used == self.table.max_size() {
            return; // nothing the peer's decoder needs to hear about
        }
        self.pending_min = Some(smallest);
        self.table.set_max_size(used);
        self.generation += 1;
    }

    /// A number that stays the same as long as encoding the same fields gives the same bytes:
    /// a block whose encoding left it unchanged can be reused as is while it does not change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Appends one header block for `fields` (names already lowercase) to `dst`.
    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        dst: &mut Vec<u8>,
    ) {
        if let Some(smallest) = self.pending_min.take() {
            // The next block will not carry the size update this one does.
            self.generation += 1;
            if smallest < self.table.max_size() {
                integer::encode(dst, 0x20, 5, smallest);
            }
            integer::encode(dst, 0x20, 5, self.table.max_size());
        }
        for (name, value) in fields {
            self.field(name, value, dst);
        }
    }

    fn field(&mut self, name: &[u8], value: &[u8], dst: &mut Vec<u8>) {
        let dynamic = self.table.find(name, value);
        if let Some((i, true)) = dynamic {
            integer::encode(dst, 0x80, 7, STATIC.len() + 1 + i);
            return;
        }
        let fixed = find_static(name, value);
        if let Some((index, true)) = fixed {
            integer::encode(dst, 0x80, 7, index);
            return;
        }
        let name_index = match (fixed, dynamic) {
            (Some((index, _)), _) => index,
            (None, Some((i, _))) => STATIC.len() + 1 + i,
            (None, None) => 0,
        };
        let entry_size = ENTRY_OVERHEAD + name.len() + value.len();
        // An entry larger than the table would only empty it (§4.4).
        let indexing = value.len() <= MAX_INDEXED_VALUE && entry_size <= self.table.max_size();
        if indexing {
            integer::encode(dst, 0x40, 6, name_index);
        } else {
            integer::encode(dst, 0x00, 4, name_index);
        }
        if name_index == 0 {
            string(name, dst);
        }
        string(value, dst);
        if indexing {
            self.table.insert(name, value);
            self.generation += 1;
        }
    }

    /// The dynamic table as the peer's decoder should have it, for tests.
    #[cfg(test)]
    pub(crate) fn table(&self) -> &DynamicTable {
        &self.table
    }
}

/// A raw (non-Huffman) string literal (§5.2).
fn string(bytes: &[u8], dst: &mut Vec<u8>) {
    integer::encode(dst, 0x00, 7, bytes.len());
    dst.extend_from_slice(bytes);
}
