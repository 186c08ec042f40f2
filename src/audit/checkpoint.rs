//! Audit checkpoints: the chain's head exported outside the database, so that a chain which
//! is internally consistent but no longer the one that was there (its tail removed, or every
//! hash recomputed after an edit) is still caught.
//!
//! A checkpoint file is JSON Lines, one checkpoint per line, oldest first; `audit checkpoint
//! --out FILE` appends one (writing a new file beside it and renaming it into place, so the
//! file is never half-written) and `audit verify --checkpoint FILE` checks every line: the
//! record at the checkpoint's sequence number must still exist and carry the same hash.
//!
//! ```json
//! {"format":"caredesk-audit-checkpoint/1","seq":1234,"hash":"9f2c…","records":1234,
//!  "taken_at":"2009-10-14T16:00:00.000000Z","first_hash":"0a41…","database":"sqlite:/srv/caredesk.db"}
//! ```
//!
//! `first_hash`, the hash of record 1, names the chain and so the database it belongs to;
//! `database` is informational only (the same database can be reached by other URLs).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::domain;
use crate::error::{Error, Result};
use crate::store::AuditVerification;

/// The `format` of every checkpoint line this version writes and reads.
pub const FORMAT: &str = "caredesk-audit-checkpoint/1";

/// A checkpoint file is small (a line of some 300 bytes per checkpoint); anything larger than
/// this is not one.
const MAX_FILE_BYTES: usize = 16 << 20;

/// The head of the audit chain at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    /// Sequence number of the chain's last record (0 for an empty chain).
    pub seq: i64,
    /// That record's hash (the genesis hash for an empty chain).
    pub hash: String,
    /// Records in the chain.
    pub records: i64,
    pub taken_at: DateTime<Utc>,
    /// Hash of record 1: which chain, and so which database, the checkpoint belongs to.
    pub first_hash: Option<String>,
    /// The database as the taker named it (password hidden); informational.
    #[serde(default)]
    pub database: String,
}

impl Checkpoint {
    /// The checkpoint of a chain that verified.
    pub fn of(v: &AuditVerification, taken_at: DateTime<Utc>, database: String) -> Self {
        Self {
            format: FORMAT.to_string(),
            seq: v.head_seq,
            hash: v.head_hash.clone(),
            records: v.records,
            taken_at,
            first_hash: v.first_hash.clone(),
            database,
        }
    }

    /// The one line it takes in a checkpoint file (without the newline).
    pub fn to_line(&self) -> Result<String> {
        // A struct of strings and numbers always serializes; were it ever not to, no line is
        // better than an empty one.
        serde_json::to_string(self)
            .map_err(|e| Error::System(format!("cannot write the audit checkpoint as JSON: {e}")))
    }

    fn taken_at_text(&self) -> String {
        self.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// One checkpoint of a file and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub line: u64,
    pub checkpoint: Checkpoint,
}

/// A checkpoint the chain no longer holds, and why, as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Mismatch {
    pub line: u64,
    pub seq: i64,
    pub problem: String,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads a checkpoint file's lines (blank lines are skipped). An empty file has no
/// checkpoints; anything that is not a checkpoint is bad input naming its line.
pub fn parse(source: &str, data: &[u8]) -> Result<Vec<Entry>> {
    if data.len() > MAX_FILE_BYTES {
        return Err(Error::invalid(format!(
            "{source} is {} bytes, too large to be an audit checkpoint file",
            data.len()
        )));
    }
    let mut out = Vec::new();
    for (i, raw) in data.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let bad = |why: String| {
            Error::invalid(format!(
                "{source} line {line} is not a caredesk audit checkpoint: {why}"
            ))
        };
        let text = std::str::from_utf8(raw).map_err(|_| bad("it is not UTF-8 text".into()))?;
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        let c: Checkpoint = serde_json::from_str(text)
            .map_err(|e| bad(domain::sanitize(&e.to_string()).into_owned()))?;
        if c.format != FORMAT {
            return Err(bad(format!(
                "its format is \"{}\", not \"{FORMAT}\"",
                domain::sanitize(&c.format)
                    .chars()
                    .take(60)
                    .collect::<String>()
            )));
        }
        if c.seq < 0 || c.records < 0 {
            return Err(bad("seq and records cannot be negative".into()));
        }
        if !is_sha256_hex(&c.hash) {
            return Err(bad("hash is not 64 lowercase hexadecimal digits".into()));
        }
        match (&c.first_hash, c.seq) {
            (None, 0) => {}
            (Some(h), s) if s > 0 && is_sha256_hex(h) => {}
            _ => {
                return Err(bad(
                    "first_hash must be 64 lowercase hexadecimal digits when seq is above 0, and null when it is 0"
                        .into(),
                ));
            }
        }
        out.push(Entry {
            line,
            checkpoint: c,
        });
    }
    Ok(out)
}

