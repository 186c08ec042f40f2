//! Items of a customer's data (contacts, calendar entries, …): their content hash and the
//! natural key that decides whether a backup item and a live item are "the same thing".
//!
//! Natural keys, per category (docs/commands.md, "Rules the commands keep"):
//! - contacts: the phone's digits (country code included), else the lowercased e-mail, else
//!   the normalized name;
//! - calendar: normalized title and start time;
//! - notes: normalized title;
//! - tasks: normalized title and due date;
//! - photos: file name (lowercased) and the time it was taken;
//! - email: sender (lowercased), date and normalized subject.
//!
//! Two items with the same key and different content hashes are a conflict.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Category;
use super::phone::normalize_msisdn;
use super::text::{normalize_email, normalize_name};

/// SHA-256 (hex) of the payload's canonical JSON: objects with sorted keys, no spaces.
pub fn content_hash(payload: &Value) -> String {
    // serde_json's default map is ordered by key, so serialising is already canonical.
    hex_encode(&Sha256::digest(payload.to_string().as_bytes()))
}

fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

fn field<'a>(payload: &'a Value, name: &str) -> &'a str {
    payload.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The category's natural key of `payload` (see the module comment).
pub fn natural_key(category: Category, payload: &Value) -> String {
    match category {
        Category::Contacts => {
            let phone = field(payload, "phone");
            if let Ok(m) = normalize_msisdn(phone) {
                return format!("tel:{}", m.digits());
            }
            let email = normalize_email(field(payload, "email"));
            if !email.is_empty() {
                return format!("mail:{email}");
            }
            format!("name:{}", normalize_name(field(payload, "name")))
        }
        Category::Calendar => format!(
            "{}|{}",
            normalize_name(field(payload, "title")),
            field(payload, "start")
        ),
        Category::Notes => normalize_name(field(payload, "title")),
        Category::Tasks => format!(
            "{}|{}",
            normalize_name(field(payload, "title")),
            field(payload, "due")
        ),
        Category::Photos => format!(
            "{}|{}",
            field(payload, "filename").to_lowercase(),
            field(payload, "taken_at")
        ),
        Category::Email => format!(
            "{}|{}|{}",
            normalize_email(field(payload, "from")),
            field(payload, "date"),
            normalize_name(field(payload, "subject"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contacts_match_by_phone_digits_whatever_the_format() {
        let a = json!({"name": "Ann", "phone": "(206) 555-0123"});
        let b = json!({"name": "Ann Lee", "phone": "+1 206 555 0123"});
        assert_eq!(
            natural_key(Category::Contacts, &a),
            natural_key(Category::Contacts, &b)
        );
        assert_ne!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn contacts_without_phone_fall_back_to_email_then_name() {
        let a = json!({"name": "Ann", "email": "ANN@x.org"});
        assert_eq!(natural_key(Category::Contacts, &a), "mail:ann@x.org");
        let b = json!({"name": "  Ann   LEE "});
        assert_eq!(natural_key(Category::Contacts, &b), "name:ann lee");
    }

    #[test]
    fn the_content_hash_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":2}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"b":2,"a":1}"#).expect("json");
        assert_eq!(content_hash(&a), content_hash(&b));
    }
}
