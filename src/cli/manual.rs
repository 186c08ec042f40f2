//! `completions SHELL` and `man [DIR]`: the shell completion scripts and the manual pages,
//! both generated from the clap definitions of `args`, so they never drift from the binary.
//! Neither opens a database.

use std::io::Write as _;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{Roff, roman};

use super::Cli;
use crate::error::{Error, Result};

/// The binary's name as the scripts and pages call it.
const BIN: &str = "caredesk";

/// Writes `bytes` to standard output; a reader that went away (`| head`) is not an error.
fn to_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to standard output", e))
        }
        _ => Ok(()),
    }
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    buf
}

/// `completions SHELL`: the script on standard output.
pub fn completions(shell: Shell) -> Result<()> {
    to_stdout(&completion_script(shell))
}

/// The whole command tree, built (each subcommand knows its full name, `caredesk-credit-run`,
/// and its usage line), without clap's `help` subcommand, which has no page of its own.
fn built_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// `man [DIR]`: without DIR the main page on standard output; with DIR one page per command
/// and subcommand written there (`caredesk.1`, `caredesk-credit.1`, `caredesk-credit-run.1`, …).
pub fn man(dir: Option<&Path>) -> Result<()> {
    let cmd = built_command();
    let Some(dir) = dir else {
        return to_stdout(&page(&cmd)?);
    };
    crate::paths::check_directory("the manual pages' directory", dir)?;
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    to_stdout(
        format!(
            "wrote {} manual pages to {}\n",
            written.len(),
            dir.display()
        )
        .as_bytes(),
    )
}

fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    let bytes = page(cmd)?;
    std::fs::write(&path, bytes).map_err(|e| {
        Error::io(
            format!("cannot write the manual page {}", path.display()),
            e,
        )
    })?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// One manual page: clap_mangen's sections, then the command's own sections (EXAMPLES, EXIT
/// CODES, …) from its long after-help, each as a section of its own rather than clap_mangen's
/// single "EXTRA" paragraph, with the example lines kept as they are laid out.
pub fn page(cmd: &clap::Command) -> Result<Vec<u8>> {
    let man = Man::new(cmd.clone());
    let mut buf = Vec::new();
    let io = |e| Error::io("cannot render the manual page", e);
    man.render_title(&mut buf).map_err(io)?;
    man.render_name_section(&mut buf).map_err(io)?;
    man.render_synopsis_section(&mut buf).map_err(io)?;
    man.render_description_section(&mut buf).map_err(io)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf).map_err(io)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut buf).map_err(io)?;
    }
    if let Some(after) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        after_sections(&after.to_string())
            .to_writer(&mut buf)
            .map_err(io)?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut buf).map_err(io)?;
    }
    Ok(without_repeated_preamble(&buf))
}

/// Each section rendered on its own starts with roff's two-line preamble (defining `Aq`);
/// the page needs it once.
fn without_repeated_preamble(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut seen = std::collections::HashSet::new();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble && !seen.insert(line.to_string()) {
            continue;
        }
        out.push_str(line);
    }
    out.into_bytes()
}

/// The after-help text as man sections: a line `Examples:` (unindented, ending with a colon)
/// starts the section EXAMPLES; the lines under it are kept as laid out (no filling).
fn after_sections(text: &str) -> Roff {
    let mut roff = Roff::default();
    let mut open = false;
    for line in text.lines() {
        let heading = !line.starts_with(' ') && line.ends_with(':') && !line.contains("  ");
        if heading {
            if open {
                roff.control("fi", []);
            }
            let title = line.trim_end_matches(':').to_uppercase();
            roff.control("SH", [title.as_str()]);
            roff.control("nf", []);
            open = true;
            continue;
        }
        if !open {
            roff.control("SH", ["NOTES"]);
            roff.control("nf", []);
            open = true;
        }
        // The help indents its sections' lines by two; a man page indents them itself.
        roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
    }
    if open {
        roff.control("fi", []);
    }
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_help_headings_become_sections_and_lines_stay_as_laid_out() {
        let roff = after_sections("Examples:\n  caredesk lookup -\n\nExit codes:\n  0  success\n")
            .to_roff();
        assert!(roff.contains(".SH EXAMPLES\n.nf\n"), "{roff}");
        assert!(roff.contains("\ncaredesk lookup \\-\n"), "{roff}");
        assert!(
            roff.contains(".SH \"EXIT CODES\"") || roff.contains(".SH EXIT CODES"),
            "{roff}"
        );
        assert!(roff.trim_end().ends_with(".fi"), "{roff}");
    }

    #[test]
    fn a_page_defines_its_quote_string_once() {
        let page = String::from_utf8(page(&built_command()).expect("page")).expect("utf8");
        assert_eq!(page.matches(".el .ds Aq").count(), 1, "{page}");
        assert!(page.starts_with(".ie "), "{page}");
    }
}
