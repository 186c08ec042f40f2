//! Identity through a server: passwords (argon2id), one-time passwords a supervisor sets, and
//! sessions that expire and can be revoked. The server asks `session_login` on every call and
//! then resolves the agent afresh, so a disabled agent is stopped at the next call.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::Service;
use crate::domain::password::{self, PasswordRefusal};
use crate::domain::{self, Actor, Permission, Role};
use crate::error::{Error, Result};
use crate::with_store;

/// What a login gave.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Session {
        token: String,
        actor: Actor,
        expires_at: DateTime<Utc>,
    },
    /// The password is one-time: the agent must choose a new one to log in.
    ChangeRequired,
}

/// A session token's stored form.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How long sessions last: `CAREDESK_SESSION_SECONDS` when set (tests, short shifts), else
/// `domain::password::SESSION_HOURS`.
fn session_length() -> chrono::Duration {
    std::env::var("CAREDESK_SESSION_SECONDS")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .map(chrono::Duration::seconds)
        .unwrap_or_else(|| chrono::Duration::hours(password::SESSION_HOURS))
}

pub async fn hash_password(pw: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>())
            .map_err(|e| Error::System(format!("cannot salt the password: {e}")))?;
        argon2::Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::System(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| Error::System(format!("the password hash failed: {e}")))?
}

async fn verify_password(pw: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(pw.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash no password matches in practice, checked where there is no real one so that every
/// refused login costs the same argon2 work.
async fn decoy_hash() -> Result<String> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_try_init(|| async {
            let mut decoy = [0u8; 32];
            rand::rng().fill(&mut decoy);
            hash_password(hex::encode(decoy)).await
        })
        .await
        .cloned()
}

impl Service {
    /// Checks a login and password and opens a session. A wrong password (or an unknown login:
    /// the answer is the same) is audited, counted, and slowed; a one-time password asks for a
    /// new one first.
    pub async fn login(
        &self,
        login: &str,
        pw: &str,
        new_password: Option<&str>,
    ) -> Result<LoginOutcome> {
        let login = login.trim();
        let creds = if super::validate_login(login).is_ok() {
            with_store!(&self.store, s => s.credentials(login).await)?
        } else {
            None
        };
        let Some(creds) = creds else {
            // Nobody of that name: the same answer after the same work as a wrong password
            // (a hash checked), not audited (the chain names agents, and the login typed may
            // be anything, a password included).
            verify_password(pw.to_string(), decoy_hash().await?).await;
            return Err(PasswordRefusal::Wrong.into());
        };
        let actor = Actor {
            login: creds.login.clone(),
            role: creds.role,
        };
        tokio::time::sleep(password::login_delay(creds.failed_logins)).await;
        let ok = match &creds.password_hash {
            Some(h) => verify_password(pw.to_string(), h.clone()).await,
            // No password set yet: the same work as a wrong one, so time tells nothing.
            None => {
                verify_password(pw.to_string(), decoy_hash().await?).await;
                false
            }
        };
        if !ok {
            let reason = if creds.password_hash.is_some() {
                "wrong password"
            } else {
                "no password set"
            };
            if creds.active {
                let failures = with_store!(&self.store, s => s.login_failed(&actor, reason, self.now()).await)?;
                tokio::time::sleep(password::login_delay(failures).min(Duration::from_secs(2)))
                    .await;
            }
            return Err(PasswordRefusal::Wrong.into());
        }
        // The password is right: a disabled agent is told so.
        let actor = self.actor_for(&creds.login).await?;
        let new_hash = match (creds.one_time, new_password) {
            (true, None) => return Ok(LoginOutcome::ChangeRequired),
            (true, Some(new)) => {
                password::check_new_password(&actor.login, pw, new)?;
                Some(hash_password(new.to_string()).await?)
            }
            (false, _) => None,
        };
        let token = hex::encode(rand::rng().random::<[u8; 32]>());
        let now = self.now();
        let expires_at = now + session_length();
        with_store!(&self.store, s => s.start_session(&actor, &token_hash(&token), new_hash.as_deref(), expires_at, now).await)?;
        Ok(LoginOutcome::Session {
            token,
            actor,
            expires_at,
        })
    }

    /// The login of a session that is open now.
    pub async fn session_login(&self, token: &str) -> Result<String> {
        let row = with_store!(&self.store, s => s.session(&token_hash(token)).await)?;
        if let Some(s) = &row
            && (s.revoked_at.is_some() || s.expires_at <= self.now())
        {
            // An agent disabled since (which ended the session) is told that, not only that
            // the session ended.
            self.actor_for(&s.login).await?;
        }
        match row {
            None => Err(Error::refused(
                "this server does not know your session; run `caredesk login LOGIN --server URL` again",
            )),
            Some(s) if s.revoked_at.is_some() => Err(Error::refused(format!(
                "your session as \"{}\" was ended (logged out, password reset or login disabled); run `caredesk login {} --server URL` again",
                s.login, s.login
            ))),
            Some(s) if s.expires_at <= self.now() => Err(Error::refused(format!(
                "your session as \"{}\" expired at {}; run `caredesk login {} --server URL` again",
                s.login,
                s.expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                s.login
            ))),
            Some(s) => Ok(s.login),
        }
    }

    /// Ends a session; false when it had already ended.
    pub async fn logout(&self, token: &str) -> Result<bool> {
        let hash = token_hash(token);
        let Some(row) = with_store!(&self.store, s => s.session(&hash).await)? else {
            return Ok(false);
        };
        let role = with_store!(&self.store, s => s.agent(&row.login).await)?
            .map(|a| a.role)
            .unwrap_or(Role::Agent);
        let actor = Actor {
            login: row.login,
            role,
        };
        with_store!(&self.store, s => s.end_session(&actor, &hash, self.now()).await)
    }

    /// A supervisor gives `login` a new one-time password (shown once, never stored) and ends
    /// its sessions.
    pub async fn reset_password(&self, actor: &Actor, login: &str) -> Result<String> {
        Self::require(actor, Permission::ResetPassword)?;
        if login == actor.login {
            return Err(Error::refused(
                "you cannot reset your own password this way; ask another supervisor",
            ));
        }
        let otp = {
            let mut rng = rand::rng();
            password::one_time_password(|n| rng.random_range(0..n))
        };
        let hash = hash_password(otp.clone()).await?;
        let login = domain::sanitize(login).into_owned();
        with_store!(&self.store, s => s.set_one_time_password(actor, &login, &hash, self.now()).await)?;
        Ok(otp)
    }
}
