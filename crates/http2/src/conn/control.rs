//! Frames about the connection rather than a request (RFC 9113 §6.5, §6.7–6.9): SETTINGS,
//! PING, GOAWAY and WINDOW_UPDATE. Errors as in [`super::recv`]: `Err` is a connection error.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Conn, ConnResult};
use crate::frame::{self, Head, Reason, flag, setting};
use crate::service::Service;

impl<IO, S> Conn<IO, S>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Service,
{
    /// The peer's SETTINGS: checked, applied (HPACK table size, windows, frame size), acked.
    pub(super) fn on_settings(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        if head.stream != 0 {
            return Err((Reason::PROTOCOL_ERROR, "SETTINGS on a stream"));
        }
        if head.has(flag::ACK) {
            if !payload.is_empty() {
                return Err((Reason::FRAME_SIZE_ERROR, "SETTINGS ACK with a payload"));
            }
            return Ok(());
        }
        if !payload.len().is_multiple_of(6) {
            return Err((Reason::FRAME_SIZE_ERROR, "SETTINGS of the wrong size"));
        }
        for entry in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
            match id {
                setting::HEADER_TABLE_SIZE => self.encoder.set_peer_table_size(value as usize),
                setting::ENABLE_PUSH if value > 1 => {
                    return Err((Reason::PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1"));
                }
                setting::INITIAL_WINDOW_SIZE => self.peer_window_changed(value)?,
                setting::MAX_FRAME_SIZE => {
                    if !(frame::DEFAULT_MAX_FRAME_SIZE..=frame::MAX_MAX_FRAME_SIZE).contains(&value)
                    {
                        return Err((
                            Reason::PROTOCOL_ERROR,
                            "SETTINGS_MAX_FRAME_SIZE out of range",
                        ));
                    }
                    self.streams.peer_max_frame = value as usize;
                }
                // Others (and unknown ones) do not concern a server that never pushes.
                _ => {}
            }
        }
        frame::put_settings_ack(&mut self.out);
        self.resume_sending();
        Ok(())
    }

    /// The peer's SETTINGS_INITIAL_WINDOW_SIZE changed: every stream's send window moves by
    /// the difference (RFC 9113 §6.9.2).
    fn peer_window_changed(&mut self, value: u32) -> ConnResult {
        if value > frame::MAX_WINDOW || !self.streams.set_peer_window(value) {
            return Err((
                Reason::FLOW_CONTROL_ERROR,
                "SETTINGS_INITIAL_WINDOW_SIZE too large",
            ));
        }
        Ok(())
    }

    pub(super) fn on_ping(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        if head.stream != 0 {
            return Err((Reason::PROTOCOL_ERROR, "PING on a stream"));
        }
        let Ok(opaque) = <[u8; 8]>::try_from(payload) else {
            return Err((Reason::FRAME_SIZE_ERROR, "PING of the wrong size"));
        };
        if head.has(flag::ACK) {
            if opaque == super::DRAIN_PING {
                self.go_away();
            }
            self.keep_alive.pong(opaque);
        } else {
            frame::put_ping(&mut self.out, true, opaque);
        }
        Ok(())
    }

    pub(super) fn on_goaway(&mut self, head: Head) -> ConnResult {
        if head.stream != 0 {
            return Err((Reason::PROTOCOL_ERROR, "GOAWAY on a stream"));
        }
        // The client opens no more streams; those in progress finish, then the connection ends.
        self.peer_going_away = true;
        Ok(())
    }

    pub(super) fn on_window_update(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        if payload.len() != 4 {
            return Err((Reason::FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong size"));
        }
        let increment = i64::from(frame::read_u31(payload));
        if head.stream == 0 {
            if increment == 0 {
                return Err((Reason::PROTOCOL_ERROR, "WINDOW_UPDATE of 0"));
            }
            self.streams.send_window += increment;
            if self.streams.send_window > i64::from(frame::MAX_WINDOW) {
                return Err((Reason::FLOW_CONTROL_ERROR, "connection window past 2^31-1"));
            }
            self.resume_sending();
            return Ok(());
        }
        let Some(stream) = self.streams.get(head.stream) else {
            if self.streams.is_idle(head.stream) {
                return Err((Reason::PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream"));
            }
            return Ok(());
        };
        if increment == 0 {
            self.reset(head.stream, Reason::PROTOCOL_ERROR);
            return Ok(());
        }
        stream.send_window += increment;
        if stream.send_window > i64::from(frame::MAX_WINDOW) {
            self.reset(head.stream, Reason::FLOW_CONTROL_ERROR);
            return Ok(());
        }
        self.send_queued(head.stream);
        Ok(())
    }
}
