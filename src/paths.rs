//! The files a command is given to write or read, checked before any work is done, so a
//! mistyped path is named at once (exit 2) instead of failing after a run was applied or a
//! server was started. The store's backups check their target with the same function.

use std::path::Path;

use crate::error::{Error, Result};

/// The directory a new file at `path` goes in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// `path` (given as `what`, e.g. `--report`) can be written: it is not a directory and its
/// directory exists.
pub fn check_writable(what: &str, path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{what} {} is a directory; give a file name",
            path.display()
        )));
    }
    let dir = parent_of(path);
    if !dir.is_dir() {
        return Err(Error::invalid(format!(
            "{what} {}: the directory {} does not exist; create it first",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// `path` (given as `what`, e.g. `--tls-cert`) is a file that exists.
pub fn check_readable(what: &str, path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::invalid(format!(
            "{what} {} is a directory; give a file",
            path.display()
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::invalid(format!(
            "{what} {} does not exist",
            path.display()
        ))),
        Err(e) => Err(Error::io(
            format!("cannot read {what} {}", path.display()),
            e,
        )),
    }
}

/// `dir` (`what` says what it is for, e.g. "the manual pages' directory") is an existing
/// directory.
pub fn check_directory(what: &str, dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "{what} {} is not a directory",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::invalid(format!(
            "{what} {} does not exist; create it first",
            dir.display()
        ))),
        Err(e) => Err(Error::io(
            format!("cannot read the directory {}", dir.display()),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_names_the_path_and_the_option() {
        let tmp = tempfile::tempdir().expect("tmp");
        let missing = tmp.path().join("nope").join("r.csv");
        let err = check_writable("--report", &missing)
            .expect_err("no dir")
            .to_string();
        assert!(err.starts_with("--report "), "{err}");
        assert!(
            err.contains(&format!(
                "the directory {} does not exist",
                tmp.path().join("nope").display()
            )),
            "{err}"
        );
        assert!(check_writable("--report", &tmp.path().join("r.csv")).is_ok());
        assert!(
            check_writable("--report", Path::new("r.csv")).is_ok(),
            "the current directory"
        );
        let err = check_writable("--report", tmp.path())
            .expect_err("a dir")
            .to_string();
        assert!(err.contains("is a directory"), "{err}");
        let err = check_readable("--tls-cert", &missing)
            .expect_err("missing")
            .to_string();
        assert_eq!(
            err,
            format!("--tls-cert {} does not exist", missing.display())
        );
        let err = check_directory("the pages' directory", &tmp.path().join("nope"))
            .expect_err("missing")
            .to_string();
        assert!(err.starts_with("the pages' directory "), "{err}");
        assert!(
            err.ends_with("nope does not exist; create it first"),
            "{err}"
        );
    }
}
