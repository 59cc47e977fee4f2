//! The HPACK static table (RFC 7541 Appendix A) and the dynamic table (§2.3.2, §4), shared by
//! the decoder and the encoder (which mirrors its peer's decoder).
//!
//! The dynamic table keeps every entry's name and value in one byte arena, oldest first, and a
//! ring of spans into it, newest first: inserting copies the two strings once and allocates
//! nothing in the steady state, and a lookup is two slices of the arena. Evicted bytes stay at
//! the arena's front until they outweigh the live ones, then the live ones move down
//! ([`DynamicTable::compact`]), so the arena never holds more than about twice the table size.

use std::collections::VecDeque;

/// RFC 7541 Appendix A; HPACK index `i` is `STATIC[i - 1]`.
pub(crate) const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Per-entry overhead in the size accounting (RFC 7541 §4.1).
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// The static table's match for a field: `(index, true)` for name and value, `(index, false)`
/// for the name only (its first entry), `None` for neither.
pub(crate) fn find_static(name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
    let (first, count) = static_name(name)?;
    let exact = STATIC[first..first + count]
        .iter()
        .position(|&(_, v)| v == value);
    Some(match exact {
        Some(offset) => (first + offset + 1, true),
        None => (first + 1, false),
    })
}

/// Where `name`'s entries start in [`STATIC`] and how many there are: a `match` (compiled to
/// a switch on the length, then a comparison or two) rather than a scan of 61 names, since
/// the encoder looks up every field of every answer.
fn static_name(name: &[u8]) -> Option<(usize, usize)> {
    Some(match name {
        b":authority" => (0, 1),
        b":method" => (1, 2),
        b":path" => (3, 2),
        b":scheme" => (5, 2),
        b":status" => (7, 7),
        b"accept-charset" => (14, 1),
        b"accept-encoding" => (15, 1),
        b"accept-language" => (16, 1),
        b"accept-ranges" => (17, 1),
        b"accept" => (18, 1),
        b"access-control-allow-origin" => (19, 1),
        b"age" => (20, 1),
        b"allow" => (21, 1),
        b"authorization" => (22, 1),
        b"cache-control" => (23, 1),
        b"content-disposition" => (24, 1),
        b"content-encoding" => (25, 1),
        b"content-language" => (26, 1),
        b"content-length" => (27, 1),
        b"content-location" => (28, 1),
        b"content-range" => (29, 1),
        b"content-type" => (30, 1),
        b"cookie" => (31, 1),
        b"date" => (32, 1),
        b"etag" => (33, 1),
        b"expect" => (34, 1),
        b"expires" => (35, 1),
        b"from" => (36, 1),
        b"host" => (37, 1),
        b"if-match" => (38, 1),
        b"if-modified-since" => (39, 1),
        b"if-none-match" => (40, 1),
        b"if-range" => (41, 1),
        b"if-unmodified-since" => (42, 1),
        b"last-modified" => (43, 1),
        b"link" => (44, 1),
        b"location" => (45, 1),
        b"max-forwards" => (46, 1),
        b"proxy-authenticate" => (47, 1),
        b"proxy-authorization" => (48, 1),
        b"range" => (49, 1),
        b"referer" => (50, 1),
        b"refresh" => (51, 1),
        b"retry-after" => (52, 1),
        b"server" => (53, 1),
        b"set-cookie" => (54, 1),
        b"strict-transport-security" => (55, 1),
        b"transfer-encoding" => (56, 1),
        b"user-agent" => (57, 1),
        b"vary" => (58, 1),
        b"via" => (59, 1),
        b"www-authenticate" => (60, 1),
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy)]
struct Span {
    /// Offset of the name in the arena; the value follows it.
    start: usize,
    name_len: u32,
    value_len: u32,
}

impl Span {
    fn size(&self) -> usize {
        ENTRY_OVERHEAD + self.name_len as usize + self.value_len as usize
    }
    fn end(&self) -> usize {
        self.start + self.name_len as usize + self.value_len as usize
    }
}

#[derive(Debug)]
pub(crate) struct DynamicTable {
    arena: Vec<u8>,
    /// Newest first: dynamic index 0 is HPACK index 62.
    entries: VecDeque<Span>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub(crate) fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            arena: Vec::new(),
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Current size in RFC 7541 §4.1 terms.
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// Entry `i` (0 = newest) as `(name, value)`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let span = self.entries.get(i)?;
        let name_end = span.start + span.name_len as usize;
        Some((
            &self.arena[span.start..name_end],
            &self.arena[name_end..span.end()],
        ))
    }

    /// A dynamic table size update (§6.3) or the encoder's new limit: evicts down to it.
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
        self.compact_if_worth_it();
    }

    /// Adds `(name, value)` as the newest entry, evicting as §4.4 says.
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let start = self.arena.len();
        self.arena.extend_from_slice(name);
        self.arena.extend_from_slice(value);
        self.finish_insert(start, name.len(), value.len());
    }

    /// Adds an entry named like dynamic entry `name_of` (which the insertion may evict: the
    /// name is copied first, as §4.4 requires).
    pub(crate) fn insert_with_name_of(&mut self, name_of: usize, value: &[u8]) {
        let span = self.entries[name_of];
        let start = self.arena.len();
        self.arena
            .extend_from_within(span.start..span.start + span.name_len as usize);
        self.arena.extend_from_slice(value);
        self.finish_insert(start, span.name_len as usize, value.len());
    }

    fn finish_insert(&mut self, start: usize, name_len: usize, value_len: usize) {
        let span = Span {
            start,
            name_len: name_len as u32,
            value_len: value_len as u32,
        };
        let entry_size = span.size();
        if entry_size > self.max_size {
            // §4.4: an entry larger than the table empties it and is not added.
            self.entries.clear();
            self.arena.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - entry_size);
        self.entries.push_front(span);
        self.size += entry_size;
        self.compact_if_worth_it();
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            let oldest = self.entries.pop_back().expect("size > 0 means entries");
            self.size -= oldest.size();
        }
    }

    /// Moves the live bytes to the arena's front once the evicted ones before them outweigh
    /// them: each byte moves at most once per byte evicted, and the arena stays bounded.
    fn compact_if_worth_it(&mut self) {
        let Some(oldest) = self.entries.back() else {
            self.arena.clear();
            return;
        };
        let dead = oldest.start;
        if dead > self.arena.len() - dead {
            self.compact(dead);
        }
    }

    fn compact(&mut self, dead: usize) {
        self.arena.drain(..dead);
        for span in &mut self.entries {
            span.start -= dead;
        }
    }

    /// Bytes the arena holds (live and evicted), for the boundedness tests.
    #[cfg(test)]
    pub(crate) fn arena_len(&self) -> usize {
        self.arena.len()
    }

    /// The encoder's lookup: `(index, true)` for an entry equal to the field, else
    /// `(index, false)` for the newest with its name.
    pub(crate) fn find(&self, name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
        let mut by_name = None;
        for i in 0..self.entries.len() {
            let (n, v) = self.get(i).expect("index below len");
            if n == name {
                if v == value {
                    return Some((i, true));
                }
                by_name.get_or_insert(i);
            }
        }
        by_name.map(|i| (i, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `match` in `static_name` agrees with a scan of the table for every entry, and finds
    /// nothing for names outside it.
    #[test]
    fn static_lookup_matches_a_scan() {
        let scan = |name: &[u8], value: &[u8]| {
            let first = STATIC.iter().position(|&(n, _)| n == name)?;
            let exact = STATIC.iter().position(|&(n, v)| n == name && v == value);
            Some(exact.map_or((first + 1, false), |i| (i + 1, true)))
        };
        for (name, value) in STATIC {
            assert_eq!(find_static(name, value), scan(name, value));
            assert_eq!(find_static(name, b"other"), scan(name, b"other"));
        }
        for name in [
            &b""[..],
            b"grpc-status",
            b":Status",
            b"content-typ",
            b"content-types",
        ] {
            assert_eq!(find_static(name, b""), None);
        }
    }
}
