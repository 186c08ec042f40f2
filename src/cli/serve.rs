//! `serve`, `login` and `logout`: the server between the screens and the database, and the
//! sessions agents open with it.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;

use serde_json::json;

use super::print::print;
use super::session_file::{self, Kept};
use super::{Global, ServeArgs};
use crate::desk::Remote;
use crate::error::{Error, Result};
use crate::server::{Listen, LoginReply, LoginRequest};
use crate::service::OpenMode;
use crate::store::DbUrl;

/// Where a server listens when told nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

pub async fn serve(url: &DbUrl, args: ServeArgs) -> Result<()> {
    let tcp = match (&args.listen, &args.unix) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_LISTEN.to_string()),
    };
    let tcp = tcp
        .map(|a| {
            a.parse::<SocketAddr>().map_err(|_| {
                Error::invalid(format!(
                    "--listen \"{a}\" is not an address and port (for example 127.0.0.1:7878 or 0.0.0.0:7443)"
                ))
            })
        })
        .transpose()?;
    let listen = Listen {
        tcp,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        unix: args.unix.clone(),
    };
    // Refused before the database is even opened.
    crate::server::check(&listen)?;
    if let Some((cert, key)) = &listen.tls {
        crate::paths::check_readable("--tls-cert", cert)?;
        crate::paths::check_readable("--tls-key", key)?;
    }
    let svc = super::dispatch::open(url, OpenMode::Normal).await?;
    tracing::info!(db = %url.display(), "serving");
    let result = crate::server::serve(
        svc.clone(),
        listen,
        |addr| {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "caredesk serve: listening on {addr}");
            let _ = out.flush();
        },
        crate::server::shutdown_signal(),
    )
    .await;
    svc.close().await;
    result
}

fn server_of(g: &Global) -> Result<&str> {
    g.server
        .as_deref()
        .ok_or_else(|| Error::invalid("which server? give --server URL (or set CAREDESK_SERVER)"))
}

/// The password (and, for a one-time password, the new one) from standard input or asked on
/// the terminal without echo.
struct Secrets {
    lines: Option<Vec<String>>,
}

impl Secrets {
    fn new(from_stdin: bool) -> Result<Self> {
        if from_stdin {
            let mut lines = Vec::new();
            for line in std::io::stdin().lock().lines().take(2) {
                lines.push(line.map_err(|e| Error::io("cannot read standard input", e))?);
            }
            if lines.is_empty() {
                return Err(Error::invalid(
                    "--password-stdin: standard input holds no password",
                ));
            }
            return Ok(Self { lines: Some(lines) });
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::invalid(
                "there is no terminal to ask the password on; give it with --password-stdin",
            ));
        }
        Ok(Self { lines: None })
    }

    fn password(&self, prompt: &str) -> Result<String> {
        match &self.lines {
            Some(lines) => Ok(lines[0].clone()),
            None => rpassword::prompt_password(prompt)
                .map_err(|e| Error::io("cannot read the password", e)),
        }
    }

    fn new_password(&self) -> Result<String> {
        match &self.lines {
            Some(lines) => lines.get(1).cloned().ok_or_else(|| {
                Error::invalid(
                    "the password is one-time: give the new password on the second line of standard input",
                )
            }),
            None => {
                eprintln!("your password is one-time: choose a new one");
                let a = rpassword::prompt_password("new password: ")
                    .map_err(|e| Error::io("cannot read the password", e))?;
                let b = rpassword::prompt_password("the new password again: ")
                    .map_err(|e| Error::io("cannot read the password", e))?;
                if a != b {
                    return Err(Error::invalid("the two new passwords differ; nothing changed"));
                }
                Ok(a)
            }
        }
    }
}

pub async fn login(g: &Global, login: &str, password_stdin: bool) -> Result<()> {
    let server = server_of(g)?;
    let remote = Remote::new(server, None)?;
    let secrets = Secrets::new(password_stdin)?;
    let password = secrets.password(&format!("password for {login} at {server}: "))?;
    let mut req = LoginRequest {
        login: login.to_string(),
        password,
        new_password: None,
    };
    let mut reply: LoginReply = remote.post("/v1/login", &req).await?;
    if matches!(reply, LoginReply::ChangeRequired) {
        req.new_password = Some(secrets.new_password()?);
        reply = remote.post("/v1/login", &req).await?;
    }
    let LoginReply::Session {
        token,
        login,
        role,
        expires_at,
    } = reply
    else {
        return Err(Error::System(
            "the server asked for a new password twice".to_string(),
        ));
    };
    session_file::put(
        server,
        Kept {
            login: login.clone(),
            token,
            expires_at,
        },
    )?;
    let until = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    print(
        g.format,
        format!("logged in to {server} as {login} ({role}) until {until}\n"),
        json!({"server": server, "login": login, "role": role.as_str(), "expires_at": until, "changed_password": req.new_password.is_some()}),
    )
}

pub async fn logout(g: &Global) -> Result<()> {
    let server = server_of(g)?;
    let Some(kept) = session_file::forget(server)? else {
        return print(
            g.format,
            format!("not logged in to {server}; nothing to do\n"),
            json!({"server": server, "ended": false}),
        );
    };
    let remote = Remote::new(server, Some(kept.token))?;
    let answer: serde_json::Value = remote.post("/v1/logout", &json!({})).await?;
    let ended = answer["ended"].as_bool().unwrap_or(false);
    print(
        g.format,
        format!("logged out of {server} ({})\n", kept.login),
        json!({"server": server, "login": kept.login, "ended": ended}),
    )
}

/// The session kept for `server`, if any (its token goes with every call).
pub fn token_for(server: &str) -> Result<Option<String>> {
    Ok(session_file::get(server)?.map(|k| k.token))
}
