//! The client side of a `caredesk serve`: `https://host:port`, `http://127.0.0.1:port` (plain
//! HTTP only to this machine), or `unix:PATH`. HTTP/1.1 on hyper, TLS on rustls; a few
//! connections are kept open and reused.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Call;
use super::wire::ErrorBody;
use crate::domain::Feed;
use crate::error::{Error, Result};

/// Connections kept open for reuse.
const IDLE_CONNECTIONS: usize = 4;
/// The first wait before opening a lost event stream again, doubled up to the second.
const RECONNECT_FIRST: std::time::Duration = std::time::Duration::from_millis(250);
const RECONNECT_MAX: std::time::Duration = std::time::Duration::from_secs(2);
/// The server says something (an event or a keep-alive) at least this often, else it is gone.
const EVENTS_SILENCE: std::time::Duration = std::time::Duration::from_secs(45);
/// The longest event the stream may hold unfinished.
const MAX_EVENT_BYTES: usize = 1 << 20;

#[derive(Clone)]
enum Endpoint {
    Http {
        addr: String,
    },
    Https {
        addr: String,
        host: String,
        tls: Arc<rustls::ClientConfig>,
    },
    Unix(PathBuf),
}

#[derive(Clone)]
pub struct Remote {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    endpoint: Endpoint,
    token: Option<String>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// Whether `host` names this machine's loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Splits `host:port` (IPv6 in brackets) and checks the port.
fn host_port(rest: &str, url: &str, default_port: u16) -> Result<(String, String)> {
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(Error::invalid(format!(
            "the server address \"{url}\" names no host (for example https://caredesk.example:7443)"
        )));
    }
    let (host, port) = if let Some(end) = authority.find(']') {
        let host = &authority[..=end];
        let port = authority[end + 1..].strip_prefix(':');
        (host.to_string(), port.map(str::to_string))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.to_string())),
            None => (authority.to_string(), None),
        }
    };
    let port: u16 = match port {
        Some(p) => p.parse().map_err(|_| {
            Error::invalid(format!("the server address \"{url}\" has no valid port"))
        })?,
        None => default_port,
    };
    Ok((host.clone(), format!("{host}:{port}")))
}

