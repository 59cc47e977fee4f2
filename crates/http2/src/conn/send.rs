//! Our half of each stream: answers written as HEADERS, DATA and trailers, DATA only as far as
//! the peer's flow-control windows (the stream's and the connection's) and frame size allow;
//! the rest waits in the stream until WINDOW_UPDATE or SETTINGS open the window again.
//! Streaming bodies are pulled one frame at a time, only once the previous frame is sent.

use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use tokio::io::{AsyncRead, AsyncWrite};

use super::streams::{Recv, Send, Then};
use super::{Conn, ConnResult, OUT_HIGH_WATER};
use crate::frame::{self, Reason};
use crate::service::{Fields, Response, Service};

impl<IO, S> Conn<IO, S>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Service,
{
    /// Writes a call's answer (or as much as the windows allow) on stream `id`.
    pub(super) fn respond(&mut self, id: u32, response: Response<S::Body>) {
        let Some(stream) = self.streams.get(id) else {
            // Reset meanwhile: the answer is not wanted.
            return;
        };
        if !matches!(stream.send, Send::Waiting) {
            return;
        }
        stream.task = None;
        let (data, then) = match response {
            Response::Complete {
                status,
                headers,
                data,
                trailers,
            } => {
                let head_only = data.is_none() && trailers.is_none();
                self.write_head(id, status, &headers, None, head_only);
                if head_only {
                    self.sent_end(id);
                    return;
                }
                let then = match trailers {
                    Some(t) => Then::Trailers(t),
                    None => Then::End,
                };
                (data.unwrap_or_default(), then)
            }
            Response::Streaming(response) => {
                let (parts, body) = response.into_parts();
                let end = body.is_end_stream();
                let length = if end { None } else { body.size_hint().exact() };
                self.write_head(
                    id,
                    parts.status.as_u16(),
                    &Fields::Map(parts.headers),
                    length,
                    end,
                );
                if end {
                    self.sent_end(id);
                    return;
                }
                (Bytes::new(), Then::Body(body))
            }
        };
        if let Some(stream) = self.streams.get(id) {
            stream.send = Send::Sending { data, then };
        }
        self.send_queued(id);
    }

    /// HEADERS for a response head.
    fn write_head(
        &mut self,
        id: u32,
        status: u16,
        headers: &Fields,
        length: Option<u64>,
        end_stream: bool,
    ) {
        let mut block = std::mem::take(&mut self.block);
        block.clear();
        let fixed = match headers {
            Fields::Static(list) if length.is_none() => Some((*list, status)),
            _ => None,
        };
        self.head_memo
            .write(&mut self.encoder, fixed, &mut block, |encoder, block| {
                let mut digits = itoa::Buffer::new();
                let status = digits.format(status);
                let mut length_digits = itoa::Buffer::new();
                let length = length.map(|n| length_digits.format(n));
                let fields = std::iter::once((&b":status"[..], status.as_bytes()))
                    .chain(fields_of(headers))
                    .chain(length.map(|l| (&b"content-length"[..], l.as_bytes())));
                encoder.encode(fields, block);
            });
        frame::put_header_block(
            &mut self.out,
            id,
            &block,
            end_stream,
            self.streams.peer_max_frame,
        );
        self.block = block;
    }

    /// HEADERS with END_STREAM for trailers.
    fn write_trailers(&mut self, id: u32, trailers: &Fields) {
        let mut block = std::mem::take(&mut self.block);
        block.clear();
        let fixed = match trailers {
            Fields::Static(list) => Some((*list, 0)),
            Fields::Map(_) => None,
        };
        self.trailers_memo
            .write(&mut self.encoder, fixed, &mut block, |encoder, block| {
                encoder.encode(fields_of(trailers), block);
            });
        frame::put_header_block(&mut self.out, id, &block, true, self.streams.peer_max_frame);
        self.block = block;
    }

