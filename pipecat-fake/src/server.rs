//! The accept loop: hyper's HTTP/1 server with one task per connection, so
//! that a fault can drop a connection without answering
//! ([`crate::Fault::ResetBeforeResponse`]), which `axum::serve` cannot do.

use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// Handed to every request: closes the connection it came on, unanswered.
#[derive(Clone)]
pub(crate) struct ConnectionKiller(Arc<Notify>);

impl ConnectionKiller {
    /// Closes the connection.
    pub(crate) fn kill(&self) {
        self.0.notify_one();
    }
}

/// Serves `app` on `listener` until `shutdown` changes or its sender goes.
pub(crate) async fn serve(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<()>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, app.clone(), shutdown.clone()));
            }
            // Out of file descriptors and the like: try again shortly.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn connection(stream: TcpStream, app: Router, mut shutdown: watch::Receiver<()>) {
    let _ = stream.set_nodelay(true);
    let killer = ConnectionKiller(Arc::new(Notify::new()));
    let service = TowerToHyperService::new(app.layer(Extension(killer.clone())));
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Returning drops the connection: the socket closes, unanswered.
        () = killer.0.notified() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
