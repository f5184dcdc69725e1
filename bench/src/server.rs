//! The bench's own minimal Pipecat Cloud, over plain HTTP or TLS, on
//! 127.0.0.1. It answers four routes with bodies prepared once (logs pages
//! other than the first are made up when asked for), and counts what it
//! sees: TCP connections, TLS handshakes (full or resumed), the protocol
//! ALPN chose, and time spent in the handler for session starts.
//!
//! | route | answer |
//! | --- | --- |
//! | `DELETE /v1/secrets/{name}` | `{"status":"OK"}` |
//! | `GET /v1/agents` | `{"services":[...]}`, [`payload::SERVICES`] agents |
//! | `GET /v1/agents/{name}/logs?offset&limit` | a logs page (default limit [`payload::LOG_PAGE`]) |
//! | `POST /v1/public/{agent}/start` | a Daily `StartResponse` |

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{HandshakeKind, ServerConfig};

use crate::background::Background;
use crate::payload;

/// What a server counted so far.
#[derive(Default)]
pub struct Counters {
    connections: AtomicU64,
    tls_full: AtomicU64,
    tls_resumed: AtomicU64,
    tls_retried: AtomicU64,
    handshake_nanos: AtomicU64,
    alpn_h2: AtomicU64,
    alpn_http1: AtomicU64,
    requests: AtomicU64,
    starts: AtomicU64,
    start_nanos: AtomicU64,
}

/// A copy of [`Counters`] at one moment; subtract two to count an interval.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// TCP connections accepted.
    pub connections: u64,
    /// Full TLS handshakes completed.
    pub tls_full: u64,
    /// Resumed TLS handshakes completed.
    pub tls_resumed: u64,
    /// Full handshakes that needed a HelloRetryRequest (an extra round trip);
    /// also counted in `tls_full`.
    pub tls_retried: u64,
    /// Nanoseconds from accepting a connection to its TLS handshake's end, summed.
    pub handshake_nanos: u64,
    /// TLS connections on which ALPN chose `h2`.
    pub alpn_h2: u64,
    /// TLS connections on which ALPN chose `http/1.1` or nothing.
    pub alpn_http1: u64,
    /// Requests answered.
    pub requests: u64,
    /// Session starts answered.
    pub starts: u64,
    /// Nanoseconds spent in the handler for session starts.
    pub start_nanos: u64,
}

impl Counts {
    /// What was counted between `earlier` and `self`.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            connections: self.connections - earlier.connections,
            tls_full: self.tls_full - earlier.tls_full,
            tls_resumed: self.tls_resumed - earlier.tls_resumed,
            tls_retried: self.tls_retried - earlier.tls_retried,
            handshake_nanos: self.handshake_nanos - earlier.handshake_nanos,
            alpn_h2: self.alpn_h2 - earlier.alpn_h2,
            alpn_http1: self.alpn_http1 - earlier.alpn_http1,
            requests: self.requests - earlier.requests,
            starts: self.starts - earlier.starts,
            start_nanos: self.start_nanos - earlier.start_nanos,
        }
    }

    /// Mean time in the handler per session start.
    pub fn mean_start_time(&self) -> Duration {
        Duration::from_nanos(self.start_nanos / self.starts.max(1))
    }

    /// Mean time from accepting a connection to the end of its TLS handshake.
    pub fn mean_handshake_time(&self) -> Duration {
        Duration::from_nanos(self.handshake_nanos / (self.tls_full + self.tls_resumed).max(1))
    }

    /// E.g. `1 TLS handshakes (1 full, 0 with HelloRetryRequest, 0 resumed; ...)`.
    pub fn tls_summary(&self) -> String {
        format!(
            "{} TLS handshakes ({} full, {} of them with HelloRetryRequest, {} resumed; \
             mean {:.1} ms from TCP accept to handshake done, as the server saw it); \
             ALPN chose h2 on {}, http/1.1 on {}",
            self.tls_full + self.tls_resumed,
            self.tls_full,
            self.tls_retried,
            self.tls_resumed,
            self.mean_handshake_time().as_secs_f64() * 1e3,
            self.alpn_h2,
            self.alpn_http1
        )
    }
}

impl Counters {
    /// The counts now.
    pub fn now(&self) -> Counts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counts {
            connections: get(&self.connections),
            tls_full: get(&self.tls_full),
            tls_resumed: get(&self.tls_resumed),
            tls_retried: get(&self.tls_retried),
            handshake_nanos: get(&self.handshake_nanos),
            alpn_h2: get(&self.alpn_h2),
            alpn_http1: get(&self.alpn_http1),
            requests: get(&self.requests),
            starts: get(&self.starts),
            start_nanos: get(&self.start_nanos),
        }
    }
}

