//! `caredesk serve`: the service layer behind a small HTTP API, holding the only writing
//! connection pool. Agents reach it with a session token (`caredesk login`) or, on the
//! server's own machine, through its Unix socket, whose peer credentials name the OS login.
//! Off the loopback interface it speaks TLS only.
//!
//! The API is the `desk` interface on the wire: `POST /v1/call` carries one `desk::Call` and
//! answers with the JSON of its result, or with the error object `--format json` prints.
//! `POST /v1/login` and `/v1/logout` open and close sessions; `GET /v1/events` streams what
//! changes on the database (server-sent events) to the screens. Each call runs in a task of its
//! own, so a batch run or an import goes on when the client that started it goes away.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};

use crate::desk::wire::ErrorBody;
use crate::desk::{Call, dispatch};
use crate::domain::{Change, Feed};
use crate::error::{Error, Result};
use crate::service::Service;
use crate::service::session::LoginOutcome;

/// How long the accept loop waits after a failed accept before trying again.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Where and how a server listens.
#[derive(Debug, Clone, Default)]
pub struct Listen {
    /// A TCP address (loopback unless TLS is set).
    pub tcp: Option<SocketAddr>,
    /// Certificate chain and private key (PEM) for TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// A Unix socket path.
    pub unix: Option<PathBuf>,
}

/// Who is on the other end of a connection, as the transport says.
#[derive(Debug, Clone)]
struct Peer {
    /// The OS login of a Unix socket's peer.
    unix_login: Option<String>,
}

#[derive(Clone)]
struct AppState {
    svc: Service,
}

/// Checks the listening plan before anything binds: plain HTTP off loopback is refused.
pub fn check(listen: &Listen) -> Result<()> {
    if listen.tcp.is_none() && listen.unix.is_none() {
        return Err(Error::invalid(
            "serve needs somewhere to listen: --listen ADDR or --unix PATH",
        ));
    }
    if let Some(addr) = listen.tcp
        && !addr.ip().is_loopback()
        && listen.tls.is_none()
    {
        return Err(Error::invalid(format!(
            "refusing to serve plain HTTP on {addr}: off the loopback interface caredesk speaks TLS only; give --tls-cert and --tls-key, or listen on 127.0.0.1"
        )));
    }
    Ok(())
}

fn router(svc: Service) -> Router {
    Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/call", post(call))
        .route("/v1/events", get(events))
        .with_state(AppState { svc })
        .layer(axum::extract::DefaultBodyLimit::max(1 << 30))
}

