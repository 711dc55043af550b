//! Reading a webhook's body: within a size limit and a deadline, holding no more memory than the
//! body itself however its sender splits it.
//!
//! A body is kept as the one chunk it usually arrives in. When it arrives in several, each
//! chunk is copied into one buffer as it comes: a chunk is a slice of the connection's read
//! buffer, and keeping many small slices would keep a whole read buffer alive for each (a client
//! trickling a body one byte at a time would make the process hold kilobytes per byte sent).

use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// It is longer than the limit.
    TooLarge,
    /// It did not arrive within the deadline.
    TimedOut,
    /// The connection failed or the client went away.
    Unreadable,
}

/// Reads `body` whole, refusing it once it passes `limit` bytes or once `timeout` has passed.
pub(crate) async fn read(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    tokio::time::timeout(timeout, collect(body, limit))
        .await
        .map_err(|_| BodyError::TimedOut)?
}

async fn collect(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut copied: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Unreadable)?.into_data() else {
            continue; // trailers
        };
        let held = first.as_ref().map_or(0, Bytes::len) + copied.len();
        if held + data.len() > limit {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if copied.is_empty() => first = Some(data),
            first => {
                if let Some(first) = first {
                    copied.reserve(first.len() + data.len());
                    copied.extend_from_slice(&first);
                }
                copied.extend_from_slice(&data);
            }
        }
    }
    Ok(match first {
        Some(first) => first,
        None => Bytes::from(copied),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_in_one_chunk_or_many_reads_back_whole() {
        let one = read(
            Body::from("{\"id\":\"evt_1\"}"),
            1024,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(one, Ok(Bytes::from_static(b"{\"id\":\"evt_1\"}")));
        let many = read(
            chunked(&[b"{", b"\"id\"", b":", b"\"evt_1\"", b"}"]),
            1024,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(many, Ok(Bytes::from_static(b"{\"id\":\"evt_1\"}")));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_too_large_whether_whole_or_in_chunks() {
        let whole = read(Body::from(vec![b'x'; 2048]), 1024, Duration::from_secs(1)).await;
        assert_eq!(whole, Err(BodyError::TooLarge));
        let chunks = read(
            chunked(&[&[b'x'; 600], &[b'x'; 600]]),
            1024,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(chunks, Err(BodyError::TooLarge));
        let exact = read(Body::from(vec![b'x'; 1024]), 1024, Duration::from_secs(1)).await;
        assert_eq!(exact.map(|b| b.len()), Ok(1024));
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let never =
            Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
        let result = read(never, 1024, Duration::from_millis(50)).await;
        assert_eq!(result, Err(BodyError::TimedOut));
    }

    #[tokio::test]
    async fn a_failing_body_is_unreadable() {
        let failing = Body::from_stream(futures_util::stream::iter([
            Ok(Bytes::from_static(b"{")),
            Err(std::io::Error::other("connection reset")),
        ]));
        let result = read(failing, 1024, Duration::from_secs(1)).await;
        assert_eq!(result, Err(BodyError::Unreadable));
    }
}