/// How a server is set up.
pub struct Options {
    /// Lines in the agent's log (pages past the first are made up on demand).
    pub log_total: u64,
    /// Serve TLS with this configuration (its ALPN list is what is offered).
    pub tls: Option<Arc<ServerConfig>>,
    /// Worker threads of the server's runtime.
    pub workers: usize,
    /// The core to pin the server's threads to, if any.
    pub pin: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            log_total: payload::LOG_PAGE,
            tls: None,
            workers: 2,
            pin: None,
        }
    }
}

/// A running bench server; stops when dropped.
pub struct BenchServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    tls: bool,
    _background: Background,
}

impl BenchServer {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    pub fn start(options: Options) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let first_page = payload::logs_page(0, payload::LOG_PAGE, options.log_total)?;
        let app = Arc::new(App {
            counters: counters.clone(),
            delete_ok: payload::delete_ok(),
            services: payload::services()?,
            first_page,
            start: payload::start_response()?,
            log_total: options.log_total,
        });
        let tls = options.tls.clone().map(TlsAcceptor::from);
        let is_tls = tls.is_some();
        let background = Background::spawn(
            "bench-server",
            options.workers,
            options.pin,
            move || async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, app, tls).await,
                    Err(e) => eprintln!("bench server: {e}"),
                }
            },
        )?;
        Ok(Self {
            addr,
            counters,
            tls: is_tls,
            _background: background,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// What it counted so far.
    pub fn counts(&self) -> Counts {
        self.counters.now()
    }
}

async fn accept_loop(listener: TcpListener, app: Arc<App>, tls: Option<TlsAcceptor>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or similar: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        app.counters.connections.fetch_add(1, Ordering::Relaxed);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(TokioIo::new(stream), app).await,
                Some(acceptor) => {
                    let accepted = Instant::now();
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let nanos = u64::try_from(accepted.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    let counters = &app.counters;
                    counters.handshake_nanos.fetch_add(nanos, Ordering::Relaxed);
                    let (_, session) = stream.get_ref();
                    let kind = session.handshake_kind();
                    if kind == Some(HandshakeKind::FullWithHelloRetryRequest) {
                        counters.tls_retried.fetch_add(1, Ordering::Relaxed);
                    }
                    let counter = match kind {
                        Some(HandshakeKind::Resumed) => &counters.tls_resumed,
                        _ => &counters.tls_full,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let alpn = match session.alpn_protocol() {
                        Some(b"h2") => &app.counters.alpn_h2,
                        _ => &app.counters.alpn_http1,
                    };
                    alpn.fetch_add(1, Ordering::Relaxed);
                    serve_connection(TokioIo::new(stream), app).await;
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, app: Arc<App>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    });
    // HTTP/1.1 or HTTP/2, whichever the client speaks.
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, service)
        .await;
}

struct App {
    counters: Arc<Counters>,
    delete_ok: Bytes,
    services: Bytes,
    first_page: Bytes,
    start: Bytes,
    log_total: u64,
}

impl App {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let started = Instant::now();
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (Method::DELETE, ["v1", "secrets", _]) => json(StatusCode::OK, self.delete_ok.clone()),
            (Method::GET, ["v1", "agents"]) => json(StatusCode::OK, self.services.clone()),
            (Method::GET, ["v1", "agents", _, "logs"]) => self.logs(&query),
            (Method::POST, ["v1", "public", _, "start"]) => {
                let _ = request.into_body().collect().await;
                let response = json(StatusCode::OK, self.start.clone());
                self.counters.starts.fetch_add(1, Ordering::Relaxed);
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.counters
                    .start_nanos
                    .fetch_add(nanos, Ordering::Relaxed);
                response
            }
            _ => json(
                StatusCode::NOT_FOUND,
                Bytes::from_static(br#"{"error":"Not found","code":"NOT_FOUND"}"#),
            ),
        }
    }

    fn logs(&self, query: &str) -> Response<Full<Bytes>> {
        let mut offset = 0;
        let mut limit = payload::LOG_PAGE;
        for (key, value) in query.split('&').filter_map(|kv| kv.split_once('=')) {
            match (key, value.parse::<u64>()) {
                ("offset", Ok(v)) => offset = v,
                ("limit", Ok(v)) => limit = v,
                _ => {}
            }
        }
        if offset == 0 && limit == payload::LOG_PAGE {
            return json(StatusCode::OK, self.first_page.clone());
        }
        match payload::logs_page(offset, limit, self.log_total) {
            Ok(body) => json(StatusCode::OK, body),
            Err(_) => json(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new()),
        }
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
