//! The client's protocol state driven by hand-made server frames: what it sends back and what
//! it makes of each answer. (Against a real server: `tests/grpc_answers.rs`.)

use tensorserve_http2::frame::{self, Head, Reason, flag, kind, setting};
use tensorserve_http2::hpack::Encoder;

use super::state::{Answer, MAX_FRAME, Part, RECV_WINDOW, State, put_preface};
use crate::target::ErrorKind;

const FIELDS: [(&[u8], &[u8]); 3] = [
    (b":method", b"POST"),
    (b":path", b"/p"),
    (b":authority", b"h"),
];

/// Everything the answer was told, as text.
#[derive(Default)]
struct Log(Vec<String>);

impl Answer for Log {
    fn block(&mut self, part: Part) {
        self.0.push(format!("{part:?}"));
    }
    fn field(&mut self, name: &[u8], value: &[u8]) {
        let (name, value) = (
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value),
        );
        self.0.push(format!("{name}={value}"));
    }
    fn data(&mut self, chunk: &[u8]) -> Result<(), ErrorKind> {
        self.0.push(format!("data {}", chunk.len()));
        Ok(())
    }
}

/// The frames in `bytes`, as (head, payload).
fn frames(bytes: &[u8]) -> Vec<(Head, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let head = Head::parse(rest);
        let end = frame::HEADER_LEN + head.length;
        out.push((head, rest[frame::HEADER_LEN..end].to_vec()));
        rest = &rest[end..];
    }
    out
}

/// A server: its HPACK encoder, and a helper that feeds its frames to the client's state.
struct Server {
    encoder: Encoder,
}

impl Server {
    fn new() -> Server {
        Server {
            encoder: Encoder::new(),
        }
    }

    fn headers(&mut self, stream: u32, fields: &[(&str, &str)], end_stream: bool) -> Vec<u8> {
        let mut block = Vec::new();
        self.encoder.encode(
            fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut block,
        );
        let mut out = Vec::new();
        frame::put_header_block(&mut out, stream, &block, end_stream, MAX_FRAME);
        out
    }
}

/// Feeds every frame in `bytes` to `state`; returns what it queued, or the first error.
fn feed(state: &mut State, bytes: &[u8], log: &mut Log) -> Result<Vec<u8>, ErrorKind> {
    let mut out = Vec::new();
    for (head, payload) in frames(bytes) {
        state.on_frame(head, &payload, &mut out, log)?;
    }
    Ok(out)
}

fn started(body: &[u8]) -> (State, Vec<u8>) {
    let mut state = State::new();
    let mut out = Vec::new();
    state.start(&FIELDS, body, &mut out).unwrap();
    (state, out)
}

#[test]
fn the_preface_announces_our_windows() {
    let mut out = Vec::new();
    put_preface(&mut out);
    assert!(out.starts_with(frame::PREFACE));
    let sent = frames(&out[frame::PREFACE.len()..]);
    assert_eq!(sent[0].0.kind, kind::SETTINGS);
    assert_eq!(
        sent[0].1,
        [0, 2, 0, 0, 0, 0, 0, 4, 0, 0x10, 0, 0],
        "ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 1 MiB"
    );
    assert_eq!(sent[1].0.kind, kind::WINDOW_UPDATE);
    assert_eq!(frame::read_u31(&sent[1].1), RECV_WINDOW - 65_535);
}

