//! [`ReadHooked`]: a connection whose reads go through a hook and whose writes go straight
//! through — the shape of both the REST listener's hand-over to hyper (the bytes its plain path
//! had already read come first, `rest::h1`) and the gRPC keep-alive's read flag
//! (`grpc::keep_alive`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a [`ReadHooked`] connection does on a read, given the connection itself.
pub trait ReadHook<IO> {
    /// Fills `buf` (from `io` or elsewhere), as [`AsyncRead::poll_read`].
    fn poll_read(
        &mut self,
        io: Pin<&mut IO>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>>;
}

/// `io` with its reads going through `hook`.
pub struct ReadHooked<IO, H> {
    io: IO,
    hook: H,
}

impl<IO, H> ReadHooked<IO, H> {
    /// `io`, read through `hook`.
    pub fn new(io: IO, hook: H) -> ReadHooked<IO, H> {
        ReadHooked { io, hook }
    }
}

impl<IO: AsyncRead + Unpin, H: ReadHook<IO> + Unpin> AsyncRead for ReadHooked<IO, H> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.hook.poll_read(Pin::new(&mut this.io), cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin, H: Unpin> AsyncWrite for ReadHooked<IO, H> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
