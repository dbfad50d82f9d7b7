//! Early error answers on uploads. When a request fails before its handler
//! read the body (no such bucket, access denied, a bad header), a client
//! that is still sending — the AWS SDKs stream the body right after the
//! head — sees a reset connection instead of the 4xx if the server answers
//! and closes with unread bytes in its socket. So, like S3 and MinIO, the
//! server reads and discards what is left of the body, but only a bounded
//! amount and only while it keeps arriving; past that it answers with
//! `Connection: close`.
//!
//! [`ReturningBody`] lends the request body to the pipeline and hands it
//! back when dropped unfinished; [`drain`] then reads the rest.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// At most this many unread body bytes are drained before an error answer.
pub(crate) const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;
/// A drain gives up when the client pauses longer than this between frames.
pub(crate) const DRAIN_IDLE: Duration = Duration::from_secs(1);
/// A drain gives up after this long in all, however steadily bytes arrive.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// A request body that, when dropped before its end, sends itself back
/// through a oneshot so the pipeline can drain it after the handler failed.
pub(crate) struct ReturningBody<B> {
    inner: Option<B>,
    /// Saw end-of-stream or an error: nothing left worth draining.
    finished: bool,
    /// Some frame was asked for (so hyper has sent `100 Continue` if the
    /// client expected it).
    polled: bool,
    home: Option<oneshot::Sender<Unread<B>>>,
}

/// A body its handler left unfinished.
pub(crate) struct Unread<B> {
    pub body: B,
    /// Whether anyone asked it for data.
    pub polled: bool,
}

impl<B> ReturningBody<B> {
    /// Lends `body`; the receiver gets it back if it is dropped unfinished.
    pub(crate) fn new(body: B) -> (Self, oneshot::Receiver<Unread<B>>) {
        let (home, returned) = oneshot::channel();
        let lent = Self {
            inner: Some(body),
            finished: false,
            polled: false,
            home: Some(home),
        };
        (lent, returned)
    }
}

impl<B> Drop for ReturningBody<B> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let (Some(body), Some(home)) = (self.inner.take(), self.home.take()) {
            // The receiver is gone once the response was sent; then nobody
            // wants the body any more.
            let _ = home.send(Unread {
                body,
                polled: self.polled,
            });
        }
    }
}

impl<B> Body for ReturningBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        this.polled = true;
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(Body::size_hint)
            .unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

/// How much of an unfinished body [`drain`] reads, and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrainLimits {
    pub bytes: u64,
    pub idle: Duration,
    pub deadline: Duration,
}

impl DrainLimits {
    /// What the server uses: [`DRAIN_LIMIT`], [`DRAIN_IDLE`], [`DRAIN_DEADLINE`].
    pub(crate) const SERVER: Self = Self {
        bytes: DRAIN_LIMIT,
        idle: DRAIN_IDLE,
        deadline: DRAIN_DEADLINE,
    };
}

/// Reads and discards the rest of an unfinished request body, within
/// `limits`. Returns whether the whole body was consumed, i.e. the
/// connection may stay open; `false` means the answer should carry
/// `Connection: close`.
///
/// A client that sent `Expect: 100-continue` and was never told to
/// continue has not sent its body: draining would invite it to, so that
/// connection is closed instead.
pub(crate) async fn drain<B>(unread: Unread<B>, expects_continue: bool, limits: DrainLimits) -> bool
where
    B: Body<Data = Bytes> + Unpin,
{
    let Unread { mut body, polled } = unread;
    if body.is_end_stream() {
        return true;
    }
    if expects_continue && !polled {
        return false;
    }
    if body.size_hint().lower() > limits.bytes {
        return false;
    }
    let deadline = Instant::now() + limits.deadline;
    let mut drained: u64 = 0;
    loop {
        let wait = limits
            .idle
            .min(deadline.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(wait, body.frame()).await {
            Ok(None) => return true,
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    drained += data.len() as u64;
                    if drained > limits.bytes {
                        return false;
                    }
                }
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures::StreamExt;
    use http_body_util::{Full, StreamBody};

    use super::*;

    type TestBody = Pin<Box<dyn Body<Data = Bytes, Error = Infallible> + Send>>;

    /// A body of `chunks` frames of `chunk_size` bytes, `pause` apart.
    fn paced_body(chunks: usize, chunk_size: usize, pause: Duration) -> TestBody {
        let frames = futures::stream::iter(0..chunks).then(move |_| async move {
            tokio::time::sleep(pause).await;
            Ok::<_, Infallible>(Frame::data(Bytes::from(vec![7u8; chunk_size])))
        });
        Box::pin(StreamBody::new(frames))
    }

    fn unread(body: TestBody) -> Unread<TestBody> {
        Unread { body, polled: true }
    }

    /// Small limits so the scenarios run in milliseconds.
    const QUICK: DrainLimits = DrainLimits {
        bytes: 64 * 1024,
        idle: Duration::from_millis(100),
        deadline: Duration::from_millis(500),
    };

    #[tokio::test]
    async fn body_dropped_unread_comes_back_and_drains_whole() {
        let (lent, returned) = ReturningBody::new(paced_body(4, 1024, Duration::ZERO));
        drop(lent);
        let unread = returned.await.expect("unfinished body returned");
        assert!(!unread.polled);
        assert!(drain(unread, false, QUICK).await);
    }

    #[tokio::test]
    async fn body_read_to_the_end_is_not_returned() {
        let (mut lent, returned) = ReturningBody::new(Full::new(Bytes::from_static(b"abc")));
        while lent.frame().await.is_some() {}
        drop(lent);
        assert!(returned.await.is_err());
    }

    #[tokio::test]
    async fn body_over_the_limit_is_not_drained_to_its_end() {
        let chunk = 1024;
        let chunks = (QUICK.bytes as usize / chunk) + 4;
        let long = paced_body(chunks, chunk, Duration::ZERO);
        assert!(!drain(unread(long), false, QUICK).await);
    }

    #[tokio::test]
    async fn stalled_body_is_given_up_after_the_idle_time() {
        let started = Instant::now();
        let stalled = paced_body(1, 10, QUICK.idle * 5);
        assert!(!drain(unread(stalled), false, QUICK).await);
        assert!(started.elapsed() < QUICK.idle * 3);
    }

    #[tokio::test]
    async fn trickling_body_is_given_up_at_the_deadline() {
        let trickle = paced_body(1000, 1, QUICK.idle / 4);
        let started = Instant::now();
        assert!(!drain(unread(trickle), false, QUICK).await);
        assert!(started.elapsed() < QUICK.deadline + QUICK.idle * 3);
    }

    #[tokio::test]
    async fn declared_length_over_the_limit_closes_without_reading() {
        let large = Full::new(Bytes::from(vec![0u8; QUICK.bytes as usize + 1]));
        let unread = Unread {
            body: large,
            polled: true,
        };
        assert!(!drain(unread, false, QUICK).await);
    }

    #[tokio::test]
    async fn expect_continue_body_never_asked_for_is_not_invited() {
        let unread = Unread {
            body: paced_body(1, 10, Duration::ZERO),
            polled: false,
        };
        assert!(!drain(unread, true, QUICK).await);
    }
}
