//! A counting proxy in front of the docker socket: svcfs's `--docker-host`
//! points at it, it forwards bytes both ways unchanged, and it counts the
//! HTTP request lines the client sends (`GET /v1.41/containers/json
//! HTTP/1.1`), by method and path with ids and the API version folded, so
//! that the report can say how many docker API calls an idle daemon makes
//! and which.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// The running proxy; stopped and its socket removed on drop.
pub struct CountingProxy {
    socket: PathBuf,
    counts: Counts,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl CountingProxy {
    /// Listen on `socket`, forwarding every connection to `upstream`.
    pub fn start(socket: &Path, upstream: &Path) -> CountingProxy {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)
            .unwrap_or_else(|e| panic!("proxy: bind {}: {e}", socket.display()));
        let counts: Counts = Arc::default();
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = std::thread::Builder::new()
            .name("bench-proxy".to_string())
            .spawn({
                let counts = Arc::clone(&counts);
                let stopping = Arc::clone(&stopping);
                let upstream = upstream.to_path_buf();
                move || accept_loop(listener, &upstream, &counts, &stopping)
            })
            .expect("proxy thread");
        CountingProxy {
            socket: socket.to_path_buf(),
            counts,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// What to give svcfs as `--docker-host`.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Requests counted since the start or the last reset, by endpoint.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor up so that it sees the flag.
        let _ = UnixStream::connect(&self.socket);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn accept_loop(listener: UnixListener, upstream: &Path, counts: &Counts, stopping: &AtomicBool) {
    for client in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let Ok(server) = UnixStream::connect(upstream) else {
            continue;
        };
        let (Ok(client_rx), Ok(server_tx)) = (client.try_clone(), server.try_clone()) else {
            continue;
        };
        let counts = Arc::clone(counts);
        // Connections end when either side closes; the threads go with them.
        let _ = std::thread::Builder::new()
            .name("bench-proxy-up".to_string())
            .spawn(move || {
                let mut scanner = RequestLines::default();
                forward(client_rx, server_tx, |bytes| {
                    for request in scanner.feed(bytes) {
                        if let Ok(mut c) = counts.lock() {
                            *c.entry(request).or_default() += 1;
                        }
                    }
                });
            });
        let _ = std::thread::Builder::new()
            .name("bench-proxy-down".to_string())
            .spawn(move || forward(server, client, |_| {}));
    }
}

/// Copy `from` to `to` until either ends, showing every chunk to `seen`;
/// then shut both down so that the other direction ends too.
fn forward(mut from: UnixStream, mut to: UnixStream, mut seen: impl FnMut(&[u8])) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// Finds HTTP request lines in a client's byte stream, across chunk
/// boundaries: a line is kept (up to 512 bytes) and checked at its end.
#[derive(Default)]
struct RequestLines {
    line: Vec<u8>,
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "HEAD"];

impl RequestLines {
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                if let Some(request) = request_line(&self.line) {
                    found.push(request);
                }
                self.line.clear();
            } else if self.line.len() < 512 {
                self.line.push(b);
            }
        }
        found
    }
}

/// "GET /v1.41/containers/abc/json HTTP/1.1\r" → "GET /containers/{id}/json".
fn request_line(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !METHODS.contains(&method) || !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    Some(format!("{method} {}", endpoint(target)))
}

/// The API path without the version prefix, the query, and object ids.
fn endpoint(target: &str) -> String {
    let path = target.split('?').next().unwrap_or(target);
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.first().is_some_and(|s| s.starts_with('v')) {
        segments.remove(0);
    }
    const OBJECTS: [&str; 6] = [
        "containers",
        "images",
        "networks",
        "volumes",
        "exec",
        "plugins",
    ];
    const VERBS: [&str; 4] = ["json", "create", "prune", "load"];
    let mut out = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        let is_id = i > 0 && OBJECTS.contains(&segments[i - 1]) && !VERBS.contains(s);
        out.push(if is_id { "{id}" } else { s });
    }
    format!("/{}", out.join("/"))
}
