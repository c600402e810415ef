//! Clients that stop reading, and clients that take their time sending. A write the client's
//! socket has not taken for `[web] write_timeout` seconds fails; hyper then closes the
//! connection and drops the answer being sent, most often an event stream, so a stuck client
//! holds nothing of the master's but its socket. What counts is time without progress: a
//! slow but reading client (a log streamed over a poor link) keeps its connection. A request
//! must arrive whole within `[web] request_timeout` seconds of its first byte (the time from
//! a request's first byte to the first byte of its answer): a client that sends its headers
//! or its body a byte at a time is cut off, and the connection it held is free again. Both
//! are logged once, with the client's address.

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

/// `[web] write_timeout` and `request_timeout` of the configuration in place, read at each
/// accept so that a reconfiguration applies to the connections that follow it.
#[derive(Clone)]
pub struct ClientTimeouts(pub watch::Receiver<Arc<Configured>>);

impl ClientTimeouts {
    fn now(&self) -> (Duration, Duration) {
        let web = &self.0.borrow().config.web;
        (Duration::from_secs(web.write_timeout), Duration::from_secs(web.request_timeout))
    }
}

/// An acceptor whose connections fail a write left pending for longer than the limit.
pub struct WriteDeadline<A> {
    inner: A,
    limit: ClientTimeouts,
}

impl<A> WriteDeadline<A> {
    /// Guards the connections `inner` accepts.
    pub fn new(inner: A, limit: ClientTimeouts) -> Self {
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
        let (limit, request_limit) = self.limit.now();
        let guarded = Guarded::new(io, limit, request_limit, remote.to_string());
        Ok((guarded, local, remote, scheme))
    }
}

/// A connection whose writes may not stay pending for longer than `limit`, and whose
/// requests must arrive within `request_limit`.
pub struct Guarded<T> {
    inner: T,
    limit: Duration,
    /// Started when a write first found the socket full; cleared by any write that goes through.
    stalled: Option<Pin<Box<Sleep>>>,
    request_limit: Duration,
    /// Runs from a request's first byte until the master writes back.
    request: Option<Pin<Box<Sleep>>>,
    /// Switched to another protocol: no more requests to time.
    upgraded: bool,
    /// The client was given up on: every write fails from now on.
    gave_up: bool,
    remote: String,
}

impl<T> Guarded<T> {
    fn new(inner: T, limit: Duration, request_limit: Duration, remote: String) -> Self {
        Guarded { inner, limit, stalled: None, request_limit, request: None, upgraded: false, gave_up: false, remote }
    }

    /// What a pending write becomes: still pending, or an error once the client has read
    /// nothing for `limit`.
    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let stopped = || Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")));
        if self.gave_up {
            return stopped();
        }
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        // Said once: the shutdown that follows finds the socket just as full.
        self.gave_up = true;
        tracing::warn!(
            remote = %self.remote,
            seconds = limit.as_secs(),
            "closing a connection whose client has read nothing for the write timeout"
        );
        stopped()
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

    /// Bytes written back mean the request being answered has arrived: its clock stops.
    /// (Flushes prove nothing: hyper flushes whether or not it wrote.) A connection switched
    /// to another protocol (a worker's WebSocket) carries no more requests: its clock stops
    /// for good, and the worker's heartbeat watches it instead.
    fn answered(&mut self, written: &Poll<io::Result<usize>>, first: &[u8]) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            self.request = None;
            if first.starts_with(b"HTTP/1.1 101 ") {
                self.upgraded = true;
            }
        }
    }

    /// Whether the request being received has taken longer than `request_limit`; the timer
    /// also wakes a read left waiting for bytes that do not come.
    fn request_overdue(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timer) = self.request.as_mut() else { return false };
        if timer.as_mut().poll(cx).is_pending() {
            return false;
        }
        tracing::warn!(
            remote = %self.remote,
            seconds = self.request_limit.as_secs(),
            "closing a connection whose client did not send its request within the request timeout"
        );
        true
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.request_overdue(cx) {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the request took too long to arrive")));
        }
        let before = buf.filled().len();
        let ready = Pin::new(&mut self.inner).poll_read(cx, buf);
        let arrived = matches!(ready, Poll::Ready(Ok(()))) && buf.filled().len() > before;
        if arrived && self.request.is_none() && !self.upgraded {
            let limit = self.request_limit;
            self.request = Some(Box::pin(tokio::time::sleep(limit)));
            // Registers the new timer's wake-up with this task.
            let _ = self.request_overdue(cx);
        }
        ready
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let ready = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.answered(&ready, buf);
        self.progress(ready, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let ready = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        self.answered(&ready, first);
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
        Guarded::new(inner, limit, Duration::from_secs(30), "test".into())
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
    async fn a_request_sent_a_byte_at_a_time_is_cut_off_after_the_request_limit() {
        use tokio::io::AsyncReadExt;
        let (near, mut far) = tokio::io::duplex(64);
        let mut io = Guarded::new(near, Duration::from_secs(30), Duration::from_secs(10), "test".into());
        let trickle = tokio::spawn(async move {
            for _ in 0..100 {
                if far.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let started = tokio::time::Instant::now();
        let mut buf = [0; 64];
        let err = loop {
            match io.read(&mut buf).await {
                Ok(0) => panic!("the trickle ended before the limit"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        trickle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_ends_the_request_clock() {
        use tokio::io::AsyncReadExt;
        let (near, mut far) = tokio::io::duplex(64);
        let mut io = Guarded::new(near, Duration::from_secs(30), Duration::from_secs(10), "test".into());
        let mut buf = [0; 64];
        for _ in 0..3 {
            // A request arrives, is answered 8 s later: 24 s in all, never 10 s unanswered.
            far.write_all(b"request").await.unwrap();
            assert_eq!(io.read(&mut buf).await.unwrap(), 7);
            tokio::time::sleep(Duration::from_secs(8)).await;
            io.write_all(b"answer").await.unwrap();
            let mut answer = [0; 6];
            far.read_exact(&mut answer).await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_switched_to_websocket_is_not_timed() {
        use tokio::io::AsyncReadExt;
        let (near, mut far) = tokio::io::duplex(256);
        let mut io = Guarded::new(near, Duration::from_secs(30), Duration::from_secs(10), "test".into());
        let mut buf = [0; 256];
        far.write_all(b"GET /api/v1/worker/connect HTTP/1.1\r\n\r\n").await.unwrap();
        assert!(io.read(&mut buf).await.unwrap() > 0);
        io.write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").await.unwrap();
        // A worker's messages for a minute with nothing written back: still connected.
        for _ in 0..60 {
            far.write_all(b"frame").await.unwrap();
            assert_eq!(io.read(&mut buf).await.unwrap(), 5);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
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
