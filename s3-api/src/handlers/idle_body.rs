//! The request-body idle timeout: a body that makes no progress for the
//! configured time (the client stopped sending, or trickles too slowly to
//! send one frame in time) fails with [`BodyIdleTimeout`], which the
//! request answers as S3's 400 `RequestTimeout`. The clock runs only while
//! the server is waiting for the client: a handler busy elsewhere (e.g.
//! waiting for write buffers) does not count against the client.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::BoxError;

/// How long a request body may make no progress, by default. MinIO closes
/// connections idle for 30 s (`--idle-timeout`); S3 answers `RequestTimeout`
/// after a similar pause.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The error a stalled body fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body made no progress for {0:?}")]
pub struct BodyIdleTimeout(pub Duration);

/// Parses `30`, `30s` or `500ms`; zero is refused (it would fail every body).
pub fn parse_idle_timeout(value: &str) -> Option<Duration> {
    let value = value.trim();
    let duration = if let Some(ms) = value.strip_suffix("ms") {
        Duration::from_millis(ms.trim().parse().ok()?)
    } else {
        let secs = value.strip_suffix('s').unwrap_or(value);
        Duration::from_secs(secs.trim().parse().ok()?)
    };
    (!duration.is_zero()).then_some(duration)
}

/// `inner`, failing with [`BodyIdleTimeout`] when a poll stays pending for
/// `idle` without a frame arriving.
pub(crate) struct IdleTimeoutBody<B> {
    inner: B,
    idle: Duration,
    /// Armed when a poll found nothing ready; cleared by every frame.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: bool,
}

impl<B> IdleTimeoutBody<B> {
    pub(crate) fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: None,
            timed_out: false,
        }
    }
}

impl<B> Body for IdleTimeoutBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.timed_out {
            // Never look like a clean end after the failure.
            return Poll::Ready(Some(Err(Box::new(BodyIdleTimeout(this.idle)))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if timer.as_mut().poll(cx).is_ready() {
                    this.timer = None;
                    this.timed_out = true;
                    return Poll::Ready(Some(Err(Box::new(BodyIdleTimeout(idle)))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.timed_out && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Instant;

    use futures::channel::mpsc;
    use futures::SinkExt;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    const IDLE: Duration = Duration::from_secs(2);

    type Item = Result<Frame<Bytes>, Infallible>;
    type Frames = mpsc::Sender<Item>;
    type TestBody = IdleTimeoutBody<StreamBody<mpsc::Receiver<Item>>>;

    fn channel_body() -> (Frames, TestBody) {
        let (tx, rx) = mpsc::channel(4);
        (tx, IdleTimeoutBody::new(StreamBody::new(rx), IDLE))
    }

    fn data(bytes: &'static [u8]) -> Result<Frame<Bytes>, Infallible> {
        Ok(Frame::data(Bytes::from_static(bytes)))
    }

    #[tokio::test]
    async fn a_body_that_keeps_coming_never_times_out() {
        let (mut tx, mut body) = channel_body();
        let sender = tokio::spawn(async move {
            // Each gap is well under the timeout; together they exceed it.
            for _ in 0..6 {
                tokio::time::sleep(IDLE / 4).await;
                tx.send(data(b"x")).await.unwrap();
            }
        });
        let mut received = 0;
        while let Some(frame) = body.frame().await {
            received += frame.unwrap().into_data().unwrap().len();
        }
        assert_eq!(received, 6);
        sender.await.unwrap();
    }

    #[tokio::test]
    async fn a_stalled_body_fails_with_the_idle_timeout_and_stays_failed() {
        let (mut tx, mut body) = channel_body();
        tx.send(data(b"first")).await.unwrap();
        assert!(body.frame().await.unwrap().is_ok());
        let started = Instant::now();
        let error = body.frame().await.unwrap().unwrap_err();
        assert!(error.is::<BodyIdleTimeout>(), "{error}");
        assert!(started.elapsed() >= IDLE, "{:?}", started.elapsed());
        // More data later does not resurrect it.
        tx.send(data(b"late")).await.unwrap();
        assert!(body.frame().await.unwrap().is_err());
        assert!(!body.is_end_stream());
    }

    #[test]
    fn timeouts_parse_in_seconds_or_milliseconds() {
        assert_eq!(parse_idle_timeout("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_idle_timeout(" 7s "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_idle_timeout("250ms"),
            Some(Duration::from_millis(250))
        );
        for bad in ["0", "0ms", "", "ten", "-1", "5m"] {
            assert_eq!(parse_idle_timeout(bad), None, "{bad:?}");
        }
    }
}
