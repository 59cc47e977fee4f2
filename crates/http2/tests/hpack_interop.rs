//! Cross-checks of our HPACK against two independent implementations from crates.io:
//! `fluke-hpack` decodes what our encoder writes (with table size changes), and
//! `httlib-hpack`, which can Huffman-code names and values, writes blocks our decoder must
//! read to the same fields, in every representation (indexed, incremental indexing, without
//! and never indexed, size updates). Random but seeded, so failures reproduce.

use tensorserve_http2::hpack::{Decoder, Encoder};

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_fields(rng: &mut Rng) -> Fields {
    const NAMES: [&str; 8] = [
        ":status",
        ":path",
        "content-type",
        "grpc-status",
        "grpc-message",
        "te",
        "date",
        "x-id",
    ];
    const VALUES: [&str; 6] = [
        "200",
        "application/grpc",
        "0",
        "",
        "trailers",
        "/pkg.Svc/Method",
    ];
    (0..1 + rng.below(10))
        .map(|_| {
            let name = if rng.below(4) == 0 {
                (0..1 + rng.below(16))
                    .map(|_| b'a' + rng.below(26) as u8)
                    .collect()
            } else {
                NAMES[rng.below(NAMES.len())].as_bytes().to_vec()
            };
            let value = if rng.below(3) == 0 {
                // Any octet: values are opaque to HPACK.
                (0..rng.below(120)).map(|_| rng.next() as u8).collect()
            } else {
                VALUES[rng.below(VALUES.len())].as_bytes().to_vec()
            };
            (name, value)
        })
        .collect()
}

fn ours_decode(d: &mut Decoder, block: &[u8]) -> Fields {
    let mut out = Vec::new();
    // Through a trait object, as a caller holding `&mut dyn FnMut` would call it.
    let field: &mut dyn FnMut(&[u8], &[u8]) = &mut |n, v| out.push((n.to_vec(), v.to_vec()));
    d.decode(block, field)
        .unwrap_or_else(|e| panic!("our decoder rejected {block:02x?}: {e}"));
    out
}

#[test]
fn our_encoder_decodes_with_fluke_hpack() {
    let mut rng = Rng(1);
    let mut blocks = 0;
    for _ in 0..30 {
        let mut ours = Encoder::new();
        let mut theirs = fluke_hpack::Decoder::new();
        theirs.set_max_allowed_table_size(4096);
        for _ in 0..50 {
            if rng.below(8) == 0 {
                ours.set_peer_table_size([0, 64, 300, 4096][rng.below(4)]);
                if rng.below(2) == 0 {
                    ours.set_peer_table_size([0, 64, 300, 4096][rng.below(4)]);
                }
            }
            let fields = random_fields(&mut rng);
            let mut block = Vec::new();
            ours.encode(fields.iter().map(|(n, v)| (&n[..], &v[..])), &mut block);
            let decoded = theirs
                .decode(&block)
                .expect("fluke-hpack rejected our block");
            assert_eq!(decoded, fields);
            blocks += 1;
        }
    }
    assert_eq!(blocks, 1500);
}

#[test]
fn httlib_hpack_huffman_blocks_decode_with_ours() {
    let mut rng = Rng(2);
    let mut huffman_strings = 0;
    for _ in 0..30 {
        let mut theirs = httlib_hpack::Encoder::default();
        let mut ours = Decoder::new(4096);
        for block_no in 0..50 {
            let mut block = Vec::new();
            if block_no > 0 && rng.below(8) == 0 {
                let size = [0, 100, 256, 4096][rng.below(4)];
                theirs.update_max_dynamic_size(size, &mut block).unwrap();
            }
            let fields = random_fields(&mut rng);
            for (name, value) in &fields {
                // Huffman on name and/or value; indexing, never indexed or neither; and the
                // best of index / name index / literal.
                let mut flags = rng.below(4) as u8;
                flags |= [0, 0x4, 0x8][rng.below(3)];
                if rng.below(2) == 0 {
                    flags |= 0x10;
                }
                if flags & 3 != 0 {
                    huffman_strings += 1;
                }
                theirs
                    .encode((name.clone(), value.clone(), flags), &mut block)
                    .unwrap();
            }
            assert_eq!(ours_decode(&mut ours, &block), fields);
        }
    }
    assert!(huffman_strings > 2000, "{huffman_strings}");
}

/// Both decoders agree on the same foreign blocks, field by field.
#[test]
fn fluke_hpack_blocks_decode_with_ours() {
    let mut rng = Rng(3);
    for _ in 0..30 {
        let mut theirs = fluke_hpack::Encoder::new();
        let mut ours = Decoder::new(4096);
        for _ in 0..50 {
            let fields = random_fields(&mut rng);
            let block = theirs.encode(fields.iter().map(|(n, v)| (&n[..], &v[..])));
            assert_eq!(ours_decode(&mut ours, &block), fields);
        }
    }
}
