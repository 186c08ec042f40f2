//! `import backups`: JSON Lines, one snapshot per line with its items. Each item's payload is
//! checked against its content hash here, and the snapshot's checksum against its items, so
//! the store records which items (and snapshots) can be trusted. A malformed line is bad input
//! (reported with its line number; nothing is imported); an item that does not match its hash
//! is not: it is recorded as bad, and a snapshot whose items all fail, or whose checksum does
//! not match its items, is recorded as corrupt and can never be restored from.
//!
//! A line: `{"id", "account_no", "taken_at", "source"?, "checksum"?, "items": [{"category",
//! "uid", "payload", "content_hash"}]}`, or, for a snapshot whose items are not available yet,
//! `"manifest": {"contacts": 300, …}` instead of `items`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Chunks, Problems, parse_time};
use crate::domain::items::content_hash;
use crate::domain::{self, Category};
use crate::error::{Error, Result};
use crate::store::{NewBackup, NewBackupItem};

const MAX_ID_CHARS: usize = 128;
const MAX_UID_CHARS: usize = 200;
const MAX_HASH_CHARS: usize = 128;

/// SHA-256 (hex) over the items' content hashes in file order: what a snapshot's checksum is.
pub fn snapshot_checksum<'a>(hashes: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for s in hashes {
        h.update(s.as_bytes());
    }
    hex::encode(h.finalize())
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= MAX_ID_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

fn text<'a>(o: &'a Map<String, Value>, field: &str) -> std::result::Result<&'a str, String> {
    match o.get(field) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(format!("\"{field}\" is not text")),
        None => Err(format!("\"{field}\" is missing")),
    }
}

fn snippet(s: &str) -> String {
    domain::sanitize(s).chars().take(40).collect()
}

