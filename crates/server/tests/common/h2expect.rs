//! What tests expect of the server after a protocol error, on a [`Conn`]: a GOAWAY with a
//! given code and then a close (connection errors), or an RST_STREAM with a given code where
//! the RFC also allows a connection error.

use super::h2raw::{Conn, End, Event, Frame, GOAWAY, RST_STREAM, goaway_text};

impl Conn {
    /// Reads until the server closes the connection (any frames before are ignored).
    pub async fn expect_closed(&mut self) {
        loop {
            match self.next().await {
                Ok(_) => {}
                Err(End::Closed) => return,
                Err(End::Timeout) => panic!("the server did not close the connection"),
            }
        }
    }

    /// Reads until a GOAWAY, checks its error code, then checks the connection closes.
    pub async fn expect_goaway(&mut self, code: u32) {
        let goaway = self.read_goaway().await;
        assert_eq!(
            goaway.u32_at(4),
            code,
            "GOAWAY with the wrong error code: {}",
            goaway_text(&goaway)
        );
        self.expect_closed().await;
    }

    /// Reads until a GOAWAY frame, which it returns.
    pub async fn read_goaway(&mut self) -> Frame {
        loop {
            match self.next().await {
                Ok(Event::Frame(f)) if f.ty == GOAWAY => return f,
                Ok(_) => {}
                Err(end) => panic!("{end:?} before any GOAWAY"),
            }
        }
    }

    /// Reads until the stream error `code` on `stream` (RST_STREAM) or a connection error
    /// with that code (GOAWAY); returns true for the stream error.
    pub async fn expect_stream_or_connection_error(&mut self, stream: u32, code: u32) -> bool {
        loop {
            match self.next().await {
                Ok(Event::Frame(f)) if f.ty == RST_STREAM && f.stream == stream => {
                    assert_eq!(f.u32_at(0), code, "RST_STREAM with the wrong code: {f:?}");
                    return true;
                }
                Ok(Event::Frame(f)) if f.ty == GOAWAY => {
                    assert_eq!(f.u32_at(4), code, "wrong GOAWAY: {}", goaway_text(&f));
                    return false;
                }
                Ok(_) => {}
                Err(end) => panic!("{end:?} before an error with code {code}"),
            }
        }
    }
}
