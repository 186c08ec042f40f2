//! Backups written whole or not at all: the folder checked first, the copy written under a
//! temporary name and renamed only once complete. On PostgreSQL through the server's own tool
//! (`pg_dump --format=custom`), with the exact command to run where it is not installed, and
//! the check of an archive an operator says they took (`db migrate --backup-taken FILE`).

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};

use crate::error::{Error, Result};

/// How old an archive named by `db migrate --backup-taken` may be (by the time pg_dump wrote
/// in it): a dump from yesterday would silently lose a day of credits if the migration went
/// wrong and the operator restored it.
pub const MAX_ARCHIVE_AGE_HOURS: i64 = 24;

/// `url` without its password (the user's own part and any `password=` parameter), and the
/// password, percent-decoded, for `PGPASSWORD`: the URL shows in messages and in `ps`, the
/// environment does not.
pub fn without_password(url: &str) -> (String, Option<String>) {
    let mut password = None;
    let mut out = url.to_string();
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, pass)) => {
                    password = Some(percent_decode(pass));
                    format!("{user}@{host}")
                }
                None => authority.to_string(),
            },
            None => authority.to_string(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| match kv.split_once('=') {
                        Some((k, v)) if k.eq_ignore_ascii_case("password") => {
                            password = Some(percent_decode(v));
                            false
                        }
                        _ => true,
                    })
                    .collect();
                if kept.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}?{}", kept.join("&"))
                }
            }
            None => tail.to_string(),
        };
        out = format!("{scheme}://{authority}{tail}");
    }
    (out, password)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text quoted for a POSIX shell, as the operator will paste it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The command an operator runs to dump the database `url` into `file` (no password shown).
pub fn dump_command(url: &str, file: &Path) -> String {
    let (url, _) = without_password(url);
    format!(
        "pg_dump --format=custom --file={} '{}'",
        shell_quote(&file.display().to_string()),
        url.replace('\'', "'\\''")
    )
}

/// Whether a program is on PATH (what `Command::new(name)` would find).
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(program);
            p.is_file()
                && std::fs::metadata(&p).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                })
        })
    })
}

/// The folder `path` goes in, which must exist: a backup never creates folders, so a mistyped
/// one is named rather than made.
pub fn check_folder(path: &Path) -> Result<()> {
    crate::paths::check_writable("the backup", path)?;
    if path.exists() {
        return Err(Error::invalid(format!(
            "{} already exists; choose a new file",
            path.display()
        )));
    }
    Ok(())
}

/// Where a backup is written until it is whole: `PATH.partial` beside it (same file system,
/// so the last step is a rename).
pub fn partial_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Moves a finished backup from `partial` to `path`, never over an existing file, and makes
/// the name durable.
pub fn publish(partial: &Path, path: &Path) -> Result<()> {
    let fail = |e| Error::io(format!("cannot finish the backup {}", path.display()), e);
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(fail)?;
    // A hard link fails if `path` appeared meanwhile; rename would replace it.
    match std::fs::hard_link(partial, path) {
        Ok(()) => std::fs::remove_file(partial).map_err(fail)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::invalid(format!(
                "{} already exists; choose a new file",
                path.display()
            )));
        }
        // File systems without hard links.
        Err(_) => std::fs::rename(partial, path).map_err(fail)?,
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Removes what a failed backup left (`partial` and SQLite's `-journal` beside it).
pub fn discard(partial: &Path) {
    let _ = std::fs::remove_file(partial);
    let mut journal = partial.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(PathBuf::from(journal));
}

/// Dumps the database `url` into `path` with `pg_dump --format=custom`, through `PATH.partial`
/// renamed once pg_dump has finished. Refuses, with the command to run, when pg_dump is not
/// installed.
pub fn dump(url: &str, path: &Path) -> Result<()> {
    check_folder(path)?;
    if !on_path("pg_dump") {
        return Err(Error::refused(format!(
            "pg_dump is not installed here, and caredesk backs up a PostgreSQL database only through it; install the PostgreSQL client tools, or run: {}",
            dump_command(url, path)
        )));
    }
    let partial = partial_path(path);
    discard(&partial);
    let (plain, password) = without_password(url);
    let mut cmd = Command::new("pg_dump");
    cmd.arg("--format=custom")
        .arg(format!("--file={}", partial.display()))
        .arg(format!("--dbname={plain}"))
        .stdin(std::process::Stdio::null());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().map_err(|e| {
        Error::io(
            format!("cannot run pg_dump to back up into {}", path.display()),
            e,
        )
    })?;
    if !out.status.success() {
        discard(&partial);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| l.strip_prefix("pg_dump: ").unwrap_or(l))
            .map(|l| l.strip_prefix("error: ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::System(crate::domain::privacy::redact_url(&format!(
            "pg_dump could not back up the database into {}: {}",
            path.display(),
            crate::domain::sanitize(if why.is_empty() { "it failed" } else { &why })
        ))));
    }
    if let Err(e) = publish(&partial, path) {
        discard(&partial);
        return Err(e);
    }
    Ok(())
}

