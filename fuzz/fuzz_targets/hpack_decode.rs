//! HPACK (`tensorserve_http2::hpack`): a connection's worth of header blocks from the peer,
//! decoded in order with one `Decoder`, as our HTTP/2 server does. Input: byte 0 picks our
//! advertised table size, then blocks, each a 1-byte length and that many bytes.
//! Beyond "no panic": every block that decodes is re-encoded by our `Encoder` (with table size
//! changes taken from the input) and must decode again, on a second decoder, to the same fields.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tensorserve_http2::hpack::{Decoder, Encoder};

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

fn decode(d: &mut Decoder, block: &[u8]) -> Option<Fields> {
    let mut fields = Vec::new();
    d.decode(block, &mut |n, v| fields.push((n.to_vec(), v.to_vec())))
        .ok()
        .map(|()| fields)
}

fuzz_target!(|data: &[u8]| {
    let Some((&size_byte, mut rest)) = data.split_first() else {
        return;
    };
    let max_table_size = [0, 64, 256, 4096, 65536][usize::from(size_byte % 5)];
    let mut peer = Decoder::new(max_table_size);
    let mut encoder = Encoder::new();
    let mut mirror = Decoder::new(4096);
    while let Some((&len, tail)) = rest.split_first() {
        let (block, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        // On an error the connection ends (COMPRESSION_ERROR): nothing after it is decoded.
        let Some(fields) = decode(&mut peer, block) else {
            return;
        };
        if len % 7 == 0 {
            encoder.set_peer_table_size(usize::from(len) * 37);
        }
        let mut again = Vec::new();
        encoder.encode(fields.iter().map(|(n, v)| (&n[..], &v[..])), &mut again);
        let round_trip = decode(&mut mirror, &again).expect("our encoder's block decodes");
        assert_eq!(round_trip, fields);
    }
});
