//! Encoder → decoder round trips over random field lists with table size changes (the two
//! dynamic tables must stay identical), Huffman round trips, random garbage never panicking,
//! and the size of our gRPC response blocks.

use super::tests_rfc::{Fields, decode_all, entries};
use super::{Decoder, Encoder, huffman, integer};

/// xorshift64*: deterministic, so a failure reproduces.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NAMES: [&str; 10] = [
    ":status",
    "content-type",
    "grpc-status",
    "grpc-message",
    "date",
    "x-custom",
    "te",
    "user-agent",
    ":path",
    "grpc-encoding",
];
const VALUES: [&str; 8] = [
    "200",
    "application/grpc",
    "0",
    "",
    "gzip",
    "/a.B/C",
    "trailers",
    "404",
];

fn random_fields(rng: &mut Rng) -> Fields {
    (0..rng.below(12))
        .map(|_| {
            let name = match rng.below(4) {
                0 => (0..1 + rng.below(20))
                    .map(|_| (b'a' + rng.below(26) as u8) as char)
                    .collect(),
                _ => NAMES[rng.below(NAMES.len())].to_owned(),
            };
            let value = match rng.below(3) {
                0 => (0..rng.below(150))
                    .map(|_| (b' ' + rng.below(95) as u8) as char)
                    .collect(),
                _ => VALUES[rng.below(VALUES.len())].to_owned(),
            };
            (name, value)
        })
        .collect()
}

fn encode(e: &mut Encoder, fields: &Fields) -> Vec<u8> {
    let mut out = Vec::new();
    e.encode(
        fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        &mut out,
    );
    out
}

#[test]
fn random_field_lists_round_trip_with_table_size_changes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total_blocks = 0;
    for _connection in 0..50 {
        let mut e = Encoder::new();
        let mut d = Decoder::new(4096);
        for _block in 0..60 {
            // Now and then the peer changes its SETTINGS_HEADER_TABLE_SIZE, sometimes twice.
            for _ in 0..[0, 0, 0, 0, 1, 2][rng.below(6)] {
                e.set_peer_table_size([0, 40, 100, 256, 1000, 4096, 65536][rng.below(7)]);
            }
            let fields = random_fields(&mut rng);
            let block = encode(&mut e, &fields);
            assert_eq!(decode_all(&mut d, &block), fields);
            assert_eq!(entries(d.table()), entries(e.table()));
            assert_eq!(d.table().size(), e.table().size());
            assert_eq!(d.table().max_size(), e.table().max_size());
            total_blocks += 1;
        }
    }
    assert_eq!(total_blocks, 3000);
}

#[test]
fn table_size_change_signalling() {
    let mut e = Encoder::new();
    let block = |e: &mut Encoder| encode(e, &vec![("a".into(), "b".into())]);
    assert_eq!(block(&mut e)[0], 0x40, "no size update before any change");
    e.set_peer_table_size(4096);
    e.set_peer_table_size(8192); // above what we use: nothing changes
    assert_eq!(block(&mut e)[0], 0xbe, "indexed, still no size update");
    // Down and back up between two blocks: the smallest, then the final size (§4.2).
    e.set_peer_table_size(0);
    e.set_peer_table_size(4096);
    let mut want = Vec::new();
    integer::encode(&mut want, 0x20, 5, 0);
    integer::encode(&mut want, 0x20, 5, 4096);
    want.push(0x40); // the entry went with the 0: a literal again
    assert_eq!(block(&mut e)[..want.len()], want[..]);
    e.set_peer_table_size(1000);
    let mut want = Vec::new();
    integer::encode(&mut want, 0x20, 5, 1000);
    want.push(0xbe);
    assert_eq!(block(&mut e), want);
}

