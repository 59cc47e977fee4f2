//! Every way a header block can be wrong (RFC 7541 §5, §6, §4.2) gives its [`DecodeError`],
//! and the dynamic table's edge cases (§4.3, §4.4) behave as the RFC says.

use super::tests_rfc::{decode_all, entries, hex};
use super::{DecodeError, Decoder, integer};

fn decode_err(block: &[u8]) -> DecodeError {
    Decoder::new(4096)
        .decode(block, &mut |_, _| {})
        .expect_err("block should be rejected")
}

fn size_update(size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    integer::encode(&mut out, 0x20, 5, size);
    out
}

#[test]
fn truncated_blocks() {
    for block in [
        "41",        // literal with a name index and no value
        "410f 7777", // value of 15 bytes, 2 present
        "40",        // literal name missing
        "4005 6162", // literal name of 5 bytes, 2 present
        "00 01 61",  // name, then no value
        "ff",        // indexed, integer continuation missing
        "ff 80",     // integer continuation still going at the end
        "3f",        // size update, integer unfinished
    ] {
        assert_eq!(decode_err(&hex(block)), DecodeError::Truncated, "{block}");
    }
}

#[test]
fn bad_indexes() {
    assert_eq!(decode_err(&hex("80")), DecodeError::BadIndex(0));
    assert_eq!(decode_err(&hex("be")), DecodeError::BadIndex(62)); // empty dynamic table
    assert_eq!(decode_err(&hex("7e 01 61")), DecodeError::BadIndex(62)); // literal's name
    assert_eq!(decode_err(&hex("0f 2f 01 61")), DecodeError::BadIndex(62)); // without indexing
    // One entry in the table: 62 is fine, 63 is not.
    let mut d = Decoder::new(4096);
    decode_all(&mut d, &hex("4001 6101 62"));
    assert_eq!(decode_all(&mut d, &hex("be")), [("a".into(), "b".into())]);
    assert_eq!(
        d.decode(&hex("bf"), &mut |_, _| {}),
        Err(DecodeError::BadIndex(63))
    );
}

#[test]
fn integer_overflow() {
    // 127 + (2^28 - 1) + 15·2^28 = 2^32 + 126: past u32.
    assert_eq!(
        decode_err(&hex("ff ff ff ff ff 0f")),
        DecodeError::IntegerOverflow
    );
    // A small value padded with a sixth continuation octet.
    assert_eq!(
        decode_err(&hex("ff 80 80 80 80 80 00")),
        DecodeError::IntegerOverflow
    );
    // u32::MAX itself is an integer (and then no index).
    let mut max = Vec::new();
    integer::encode(&mut max, 0x80, 7, u32::MAX as usize);
    assert_eq!(decode_err(&max), DecodeError::BadIndex(u32::MAX as usize));
}

#[test]
fn size_updates() {
    let mut too_large = size_update(4097);
    too_large.push(0x82);
    assert_eq!(
        decode_err(&too_large),
        DecodeError::SizeUpdateTooLarge {
            requested: 4097,
            max: 4096
        }
    );
    assert_eq!(decode_err(&hex("82 20")), DecodeError::SizeUpdateNotAtStart);
    // Several at the start are allowed (§4.2: smallest, then final); the table follows them.
    let mut d = Decoder::new(4096);
    decode_all(&mut d, &hex("4001 6101 62"));
    let mut block = size_update(0);
    block.extend(size_update(4096));
    block.extend(hex("4001 6301 64 82"));
    assert_eq!(
        decode_all(&mut d, &block),
        [("c".into(), "d".into()), (":method".into(), "GET".into())]
    );
    assert_eq!(entries(d.table()), [("c".into(), "d".into())]); // "a" went with the 0
    // Shrinking evicts the oldest entries down to the new size.
    let mut d = Decoder::new(4096);
    decode_all(&mut d, &hex("4001 6101 62 4001 6301 64 4001 6501 66"));
    decode_all(&mut d, &size_update(70));
    assert_eq!(
        entries(d.table()),
        [("e".into(), "f".into()), ("c".into(), "d".into())]
    );
    assert_eq!(d.table().size(), 68);
}