#[test]
fn a_whole_answer_is_head_data_trailers() {
    let (mut state, out) = started(b"hello");
    let sent = frames(&out);
    assert_eq!(
        sent.iter()
            .map(|(h, _)| (h.kind, h.flags, h.stream))
            .collect::<Vec<_>>(),
        [
            (kind::HEADERS, flag::END_HEADERS, 1),
            (kind::DATA, flag::END_STREAM, 1)
        ]
    );
    let mut server = Server::new();
    let mut bytes = server.headers(1, &[(":status", "200")], false);
    frame::put_data(&mut bytes, 1, b"abc", false);
    bytes.extend(server.headers(1, &[("grpc-status", "0")], true));
    let mut log = Log::default();
    assert!(feed(&mut state, &bytes, &mut log).unwrap().is_empty());
    assert!(state.call_ended());
    assert_eq!(
        log.0,
        ["Head", ":status=200", "data 3", "Trailers", "grpc-status=0"]
    );

    // The next call takes the next odd stream id.
    let mut out = Vec::new();
    state.start(&FIELDS, b"", &mut out).unwrap();
    let sent = frames(&out);
    assert_eq!(sent.len(), 1, "no body: END_STREAM on HEADERS");
    assert_eq!(
        (sent[0].0.stream, sent[0].0.flags),
        (3, flag::END_HEADERS | flag::END_STREAM)
    );
}

#[test]
fn the_body_waits_for_the_windows() {
    // 100 kB against the protocol's initial 65,535-byte windows, in 16 kB frames.
    let body = vec![7; 100_000];
    let (mut state, out) = started(&body);
    let data: Vec<usize> = frames(&out)
        .iter()
        .filter(|(h, _)| h.kind == kind::DATA)
        .map(|(h, _)| h.length)
        .collect();
    assert_eq!(data, [16_384, 16_384, 16_384, 16_383]);

    // The server raises the stream window only: the connection's still holds the rest back.
    let mut update = Vec::new();
    frame::put_window_update(&mut update, 1, 50_000);
    let mut log = Log::default();
    feed(&mut state, &update, &mut log).unwrap();
    let mut out = Vec::new();
    state.send_body(&body, &mut out);
    assert!(out.is_empty());

    let mut update = Vec::new();
    frame::put_window_update(&mut update, 0, 40_000);
    feed(&mut state, &update, &mut log).unwrap();
    state.send_body(&body, &mut out);
    let sent = frames(&out);
    let lengths: Vec<usize> = sent.iter().map(|(h, _)| h.length).collect();
    assert_eq!(lengths, [16_384, 16_384, 1_697]);
    assert_eq!(
        sent[2].0.flags,
        flag::END_STREAM,
        "the last piece ends the stream"
    );

    // SETTINGS may shrink the open stream's window below zero (RFC 9113 §6.9.2).
    let (mut state, _) = started(&body);
    let mut settings = Vec::new();
    frame::put_settings(&mut settings, &[(setting::INITIAL_WINDOW_SIZE, 0)]);
    frame::put_window_update(&mut settings, 0, 100_000);
    let out = feed(&mut state, &settings, &mut log).unwrap();
    assert_eq!(frames(&out)[0].0.kind, kind::SETTINGS, "acknowledged");
    let mut out = Vec::new();
    state.send_body(&body, &mut out);
    assert!(out.is_empty(), "stream window is -65,535");
}

#[test]
fn an_answer_before_the_whole_body_cancels_the_rest() {
    let body = vec![0; 100_000];
    let (mut state, _) = started(&body);
    let mut server = Server::new();
    let bytes = server.headers(1, &[(":status", "200"), ("grpc-status", "8")], true);
    let out = feed(&mut state, &bytes, &mut Log::default()).unwrap();
    let sent = frames(&out);
    assert_eq!((sent[0].0.kind, sent[0].0.stream), (kind::RST_STREAM, 1));
    assert_eq!(frame::read_u31(&sent[0].1), Reason::CANCEL.0);
    assert!(state.call_ended());
}