    /// Sends what stream `id` has queued, as far as the windows allow.
    pub(super) fn send_queued(&mut self, id: u32) {
        let max_frame = self.streams.peer_max_frame;
        loop {
            if self.out.len() > OUT_HIGH_WATER {
                // The rest waits for the socket to take what is queued (`pump_bodies` goes on
                // on a later turn), so a large answer is not copied whole into the buffer.
                return;
            }
            let conn_window = self.streams.send_window;
            let Some(stream) = self.streams.get(id) else {
                return;
            };
            let Send::Sending { data, then } = &mut stream.send else {
                return;
            };
            let window = stream.send_window.min(conn_window).max(0) as usize;
            if !data.is_empty() {
                let n = data.len().min(window).min(max_frame);
                if n == 0 {
                    return;
                }
                let chunk = data.split_to(n);
                let last = data.is_empty() && matches!(then, Then::End);
                stream.send_window -= n as i64;
                self.streams.send_window -= n as i64;
                frame::put_data(&mut self.out, id, &chunk, last);
                if last {
                    self.sent_end(id);
                    return;
                }
                continue;
            }
            match then {
                Then::End => {
                    frame::put_data(&mut self.out, id, &[], true);
                    self.sent_end(id);
                }
                Then::Trailers(_) => {
                    let Send::Sending {
                        then: Then::Trailers(t),
                        ..
                    } = std::mem::replace(&mut stream.send, Send::Done)
                    else {
                        unreachable!("matched above")
                    };
                    self.write_trailers(id, &t);
                    self.sent_end(id);
                }
                // Pulled by `pump_bodies`, which has a task context.
                Then::Body(_) => {}
            }
            return;
        }
    }

    /// Our END_STREAM is out: the stream is done once the client's half is too.
    fn sent_end(&mut self, id: u32) {
        let Some(stream) = self.streams.get(id) else {
            return;
        };
        stream.send = Send::Done;
        if !matches!(stream.recv, Recv::Closed) {
            // Answered before the request ended (RFC 9113 §8.1): the rest is not needed.
            self.reset(id, Reason::NO_ERROR);
            return;
        }
        self.streams.remove_if_finished(id);
    }

    /// Window opened on the connection: streams waiting for it go on.
    pub(super) fn resume_sending(&mut self) {
        let mut ids = std::mem::take(&mut self.sending);
        self.streams.sending_ids(&mut ids);
        for &id in &ids {
            self.send_queued(id);
        }
        self.sending = ids;
    }

    /// Sends what streams have queued as far as windows and the output buffer allow, and pulls
    /// the next frame of each streaming body whose previous frame has gone out.
    pub(super) fn pump_bodies(&mut self, cx: &mut Context<'_>) -> ConnResult {
        let mut ids = std::mem::take(&mut self.sending);
        self.streams.sending_ids(&mut ids);
        for &id in &ids {
            self.send_queued(id);
            loop {
                if self.out.len() > OUT_HIGH_WATER {
                    break;
                }
                let Some(stream) = self.streams.get(id) else {
                    break;
                };
                let Send::Sending {
                    data,
                    then: Then::Body(body),
                } = &mut stream.send
                else {
                    break;
                };
                if !data.is_empty() {
                    break;
                }
                match std::pin::Pin::new(body).poll_frame(cx) {
                    Poll::Pending => break,
                    Poll::Ready(Some(Ok(f))) => match f.into_data() {
                        Ok(chunk) => {
                            *data = chunk;
                            self.send_queued(id);
                        }
                        Err(f) => {
                            let trailers = f.into_trailers().ok().map(Fields::Map);
                            stream.send = Send::Sending {
                                data: Bytes::new(),
                                then: trailers.map_or(Then::End, Then::Trailers),
                            };
                            self.send_queued(id);
                            break;
                        }
                    },
                    Poll::Ready(None) => {
                        stream.send = Send::Sending {
                            data: Bytes::new(),
                            then: Then::End,
                        };
                        self.send_queued(id);
                        break;
                    }
                    Poll::Ready(Some(Err(e))) => {
                        tracing::debug!("HTTP/2 response body failed: {}", e.into());
                        self.reset(id, Reason::INTERNAL_ERROR);
                        break;
                    }
                }
            }
        }
        self.sending = ids;
        Ok(())
    }

    /// Gives back the window of streaming-body bytes that calls have read; true when some was.
    pub(super) fn give_back(&mut self, cx: &mut Context<'_>) -> bool {
        let mut released = std::mem::take(&mut self.released);
        self.releases.take(cx, &mut released);
        let any = !released.is_empty();
        for &(id, n) in &released {
            self.consumed(id, n as u32);
        }
        released.clear();
        self.released = released;
        any
    }
}

/// A [`Fields`] list as (name, value) byte pairs.
fn fields_of(fields: &Fields) -> FieldsIter<'_> {
    match fields {
        Fields::Static(list) => FieldsIter::Static(list.iter()),
        Fields::Map(map) => FieldsIter::Map(map.iter()),
    }
}

/// The iterator of [`fields_of`] (an enum rather than a box: no allocation per answer).
enum FieldsIter<'a> {
    Static(std::slice::Iter<'a, (&'static str, &'static str)>),
    Map(http::header::Iter<'a, http::HeaderValue>),
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            FieldsIter::Static(it) => it.next().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            FieldsIter::Map(it) => it
                .next()
                .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes())),
        }
    }
}
