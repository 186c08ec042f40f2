//! What a role configured to see less is shown of a customer: the account number and status
//! in full, the name as initials, the e-mail's first letter and domain, the phone number's last
//! four digits. Which roles see less is the database's policy (`caredesk privacy mask`); by
//! default auditors do, since they review records rather than talk to customers.

use super::phone::mask_phone_text;
use super::role::Role;

/// The roles that see masked lists and details unless they ask to reveal (which is audited).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaskPolicy {
    roles: Vec<Role>,
}

impl Default for MaskPolicy {
    fn default() -> Self {
        Self {
            roles: vec![Role::Auditor],
        }
    }
}

impl MaskPolicy {
    pub fn new(mut roles: Vec<Role>) -> Self {
        roles.sort_by_key(|r| Role::ALL.iter().position(|x| x == r));
        roles.dedup();
        Self { roles }
    }

    pub fn masks(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The stored form: role names separated by commas ("" for none).
    pub fn to_text(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form; an unknown role name is an error.
    pub fn from_text(s: &str) -> Result<Self, super::UnknownValue> {
        let roles = s
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::parse::<Role>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(roles))
    }
}

/// Initials: "María José Núñez" → "M. J. N.".
pub fn mask_name(name: &str) -> String {
    let initials: Vec<String> = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .map(|c| format!("{c}."))
        .collect();
    if initials.is_empty() {
        "…".to_string()
    } else {
        initials.join(" ")
    }
}

/// The first letter and the domain: "maria.rossi@example.com" → "m…@example.com".
pub fn mask_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None if email.is_empty() => String::new(),
        None => "…".to_string(),
    }
}

/// The last four digits: "+12065550123" → "…0123".
pub fn mask_msisdn(msisdn: &str) -> String {
    mask_phone_text(msisdn)
}

/// Hides every password in `s`: the one of any `scheme://user:password@host`, and any
/// `password=…` parameter (`?password=…`, `&password=…`, or libpq's `password=…` keyword).
pub fn redact_url(s: &str) -> String {
    redact_password_params(&redact_userinfo(s))
}

fn redact_password_params(s: &str) -> String {
    const KEY: &str = "password=";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.to_ascii_lowercase().find(KEY) {
        let (head, tail) = rest.split_at(i + KEY.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '&' | '"' | '\'' | ';'))
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_fields_keep_only_what_identifies_the_call_not_the_customer() {
        assert_eq!(mask_name("María José Núñez"), "M. J. N.");
        assert_eq!(mask_name("  "), "…");
        assert_eq!(mask_email("maria.rossi@example.com"), "m…@example.com");
        assert_eq!(mask_email(""), "");
        assert_eq!(mask_email("no-at-sign"), "…");
        assert_eq!(mask_msisdn("+12065550123"), "…0123");
    }

    #[test]
    fn the_policy_reads_what_it_writes_and_refuses_unknown_roles() {
        assert!(MaskPolicy::default().masks(Role::Auditor));
        assert!(!MaskPolicy::default().masks(Role::Agent));
        let p = MaskPolicy::from_text("auditor, agent,agent").expect("valid");
        assert_eq!(p.to_text(), "agent,auditor");
        assert_eq!(MaskPolicy::from_text("").expect("none").roles(), &[]);
        assert!(MaskPolicy::from_text("agent,boss").is_err());
    }

    #[test]
    fn no_password_survives_redaction() {
        for (given, want) in [
            (
                "postgres://ops:s3cret@db.example:5432/caredesk",
                "postgres://ops:***@db.example:5432/caredesk",
            ),
            (
                "postgres://ops@db/caredesk?sslmode=require&password=s3cret",
                "postgres://ops@db/caredesk?sslmode=require&password=***",
            ),
            (
                "host=db user=ops PASSWORD=s3cret dbname=caredesk",
                "host=db user=ops PASSWORD=*** dbname=caredesk",
            ),
            (
                "cannot connect to postgres://a:b:c@h/d: refused",
                "cannot connect to postgres://a:***@h/d: refused",
            ),
            ("sqlite:/var/lib/caredesk.db", "sqlite:/var/lib/caredesk.db"),
        ] {
            assert_eq!(redact_url(given), want);
            assert!(!redact_url(given).contains("s3cret"));
        }
    }
}