/// After the first response on a connection, our gRPC headers and trailers are one byte per
/// field.
#[test]
fn grpc_response_blocks_shrink_to_a_byte_per_field() {
    let headers: Fields = vec![
        (":status".into(), "200".into()),
        ("content-type".into(), "application/grpc".into()),
    ];
    let ok: Fields = vec![("grpc-status".into(), "0".into())];
    let err: Fields = vec![
        ("grpc-status".into(), "5".into()),
        ("grpc-message".into(), "model not found".into()),
    ];
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096);
    let mut sizes = Vec::new();
    for _ in 0..3 {
        for fields in [&headers, &ok, &headers, &err] {
            let block = encode(&mut e, fields);
            assert_eq!(&decode_all(&mut d, &block), fields);
            sizes.push(block.len());
        }
    }
    assert_eq!(
        sizes[4..],
        [2, 1, 2, 2, 2, 1, 2, 2],
        "first round: {:?}",
        &sizes[..4]
    );
}

#[test]
fn huffman_round_trips_random_bytes() {
    let mut rng = Rng(7);
    for _ in 0..2000 {
        let text: Vec<u8> = (0..rng.below(100)).map(|_| rng.next() as u8).collect();
        let mut code = Vec::new();
        huffman::encode(&text, &mut code);
        let mut back = Vec::new();
        huffman::decode(&code, &mut back).unwrap();
        assert_eq!(back, text);
        assert!(back.capacity() <= code.len() * 8 / 5 + 1 || back.capacity() < 64);
    }
}

/// Huffman literals repeated across blocks (served from the decoder's recent-strings cache)
/// decode exactly as a fresh decoder decodes them, through hits, misses and replacements,
/// and a corrupt string that looks like a cached one is still an error.
#[test]
fn repeated_huffman_literals_decode_as_fresh_ones() {
    let mut rng = Rng(11);
    // More distinct strings than the cache holds, some longer than it keeps.
    let pool: Vec<Vec<u8>> = (0..7)
        .map(|i| {
            (0..5 + i * 30)
                .map(|_| b'a' + (rng.next() % 26) as u8)
                .collect()
        })
        .collect();
    let mut long_lived = Decoder::new(4096);
    for _ in 0..500 {
        let mut block = Vec::new();
        let mut want = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let value = &pool[rng.below(pool.len())];
            // Literal without indexing, name `:path` (static index 4), value Huffman-coded.
            block.push(0x04);
            let mut code = Vec::new();
            huffman::encode(value, &mut code);
            integer::encode(&mut block, 0x80, 7, code.len());
            block.extend_from_slice(&code);
            want.push((
                ":path".to_string(),
                String::from_utf8(value.clone()).unwrap(),
            ));
        }
        let fresh = decode_all(&mut Decoder::new(4096), &block);
        let cached = decode_all(&mut long_lived, &block);
        assert_eq!(fresh, want);
        assert_eq!(cached, want);
    }
    // The same bytes as a cached string except the padding: an error, not a cache hit.
    let mut code = Vec::new();
    huffman::encode(&pool[0], &mut code);
    let last = code.len() - 1;
    code[last] &= 0xfe;
    let mut block = vec![0x04];
    integer::encode(&mut block, 0x80, 7, code.len());
    block.extend_from_slice(&code);
    let fresh = Decoder::new(4096).decode(&block, &mut |_, _| {});
    let cached = long_lived.decode(&block, &mut |_, _| {});
    assert_eq!(cached, fresh);
}

/// Random blocks, and random mutations of valid ones, give fields or an error, never a panic.
#[test]
fn garbage_never_panics() {
    let mut rng = Rng(42);
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096);
    let (mut ok, mut err) = (0, 0);
    for i in 0..20_000 {
        let mut block = if i % 2 == 0 {
            (0..rng.below(40)).map(|_| rng.next() as u8).collect()
        } else {
            encode(&mut e, &random_fields(&mut rng))
        };
        if !block.is_empty() && i % 2 == 1 {
            let at = rng.below(block.len());
            block[at] ^= 1 << rng.below(8);
            block.truncate(block.len() - rng.below(2));
        }
        match d.decode(&block, &mut |_, _| {}) {
            Ok(()) => ok += 1,
            Err(_) => {
                err += 1;
                d = Decoder::new(4096); // as the connection would be
                e = Encoder::new();
            }
        }
    }
    assert!(ok > 1000 && err > 1000, "ok {ok}, err {err}");
}
