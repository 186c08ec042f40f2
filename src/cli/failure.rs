//! How a failed command tells its caller (SPEC §3): the exit code, and on stderr one sentence
//! after `caredesk: `, or under `--format json` one object `{"error", "code", "kind"}` (the
//! same [`ErrorBody`] a server answers with). clap's own usage errors follow the same rule when
//! `--format json` is on the command line.

use std::ffi::OsString;
use std::io::Write as _;

use super::Format;
use super::print::json_text;
use crate::desk::wire::ErrorBody;
use crate::domain::text::terminal_text;
use crate::error::Error;

/// Writes `e` to stderr as `format` asks and returns the exit code.
pub fn report(e: &Error, format: Format) -> u8 {
    let line = match format {
        Format::Json => json_line(&ErrorBody::of(e)),
        // Messages quote the input at fault; the input must not drive the terminal.
        Format::Text | Format::Csv => format!("caredesk: {}", terminal_text(&e.to_string())),
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    e.exit_code()
}

/// The error object as one line of terminal-safe JSON.
fn json_line(body: &ErrorBody) -> String {
    json_text(body).unwrap_or_else(|_| {
        // Serializing three plain fields cannot fail; should it, still say something parsable.
        r#"{"error":"caredesk failed","code":1,"kind":"system"}"#.to_string()
    })
}

/// A command line clap refused (or `--help`, `--version`): printed as clap prints it, unless
/// `--format json` is on the command line and it is an error, which becomes the JSON object
/// with exit code 2. Returns the exit code.
pub fn report_usage(e: &clap::Error, args: &[OsString]) -> u8 {
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    if !e.use_stderr() || !json_requested(args) {
        let _ = e.print();
        return code;
    }
    let body = ErrorBody {
        error: usage_sentence(e),
        code,
        kind: "usage".to_string(),
    };
    let _ = writeln!(std::io::stderr().lock(), "{}", json_line(&body));
    code
}

/// Whether `--format json` (or `--format=json`) is among the options, before any `--`.
pub fn json_requested(args: &[OsString]) -> bool {
    let mut json = false;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        match a.as_ref() {
            "--" => break,
            "--format" => json = it.next().is_some_and(|v| v == "json"),
            other => {
                if let Some(v) = other.strip_prefix("--format=") {
                    json = v == "json";
                }
            }
        }
    }
    json
}

/// clap's message as one sentence: its first line without `error: `, its tips after a
/// semicolon, and the usage line in brackets; no blank lines, no "For more information".
fn usage_sentence(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let usage = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .map(str::trim);
    let mut parts: Vec<String> = Vec::new();
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        parts.push("a subcommand or argument is missing".to_string());
    } else {
        for line in text.lines() {
            let line = line.trim();
            if let Some(first) = line.strip_prefix("error: ") {
                parts.push(first.to_string());
            } else if let Some(tip) = line.strip_prefix("tip: ") {
                parts.push(tip.to_string());
            }
        }
        if parts.is_empty() {
            parts.push(
                text.lines()
                    .next()
                    .unwrap_or("bad usage")
                    .trim()
                    .to_string(),
            );
        }
    }
    let mut sentence = parts.join("; ");
    if let Some(u) = usage {
        sentence.push_str(&format!(" (usage: {u})"));
    }
    sentence
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn json_is_asked_for_by_either_spelling_and_the_last_one_counts() {
        assert!(json_requested(&args(&[
            "caredesk", "--format", "json", "lookup"
        ])));
        assert!(json_requested(&args(&[
            "caredesk",
            "lookup",
            "x",
            "--format=json"
        ])));
        assert!(!json_requested(&args(&[
            "caredesk", "--format", "json", "--format", "text"
        ])));
        assert!(!json_requested(&args(&[
            "caredesk", "note", "1", "--", "--format", "json"
        ])));
        assert!(!json_requested(&args(&["caredesk", "lookup", "json"])));
    }

    #[test]
    fn a_usage_error_becomes_one_line_naming_what_was_wrong_and_the_usage() {
        let e = Cli::try_parse_from(["caredesk", "lookup", "x", "--limt", "3"]).expect_err("bad");
        let s = usage_sentence(&e);
        assert!(s.starts_with("unexpected argument '--limt' found"), "{s}");
        assert!(s.contains("'--limit'"), "the tip: {s}");
        assert!(s.contains("(usage: caredesk lookup "), "{s}");
        assert!(s.ends_with(')'), "{s}");
        assert!(!s.contains('\n'), "{s}");
        let e = Cli::try_parse_from(["caredesk", "credit"]).expect_err("no subcommand");
        let s = usage_sentence(&e);
        assert!(
            s.contains("missing") && s.contains("caredesk credit"),
            "{s}"
        );
    }
}