/// Serves until `shutdown` completes (the command: Ctrl-C or SIGTERM). `ready` is told each
/// address as it is bound.
pub async fn serve(
    svc: Service,
    listen: Listen,
    ready: impl Fn(&str),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    check(&listen)?;
    let app = router(svc.clone());
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = listen.tcp {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::io(format!("cannot listen on {addr}"), e))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the listening address", e))?;
        let tls = match &listen.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        ready(&format!(
            "{}://{local}",
            if tls.is_some() { "https" } else { "http" }
        ));
        let app = app.clone();
        tasks.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and the like: wait rather than spin.
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let svc = app.clone().layer(Extension(Peer { unix_login: None }));
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(stream, svc).await;
                            }
                        }
                        None => serve_connection(stream, svc).await,
                    }
                });
            }
        });
    }
    if let Some(path) = &listen.unix {
        if path.exists() {
            // A socket left by a server that died; a live one answers, and is not replaced.
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(Error::invalid(format!(
                    "another server already listens on {}",
                    path.display()
                )));
            }
            let _ = std::fs::remove_file(path);
        }
        let listener = tokio::net::UnixListener::bind(path)
            .map_err(|e| Error::io(format!("cannot listen on {}", path.display()), e))?;
        ready(&format!("unix:{}", path.display()));
        let app = app.clone();
        tasks.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and the like: wait rather than spin.
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                };
                let unix_login = stream.peer_cred().ok().and_then(|c| os_login_of(c.uid()));
                let svc = app.clone().layer(Extension(Peer { unix_login }));
                tokio::spawn(serve_connection(stream, svc));
            }
        });
    }
    shutdown.await;
    tasks.abort_all();
    if let Some(path) = &listen.unix {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn serve_connection<S>(stream: S, app: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await;
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The OS login of a uid, as the system's user database names it.
fn os_login_of(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert_path, key_path) = (cert, key);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<_, _>>())
        .map_err(|e| {
            Error::invalid(format!(
                "--tls-cert {} holds no readable PEM certificate: {e}",
                cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "--tls-cert {} holds no certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::invalid(format!(
            "--tls-key {} holds no readable PEM private key: {e}",
            key.display()
        ))
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::System(format!("cannot set up TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        Error::invalid(format!(
            "the TLS certificate {} and key {} do not fit: {e}",
            cert_path.display(),
            key_path.display()
        ))
    })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// An error as the API answers it.
struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody::of(&self.0);
        let status =
            StatusCode::from_u16(body.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(body)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The login a request acts as: its session's, else its Unix socket peer's.
async fn identity(svc: &Service, headers: &HeaderMap, peer: &Peer) -> Result<String> {
    match (bearer(headers), &peer.unix_login) {
        (Some(token), _) => svc.session_login(token).await,
        (None, Some(login)) => Ok(login.clone()),
        (None, None) => Err(Error::refused(
            "you are not logged in to this server; run `caredesk login LOGIN --server URL` first",
        )),
    }
}

async fn call(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Json(call): Json<Call>,
) -> std::result::Result<Json<serde_json::Value>, ApiError> {
    let login = identity(&state.svc, &headers, &peer).await?;
    // Its own task: a batch run or an import goes on if the client goes away.
    let svc = state.svc.clone();
    let task = tokio::spawn(async move {
        let actor = svc.actor_for(&login).await?;
        dispatch(&svc, &actor, call).await
    });
    let value = task
        .await
        .map_err(|e| Error::System(format!("the request failed inside the server: {e}")))??;
    Ok(Json(value))
}

/// How often an idle event stream says it is alive (a comment line), so a client notices a
/// server that is gone.
const EVENTS_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

/// `GET /v1/events`: what changes on the database, as server-sent events, for as long as the
/// client stays (SPEC §5: one watcher per server, its events pushed to every screen).
async fn events(
    State(state): State<AppState>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> std::result::Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let login = identity(&state.svc, &headers, &peer).await?;
    let actor = state.svc.actor_for(&login).await?;
    Service::require(&actor, crate::domain::Permission::ViewAccount)?;
    let rx = state.svc.feed();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let feed = match rx.recv().await {
            Ok(feed) => feed,
            Err(RecvError::Lagged(_)) => Feed::Change(Change::everything()),
            Err(RecvError::Closed) => return None,
        };
        let event = Event::default().json_data(&feed).ok()?;
        Some((Ok::<_, std::convert::Infallible>(event), rx))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(EVENTS_KEEP_ALIVE))
        .into_response())
}

#[derive(Serialize, Deserialize)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    pub new_password: Option<String>,
}

/// Never prints a password.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .field("password", &"***")
            .field("new_password", &self.new_password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// What `POST /v1/login` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LoginReply {
    /// A session: the token, whose login and role, and when it expires.
    Session {
        token: String,
        login: String,
        role: crate::domain::Role,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// The password is one-time: log in again giving a new one.
    ChangeRequired,
}

async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> std::result::Result<Json<LoginReply>, ApiError> {
    let svc = state.svc.clone();
    let task = tokio::spawn(async move {
        svc.login(&req.login, &req.password, req.new_password.as_deref())
            .await
    });
    let outcome = task
        .await
        .map_err(|e| Error::System(format!("the login failed inside the server: {e}")))??;
    Ok(Json(match outcome {
        LoginOutcome::Session {
            token,
            actor,
            expires_at,
        } => LoginReply::Session {
            token,
            login: actor.login,
            role: actor.role,
            expires_at,
        },
        LoginOutcome::ChangeRequired => LoginReply::ChangeRequired,
    }))
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> std::result::Result<Json<serde_json::Value>, ApiError> {
    let Some(token) = bearer(&headers) else {
        return Err(Error::invalid("there is no session to log out of").into());
    };
    let ended = state.svc.logout(token).await?;
    Ok(Json(serde_json::json!({ "ended": ended })))
}
