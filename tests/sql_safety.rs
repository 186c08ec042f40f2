//! No SQL built from strings (docs/security.md: bound parameters only). This test
//! reads the sources and fails when any of them builds SQL text at run time:
//!
//! - a formatting macro (`format!`, `write!`, `writeln!`, `format_args!`, `print!`…) or
//!   `push_str` whose string literals read as SQL (`SELECT … FROM`, `INSERT INTO`,
//!   `UPDATE … SET`, `DELETE FROM`, `WHERE … =`, `CREATE`/`DROP`/`ALTER`/`GRANT` statements);
//! - a query made from something other than a literal or a constant: `query(&…)`,
//!   `query(format!…)`, `query(String…)` and the same for `query_as`, `query_scalar`;
//! - `AssertSqlSafe` or `raw_sql`, sqlx's ways past its own check that the SQL text is a
//!   `&'static str` (anywhere in `src/`, and in `tests/` outside `tests/common`, which builds
//!   and drops test databases by name).
//!
//! Static SQL chosen by `pick(sqlite, postgres)` or assembled by `concat!` of literals is
//! fine: it is fixed at compile time. The detector is tested on samples first, so a change
//! that blinds it fails too.

use std::path::{Path, PathBuf};

/// One finding: where, and the code.
#[derive(Debug)]
struct Finding {
    file: String,
    line: usize,
    what: String,
}

/// Macros and methods whose string literals must not be SQL.
const BUILDERS: &[&str] = &[
    "format!(",
    "format_args!(",
    "write!(",
    "writeln!(",
    "print!(",
    "println!(",
    "eprint!(",
    "eprintln!(",
    "push_str(",
];

/// Query constructors that must get a literal or a constant, never a built string.
const QUERIES: &[&str] = &[
    "query(",
    "query_as(",
    "query_scalar(",
    "query_with(",
    "query_as_with(",
    "query_scalar_with(",
];

/// Escape hatches past sqlx's static-SQL check.
const HATCHES: &[&str] = &["AssertSqlSafe", "raw_sql"];

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a string literal's text reads as SQL. Keywords are matched in capitals, as every
/// statement in this code base is written, so English messages ("cannot select a backup
/// from…") never match; the unambiguous pairs match in any case.
fn looks_like_sql(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let any_case = [
        "insert into",
        "delete from",
        "alter table",
        "alter role",
        "create table",
        "create index",
        "create role",
        "create database",
        "drop table",
        "drop index",
        "drop trigger",
        "drop database",
        "drop role",
        "truncate table",
    ];
    if any_case.iter().any(|p| lower.contains(p)) {
        return true;
    }
    let w = words(text);
    let has = |k: &str| w.iter().any(|x| x == k);
    let pos = |k: &str| w.iter().position(|x| x == k);
    (has("SELECT") && has("FROM"))
        || matches!((pos("UPDATE"), pos("SET")), (Some(u), Some(s)) if s == u + 2)
        || (has("WHERE") && (text.contains('=') || text.contains('$') || has("LIKE") || has("IN")))
        || ((has("AND") || has("OR")) && text.contains(" = "))
        || (has("GRANT") && (has("ON") || has("TO")))
        || (has("REVOKE") && has("FROM"))
        || (has("VALUES") && text.contains('('))
        || (has("ORDER") && has("BY"))
        || (has("CREATE") && (has("TRIGGER") || has("VIEW") || has("FUNCTION")))
}

/// The string literals among `code`'s tokens up to the `)` that closes the call opened just
/// before `code` starts, with the offset just past that `)`.
fn literals_of_call(code: &str) -> (Vec<String>, usize) {
    let b = code.as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return (out, i + 1);
                }
            }
            b'\'' => {
                // A char literal ('"' in particular) or a lifetime: skip a char literal whole.
                if b.get(i + 2) == Some(&b'\'') {
                    i += 2;
                } else if b.get(i + 1) == Some(&b'\\')
                    && let Some(end) = code[i + 2..].find('\'')
                {
                    i += 2 + end;
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    if let Some(end) = code[open + 1..].find(&close) {
                        out.push(code[open + 1..open + 1 + end].to_string());
                        i = open + 1 + end + close.len();
                        continue;
                    }
                }
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                out.push(code[i + 1..j.min(b.len())].to_string());
                i = j + 1;
                continue;
            }
            b';' if depth == 1 => return (out, i),
            _ => {}
        }
        i += 1;
    }
    (out, b.len())
}

/// The code with `//` comments blanked (string literals kept, so a `//` inside one stays).
fn without_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    // A string literal can span lines.
    let mut in_str = false;
    for line in src.lines() {
        let b = line.as_bytes();
        let mut cut = line.len();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'\'' if !in_str && b.get(i + 2) == Some(&b'\'') => i += 2,
                b'/' if !in_str && b.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset].matches('\n').count() + 1
}

