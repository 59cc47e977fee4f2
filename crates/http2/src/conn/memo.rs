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

/// A fixed field list by address and length (`Fields::Static` lists are `'static`), and the
/// head's status (0 for trailers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    list: usize,
    len: usize,
    status: u16,
}

impl Key {
    fn of(list: &'static [(&'static str, &'static str)], status: u16) -> Key {
        Key {
            list: list.as_ptr() as usize,
            len: list.len(),
            status,
        }
    }
}

/// The last block of one fixed field list.
#[derive(Debug, Default)]
pub(super) struct Memo {
    key: Option<Key>,
    generation: u64,
    bytes: Vec<u8>,
}

impl Memo {
    /// Appends the remembered block for `list` and `status` to `dst`, if it is still what the
    /// encoder at `generation` would write; whether it did.
    pub fn reuse(
        &self,
        list: &'static [(&'static str, &'static str)],
        status: u16,
        generation: u64,
        dst: &mut Vec<u8>,
    ) -> bool {
        let hit = self.key == Some(Key::of(list, status)) && self.generation == generation;
        if hit {
            dst.extend_from_slice(&self.bytes);
        }
        hit
    }

    /// Remembers `block`, just encoded for `list` and `status`, if encoding it left the
    /// encoder's generation as it was (`before` == `after`).
    pub fn keep(
        &mut self,
        list: &'static [(&'static str, &'static str)],
        status: u16,
        (before, after): (u64, u64),
        block: &[u8],
    ) {
        if before != after {
            return;
        }
        self.key = Some(Key::of(list, status));
        self.generation = after;
        self.bytes.clear();
        self.bytes.extend_from_slice(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpack::{Decoder, Encoder};

    /// A fixed field list, as `Fields::Static` holds it.
    type List = &'static [(&'static str, &'static str)];

    const HEAD: List = &[("content-type", "application/grpc")];
    const OTHER: List = &[("content-type", "application/json")];

    /// Encodes `list` with `status` as `write_head` does, through `memo`.
    fn block(enc: &mut Encoder, memo: &mut Memo, list: List, status: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let generation = enc.generation();
        if !memo.reuse(list, status, generation, &mut out) {
            let status_text = status.to_string();
            let fields = std::iter::once((&b":status"[..], status_text.as_bytes()))
                .chain(list.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
            enc.encode(fields, &mut out);
            memo.keep(list, status, (generation, enc.generation()), &out);
        }
        out
    }

    /// A sequence of answers through a memo decodes, block by block, to what was asked for,
    /// and gives the bytes an encoder without a memo gives.
    #[test]
    fn reused_blocks_are_the_encoders_own() {
        let (mut with, mut without) = (Encoder::new(), Encoder::new());
        let mut memo = Memo::default();
        let mut decoder = Decoder::new(4096);
        let steps: [(List, u16, Option<usize>); 9] = [
            (HEAD, 200, None),
            (HEAD, 200, None),
            (HEAD, 200, None),
            (HEAD, 404, None),
            (HEAD, 200, None),
            (OTHER, 200, None),
            (HEAD, 200, Some(0)),
            (HEAD, 200, None),
            (HEAD, 200, Some(4096)),
        ];
        let mut reused = 0;
        for (list, status, resize) in steps {
            if let Some(size) = resize {
                with.set_peer_table_size(size);
                without.set_peer_table_size(size);
            }
            let generation = with.generation();
            let got = block(&mut with, &mut memo, list, status);
            reused += usize::from(
                with.generation() == generation && memo.key == Some(Key::of(list, status)),
            );
            let mut want = Vec::new();
            let status_text = status.to_string();
            without.encode(
                std::iter::once((&b":status"[..], status_text.as_bytes()))
                    .chain(list.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))),
                &mut want,
            );
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
        assert!(reused >= 3, "the memo was used ({reused})");
    }
}
