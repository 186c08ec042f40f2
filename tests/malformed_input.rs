//! Malformed files through the real binary: truncated UTF-8, NUL bytes,
//! UTF-16, a 10 MB single line, a wrong header, deeply nested JSON, random bytes, an empty
//! file. Each import (`import accounts|impact|backups`) and batch run (`credit run --apply
//! --accounts`) ends with exit 2, one sentence on stderr naming the file, nothing on stdout,
//! and nothing written: every table's row count and the audit chain are unchanged.

mod common;

use std::path::Path;

use common::TestDb;

/// Row counts of every table a command could write, and the audit chain's head.
fn state(path: &Path) -> Vec<(String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
            .await
            .expect("open");
        let mut out = Vec::new();
        for sql in [
            "SELECT COUNT(*) FROM agents",
            "SELECT COUNT(*) FROM incidents",
            "SELECT COUNT(*) FROM accounts",
            "SELECT COUNT(*) FROM plans",
            "SELECT COUNT(*) FROM impact",
            "SELECT COUNT(*) FROM backups",
            "SELECT COUNT(*) FROM backup_categories",
            "SELECT COUNT(*) FROM backup_items",
            "SELECT COUNT(*) FROM live_items",
            "SELECT COUNT(*) FROM batch_runs",
            "SELECT COUNT(*) FROM credits",
            "SELECT COUNT(*) FROM credit_requests",
            "SELECT COUNT(*) FROM restores",
            "SELECT COUNT(*) FROM notes",
            "SELECT COUNT(*) FROM audit",
            "SELECT COUNT(*) FROM meta",
        ] {
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut c)
                .await
                .expect("count");
            out.push((sql.to_string(), n.to_string()));
        }
        let head: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head")
            .fetch_one(&mut c)
            .await
            .expect("head");
        out.push(("audit_head".into(), format!("{} {}", head.0, head.1)));
        out
    })
}

const ACCOUNTS_HEADER: &str = "account_no,msisdn,name,email,status,plan_code,plan_cents\n";
const IMPACT_HEADER: &str = "account_no,incident,category,server_lost,device_state,items_before\n";

