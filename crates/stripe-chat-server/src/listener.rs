//! The public listener: HTTP/1.1 connections served with limits that hold against slow and
//! hostile clients.
//!
//! - **A request head must arrive in time** ([`Limits::header_timeout`]): a client that sends
//!   its request line and headers slower than that, or keeps a connection idle that long between
//!   requests, is disconnected (counted as [`Rejection::HeaderTimeout`] when it never sent a
//!   whole request).
//! - **A body must arrive in time**: the webhook handler reads it within
//!   `server.body_timeout_secs` and answers `408` otherwise (see [`ingest`](crate::ingest)); the
//!   connection is then closed, since its body was not read to the end.
//! - **At most [`Limits::max_connections`] connections at once.** The listener accepts the next
//!   connection only when one of them has closed; meanwhile new clients wait in the system's
//!   listen queue, where they cost the process nothing. Each time the limit is reached is counted
//!   and logged like a refusal, at most once per interval.
//!
//! Stripe sends a webhook's head and body at once, so none of these limits slows it down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::config::ServerSection;
use crate::metrics::{Metrics, Rejection};

/// How the listener guards itself; from `[server]`.
///
/// ```
/// let server: stripe_chat_server::config::ServerSection = toml::from_str(r#"
/// listen = "127.0.0.1:0"
/// header_timeout_secs = 5
/// max_connections = 100
/// "#)?;
/// let limits = stripe_chat_server::listener::Limits::from(&server);
/// assert_eq!(limits.header_timeout.as_secs(), 5);
/// assert_eq!(limits.max_connections, 100);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest time to receive a request head (and longest idle time between requests).
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl From<&ServerSection> for Limits {
    fn from(server: &ServerSection) -> Self {
        Limits {
            header_timeout: server.header_timeout(),
            max_connections: server.max_connections.max(1),
        }
    }
}

/// Serves `app` on `listener` within `limits` until `stop` turns `true`; then stops accepting,
/// lets every open connection finish its request in flight (idle ones are closed at once), and
/// returns once all of them are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    metrics.set_connection_limit(limits.max_connections);
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                metrics.connection_waited();
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = stopped(&mut stop) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let connection = Connection::open(&metrics);
        let served = Arc::clone(&connection.served);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            served.store(true, Ordering::Relaxed);
            app.clone().oneshot(request.map(Body::new))
        });
        let _ = stream.set_nodelay(true);
        let watched = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let result = watched.await;
            connection.closed(result, peer);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves once `stop` is `true` (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// One accepted connection's bookkeeping: counted open until [`Connection::closed`].
struct Connection {
    metrics: Arc<Metrics>,
    /// Whether the connection carried at least one request.
    served: Arc<AtomicBool>,
}

impl Connection {
    fn open(metrics: &Arc<Metrics>) -> Self {
        metrics.connection_opened();
        Connection {
            metrics: Arc::clone(metrics),
            served: Arc::new(AtomicBool::new(false)),
        }
    }

    fn closed(self, result: Result<(), hyper::Error>, peer: SocketAddr) {
        if let Err(e) = result {
            if e.is_timeout() && !self.served.load(Ordering::Relaxed) {
                self.metrics.rejected(Rejection::HeaderTimeout);
            } else {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        // `self` is dropped here, which counts the connection closed.
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.metrics.connection_closed();
    }
}

/// A failed `accept`: a connection that went away before it was accepted is skipped; anything
/// else (no file descriptor left, no memory) is logged and waited out for a second, as a loop
/// would otherwise spin on it.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %error, "cannot accept connections; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
