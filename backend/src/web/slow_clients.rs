//! Clients that stop reading. A write the client's socket has not taken for `[web]
//! write_timeout` seconds fails; hyper then closes the connection and drops the answer being
//! sent, most often an event stream, so a stuck client holds nothing of the master's but its
//! socket, and is logged once. What counts is time without progress: a slow but reading
//! client (a log streamed over a poor link) keeps its connection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Sleep;

use crate::engine::Configured;

/// `[web] write_timeout` of the configuration in place, read at each accept so that a
/// reconfiguration applies to the connections that follow it.
#[derive(Clone)]
pub struct WriteTimeout(pub watch::Receiver<Arc<Configured>>);

impl WriteTimeout {
    fn now(&self) -> Duration {
        Duration::from_secs(self.0.borrow().config.web.write_timeout)
    }
}

/// An acceptor whose connections fail a write left pending for longer than the limit.
pub struct WriteDeadline<A> {
    inner: A,
    limit: WriteTimeout,
}

impl<A> WriteDeadline<A> {
    /// Guards the connections `inner` accepts.
    pub fn new(inner: A, limit: WriteTimeout) -> Self {
        WriteDeadline { inner, limit }
    }
}

impl<A: Acceptor> Acceptor for WriteDeadline<A> {
    type Io = Guarded<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        let guarded = Guarded { inner: io, limit: self.limit.now(), stalled: None, remote: remote.to_string() };
        Ok((guarded, local, remote, scheme))
    }
}

/// A connection whose writes may not stay pending for longer than `limit`.
pub struct Guarded<T> {
    inner: T,
    limit: Duration,
    /// Started when a write first found the socket full; cleared by any write that goes through.
    stalled: Option<Pin<Box<Sleep>>>,
    remote: String,
}

impl<T> Guarded<T> {
    /// What a pending write becomes: still pending, or an error once the client has read
    /// nothing for `limit`.
    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        tracing::warn!(
            remote = %self.remote,
            seconds = limit.as_secs(),
            "closing a connection whose client has read nothing for the write timeout"
        );
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")))
    }

    fn progress<R>(&mut self, ready: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match ready {
            Poll::Pending => self.pending(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let ready = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(ready, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let ready = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(ready, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ready = Pin::new(&mut self.inner).poll_flush(cx);
        self.progress(ready, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ready = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.progress(ready, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn guarded(inner: tokio::io::DuplexStream, limit: Duration) -> Guarded<tokio::io::DuplexStream> {
        Guarded { inner, limit, stalled: None, remote: "test".into() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_reads_fails_after_the_limit() {
        let (near, _far) = tokio::io::duplex(16);
        let mut io = guarded(near, Duration::from_secs(30));
        io.write_all(&[0; 16]).await.unwrap();
        let started = tokio::time::Instant::now();
        let err = io.write_all(&[0; 16]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_slowly_keeps_its_connection() {
        use tokio::io::AsyncReadExt;
        let (near, mut far) = tokio::io::duplex(16);
        let mut io = guarded(near, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut buf = [0; 16];
            let mut total = 0;
            while total < 160 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += far.read(&mut buf).await.unwrap();
            }
            total
        });
        // 160 bytes through a 16-byte pipe read every 20 s: 200 s in all, never 30 s stuck.
        io.write_all(&[1; 160]).await.unwrap();
        assert_eq!(reader.await.unwrap(), 160);
    }
}