#[test]
fn huffman_errors() {
    // Literal without indexing, name "a", Huffman value of 4 bytes: 30 ones (EOS) + 2 padding.
    assert_eq!(
        decode_err(&hex("00 01 61 84 ffff ffff")),
        DecodeError::HuffmanEos
    );
    // EOS followed by a valid symbol.
    assert_eq!(
        decode_err(&hex("00 01 61 85 ffff fffc 7f")),
        DecodeError::HuffmanEos
    );
    // 'a' (00011) padded with zeros instead of ones.
    assert_eq!(
        decode_err(&hex("00 01 61 81 18")),
        DecodeError::HuffmanPadding
    );
    // 'a' then 11 bits of ones: padding longer than 7 bits.
    assert_eq!(
        decode_err(&hex("00 01 61 82 1fff")),
        DecodeError::HuffmanPadding
    );
    // A full byte of ones alone: 8 bits of padding.
    assert_eq!(
        decode_err(&hex("00 01 61 81 ff")),
        DecodeError::HuffmanPadding
    );
    // The same strings well formed decode.
    let mut d = Decoder::new(4096);
    assert_eq!(
        decode_all(&mut d, &hex("00 01 61 81 1f")),
        [("a".into(), "a".into())]
    );
    assert_eq!(
        decode_all(&mut d, &hex("00 01 61 80")),
        [("a".into(), "".into())]
    );
    assert_eq!(
        decode_all(&mut d, &hex("00 81 1f 81 1f")),
        [("a".into(), "a".into())]
    );
}

#[test]
fn errors_display_and_are_errors() {
    let all = [
        DecodeError::Truncated,
        DecodeError::IntegerOverflow,
        DecodeError::BadIndex(70),
        DecodeError::HuffmanEos,
        DecodeError::HuffmanPadding,
        DecodeError::SizeUpdateTooLarge {
            requested: 5000,
            max: 4096,
        },
        DecodeError::SizeUpdateNotAtStart,
    ];
    let texts: Vec<String> = all
        .iter()
        .map(|e| (e as &dyn std::error::Error).to_string())
        .collect();
    for (i, t) in texts.iter().enumerate() {
        assert!(t.starts_with("HPACK: "), "{t}");
        assert!(!texts[..i].contains(t), "two errors read the same: {t}");
    }
    assert!(texts[2].contains("70") && texts[5].contains("5000"));
}

/// §4.4: an entry larger than the table empties it and is not added; the field still counts.
#[test]
fn entry_larger_than_table_empties_it() {
    let mut d = Decoder::new(100);
    decode_all(&mut d, &hex("4001 6101 62"));
    let mut block = hex("4001 7840");
    block.extend([b'v'; 64]); // 32 + 1 + 64 = 97 fits
    decode_all(&mut d, &block);
    assert_eq!(d.table().len(), 1);
    let mut block = hex("4001 7843");
    block.extend([b'w'; 67]); // 32 + 1 + 67 = 100 fits exactly, evicting the 97
    decode_all(&mut d, &block);
    assert_eq!((d.table().len(), d.table().size()), (1, 100));
    let mut block = hex("4001 7844");
    block.extend([b'w'; 68]); // 101: larger than the table
    let got = decode_all(&mut d, &block);
    assert_eq!(got[0].1.len(), 68);
    assert_eq!((d.table().len(), d.table().size()), (0, 0));
}

/// §4.4: a literal naming the entry its own insertion evicts keeps the name.
#[test]
fn insertion_evicting_its_own_name_source() {
    let mut d = Decoder::new(68);
    decode_all(&mut d, &hex("4004 6e61 6d65 0131")); // name/1: 37 bytes
    assert_eq!(
        decode_all(&mut d, &hex("7e 0132")),
        [("name".into(), "2".into())]
    );
    assert_eq!(entries(d.table()), [("name".into(), "2".into())]);
    assert_eq!(
        decode_all(&mut d, &hex("be")),
        [("name".into(), "2".into())]
    );
}

/// The arena behind the dynamic table stays bounded however many entries come and go.
#[test]
fn dynamic_table_memory_is_bounded() {
    let mut d = Decoder::new(4096);
    for i in 0..20_000u32 {
        let value = format!("value-{i}-{}", "x".repeat((i % 200) as usize));
        let mut block = hex("4004 6e61 6d65");
        integer::encode(&mut block, 0, 7, value.len());
        block.extend(value.as_bytes());
        block.extend(hex("be"));
        let got = decode_all(&mut d, &block);
        assert_eq!(got[1].1, value);
        assert!(d.table().size() <= 4096);
        assert!(
            d.table().arena_len() <= 2 * 4096 + 300,
            "arena at {}",
            d.table().arena_len()
        );
    }
}