/// Reads a checkpoint file; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES as u64 => {
            return Err(Error::invalid(format!(
                "{} is {} bytes, too large to be an audit checkpoint file",
                path.display(),
                m.len()
            )));
        }
        Ok(m) if m.is_dir() => {
            return Err(Error::invalid(format!(
                "{} is a directory, not an audit checkpoint file",
                path.display()
            )));
        }
        _ => {}
    }
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// Which checkpoints a chain no longer holds. `v` must have been verified with the
/// checkpoints' sequence numbers as anchors. In file order, so the oldest comes first.
pub fn mismatches(source: &str, entries: &[Entry], v: &AuditVerification) -> Vec<Mismatch> {
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let mut out = Vec::new();
    for e in entries {
        let c = &e.checkpoint;
        let at = format!("{source} line {} (taken {})", e.line, c.taken_at_text());
        let problem = if c.seq == 0 {
            None
        } else if v.last_seq < c.seq {
            Some(format!(
                "the audit log ends at seq {} but checkpoint {at} says {}: records were removed",
                v.last_seq, c.seq
            ))
        } else if v.first_hash.is_some() && v.first_hash != c.first_hash {
            Some(format!(
                "record 1 is not the one checkpoint {at} saw: the checkpoint was taken on another database, or the whole chain was rewritten"
            ))
        } else {
            match v.anchors.get(&c.seq) {
                None => Some(format!(
                    "record {} of checkpoint {at} is missing: records were removed",
                    c.seq
                )),
                Some(h) if *h != c.hash => Some(format!(
                    "record {} is not the one checkpoint {at} saw (hash {}… then, {}… now): the chain was rewritten after the checkpoint",
                    c.seq,
                    short(&c.hash),
                    short(h)
                )),
                Some(_) => None,
            }
        };
        if let Some(problem) = problem {
            out.push(Mismatch {
                line: e.line,
                seq: c.seq,
                problem,
            });
        }
    }
    out
}

