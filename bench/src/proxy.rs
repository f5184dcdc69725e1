//! A TCP proxy on 127.0.0.1 that holds every chunk of data for a fixed time
//! in each direction, so loopback behaves like a link with a round trip of
//! twice that (bandwidth unchanged). It counts the connections it accepts.
//!
//! It runs on plain threads (two per direction of each connection) and
//! sleeps with `std::thread::sleep`, whose precision is tens of
//! microseconds, rather than on tokio's timer, which rounds every deadline
//! up to the next millisecond.
//!
//! TCP's own handshake is not delayed (the kernel completes it before the
//! proxy sees the connection), so a new connection costs one round trip
//! less here than on a real link.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::background::Background;

/// A running delay proxy; stops accepting when dropped (connections
/// already open run until either side closes).
pub struct DelayProxy {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl DelayProxy {
    /// Forwards `127.0.0.1:<ephemeral>` to `upstream`, delaying each direction
    /// by `one_way`.
    pub fn start(upstream: SocketAddr, one_way: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopping) = (accepted.clone(), stop.clone());
        std::thread::Builder::new()
            .name("delay-proxy".into())
            .spawn(move || {
                for inbound in listener.incoming() {
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(inbound) = inbound else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let _ = forward(inbound, upstream, one_way);
                }
            })?;
        Ok(Self {
            addr,
            accepted,
            stop,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Connects to `upstream` and starts pumping both ways.
fn forward(inbound: TcpStream, upstream: SocketAddr, delay: Duration) -> std::io::Result<()> {
    let outbound = TcpStream::connect(upstream)?;
    inbound.set_nodelay(true)?;
    outbound.set_nodelay(true)?;
    pump(inbound.try_clone()?, outbound.try_clone()?, delay)?;
    pump(outbound, inbound, delay)
}

/// Copies `from` to `to` on two threads, each chunk written `delay` after
/// it was read; the end of `from` is passed on (as a shutdown of `to`'s
/// writing side) just as late.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>();
    std::thread::Builder::new()
        .name("proxy-read".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let chunk = match from.read(&mut buf) {
                    Ok(0) | Err(_) => None,
                    Ok(n) => Some(buf[..n].to_vec()),
                };
                let end = chunk.is_none();
                if tx.send((Instant::now() + delay, chunk)).is_err() || end {
                    break;
                }
            }
        })?;
    std::thread::Builder::new()
        .name("proxy-write".into())
        .spawn(move || {
            for (due, chunk) in rx {
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                match chunk {
                    Some(chunk) => {
                        if to.write_all(&chunk).is_err() {
                            break;
                        }
                    }
                    None => {
                        let _ = to.shutdown(Shutdown::Write);
                        break;
                    }
                }
            }
        })?;
    Ok(())
}

/// The round trip a [`DelayProxy`] holding each direction `one_way`
/// actually gives: `pings` 64-byte ping-pongs through it to an echo server,
/// each in ms.
pub async fn measure_rtt(one_way: Duration, pings: usize) -> anyhow::Result<Vec<f64>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let echo_addr = listener.local_addr()?;
    let _echo = Background::spawn("echo", 1, None, move || async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    })?;
    let proxy = DelayProxy::start(echo_addr, one_way)?;
    let mut stream = tokio::net::TcpStream::connect(proxy.addr()).await?;
    stream.set_nodelay(true)?;
    let ping = [7u8; 64];
    let mut pong = [0u8; 64];
    let mut rtts = Vec::with_capacity(pings);
    for _ in 0..pings {
        let started = Instant::now();
        stream.write_all(&ping).await?;
        stream.read_exact(&mut pong).await?;
        rtts.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(rtts)
}