#[test]
fn large_answers_get_window_updates() {
    let (mut state, _) = started(b"");
    let mut server = Server::new();
    let mut log = Log::default();
    feed(
        &mut state,
        &server.headers(1, &[(":status", "200")], false),
        &mut log,
    )
    .unwrap();
    let mut updates = Vec::new();
    let chunk = vec![0; MAX_FRAME];
    for _ in 0..(RECV_WINDOW as usize / MAX_FRAME) {
        let mut bytes = Vec::new();
        frame::put_data(&mut bytes, 1, &chunk, false);
        updates.extend(frames(&feed(&mut state, &bytes, &mut log).unwrap()));
    }
    // Half of each window is given back when used: connection and stream, twice each.
    let given: Vec<(u32, u32)> = updates
        .iter()
        .map(|(h, p)| (h.stream, frame::read_u31(p)))
        .collect();
    let half = RECV_WINDOW / 2;
    assert_eq!(given, [(0, half), (1, half), (0, half), (1, half)]);
}

#[test]
fn control_frames_are_answered() {
    let (mut state, _) = started(b"");
    let mut bytes = Vec::new();
    frame::put_ping(&mut bytes, false, *b"12345678");
    frame::put_ping(&mut bytes, true, *b"ignored!");
    frame::put_settings(&mut bytes, &[(setting::MAX_FRAME_SIZE, 20_000)]);
    frame::put_settings_ack(&mut bytes);
    let out = feed(&mut state, &bytes, &mut Log::default()).unwrap();
    let sent = frames(&out);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0].0.kind, sent[0].0.flags, sent[0].1.as_slice()),
        (kind::PING, flag::ACK, &b"12345678"[..])
    );
    assert_eq!(
        (sent[1].0.kind, sent[1].0.flags),
        (kind::SETTINGS, flag::ACK)
    );
}

#[test]
fn goaway_ends_new_calls_and_unprocessed_ones() {
    // GOAWAY naming our stream: the call goes on, the next one may not start here.
    let (mut state, _) = started(b"");
    let mut bytes = Vec::new();
    frame::put_goaway(&mut bytes, 1, Reason::NO_ERROR, b"");
    feed(&mut state, &bytes, &mut Log::default()).unwrap();
    assert!(!state.accepts_calls());
    let mut server = Server::new();
    let answer = server.headers(1, &[(":status", "200"), ("grpc-status", "0")], true);
    feed(&mut state, &answer, &mut Log::default()).unwrap();
    assert!(state.call_ended());
    assert_eq!(
        state.start(&FIELDS, b"", &mut Vec::new()),
        Err(ErrorKind::Io)
    );

    // GOAWAY below our stream: it will never be answered.
    let (mut state, _) = started(b"");
    let mut bytes = Vec::new();
    frame::put_goaway(&mut bytes, 0, Reason::NO_ERROR, b"");
    assert_eq!(
        feed(&mut state, &bytes, &mut Log::default()),
        Err(ErrorKind::Io)
    );
}

#[test]
fn header_blocks_in_pieces_padding_and_1xx() {
    let (mut state, _) = started(b"");
    let mut server = Server::new();
    let mut block = Vec::new();
    server
        .encoder
        .encode([(&b":status"[..], &b"100"[..])], &mut block);
    let mut bytes = Vec::new();
    frame::put_header_block(&mut bytes, 1, &block, false, MAX_FRAME);
    // The final head, padded, split into HEADERS + CONTINUATION.
    let mut block = Vec::new();
    server.encoder.encode(
        [
            (&b":status"[..], &b"200"[..]),
            (&b"content-type"[..], &b"application/grpc"[..]),
        ],
        &mut block,
    );
    let (first, second) = block.split_at(2);
    let mut payload = vec![3];
    payload.extend_from_slice(first);
    payload.extend_from_slice(&[0, 0, 0]);
    frame::put_head(&mut bytes, payload.len(), kind::HEADERS, flag::PADDED, 1);
    bytes.extend_from_slice(&payload);
    frame::put_head(
        &mut bytes,
        second.len(),
        kind::CONTINUATION,
        flag::END_HEADERS,
        1,
    );
    bytes.extend_from_slice(second);
    bytes.extend(server.headers(1, &[], true));
    let mut log = Log::default();
    feed(&mut state, &bytes, &mut log).unwrap();
    assert_eq!(
        log.0,
        [
            "Head",
            ":status=200",
            "content-type=application/grpc",
            "Trailers"
        ]
    );

    // Anything between a HEADERS and its CONTINUATION breaks the connection (§6.10).
    let (mut state, _) = started(b"");
    let mut bytes = Vec::new();
    frame::put_head(&mut bytes, 0, kind::HEADERS, 0, 1);
    frame::put_ping(&mut bytes, false, [0; 8]);
    assert_eq!(
        feed(&mut state, &bytes, &mut Log::default()),
        Err(ErrorKind::Io)
    );
}

