//! No input crashes caredesk: property tests over every parser that reads
//! what people and files give it. proptest is the fuzzer here (cargo-fuzz needs a nightly
//! compiler): arbitrary strings and bytes, and arbitrary mutations of valid files, must never
//! panic; they parse, or fail as bad input (exit 2) with a message naming the file and, for a
//! bad row, its line.
//!
//! Each property runs a few hundred cases so `cargo test` stays fast. Run more with
//!
//!     PROPTEST_CASES=100000 cargo test --release --test input_properties
//!
//! A failing case is shrunk to a minimal input and saved under
//! `proptest-regressions/input_properties.txt`, which later runs replay first.
//!
//! Parsers covered: `normalize_msisdn` (phone numbers), `parse_accounts` and `parse_impact`
//! (`import accounts|impact`), `parse_backups` (`import backups`, JSON Lines) and
//! `parse_batch_accounts` (`credit run --accounts`).

use caredesk::domain::{self, normalize_msisdn};
use caredesk::import::{parse_accounts, parse_backups, parse_batch_accounts, parse_impact};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` unless PROPTEST_CASES says otherwise.
fn cases(cases: u32) -> Config {
    let mut c = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/input_properties.txt",
        ))),
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c
}

// ----- phone numbers ----------------------------------------------------------------------

/// Text that looks like a phone number some of the time: digits, separators, '+', and
/// now and then anything at all.
fn phoneish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => prop::char::range('0', '9'),
        2 => prop::sample::select(vec![' ', '-', '.', '(', ')', '/', '+', '\u{a0}', '\u{2013}', '\u{2212}', '\t']),
        1 => any::<char>(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.into_iter().collect())
}

/// A valid number as its digits after the `+`: North American (country code 1) or another
/// country's 8 to 15 digits.
fn e164_digits() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[2-9][0-9]{2}", "[2-9][0-9]{2}", "[0-9]{4}").prop_map(|(a, e, l)| format!("1{a}{e}{l}")),
        "[2-9][0-9]{7,14}",
    ]
}

/// `digits` with a random separator (or none) after each digit.
fn spread(digits: &str, seps: &[u8]) -> String {
    const SEP: [&str; 8] = ["", "", " ", "-", ".", " (", ") ", "\u{a0}"];
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        out.push(d);
        if i + 1 < digits.len() {
            out.push_str(SEP[usize::from(seps.get(i).copied().unwrap_or(0)) % SEP.len()]);
        }
    }
    out
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn phone_parsing_never_panics_on_any_text(s in any::<String>()) {
        if let Err(e) = normalize_msisdn(&s) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn phone_parsing_never_panics_on_phone_like_text(s in phoneish()) {
        match normalize_msisdn(&s) {
            Ok(m) => {
                // Whatever is accepted is E.164 and a fixed point.
                let digits = m.digits();
                prop_assert!(m.as_str().starts_with('+'));
                prop_assert!((8..=15).contains(&digits.len()), "{:?} -> {}", s, m);
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(!digits.starts_with('0'));
                prop_assert_eq!(normalize_msisdn(m.as_str()), Ok(m.clone()));
                prop_assert_eq!(normalize_msisdn(&format!("+{}", m.digits())), Ok(m.clone()));
                prop_assert_eq!(m.as_str().parse::<domain::Msisdn>(), Ok(m.clone()));
                let _ = m.masked();
            }
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn every_format_of_one_number_gives_the_same_e164(
        digits in e164_digits(),
        seps in prop::collection::vec(any::<u8>(), 16),
        pad in prop::sample::select(vec!["", " ", "\t", "\u{a0} "]),
    ) {
        let expected = normalize_msisdn(&format!("+{digits}")).expect("a valid number");
        prop_assert_eq!(expected.digits(), digits.as_str());
        let mut forms = vec![
            format!("+{}", spread(&digits, &seps)),
            format!("00{}", spread(&digits, &seps)),
            format!("011 {}", spread(&digits, &seps)),
            format!("{pad}+{digits}{pad}"),
        ];
        if let Some(ten) = digits.strip_prefix('1') {
            let (a, rest) = ten.split_at(3);
            let (e, l) = rest.split_at(3);
            forms.extend([
                ten.to_string(),
                format!("1{ten}"),
                format!("({a}) {e}-{l}"),
                format!("{a}.{e}.{l}"),
                format!("1-{a}-{e}-{l}"),
                format!("+1 {a} {e} {l}"),
                spread(ten, &seps),
            ]);
        }
        for f in forms {
            prop_assert_eq!(normalize_msisdn(&f), Ok(expected.clone()), "form {:?}", f);
        }
    }
}

// ----- files --------------------------------------------------------------------------------

const ACCOUNTS: &str = "\u{feff}account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from,currency\r\n\
    310000001,(206) 555-0123,\"Núñez, José\",JOSE@example.com,active,SK-DATA,1999,Sidekick LX,2008-03-01,USD\r\n\
    310000002,+1 425 555 0199,Ann Lee,,closed,,,,,\r\n\
    310000003,253.555.0110,\"Wang \"\"Fang\"\"\",fang@example.cn,suspended,SK-DATA-PLUS,2999,Sidekick 3,,\r\n";

const IMPACT: &str = "account_no,incident,category,server_lost,device_state,items_before\n\
    310000001,danger-2009-10,contacts,true,wiped,300\n\
    310000001,danger-2009-10,photos,yes,holds-copy,41\n\
    310000002,danger-2009-10,calendar,0,unknown,0\n";

const BATCH: &str =
    "\u{feff}msisdn,account_no\r\n\"(206) 555-0123\",\r\n,310000002\r\n+44 20 7946 0958,\r\n";

fn backups() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/backups.jsonl"))
        .expect("assets/backups.jsonl")
}

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at (position modulo length).
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    /// Cut the file short.
    Truncate(usize),
    /// Repeat one line (by index modulo line count).
    DuplicateLine(usize),
    /// Put a byte a parser finds interesting somewhere.
    Special(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        b'"', b',', b'\n', b'\r', 0, 0xff, 0xc3, 0xe2, b'{', b'}', b'[', b']', b'\\', b':', b'-',
        b'=', b'+', b'\t', 0x1b,
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1..40usize).prop_map(|(p, n)| Mutation::Remove(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), special).prop_map(|(p, b)| Mutation::Special(p, b)),
    ]
}

fn mutate(data: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut d = data.to_vec();
    for m in edits {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match m {
            Mutation::Set(p, b) | Mutation::Special(p, b) => {
                if !d.is_empty() {
                    let i = p % d.len();
                    d[i] = *b;
                }
            }
            Mutation::Insert(p, b) => {
                let i = at(*p, d.len());
                d.splice(i..i, b.iter().copied());
            }
            Mutation::Remove(p, n) => {
                if !d.is_empty() {
                    let i = p % d.len();
                    let j = (i + n).min(d.len());
                    d.drain(i..j);
                }
            }
            Mutation::Truncate(p) => {
                let i = at(*p, d.len());
                d.truncate(i);
            }
            Mutation::DuplicateLine(p) => {
                let lines: Vec<&[u8]> = d.split_inclusive(|b| *b == b'\n').collect();
                if !lines.is_empty() {
                    let line = lines[p % lines.len()].to_vec();
                    let mut line = line;
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    d.extend_from_slice(&line);
                }
            }
        }
    }
    d
}

/// Arbitrary bytes, biased towards text a parser has to think about.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        "(?s).{0,300}".prop_map(String::into_bytes),
        prop::collection::vec(
            prop::sample::select(vec![
                &b"account_no"[..],
                b"msisdn",
                b"name",
                b"email",
                b"status",
                b"plan_code",
                b"plan_cents",
                b"incident",
                b"category",
                b"server_lost",
                b"device_state",
                b"items_before",
                b",",
                b"\"",
                b"\r\n",
                b"\n",
                b"310000001",
                b"2065550123",
                b"active",
                b"contacts",
                b"true",
                b"wiped",
                b"1999",
                b"SK",
                b"\xef\xbb\xbf",
                b"{",
                b"}",
                b"[",
                b"]",
                b":",
                b"\"id\"",
                b"\"items\"",
                b"\"manifest\"",
                b"0",
                b"-1",
                b"99999999999999999999",
                b"\xff",
                b"\x00",
            ]),
            0..60,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// How many lines `data` has (a message's line number is never past it).
/// Lines end with LF, CRLF or a lone CR.
fn line_count(data: &[u8]) -> u64 {
    let ends = data
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\n' || (**b == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count();
    ends as u64 + 1
}

/// A parser's error is bad input (exit 2) naming the file, and every line it names exists.
fn check_error(e: &caredesk::Error, source: &str, data: &[u8]) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    prop_assert_eq!(e.exit_code(), 2, "{}", msg);
    prop_assert!(
        msg.starts_with(source),
        "the message names the file: {}",
        msg
    );
    let lines = line_count(data);
    let mut rest = msg.as_str();
    while let Some(i) = rest.find(" line ") {
        rest = &rest[i + 6..];
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = n.parse::<u64>() {
            prop_assert!(n >= 1 && n <= lines, "line {} of {}: {}", n, lines, msg);
        }
    }
    prop_assert!(msg.len() < 8_000, "a message of {} bytes", msg.len());
    Ok(())
}

fn check_accounts(data: &[u8]) -> Result<(), TestCaseError> {
    match parse_accounts("a.csv", data) {
        Ok(rows) => {
            let mut last = 0;
            for r in &rows {
                prop_assert!(r.line > last && r.line <= line_count(data));
                last = r.line;
                prop_assert!(domain::is_account_no(&r.account_no));
                prop_assert_eq!(
                    normalize_msisdn(&r.msisdn).map(|m| m.as_str().to_string()),
                    Ok(r.msisdn.clone())
                );
                prop_assert!(!r.name.is_empty());
                for text in [&r.name, &r.email, &r.device_model] {
                    prop_assert!(!text.chars().any(domain::needs_sanitizing), "{:?}", text);
                }
                for p in &r.plans {
                    prop_assert!(p.price_cents >= 0);
                    prop_assert!(!p.plan_code.chars().any(domain::needs_sanitizing));
                }
            }
            Ok(())
        }
        Err(e) => check_error(&e, "a.csv", data),
    }
}

fn check_impact(data: &[u8]) -> Result<(), TestCaseError> {
    match parse_impact("i.csv", data) {
        Ok(rows) => {
            for r in &rows {
                prop_assert!(domain::is_account_no(&r.account_no));
                prop_assert!(r.items_before >= 0);
                prop_assert!(!r.incident.is_empty());
            }
            Ok(())
        }
        Err(e) => check_error(&e, "i.csv", data),
    }
}

fn check_batch(data: &[u8]) -> Result<(), TestCaseError> {
    match parse_batch_accounts("b.csv", data) {
        Ok(f) => {
            let lines = line_count(data);
            for (line, r) in &f.refs {
                prop_assert!(*line >= 1 && *line <= lines);
                match r {
                    caredesk::import::BatchRef::AccountNo(n) => {
                        prop_assert!(domain::is_account_no(n))
                    }
                    caredesk::import::BatchRef::Msisdn(m) => {
                        prop_assert_eq!(
                            normalize_msisdn(m).map(|x| x.as_str().to_string()),
                            Ok(m.clone())
                        )
                    }
                }
            }
            for (line, msg) in &f.bad {
                prop_assert!(*line >= 1 && *line <= lines);
                prop_assert!(!msg.is_empty() && msg.len() < 1000);
            }
            Ok(())
        }
        Err(e) => check_error(&e, "b.csv", data),
    }
}

fn check_backups(data: &[u8]) -> Result<(), TestCaseError> {
    match parse_backups("b.jsonl", data) {
        Ok(snaps) => {
            for s in &snaps {
                prop_assert!(domain::is_account_no(&s.account_no));
                prop_assert!(matches!(
                    s.verification.as_str(),
                    "verified" | "partial" | "corrupt" | "manifest"
                ));
                prop_assert!(!s.source.chars().any(domain::needs_sanitizing));
            }
            Ok(())
        }
        Err(e) => check_error(&e, "b.jsonl", data),
    }
}

#[test]
fn the_seed_files_parse() {
    assert_eq!(
        parse_accounts("a.csv", ACCOUNTS.as_bytes())
            .expect("accounts")
            .len(),
        3
    );
    assert_eq!(
        parse_impact("i.csv", IMPACT.as_bytes())
            .expect("impact")
            .len(),
        3
    );
    assert_eq!(
        parse_batch_accounts("b.csv", BATCH.as_bytes())
            .expect("batch")
            .refs
            .len(),
        3
    );
    assert_eq!(
        parse_backups("b.jsonl", backups().as_bytes())
            .expect("backups")
            .len(),
        5
    );
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn account_files_of_arbitrary_bytes_never_panic(data in bytes()) {
        check_accounts(&data)?;
        check_impact(&data)?;
        check_batch(&data)?;
        check_backups(&data)?;
    }

    #[test]
    fn mutated_account_files_parse_or_name_a_line(edits in prop::collection::vec(mutation(), 1..6)) {
        check_accounts(&mutate(ACCOUNTS.as_bytes(), &edits))?;
    }

    #[test]
    fn mutated_impact_files_parse_or_name_a_line(edits in prop::collection::vec(mutation(), 1..6)) {
        check_impact(&mutate(IMPACT.as_bytes(), &edits))?;
    }

    #[test]
    fn mutated_batch_files_parse_or_name_a_line(edits in prop::collection::vec(mutation(), 1..6)) {
        check_batch(&mutate(BATCH.as_bytes(), &edits))?;
    }

    #[test]
    fn mutated_backup_files_parse_or_name_a_line(edits in prop::collection::vec(mutation(), 1..6)) {
        check_backups(&mutate(backups().as_bytes(), &edits))?;
    }

    #[test]
    fn rows_of_arbitrary_cells_parse_or_name_a_line(
        cells in prop::collection::vec(prop::collection::vec("[^\"]{0,12}|\"[^\"]{0,12}\"", 7..11), 1..6),
    ) {
        let header = "account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from,currency";
        let mut data = format!("{header}\n");
        for row in &cells {
            data.push_str(&row.join(","));
            data.push('\n');
        }
        check_accounts(data.as_bytes())?;
        check_batch(data.as_bytes())?;
    }

    #[test]
    fn backup_lines_with_arbitrary_values_parse_or_name_a_line(
        id in prop_oneof![Just(serde_json::json!("snap-1")), any::<String>().prop_map(serde_json::Value::from), any::<i64>().prop_map(serde_json::Value::from)],
        account in prop_oneof![Just(serde_json::json!("410000001")), any::<String>().prop_map(serde_json::Value::from), any::<u64>().prop_map(serde_json::Value::from), Just(serde_json::Value::Null)],
        taken in prop_oneof![Just(serde_json::json!("2009-10-01")), any::<String>().prop_map(serde_json::Value::from)],
        category in prop_oneof![Just("contacts".to_string()), any::<String>()],
        uid in prop_oneof![Just("c-1".to_string()), any::<String>()],
        payload in prop_oneof![Just(serde_json::json!({"name": "Ada"})), any::<String>().prop_map(|s| serde_json::json!({"name": s})), Just(serde_json::json!([1, 2]))],
        manifest in prop::option::of(prop::collection::btree_map(any::<String>(), any::<i64>(), 0..3)),
        depth in 0usize..300,
    ) {
        let hash = payload.as_object().map(|_| caredesk::domain::items::content_hash(&payload)).unwrap_or_default();
        let mut nested = serde_json::json!(1);
        for _ in 0..depth {
            nested = serde_json::json!([nested]);
        }
        let mut line = serde_json::json!({
            "id": id, "account_no": account, "taken_at": taken,
            "items": [{"category": category, "uid": uid, "payload": payload, "content_hash": hash}],
        });
        if let Some(m) = manifest {
            line["manifest"] = serde_json::json!(m);
        }
        if depth > 0 && line["items"][0]["payload"].is_object() {
            line["items"][0]["payload"]["deep"] = nested;
        }
        let data = format!("{line}\n");
        check_backups(data.as_bytes())?;
    }
}

#[test]
fn deeply_nested_json_is_bad_input_not_a_stack_overflow() {
    for depth in [1_000, 100_000, 1_000_000] {
        let deep = format!(
            "{{\"id\":\"s\",\"account_no\":\"410000001\",\"taken_at\":\"2009-10-01\",\"items\":{}{}}}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let e = parse_backups("deep.jsonl", deep.as_bytes()).expect_err("too deep");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