/// Reads one line into a snapshot, or says what is wrong with it.
fn snapshot(line: u64, v: Value) -> std::result::Result<NewBackup, String> {
    let Value::Object(o) = v else {
        return Err("the line is not a JSON object".to_string());
    };
    for key in o.keys() {
        if !matches!(
            key.as_str(),
            "id" | "account_no" | "taken_at" | "source" | "checksum" | "items" | "manifest"
        ) {
            return Err(format!("unknown field \"{}\"", snippet(key)));
        }
    }
    let id = text(&o, "id")?.trim();
    if !is_id(id) {
        return Err(format!(
            "the id \"{}\" is not 1 to {MAX_ID_CHARS} letters, digits, '.', '_', ':' or '-'",
            snippet(id)
        ));
    }
    let account_no = match o.get("account_no") {
        Some(Value::Number(n)) => n.to_string(),
        _ => text(&o, "account_no")?.trim().to_string(),
    };
    if !domain::is_account_no(&account_no) {
        return Err(format!(
            "account_no \"{}\" is not 6 to 12 digits",
            snippet(&account_no)
        ));
    }
    let taken = text(&o, "taken_at")?;
    let taken_at = parse_time(taken).ok_or_else(|| {
        format!(
            "taken_at \"{}\" is not a time (RFC 3339 or YYYY-MM-DD)",
            snippet(taken)
        )
    })?;
    let source = match o.get("source") {
        None | Some(Value::Null) => "import".to_string(),
        Some(_) => {
            let s = domain::sanitize(text(&o, "source")?.trim()).into_owned();
            if s.is_empty() || s.chars().count() > 100 {
                return Err("source is empty or longer than 100 characters".to_string());
            }
            s
        }
    };
    let checksum = match o.get("checksum") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let c = text(&o, "checksum")?.trim().to_ascii_lowercase();
            if c.len() != 64 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("checksum is not 64 hexadecimal digits (SHA-256)".to_string());
            }
            Some(c)
        }
    };
    let items = match o.get("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err("\"items\" is not a list".to_string()),
    };
    let manifest = match o.get("manifest") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err("\"manifest\" is not an object of item counts".to_string()),
    };
    let mut b = NewBackup {
        line,
        id: id.to_string(),
        account_no,
        taken_at,
        source,
        checksum: String::new(),
        verification: String::new(),
        categories: Vec::new(),
        items: Vec::new(),
    };
    if items.is_empty() {
        let Some(m) = manifest else {
            return Err("the snapshot has neither items nor a manifest".to_string());
        };
        let mut counts: BTreeMap<Category, i64> = BTreeMap::new();
        for (k, v) in m {
            let c: Category = k.parse().map_err(|e| format!("manifest: {e}"))?;
            let n = v
                .as_i64()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("manifest: {c} is not a count of items"))?;
            counts.insert(c, n);
        }
        b.categories = counts.into_iter().map(|(c, n)| (c, n, 0)).collect();
        b.verification = "manifest".to_string();
        b.checksum = checksum.unwrap_or_else(|| {
            snapshot_checksum([id, &Value::Object(m.clone()).to_string()].iter().copied())
        });
        return Ok(b);
    }
    if manifest.is_some() {
        return Err("the snapshot has both items and a manifest; give one".to_string());
    }
    let mut seen: HashSet<(Category, String)> = HashSet::new();
    let mut per: BTreeMap<Category, (i64, i64)> = BTreeMap::new();
    for (n, item) in items.into_iter().enumerate() {
        let at = |msg: String| format!("item {}: {msg}", n + 1);
        let Value::Object(i) = item else {
            return Err(at("not a JSON object".to_string()));
        };
        for key in i.keys() {
            if !matches!(
                key.as_str(),
                "category" | "uid" | "payload" | "content_hash"
            ) {
                return Err(at(format!("unknown field \"{}\"", snippet(key))));
            }
        }
        let category: Category = text(&i, "category")
            .map_err(&at)?
            .parse()
            .map_err(|e| at(format!("{e}")))?;
        let uid = text(&i, "uid").map_err(&at)?.trim();
        if uid.is_empty() || uid.chars().count() > MAX_UID_CHARS || domain::sanitize(uid) != uid {
            return Err(at(format!(
                "uid \"{}\" is empty, longer than {MAX_UID_CHARS} characters or holds control characters",
                snippet(uid)
            )));
        }
        if !seen.insert((category, uid.to_string())) {
            return Err(at(format!(
                "{category} uid \"{}\" appears twice",
                snippet(uid)
            )));
        }
        let payload = match i.get("payload") {
            Some(p @ Value::Object(_)) => p,
            Some(_) => return Err(at("the payload is not a JSON object".to_string())),
            None => return Err(at("\"payload\" is missing".to_string())),
        };
        let given = text(&i, "content_hash").map_err(&at)?.trim();
        if given.is_empty() || given.len() > MAX_HASH_CHARS {
            return Err(at("content_hash is empty or too long".to_string()));
        }
        let hash_ok = content_hash(payload) == given;
        let e = per.entry(category).or_default();
        e.0 += 1;
        if !hash_ok {
            e.1 += 1;
        }
        b.items.push(NewBackupItem {
            category,
            uid: uid.to_string(),
            payload: payload.to_string(),
            content_hash: given.to_string(),
            hash_ok,
        });
    }
    let computed = snapshot_checksum(b.items.iter().map(|i| i.content_hash.as_str()));
    let bad: i64 = per.values().map(|(_, bad)| bad).sum();
    let total = b.items.len() as i64;
    b.verification = if checksum.as_deref().is_some_and(|c| c != computed) || bad == total {
        "corrupt"
    } else if bad > 0 {
        "partial"
    } else {
        "verified"
    }
    .to_string();
    b.checksum = checksum.unwrap_or(computed);
    b.categories = per.into_iter().map(|(c, (n, bad))| (c, n, bad)).collect();
    Ok(b)
}

/// Reads a backups file: every bad line is reported with its number and nothing is returned
/// while any line is bad.
pub fn parse_backups(source: &str, data: &[u8]) -> Result<Vec<NewBackup>> {
    let mut out = Vec::new();
    parse_backups_chunks(source, data, usize::MAX, &mut |rows| {
        out.extend(rows);
        true
    })?;
    Ok(out)
}

/// `parse_backups` handing the snapshots on in chunks of `chunk` while the file is good (see
/// `parse_accounts_chunks`).
pub fn parse_backups_chunks(
    source: &str,
    data: &[u8],
    chunk: usize,
    emit: &mut dyn FnMut(Vec<NewBackup>) -> bool,
) -> Result<()> {
    super::require_text(source, data, "JSON Lines")?;
    let text = std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Error::invalid(format!(
            "{source} line {line} is not UTF-8 text (save the file as UTF-8)"
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Problems::new(source);
    let mut ids: HashSet<String> = HashSet::new();
    let mut out = Chunks::new(chunk, emit);
    let mut snapshots = 0usize;
    for (n, raw) in text.lines().enumerate() {
        if !out.wanted() {
            return Ok(());
        }
        let line = n as u64 + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                problems.add(line, "the JSON is nested more than 128 levels deep");
                continue;
            }
            Err(e) => {
                problems.add(
                    line,
                    format!(
                        "not valid JSON ({} at column {})",
                        e.classify_text(),
                        e.column()
                    ),
                );
                continue;
            }
        };
        match snapshot(line, v) {
            Ok(b) => {
                if !ids.insert(b.id.clone()) {
                    problems.add(line, format!("the backup {} appears twice", b.id));
                    continue;
                }
                snapshots += 1;
                out.push(b, &problems);
            }
            Err(msg) => problems.add(line, msg),
        }
    }
    if problems.count == 0 && snapshots == 0 {
        return Err(Error::invalid(format!("{source} holds no snapshots")));
    }
    out.finish(problems)
}

