//! The sections `--help` adds after clap's own (examples, exit codes), one constant per
//! command that has them. `man` turns each `Heading:` line into a section of its page.

/// The top-level `--help`: what a newcomer types first, the exit codes of SPEC §3, and how
/// errors are written.
pub const TOP: &str = "\
Examples:
  caredesk demo                          build a demo database, open the screen
  caredesk lookup \"(206) 555-0123\"       find accounts by phone, name, e-mail…
  caredesk show 310000001                an account: plans, categories, credits
  caredesk credit apply 310000001        the incident credit, once
  caredesk credit run --report plan.csv  what a batch run would credit
  caredesk --format json show 310000001  any result as one JSON object
  caredesk --server https://desk.example:7443 login alice
                                         work through a server from now on
  source <(caredesk completions bash)    complete commands and options in bash
  caredesk man ~/.local/share/man/man1   install the manual pages

Exit codes:
  0  success, including \"already credited\" (a replay changes nothing)
  1  the system failed: database unreachable, I/O
  2  bad usage or invalid input; nothing was written
  3  refused by a rule (permission, eligibility, cap, corrupt backup);
     nothing was written
  4  a batch run finished with some rows failed

Errors:
  One sentence on standard error, naming the input at fault. With
  --format json, one object instead:
  {\"error\": SENTENCE, \"code\": CODE, \"kind\": \"usage|refused|system|partial\"}";

/// The top-level `-h`: the exit codes in brief, and where to find the rest.
pub const TOP_SHORT: &str = "\
Exit codes: 0 success, 1 system, 2 usage or invalid input, 3 refused by a
rule, 4 batch with failed rows. --help shows examples and more.";

pub const LOOKUP: &str = "\
Examples:
  caredesk lookup 310000001
  caredesk lookup \"+1 206 555 0123\"
  caredesk lookup núñez --limit 5
  cut -d, -f1 callers.csv | caredesk --format json lookup -

With \"-\" each line of standard input is one query and gets one line of
answer (with --format json, one object with its \"query\"). A query is at
most 256 characters: a longer line stops the lookup there with exit 2,
naming the line; the lines before it were answered.";

pub const IMPORT: &str = "\
Examples:
  caredesk import accounts accounts.csv
  caredesk import impact impact.csv
  caredesk import backups backups.jsonl
  gunzip -c accounts.csv.gz | caredesk import accounts -

An import is all or nothing: every bad row is named with its line, and
nothing is written while one is bad. The same file again changes nothing.";

pub const CREDIT_RUN: &str = "\
Examples:
  caredesk credit run                        the plan: what would be credited
  caredesk credit run --apply --report run.csv
                                             credit every eligible account
  caredesk credit run --accounts callers.csv --apply
                                             the accounts of a spreadsheet
  caredesk credit run --apply --shard 1/4    worker 1 of 4 (2/4, … elsewhere)
  caredesk credit run --apply --max-total-cents 5000000
                                             refuse a total above $50,000.00

A run stopped at any point (Ctrl-C, kill, power loss) is resumed by the
same command again; no account is credited twice. Exit 4 when some
accounts could not be credited.";

pub const RESTORE: &str = "\
Examples:
  caredesk restore preview 310000001 --backup snap-310000001-20091001
  caredesk restore apply 310000001 --backup snap-310000001-20091001 \\
      --category contacts
  caredesk restore apply 310000001 --backup snap-310000001-20091001 \\
      --mode keep-both
  caredesk restore list 310000001
  caredesk restore undo 12";

pub const ADVISE: &str = "\
Examples:
  caredesk advise 310000001                    # read on a call
  caredesk advise \"(206) 555-0101\" --channel sms
Advising an account not at risk is refused; advising twice changes nothing.";

pub const CALLBACK: &str = "\
Examples:
  caredesk callback 310000001 --at 14:30 --note \"after her shift\"
  caredesk callback 310000001 --at \"tomorrow 9\"
  caredesk callback 310000001 --at +2h
  caredesk callback list --mine --due
  caredesk callback done 17
Times are in your local zone (TZ); a time of day alone is its next occurrence.";

pub const OUTREACH: &str = "\
Examples:
  caredesk outreach export --channel sms > sms.csv
  caredesk outreach export --channel email --format json > email.jsonl
  caredesk outreach delivered delivery-report.csv
File formats, with samples: docs/outreach.md and assets/outreach/.";

pub const SERVE: &str = "\
Examples:
  caredesk serve --db sqlite:/srv/caredesk/caredesk.db
  caredesk serve --db postgres://caredesk@db.internal/caredesk \\
      --listen 0.0.0.0:7443 --tls-cert cert.pem --tls-key key.pem
  caredesk serve --db sqlite:/srv/caredesk/caredesk.db \\
      --unix /run/caredesk/caredesk.sock

Off the loopback interface the server speaks TLS only. Agents then work
with --server URL (or CAREDESK_SERVER) after `caredesk login`.";

pub const LOGIN: &str = "\
Examples:
  caredesk --server https://desk.example:7443 login alice
  export CAREDESK_SERVER=https://desk.example:7443
  caredesk login alice --password-stdin < password.txt
  caredesk lookup 310000001

The session is kept in sessions.json in the data directory
(CAREDESK_SESSIONS names another file), readable by you alone.";

pub const COMPLETIONS: &str = "\
Examples:
  source <(caredesk completions bash)               in ~/.bashrc
  caredesk completions zsh > ~/.zfunc/_caredesk     fpath+=~/.zfunc in ~/.zshrc
  caredesk completions fish > ~/.config/fish/completions/caredesk.fish";

pub const MAN: &str = "\
Examples:
  caredesk man | man -l -
  caredesk man ~/.local/share/man/man1 && man caredesk-credit-run";

/// `--incident`'s help, the same on every command that takes it.
pub const INCIDENT: &str =
    "The incident's id; may be left out while the database holds one open incident";

#[cfg(test)]
mod tests {
    /// Lines fit an 80-column terminal, so clap never wraps an example in the middle.
    #[test]
    fn every_line_fits_eighty_columns() {
        for text in [
            super::TOP,
            super::TOP_SHORT,
            super::LOOKUP,
            super::IMPORT,
            super::ADVISE,
            super::CALLBACK,
            super::OUTREACH,
            super::CREDIT_RUN,
            super::RESTORE,
            super::SERVE,
            super::LOGIN,
            super::COMPLETIONS,
            super::MAN,
        ] {
            for line in text.lines() {
                assert!(line.chars().count() < 80, "too wide: {line}");
            }
        }
    }
}