/// What the header of a pg_dump archive says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveHeader {
    /// The database it is a dump of.
    pub database: String,
    /// When pg_dump wrote it (its machine's local time, read as this machine's).
    pub created: Option<DateTime<Utc>>,
}

/// Reads the header of a pg_dump custom-format archive (pg_backup_archiver.c, `ReadHead`):
/// "PGDMP", the format version, integer and offset sizes, the format (1: custom), the
/// compression, the creation time and the database's name.
pub fn read_header(bytes: &[u8]) -> std::result::Result<ArchiveHeader, String> {
    const CUSTOM: u8 = 1;
    let mut r = Reader {
        bytes,
        at: 0,
        int_size: 4,
    };
    if r.take(5)? != b"PGDMP" {
        return Err("it does not start with PGDMP".to_string());
    }
    let vmaj = r.byte()?;
    let vmin = r.byte()?;
    let vrev = if vmaj > 1 || (vmaj == 1 && vmin > 0) {
        r.byte()?
    } else {
        0
    };
    let version = (u32::from(vmaj) << 16) | (u32::from(vmin) << 8) | u32::from(vrev);
    let v = |maj: u32, min: u32| (maj << 16) | (min << 8);
    if version < v(1, 10) {
        return Err(format!(
            "its format version {vmaj}.{vmin} is older than caredesk reads (1.10, PostgreSQL 8.4)"
        ));
    }
    r.int_size = usize::from(r.byte()?);
    if !(1..=8).contains(&r.int_size) {
        return Err("its header is damaged".to_string());
    }
    let _offset_size = r.byte()?;
    let format = r.byte()?;
    if format != CUSTOM {
        return Err(match format {
            3 => "it is a tar-format archive (take it with --format=custom)".to_string(),
            5 => "it is a directory-format archive (take it with --format=custom)".to_string(),
            _ => "it is not a custom-format archive (take it with --format=custom)".to_string(),
        });
    }
    if version >= v(1, 15) {
        r.byte()?;
    } else {
        r.int()?;
    }
    let mut tm = [0_i64; 7];
    for f in &mut tm {
        *f = r.int()?;
    }
    let [sec, min, hour, mday, mon, year, _isdst] = tm;
    let created = NaiveDate::from_ymd_opt(
        i32::try_from(year + 1900).unwrap_or(0),
        u32::try_from(mon + 1).unwrap_or(0),
        u32::try_from(mday).unwrap_or(0),
    )
    .and_then(|d| {
        d.and_hms_opt(
            u32::try_from(hour).unwrap_or(99),
            u32::try_from(min).unwrap_or(99),
            u32::try_from(sec).unwrap_or(99),
        )
    })
    .and_then(|t| Local.from_local_datetime(&t).earliest())
    .map(|t| t.with_timezone(&Utc));
    let database = r.string()?.unwrap_or_default();
    Ok(ArchiveHeader { database, created })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    int_size: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err("its header is cut short".to_string());
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// pg_dump's integer: a sign byte, then `int_size` bytes, least significant first.
    fn int(&mut self) -> std::result::Result<i64, String> {
        let negative = self.byte()? != 0;
        let mut v: i64 = 0;
        for (i, b) in self.take(self.int_size)?.iter().enumerate() {
            if i < 8 {
                v |= i64::from(*b) << (8 * i);
            }
        }
        Ok(if negative { -v } else { v })
    }

    fn string(&mut self) -> std::result::Result<Option<String>, String> {
        let len = self.int()?;
        if len < 0 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| "its header is damaged".to_string())?;
        Ok(Some(String::from_utf8_lossy(self.take(len)?).into_owned()))
    }
}