#[test]
fn protocol_breaches_break_the_connection() {
    let breaches: Vec<(&str, Vec<u8>)> = vec![
        ("DATA before the head", {
            let mut b = Vec::new();
            frame::put_data(&mut b, 1, b"x", false);
            b
        }),
        ("reset of our stream", {
            let mut b = Vec::new();
            frame::put_reset(&mut b, 1, Reason::INTERNAL_ERROR);
            b
        }),
        ("push promised", {
            let mut b = Vec::new();
            frame::put_head(&mut b, 4, kind::PUSH_PROMISE, flag::END_HEADERS, 1);
            b.extend_from_slice(&[0, 0, 0, 2]);
            b
        }),
        ("frame size below the minimum", {
            let mut b = Vec::new();
            frame::put_settings(&mut b, &[(setting::MAX_FRAME_SIZE, 100)]);
            b
        }),
        ("window past 2^31 - 1", {
            let mut b = Vec::new();
            frame::put_window_update(&mut b, 0, frame::MAX_WINDOW);
            b
        }),
        ("zero window increment", {
            let mut b = Vec::new();
            frame::put_head(&mut b, 4, kind::WINDOW_UPDATE, 0, 0);
            b.extend_from_slice(&[0; 4]);
            b
        }),
        ("bad HPACK index", {
            let mut b = Vec::new();
            frame::put_header_block(&mut b, 1, &[0xff, 0x7f], false, MAX_FRAME);
            b
        }),
        ("trailers that do not end the stream", {
            let mut server = Server::new();
            let mut b = server.headers(1, &[(":status", "200")], false);
            b.extend(server.headers(1, &[("grpc-status", "0")], false));
            b
        }),
    ];
    for (what, bytes) in breaches {
        let (mut state, _) = started(b"");
        assert_eq!(
            feed(&mut state, &bytes, &mut Log::default()),
            Err(ErrorKind::Io),
            "{what}"
        );
    }
}

/// Whatever a server sends, the state answers with `Ok` or `Err(Io)`, never a panic: random
/// frames (every type, random flags and streams, payloads of random length, well-formed ones
/// mixed in so that calls get far enough to meet the rest).
#[test]
fn random_frames_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2_000 {
        let body = vec![1; (next() % 70_000) as usize];
        let (mut state, _) = started(&body);
        let mut server = Server::new();
        let mut out = Vec::new();
        for _ in 0..(next() % 12) {
            let mut bytes = Vec::new();
            match next() % 4 {
                0 => bytes = server.headers(1, &[(":status", "200")], next() % 2 == 0),
                1 => frame::put_data(&mut bytes, 1, &[0; 7], next() % 2 == 0),
                _ => {
                    let len = (next() % 24) as usize;
                    let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                    let kind = (next() % 11) as u8;
                    let stream = [0, 1, 3, 2][(next() % 4) as usize];
                    frame::put_head(&mut bytes, len, kind, next() as u8, stream);
                    bytes.extend_from_slice(&payload);
                }
            }
            let outcome = frames(&bytes).into_iter().try_for_each(|(head, payload)| {
                state.on_frame(head, &payload, &mut out, &mut Log::default())
            });
            state.send_body(&body, &mut out);
            if outcome.is_err() {
                assert_eq!(outcome, Err(ErrorKind::Io));
                break;
            }
        }
    }
}