/// Every string-built SQL statement and escape hatch in one file's source.
fn scan(file: &str, src: &str, hatches_only: bool) -> Vec<Finding> {
    let code = without_comments(src);
    let mut found = Vec::new();
    let snippet = |at: usize| -> String {
        code[at..]
            .chars()
            .take(100)
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for hatch in HATCHES {
        for (at, _) in code.match_indices(hatch) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            found.push(Finding {
                file: file.to_string(),
                line: line_of(&code, at),
                what: format!("{hatch}: {}", snippet(at)),
            });
        }
    }
    if hatches_only {
        return found;
    }
    for builder in BUILDERS {
        for (at, _) in code.match_indices(builder) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let start = at + builder.len();
            let (lits, _) = literals_of_call(&code[start..]);
            if lits.iter().any(|l| looks_like_sql(l)) {
                found.push(Finding {
                    file: file.to_string(),
                    line: line_of(&code, at),
                    what: format!("SQL text built by {builder}…): {}", snippet(at)),
                });
            }
        }
    }
    for q in QUERIES {
        for (at, _) in code.match_indices(q) {
            let before = code[..at].chars().next_back();
            // `sqlx::query(`, `.query(`, or a bare `query(` call; not `my_query(`.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let arg = code[at + q.len()..].trim_start();
            let built = arg.starts_with('&')
                || arg.starts_with("format!")
                || arg.starts_with("String")
                || arg.starts_with("sql.")
                || arg.contains_before(".as_str()", ')')
                || arg.contains_before(".to_string()", ')')
                || arg.contains_before("&*", ')');
            if built {
                found.push(Finding {
                    file: file.to_string(),
                    line: line_of(&code, at),
                    what: format!("a query from a built string: {}", snippet(at)),
                });
            }
        }
    }
    found
}

trait ContainsBefore {
    /// Whether `needle` occurs before the first `stop`.
    fn contains_before(&self, needle: &str, stop: char) -> bool;
}

impl ContainsBefore for &str {
    fn contains_before(&self, needle: &str, stop: char) -> bool {
        let end = self.find(stop).unwrap_or(self.len());
        self[..end].contains(needle)
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn scan_tree(root: &Path, sub: &str, hatches_only: bool, skip: &[&str]) -> (usize, Vec<Finding>) {
    let mut files = Vec::new();
    rust_files(&root.join(sub), &mut files);
    let mut found = Vec::new();
    let mut n = 0;
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        if skip.iter().any(|s| rel.starts_with(s)) {
            continue;
        }
        n += 1;
        let src = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{rel}: {e}"));
        found.extend(scan(&rel, &src, hatches_only));
    }
    (n, found)
}

#[test]
fn the_detector_finds_string_built_sql_and_nothing_else() {
    let bad = [
        r#"let sql = format!("SELECT * FROM accounts WHERE name = '{name}'");"#,
        "let sql = format!(\n    \"UPDATE audit SET detail = '{}' WHERE seq = {}\",\n    d, s\n);",
        r##"let s = format!(r#"DELETE FROM notes WHERE id = {id}"#);"##,
        r#"write!(sql, " AND account_no = '{}'", no)?;"#,
        r#"sql.push_str(" ORDER BY name");"#,
        r#"let q = format!("insert into credits values ({a}, {b})");"#,
        r#"sqlx::query(&sql).execute(&pool).await?;"#,
        r#"sqlx::query(format!("SELECT {col} FROM t").as_str())"#,
        r#"sqlx::query_scalar(&text).fetch_one(&pool)"#,
        r#"sqlx::query(sqlx::AssertSqlSafe(text))"#,
        r#"sqlx::raw_sql(script).execute(&pool)"#,
        r#"let g = format!("GRANT SELECT ON audit TO {login}");"#,
        r#"let d = format!("DROP DATABASE IF EXISTS {name}");"#,
    ];
    for code in bad {
        assert!(
            !scan("sample.rs", code, false).is_empty(),
            "not caught: {code}"
        );
    }
    let fine = [
        r#"sqlx::query("SELECT seq, hash FROM audit_head WHERE id = $1").bind(1)"#,
        r#"sqlx::query(pick("SELECT 1 FROM a WHERE x = $1", "SELECT 1 FROM a WHERE x = $1"))"#,
        r#"sqlx::query(SQL_BY_NO).bind(no)"#,
        r#"let m = format!("cannot read {}: {e}", path.display());"#,
        r#"let m = format!("select a backup from the list for account {no}");"#,
        r#"let m = format!("{source} line {line}: the name is empty");"#,
        r#"writeln!(o, "  {:<9} {:>7}", "category", "before")?;"#,
        r#"// format!("SELECT * FROM accounts WHERE name = '{name}'") in a comment"#,
        r#"let c = '"'; let m = format!("a {c} b");"#,
        r#"fn my_query(&self) {} my_query(&x);"#,
        r#"const X: &str = concat!("EXPLAIN ", "SELECT 1 FROM t WHERE a = $1");"#,
    ];
    for code in fine {
        let f = scan("sample.rs", code, false);
        assert!(f.is_empty(), "false alarm on {code}: {f:?}");
    }
    // In tests only the escape hatches count.
    assert!(scan("t.rs", r#"sqlx::query(sqlx::AssertSqlSafe(x))"#, true).len() == 1);
    assert!(scan("t.rs", r#"let s = format!("SELECT 1 FROM t");"#, true).is_empty());
}

#[test]
fn no_source_builds_sql_from_strings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (n_src, mut found) = scan_tree(root, "src", false, &[]);
    assert!(n_src > 30, "the sources were found ({n_src} files)");
    // Tests may build SQL of their own to tamper with a database on purpose, but not through
    // sqlx's escape hatches outside tests/common (which creates and drops test databases).
    let (n_tests, in_tests) = scan_tree(
        root,
        "tests",
        true,
        &["tests/common/", "tests/sql_safety.rs"],
    );
    assert!(n_tests > 5, "the tests were found ({n_tests} files)");
    found.extend(in_tests);
    assert!(
        found.is_empty(),
        "SQL built from strings (docs/security.md: bound parameters only):\n{}",
        found
            .iter()
            .map(|f| format!("  {}:{}: {}", f.file, f.line, f.what))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
