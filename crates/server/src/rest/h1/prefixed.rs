//! [`Prefixed`]: a connection handed to hyper with the bytes the plain path had already read
//! from it, which hyper reads first.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, ReadBuf};

use crate::read_hook::{ReadHook, ReadHooked};

/// `io`, with the bytes already read from it in front of what it reads; writes go straight to
/// `io`.
pub(in crate::rest) type Prefixed<T> = ReadHooked<T, Prefix>;

/// `io` reading `prefix` first.
pub(in crate::rest) fn prefixed<T>(prefix: Bytes, io: T) -> Prefixed<T> {
    ReadHooked::new(io, Prefix(prefix))
}

/// The bytes still to be read before the connection's own.
pub(in crate::rest) struct Prefix(Bytes);

impl<T: AsyncRead + Unpin> ReadHook<T> for Prefix {
    fn poll_read(
        &mut self,
        io: Pin<&mut T>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.0.is_empty() {
            return io.poll_read(cx, buf);
        }
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_the_prefix_then_the_stream_and_writes_through() {
        let (mut near, far) = tokio::io::duplex(64);
        let mut io = prefixed(Bytes::from_static(b"GET / "), far);
        near.write_all(b"HTTP/1.1").await.unwrap();
        let mut small = [0u8; 4];
        io.read_exact(&mut small).await.unwrap();
        assert_eq!(&small, b"GET ");
        let mut rest = [0u8; 10];
        io.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"/ HTTP/1.1");
        io.write_all(b"ok").await.unwrap();
        let mut answer = [0u8; 2];
        near.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ok");
    }
}