/// Appends `c` to the checkpoint file at `path` (creating it), by writing the whole new file
/// beside it and renaming it into place: a reader never sees half a line, and a crash leaves
/// the old file. `existing` is the file's current content, already checked by [`parse`].
/// Two takers writing the same file at the same instant can lose one line; schedule them.
pub fn append(path: &Path, existing: Option<&[u8]>, c: &Checkpoint) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} names no file", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let line = c.to_line()?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let io =
        |what: &str, e: std::io::Error| Error::io(format!("cannot {what} {}", tmp.display()), e);
    let write = || -> Result<()> {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io("create", e))?;
        if let Some(old) = existing {
            f.write_all(old).map_err(|e| io("write", e))?;
            if !old.is_empty() && !old.ends_with(b"\n") {
                f.write_all(b"\n").map_err(|e| io("write", e))?;
            }
        }
        f.write_all(line.as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .map_err(|e| io("write", e))?;
        f.sync_all().map_err(|e| io("flush", e))?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot write {}", path.display()), e));
    }
    // The rename is durable once the directory is (best effort: not every platform can).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const H5: &str = "5555555555555555555555555555555555555555555555555555555555555555";
    const HX: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    fn chain(last: i64, first: &str, anchors: &[(i64, &str)]) -> AuditVerification {
        AuditVerification {
            records: last,
            head_seq: last,
            head_hash: H5.to_string(),
            last_seq: last,
            first_hash: (last > 0).then(|| first.to_string()),
            anchors: anchors
                .iter()
                .map(|(s, h)| (*s, h.to_string()))
                .collect::<BTreeMap<_, _>>(),
            first_bad: None,
        }
    }

    fn at(seq: i64, hash: &str) -> Entry {
        let mut c = Checkpoint::of(
            &chain(seq, H1, &[]),
            DateTime::from_timestamp(1_255_536_000, 0).expect("time"),
            "sqlite:x.db".into(),
        );
        c.hash = hash.to_string();
        Entry {
            line: 1,
            checkpoint: c,
        }
    }

    #[test]
    fn a_checkpoint_round_trips_through_its_line() {
        let e = at(5, H5);
        let parsed =
            parse("f", e.checkpoint.to_line().expect("serializes").as_bytes()).expect("parses");
        assert_eq!(parsed, vec![e]);
        assert!(parse("f", b"\n \n").expect("blank").is_empty());
    }

    #[test]
    fn anything_else_is_refused_with_its_line() {
        let good = at(5, H5).checkpoint.to_line().expect("serializes");
        for (data, why) in [
            ("{\"seq\": 1}".to_string(), "missing field"),
            ("not json".to_string(), "expected"),
            (good.replace(FORMAT, "other/1"), "format"),
            (good.replace(H5, "abc"), "hash"),
            (good.replace("\"seq\":5", "\"seq\":-5"), "negative"),
            (good.replace(H1, "ZZ"), "first_hash"),
        ] {
            let e =
                parse("f.jsonl", format!("{good}\n\n{data}\n").as_bytes()).expect_err("malformed");
            assert_eq!(e.exit_code(), 2);
            let msg = e.to_string();
            assert!(msg.starts_with("f.jsonl line 3 "), "{msg}");
            assert!(msg.contains(why), "{msg}");
        }
        let e = parse("f", b"\xff\xfe").expect_err("binary");
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }

    #[test]
    fn a_matching_chain_holds_every_checkpoint() {
        let v = chain(9, H1, &[(5, H5)]);
        assert!(mismatches("f", &[at(5, H5), at(0, crate::audit::GENESIS)], &v).is_empty());
    }

    #[test]
    fn a_shorter_chain_is_named_as_removed_records() {
        let m = mismatches("f", &[at(5, H5)], &chain(3, H1, &[]));
        assert_eq!(m.len(), 1);
        assert!(
            m[0].problem
                .starts_with("the audit log ends at seq 3 but checkpoint f line 1"),
            "{}",
            m[0].problem
        );
        assert!(m[0].problem.ends_with("says 5: records were removed"));
    }

    #[test]
    fn a_different_hash_is_named_as_a_rewritten_chain() {
        let m = mismatches("f", &[at(5, H5)], &chain(9, H1, &[(5, HX)]));
        assert!(
            m[0].problem.contains("rewritten after the checkpoint"),
            "{m:?}"
        );
        let m = mismatches("f", &[at(5, H5)], &chain(9, HX, &[(5, HX)]));
        assert!(m[0].problem.contains("another database"), "{m:?}");
        let m = mismatches("f", &[at(5, H5)], &chain(9, H1, &[]));
        assert!(m[0].problem.contains("is missing"), "{m:?}");
    }

    #[test]
    fn appending_keeps_earlier_lines_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cp.jsonl");
        append(&path, None, &at(1, H1).checkpoint).expect("first");
        let old = std::fs::read(&path).expect("read");
        append(&path, Some(&old), &at(5, H5).checkpoint).expect("second");
        let entries = parse("cp", &std::fs::read(&path).expect("read")).expect("parse");
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.line, e.checkpoint.seq))
                .collect::<Vec<_>>(),
            vec![(1, 1), (2, 5)]
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("cp.jsonl")]);
    }
}