impl Remote {
    /// A client of the server at `url`, sending `token` (a session from `caredesk login`).
    pub fn new(url: &str, token: Option<String>) -> Result<Self> {
        let url = url.trim().trim_end_matches('/').to_string();
        let endpoint = if let Some(path) = url.strip_prefix("unix:") {
            let path = path.trim_start_matches("//");
            if path.is_empty() {
                return Err(Error::invalid(
                    "the server address \"unix:\" names no socket (for example unix:/run/caredesk.sock)",
                ));
            }
            Endpoint::Unix(PathBuf::from(path))
        } else if let Some(rest) = url.strip_prefix("http://") {
            let (host, addr) = host_port(rest, &url, 80)?;
            if !is_loopback_host(&host) {
                return Err(Error::invalid(format!(
                    "refusing plain http to {host}: passwords and sessions would cross the network in clear; use https://{}",
                    &rest
                )));
            }
            Endpoint::Http { addr }
        } else if let Some(rest) = url.strip_prefix("https://") {
            let (host, addr) = host_port(rest, &url, 443)?;
            Endpoint::Https {
                addr,
                host: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                tls: Arc::new(tls_config()?),
            }
        } else {
            return Err(Error::invalid(format!(
                "the server address \"{url}\" is not https://HOST:PORT, http://127.0.0.1:PORT or unix:PATH"
            )));
        };
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                endpoint,
                token,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn url(&self) -> &str {
        &self.inner.url
    }

    pub fn display(&self) -> String {
        format!("server {}", self.inner.url)
    }

    /// One use case through the server.
    pub async fn call<T: DeserializeOwned>(&self, call: &Call) -> Result<T> {
        self.post("/v1/call", call).await
    }

    /// A JSON request and its JSON answer; an error answer becomes the same error here.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::System(format!("cannot encode the request: {e}")))?;
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(hyper::header::HOST, "caredesk")
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(t) = &self.inner.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::System(format!("cannot build the request: {e}")))?;
        let (status, bytes) = self.send(req).await?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| {
                Error::System(format!(
                    "the server {} answered with something this caredesk cannot read ({e}); are both the same version?",
                    self.inner.url
                ))
            })
        } else {
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => Err(body.into_error()),
                Err(_) => Err(Error::System(format!(
                    "the server {} answered {status}",
                    self.inner.url
                ))),
            }
        }
    }

    async fn send(&self, req: Request<Full<Bytes>>) -> Result<(hyper::StatusCode, Bytes)> {
        let mut sender = self.connection().await?;
        let res = sender.send_request(req).await.map_err(|e| self.lost(e))?;
        let status = res.status();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| self.lost(e))?
            .to_bytes();
        if !sender.is_closed()
            && let Ok(mut idle) = self.inner.idle.lock()
            && idle.len() < IDLE_CONNECTIONS
        {
            idle.push(sender);
        }
        Ok((status, bytes))
    }

    fn lost(&self, e: impl std::fmt::Display) -> Error {
        Error::System(format!(
            "the connection to the server {} broke: {e}",
            self.inner.url
        ))
    }

    /// An open connection: an idle one that is still up, else a new one.
    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>> {
        loop {
            let next = self.inner.idle.lock().ok().and_then(|mut v| v.pop());
            match next {
                Some(mut s) => {
                    if s.ready().await.is_ok() {
                        return Ok(s);
                    }
                }
                None => break,
            }
        }
        self.connect().await
    }

    /// What changes on the server's database, into `tx` until it closes, over a connection of
    /// its own. When the server cannot be reached `Feed::Down` says so; the stream is opened
    /// again by itself, and `Feed::Up` says it is back (changes made meanwhile were not told).
    pub fn listen(&self, tx: tokio::sync::mpsc::UnboundedSender<Feed>) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut down = false;
            let mut wait = RECONNECT_FIRST;
            loop {
                let lost = this.stream_events(&tx, &mut down).await;
                if tx.is_closed() {
                    return;
                }
                if let Err(e) = lost {
                    if !down {
                        down = true;
                        if tx
                            .send(Feed::Down {
                                reason: e.to_string(),
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RECONNECT_MAX);
                } else {
                    wait = RECONNECT_FIRST;
                }
            }
        });
    }

    /// One event stream, read until it ends; `Ok` when `tx` closed.
    async fn stream_events(
        &self,
        tx: &tokio::sync::mpsc::UnboundedSender<Feed>,
        down: &mut bool,
    ) -> Result<()> {
        let mut sender = self.connect().await?;
        let mut req = Request::builder()
            .method(Method::GET)
            .uri("/v1/events")
            .header(hyper::header::HOST, "caredesk")
            .header(hyper::header::ACCEPT, "text/event-stream");
        if let Some(t) = &self.inner.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| Error::System(format!("cannot build the request: {e}")))?;
        let res = sender.send_request(req).await.map_err(|e| self.lost(e))?;
        let status = res.status();
        let mut body = res.into_body();
        if !status.is_success() {
            let bytes = body.collect().await.map_err(|e| self.lost(e))?.to_bytes();
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => body.into_error(),
                Err(_) => Error::System(format!("the server {} answered {status}", self.inner.url)),
            });
        }
        if std::mem::take(down) && tx.send(Feed::Up).is_err() {
            return Ok(());
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let frame = tokio::time::timeout(EVENTS_SILENCE, body.frame())
                .await
                .map_err(|_| Error::System(format!("the server {} went silent", self.inner.url)))?;
            let Some(frame) = frame else {
                return Err(Error::System(format!(
                    "the server {} closed the event stream",
                    self.inner.url
                )));
            };
            let frame = frame.map_err(|e| self.lost(e))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            while let Some(end) = find_blank_line(&buf) {
                let block: Vec<u8> = buf.drain(..end + 2).collect();
                if let Some(feed) = parse_event(&block)
                    && tx.send(feed).is_err()
                {
                    return Ok(());
                }
            }
            if buf.len() > MAX_EVENT_BYTES {
                return Err(Error::System(format!(
                    "the server {} sent an event too large to be one",
                    self.inner.url
                )));
            }
        }
    }

    /// A new connection to the server.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        let unreachable = |e: std::io::Error| {
            Error::System(format!("cannot reach the server {}: {e}", self.inner.url))
        };
        let handshake = |e: hyper::Error| {
            Error::System(format!(
                "the server {} did not answer as a caredesk server: {e}",
                self.inner.url
            ))
        };
        let sender = match &self.inner.endpoint {
            Endpoint::Http { addr } => {
                let tcp = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(unreachable)?;
                let _ = tcp.set_nodelay(true);
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(handshake)?;
                tokio::spawn(conn);
                sender
            }
            Endpoint::Https { addr, host, tls } => {
                let tcp = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(unreachable)?;
                let _ = tcp.set_nodelay(true);
                let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| {
                    Error::invalid(format!("\"{host}\" is not a host name TLS can check"))
                })?;
                let stream = tokio_rustls::TlsConnector::from(tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| {
                        Error::System(format!(
                            "TLS with the server {} failed: {e}",
                            self.inner.url
                        ))
                    })?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(handshake)?;
                tokio::spawn(conn);
                sender
            }
            Endpoint::Unix(path) => {
                let unix = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(unreachable)?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(unix))
                    .await
                    .map_err(handshake)?;
                tokio::spawn(conn);
                sender
            }
        };
        Ok(sender)
    }
}

/// The certificates a client trusts: `CAREDESK_CA_FILE` (a PEM bundle, for a call centre's
/// own certificate authority) when set, else the system's.
fn tls_config() -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match std::env::var_os("CAREDESK_CA_FILE").filter(|v| !v.is_empty()) {
        Some(path) => {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let path = PathBuf::from(path);
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
                .and_then(|it| it.collect::<std::result::Result<_, _>>())
                .map_err(|e| {
                    Error::invalid(format!(
                        "CAREDESK_CA_FILE {} holds no readable PEM certificate: {e}",
                        path.display()
                    ))
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::invalid(format!(
                    "CAREDESK_CA_FILE {} holds no certificate",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::System(format!("cannot set up TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// Where the first event of `buf` ends: the index of its blank line's first newline.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\n\n")
}

/// One server-sent event's `data:` lines as a `Feed`; comments (keep-alives) and anything
/// unreadable are none.
fn parse_event(block: &[u8]) -> Option<Feed> {
    let text = std::str::from_utf8(block).ok()?;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return None;
    }
    serde_json::from_str(&data.join("\n")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Change;

    #[test]
    fn events_are_read_from_their_data_lines_and_keep_alives_are_skipped() {
        let mut buf =
            b":\n\ndata: {\"event\":\"change\",\"accounts\":[\"310000005\"]}\n\ndata: {\"ev"
                .to_vec();
        let mut got = Vec::new();
        while let Some(end) = find_blank_line(&buf) {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            got.extend(parse_event(&block));
        }
        let mut change = Change::default();
        change.add(Some("310000005"));
        assert_eq!(got, vec![Feed::Change(change)]);
        assert_eq!(buf, b"data: {\"ev");
        assert_eq!(parse_event(b"data: {\"event\":\"up\"}\n\n"), Some(Feed::Up));
    }
}