trait ClassifyText {
    fn classify_text(&self) -> &'static str;
}

impl ClassifyText for serde_json::Error {
    fn classify_text(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "it ends too soon",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(items: Value) -> String {
        json!({"id": "snap-1", "account_no": "410000001", "taken_at": "2009-10-01T03:00:00Z", "items": items}).to_string()
    }

    fn item(uid: &str, payload: Value) -> Value {
        json!({"category": "contacts", "uid": uid, "content_hash": content_hash(&payload), "payload": payload})
    }

    #[test]
    fn items_matching_their_hashes_make_a_verified_snapshot() {
        let data = line(json!([
            item("c-1", json!({"name": "Ann", "phone": "+12065550101"})),
            item("c-2", json!({"name": "Bo", "phone": "+12065550102"}))
        ]));
        let b = parse_backups("b.jsonl", data.as_bytes()).expect("valid");
        assert_eq!(b[0].verification, "verified");
        assert_eq!(b[0].categories, [(Category::Contacts, 2, 0)]);
        assert!(b[0].items.iter().all(|i| i.hash_ok));
    }

    #[test]
    fn an_item_that_does_not_match_its_hash_makes_the_snapshot_partial() {
        let mut bad = item("c-2", json!({"name": "Bo"}));
        bad["payload"]["name"] = json!("Bob");
        let data = line(json!([item("c-1", json!({"name": "Ann"})), bad]));
        let b = parse_backups("b.jsonl", data.as_bytes()).expect("valid");
        assert_eq!(b[0].verification, "partial");
        assert_eq!(b[0].categories, [(Category::Contacts, 2, 1)]);
    }

    #[test]
    fn a_snapshot_whose_items_all_fail_or_whose_checksum_differs_is_corrupt() {
        let mut bad = item("c-1", json!({"name": "Ann"}));
        bad["content_hash"] = json!("0".repeat(64));
        let b = parse_backups("b.jsonl", line(json!([bad])).as_bytes()).expect("valid");
        assert_eq!(b[0].verification, "corrupt");

        let mut v: Value =
            serde_json::from_str(&line(json!([item("c-1", json!({"name": "Ann"}))])))
                .expect("json");
        v["checksum"] = json!("a".repeat(64));
        let b = parse_backups("b.jsonl", v.to_string().as_bytes()).expect("valid");
        assert_eq!(b[0].verification, "corrupt");
    }

    #[test]
    fn a_manifest_without_items_is_recorded_as_a_manifest() {
        let data = json!({"id": "snap-2", "account_no": "410000002", "taken_at": "2009-10-01", "manifest": {"contacts": 85}}).to_string();
        let b = parse_backups("b.jsonl", data.as_bytes()).expect("valid");
        assert_eq!(b[0].verification, "manifest");
        assert_eq!(b[0].categories, [(Category::Contacts, 85, 0)]);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number_and_nothing_is_returned() {
        let good = line(json!([item("c-1", json!({"name": "Ann"}))]));
        let data = format!(
            "{good}\n{{not json\n\n{}\n{}\n{good}\n",
            json!({"id": "x", "account_no": "12", "taken_at": "2009-10-01", "items": []}),
            line(json!([{"category": "music", "uid": "m", "payload": {}, "content_hash": "x"}])),
        );
        let err = parse_backups("b.jsonl", data.as_bytes())
            .expect_err("bad lines")
            .to_string();
        assert!(err.contains("b.jsonl line 2: not valid JSON"), "{err}");
        assert!(err.contains("b.jsonl line 4: account_no \"12\""), "{err}");
        assert!(
            err.contains("b.jsonl line 5: item 1: \"music\" is not a category"),
            "{err}"
        );
        assert!(
            err.contains("b.jsonl line 6: the backup snap-1 appears twice"),
            "{err}"
        );
        assert!(err.contains("nothing was imported"), "{err}");
    }

    #[test]
    fn the_checksum_is_the_hash_of_the_item_hashes_in_order() {
        let items = json!([
            item("c-1", json!({"name": "Ann"})),
            item("c-2", json!({"name": "Bo"}))
        ]);
        let b = parse_backups("b.jsonl", line(items.clone()).as_bytes()).expect("valid");
        let hashes: Vec<&str> = items
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["content_hash"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(b[0].checksum, snapshot_checksum(hashes));
    }
}
