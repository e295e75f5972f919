//! A minimal HTTP/1.1 server (hyper) for `GET /metrics`, on a thread and runtime of its own:
//! scrapes, and their encoding, never run on the engine loop's thread. One task accepts, one
//! task per connection, so a slow or stuck scraper holds only its own connection. The thread
//! runs at nice [`NICE`]: a flood of scrapes takes CPU time only when the engine's thread does
//! not want it (CFS lets a waking nice-0 thread run before a niced one).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The OpenMetrics text content type `prometheus-client` writes (Prometheus negotiates it).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A scraper that sends no complete request in this time is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP thread's niceness (the engine's thread keeps the daemon's, 0 by default).
pub const NICE: i32 = 10;

/// Serves `GET /metrics` on `listener` with the text `body` returns, on a new thread, until
/// the process ends.
pub fn serve<F>(listener: std::net::TcpListener, body: F) -> std::io::Result<()>
where
    F: Fn() -> Bytes + Send + Sync + 'static,
{
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let body = Arc::new(body);
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            // SAFETY: setpriority(2) on this thread (Linux niceness is per thread); lowering
            // one's own priority needs no privilege. A failure only leaves it at the default.
            unsafe {
                let tid = libc::gettid() as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
            }
            rt.block_on(accept(listener, body))
        })?;
    Ok(())
}

/// Accepts scrapers forever.
async fn accept<F>(listener: std::net::TcpListener, body: Arc<F>)
where
    F: Fn() -> Bytes + Send + Sync + 'static,
{
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("metrics: {e}");
            return;
        }
    };
    {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("metrics: accept: {e}");
                    // EMFILE and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(respond(&req, &*body)) }
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT);
                if let Err(e) = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!("metrics: connection: {e}");
                }
            });
        }
    }
}

/// `GET /metrics` (or `HEAD`) gets the text; other paths 404, other methods 405.
fn respond(req: &Request<Incoming>, body: &dyn Fn() -> Bytes) -> Response<Full<Bytes>> {
    let status = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            return Response::builder()
                .header(hyper::header::CONTENT_TYPE, CONTENT_TYPE)
                .body(Full::new(body()))
                .unwrap_or_default();
        }
        (_, "/metrics") => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::NOT_FOUND,
    };
    let mut r = Response::new(Full::new(Bytes::from_static(b"")));
    *r.status_mut() = status;
    r
}