fn deep_json(depth: usize) -> Vec<u8> {
    format!(
        "{{\"id\":\"s-1\",\"account_no\":\"310000001\",\"taken_at\":\"2009-10-01\",\"items\":[{{\"category\":\"contacts\",\"uid\":\"c\",\"content_hash\":\"x\",\"payload\":{{\"a\":{}{}}}}}]}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

/// (name, what to run it through, content, a piece of the expected message).
fn cases() -> Vec<(&'static str, &'static str, Vec<u8>, &'static str)> {
    let row = "310000001,2065550123,Ann Lee,,active,SK-DATA,1999\n";
    let ten_mb = "x".repeat(10 << 20);
    let mut random = Vec::with_capacity(4096);
    let mut x: u32 = 2009;
    for _ in 0..4096 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        random.push((x >> 16) as u8);
    }
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            format!("{ACCOUNTS_HEADER}{row}")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    vec![
        (
            "truncated-utf8",
            "accounts",
            format!("{ACCOUNTS_HEADER}310000001,2065550123,Jos\u{e9}")
                .into_bytes()
                .split_last()
                .map(|(_, rest)| rest.to_vec())
                .unwrap_or_default(),
            "line 2: field 3 is not UTF-8 text",
        ),
        (
            "nul-bytes",
            "accounts",
            format!("{ACCOUNTS_HEADER}310000001,2065550123,An\0n,,active,SK,1999\n").into_bytes(),
            "line 2 holds a NUL byte",
        ),
        ("utf16", "accounts", utf16, "is UTF-16 text"),
        (
            "one-10mb-line",
            "accounts",
            ten_mb.clone().into_bytes(),
            "holds no rows",
        ),
        (
            "10mb-name",
            "accounts",
            format!("{ACCOUNTS_HEADER}310000001,2065550123,{ten_mb},,active,SK,1999\n")
                .into_bytes(),
            "line 2: the name is 10485760 characters long",
        ),
        (
            "wrong-header",
            "accounts",
            b"name,phone,mail\nAnn,2065550123,a@example.com\n".to_vec(),
            // `phone` is a spelling of msisdn; `mail` is no spelling of email.
            "the header lacks the column(s) account_no, email, status",
        ),
        ("empty", "accounts", Vec::new(), "holds no rows"),
        ("random-bytes", "accounts", random.clone(), "not"),
        (
            "impact-wrong-header",
            "impact",
            b"account_no,category\n310000001,contacts\n".to_vec(),
            "the header lacks the column(s) incident",
        ),
        (
            "impact-truncated-utf8",
            "impact",
            format!("{IMPACT_HEADER}310000001,danger-2009-10,contacts,true,wiped,3\n310000002,danger\u{2013}")
                .into_bytes()
                .split_last()
                .map(|(_, rest)| rest.to_vec())
                .unwrap_or_default(),
            "line 3: field 2 is not UTF-8 text",
        ),
        (
            "deep-json",
            "backups",
            deep_json(100_000),
            "line 1: the JSON is nested more than 128 levels deep",
        ),
        (
            "truncated-json",
            "backups",
            b"{\"id\":\"s-1\",\"account_no\":\"310000001\",\"taken_at\":\"2009-10".to_vec(),
            "line 1: not valid JSON (it ends too soon",
        ),
        (
            "json-truncated-utf8",
            "backups",
            b"{\"id\":\"s-1\"}\n{\"id\":\"Jos\xc3".to_vec(),
            "line 2 is not UTF-8 text",
        ),
        (
            "json-nul",
            "backups",
            b"{\"id\":\"s-1\",\0}\n".to_vec(),
            "line 1 holds a NUL byte",
        ),
        (
            "json-10mb-line",
            "backups",
            format!("{{\"id\":\"{ten_mb}\"}}").into_bytes(),
            "line 1: the id",
        ),
        ("json-random", "backups", random.clone(), "not"),
        (
            "batch-wrong-header",
            "run",
            b"name\nAnn\n".to_vec(),
            "neither an account_no nor an msisdn column",
        ),
        (
            "batch-nul",
            "run",
            b"account_no\n310000001\n3100\x000002\n".to_vec(),
            "line 3 holds a NUL byte",
        ),
        (
            "batch-truncated-utf8",
            "run",
            b"account_no\n310000001\n31000000\xe2\x80".to_vec(),
            "line 3: field 1 is not UTF-8 text",
        ),
        ("batch-10mb-line", "run", ten_mb.into_bytes(), "holds no rows"),
        ("batch-random", "run", random, "not"),
    ]
}

#[test]
fn malformed_files_are_bad_input_that_writes_nothing() {
    let d = TestDb::sqlite_demo(30, Some("sofia"));
    let before = state(d.sqlite_path());
    for (name, via, data, why) in cases() {
        let file = d.dir().join(format!("{name}.in"));
        std::fs::write(&file, &data).expect("write");
        let mut cmd = d.cli();
        match via {
            "run" => cmd
                .args(["credit", "run", "--apply", "--accounts"])
                .arg(&file),
            what => cmd.args(["import", what]).arg(&file),
        };
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: stdout {:?}", out.stdout);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: one sentence: {err}");
        assert!(
            lines[0].starts_with(&format!("caredesk: {}", file.display())),
            "{name}: names the file: {err}"
        );
        assert!(lines[0].contains(why), "{name}: {err}");
        assert!(lines[0].len() < 400, "{name}: {} bytes", lines[0].len());
        assert_eq!(state(d.sqlite_path()), before, "{name}: nothing written");
    }
    // The database is as good as before.
    let out = d.cli().args(["audit", "verify"]).output().expect("verify");
    assert!(out.status.success());
}
