//! Header blocks remembered. A gRPC server answers almost every call with the same head
//! (`:status 200`, `content-type: application/grpc`) and trailers (`grpc-status: 0`); once the
//! encoder's dynamic table holds those fields their block is the same few index bytes each
//! time. A [`Memo`] keeps the last block of a fixed field list and gives it back while the
//! table has not changed, instead of searching both tables field by field for every answer.
//!
//! Correct because a block is only kept when encoding it left the encoder's
//! [`generation`](crate::hpack::Encoder::generation) unchanged (no insertion, no size update),
//! and only reused while the generation is still that one: the encoder would write the same
//! bytes.

use crate::hpack::Encoder;

/// A fixed field list by address and length (`Fields::Static` lists are `'static`), and the
/// head's status (0 for trailers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    list: usize,
    len: usize,
    status: u16,
}

impl Key {
    fn of(list: List, status: u16) -> Key {
        Key {
            list: list.as_ptr() as usize,
            len: list.len(),
            status,
        }
    }
}

/// A fixed field list, as `Fields::Static` holds it.
pub(super) type List = &'static [(&'static str, &'static str)];

/// The last block of one fixed field list.
#[derive(Debug, Default)]
pub(super) struct Memo {
    key: Option<Key>,
    generation: u64,
    bytes: Vec<u8>,
}

impl Memo {
    /// Appends a header block to `dst`: for a `fixed` list (and the head's status; 0 for
    /// trailers) the remembered block while `encoder` would write the same bytes, otherwise what
    /// `encode` writes, remembered when encoding it changed nothing in the encoder.
    pub fn write(
        &mut self,
        encoder: &mut Encoder,
        fixed: Option<(List, u16)>,
        dst: &mut Vec<u8>,
        encode: impl FnOnce(&mut Encoder, &mut Vec<u8>),
    ) {
        let generation = encoder.generation();
        let key = fixed.map(|(list, status)| Key::of(list, status));
        if key.is_some() && self.key == key && self.generation == generation {
            dst.extend_from_slice(&self.bytes);
            return;
        }
        let start = dst.len();
        encode(encoder, dst);
        if key.is_some() && encoder.generation() == generation {
            self.key = key;
            self.generation = generation;
            self.bytes.clear();
            self.bytes.extend_from_slice(&dst[start..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpack::Decoder;

    const HEAD: List = &[("content-type", "application/grpc")];
    const OTHER: List = &[("content-type", "application/json")];

    /// The fields `write_head` sends for `list` and `status`.
    fn encode(enc: &mut Encoder, list: List, status: u16, out: &mut Vec<u8>) {
        let status_text = status.to_string();
        let fields = std::iter::once((&b":status"[..], status_text.as_bytes()))
            .chain(list.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        enc.encode(fields, out);
    }

    /// A sequence of answers through a memo decodes, block by block, to what was asked for,
    /// and gives the bytes an encoder without a memo gives.
    #[test]
    fn reused_blocks_are_the_encoders_own() {
        let (mut with, mut without) = (Encoder::new(), Encoder::new());
        let mut memo = Memo::default();
        let mut decoder = Decoder::new(4096);
        // (list, status, table resize before it, whether the remembered block is reused)
        let steps: [(List, u16, Option<usize>, bool); 14] = [
            (HEAD, 200, None, false), // content-type enters the table
            (HEAD, 200, None, false), // all indexed: kept
            (HEAD, 200, None, true),
            (HEAD, 200, None, true),
            (HEAD, 404, None, false), // another status: kept in its place
            (HEAD, 404, None, true),
            (HEAD, 200, None, false),
            (OTHER, 200, None, false), // a new value enters the table
            (HEAD, 200, None, false),  // the table changed since
            (HEAD, 200, None, true),
            (HEAD, 200, Some(0), false), // a size update goes out once
            (HEAD, 200, None, false),    // literals without indexing: kept
            (HEAD, 200, None, true),
            (HEAD, 200, Some(4096), false),
        ];
        for (list, status, resize, reuse) in steps {
            if let Some(size) = resize {
                with.set_peer_table_size(size);
                without.set_peer_table_size(size);
            }
            let (mut got, mut encoded) = (Vec::new(), false);
            memo.write(&mut with, Some((list, status)), &mut got, |enc, out| {
                encoded = true;
                encode(enc, list, status, out);
            });
            assert_eq!(!encoded, reuse, "{list:?} {status} {resize:?}");
            let mut want = Vec::new();
            encode(&mut without, list, status, &mut want);
            assert_eq!(got, want, "{list:?} {status} {resize:?}");
            let mut fields = Vec::new();
            decoder
                .decode(&got, &mut |n: &[u8], v: &[u8]| {
                    fields.push((n.to_vec(), v.to_vec()))
                })
                .unwrap();
            assert_eq!(fields[0].1, status.to_string().into_bytes());
            assert_eq!(fields[1].1, list[0].1.as_bytes());
        }
    }
}
