//! `privacy` and `privacy mask ROLES`: which roles see customers masked.

use serde_json::json;

use super::print::print;
use super::{Format, PrivacyCommand};
use crate::desk::Desk;
use crate::domain::MaskPolicy;
use crate::error::{Error, Result};

pub async fn run(desk: &Desk, format: Format, command: Option<PrivacyCommand>) -> Result<()> {
    let Some(PrivacyCommand::Mask { roles }) = command else {
        return print_policy(format, &desk.mask_policy().await?, false);
    };
    let text = if roles.len() == 1 && roles[0].trim().eq_ignore_ascii_case("none") {
        String::new()
    } else {
        roles.join(",")
    };
    let policy =
        MaskPolicy::from_text(&text).map_err(|e| Error::invalid(format!("privacy mask: {e}")))?;
    desk.set_mask_policy(policy.clone()).await?;
    print_policy(format, &policy, true)
}

fn print_policy(format: Format, policy: &MaskPolicy, changed: bool) -> Result<()> {
    let roles: Vec<&str> = policy.roles().iter().map(|r| r.as_str()).collect();
    let who = if roles.is_empty() {
        "no role".to_string()
    } else {
        roles.join(", ")
    };
    let text = if changed {
        format!("customers are now masked for: {who} (in sessions opened from now on)\n")
    } else {
        format!("customers are masked for: {who}\n")
    };
    print(
        format,
        text,
        json!({"masked_roles": roles, "changed": changed}),
    )
}