/// Checks that `file` is a pg_dump custom-format archive of the database `database`, written
/// at most `MAX_ARCHIVE_AGE_HOURS` before `now`, and, where pg_restore is installed, that
/// `pg_restore --list` reads its table of contents.
pub fn check_archive(file: &Path, database: &str, now: DateTime<Utc>) -> Result<()> {
    let not = |why: String| {
        Error::invalid(format!(
            "--backup-taken {} is not a usable backup of the database \"{database}\": {why}",
            file.display()
        ))
    };
    let mut head = Vec::with_capacity(4096);
    {
        use std::io::Read;
        let f = std::fs::File::open(file)
            .map_err(|e| Error::io(format!("cannot read --backup-taken {}", file.display()), e))?;
        f.take(4096)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(format!("cannot read --backup-taken {}", file.display()), e))?;
    }
    let header = read_header(&head).map_err(|why| {
        not(format!(
            "{why}; a pg_dump custom-format archive is needed (pg_dump --format=custom)"
        ))
    })?;
    if header.database != database {
        return Err(not(format!(
            "it is a dump of the database \"{}\"",
            crate::domain::sanitize(&header.database)
        )));
    }
    match header.created {
        Some(t) if now - t > chrono::Duration::hours(MAX_ARCHIVE_AGE_HOURS) => {
            return Err(not(format!(
                "pg_dump wrote it at {}, more than {MAX_ARCHIVE_AGE_HOURS} hours ago; take a new one",
                t.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        Some(_) => {}
        None => return Err(not("its creation time is unreadable".to_string())),
    }
    if on_path("pg_restore") {
        let out = Command::new("pg_restore")
            .arg("--list")
            .arg(file)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::io("cannot run pg_restore --list", e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(not(format!(
                "pg_restore --list cannot read it ({})",
                crate::domain::sanitize(stderr.trim())
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_command_and_url_carry_no_password() {
        let (url, pw) = without_password(
            "postgres://ops:s%40cret@db.example:5432/care?sslmode=require&password=x2",
        );
        assert_eq!(url, "postgres://ops@db.example:5432/care?sslmode=require");
        assert_eq!(pw.as_deref(), Some("x2"));
        let (url, pw) = without_password("postgres://ops:s%40cret@db/care");
        assert_eq!(
            (url.as_str(), pw.as_deref()),
            ("postgres://ops@db/care", Some("s@cret"))
        );
        assert_eq!(
            dump_command(
                "postgres://ops:pw@db/care",
                Path::new("/var/backups/care.dump")
            ),
            "pg_dump --format=custom --file=/var/backups/care.dump 'postgres://ops@db/care'"
        );
        assert_eq!(
            dump_command("postgres://db/care", Path::new("my dump's.dump")),
            "pg_dump --format=custom --file='my dump'\\''s.dump' 'postgres://db/care'"
        );
    }

    /// A custom-format header as pg_dump 15 writes it (format 1.14).
    fn header(format: u8, db: &str, year: i64) -> Vec<u8> {
        let int = |v: i64| {
            let mut b = vec![u8::from(v < 0)];
            b.extend_from_slice(&(v.unsigned_abs() as u32).to_le_bytes());
            b
        };
        let mut h = b"PGDMP".to_vec();
        h.extend([1, 14, 0, 4, 8, format]);
        h.extend(int(-1)); // compression
        for v in [5, 4, 3, 2, 0, year - 1900, 0] {
            h.extend(int(v));
        }
        h.extend(int(db.len() as i64));
        h.extend(db.as_bytes());
        h
    }

    #[test]
    fn a_custom_format_header_gives_its_database_and_time() {
        let h = read_header(&header(1, "care", 2024)).expect("header");
        assert_eq!(h.database, "care");
        let t = h.created.expect("time").with_timezone(&Local);
        assert_eq!(
            t.format("%Y-%m-%d %H:%M:%S").to_string(),
            "2024-01-02 03:04:05"
        );
        assert!(read_header(b"PGDMX").unwrap_err().contains("PGDMP"));
        assert!(
            read_header(&header(3, "care", 2024))
                .unwrap_err()
                .contains("tar")
        );
        assert!(
            read_header(&header(1, "care", 2024)[..20])
                .unwrap_err()
                .contains("cut short")
        );
        assert!(read_header(b"").is_err());
    }
}
