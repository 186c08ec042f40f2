//! Faults made on purpose: the binary on a disk that fills at a given size (a limit on the size
//! of files it may write), as another user, and databases as an earlier release left them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary with `args` (after `--db URL`), on a disk that is full past `bytes`: the process
/// may not write a file beyond that size (`prlimit --fsize`). When `killed`, it dies at the
/// first write past it (SIGXFSZ, as abruptly as `kill -9`: no clean-up runs); else the write
/// fails (EFBIG) and the process reports the failure as it would a full disk.
pub fn starved(url: &str, args: &[&str], bytes: u64, killed: bool) -> Command {
    let script = if killed {
        "exec prlimit --fsize=\"$0\" \"$@\""
    } else {
        // An ignored signal stays ignored across exec: the write fails instead of killing.
        "trap '' XFSZ; exec prlimit --fsize=\"$0\" \"$@\""
    };
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .arg(bytes.to_string())
        .arg(env!("CARGO_BIN_EXE_caredesk"))
        .args(["--db", url])
        .args(args)
        .env_remove("CAREDESK_DB")
        .env_remove("CAREDESK_AGENT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd`; returns (exit code, or -signal when killed; stdout; stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    use std::os::unix::process::ExitStatusExt;
    let out = cmd.output().expect("run");
    let code = out
        .status
        .code()
        .or_else(|| out.status.signal().map(|s| -s))
        .unwrap_or(-1);
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether the tests run as root, who may write anywhere (permissions do not stop it).
pub fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().expect("temp file");
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().expect("metadata")) == 0
}

/// The binary as an unprivileged user (`nobody`) when the tests run as root, so that file
/// permissions apply; as the current user otherwise.
pub struct Unprivileged {
    /// As root: a copy of the binary any user may run (the build's own may sit in a folder
    /// only root can enter, a clone under /root), removed with the value.
    copy: Option<(tempfile::TempDir, PathBuf)>,
}

impl Unprivileged {
    pub fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        if !is_root() {
            return Self { copy: None };
        }
        let dir = tempfile::tempdir().expect("dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let path = dir.path().join("caredesk");
        std::fs::copy(env!("CARGO_BIN_EXE_caredesk"), &path).expect("copy the binary");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self {
            copy: Some((dir, path)),
        }
    }

    /// The binary on `url`.
    pub fn cli(&self, url: &str) -> Command {
        let mut cmd = match &self.copy {
            Some((_, bin)) => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                    .arg(bin);
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_caredesk")),
        };
        cmd.args(["--db", url])
            .env_remove("CAREDESK_DB")
            .env_remove("CAREDESK_AGENT")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }
}

/// The names of the files in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A SQLite database at `path` as a release that knew only the migrations numbered up to
/// `last` left it, with one supervisor (`ops`) in it: data, and migrations pending.
/// How many SQLite migrations come after migration `last`: what `db migrate` applies to a
/// database `sqlite_at_migration(…, last)` made.
pub fn sqlite_migrations_after(last: u32) -> usize {
    std::fs::read_dir("migrations/sqlite")
        .expect("migrations")
        .filter(|e| {
            let name = e.as_ref().expect("entry").file_name();
            name.to_string_lossy()[..4]
                .parse::<u32>()
                .expect("numbered migration")
                > last
        })
        .count()
}

pub fn sqlite_at_migration(path: &Path, last: u32) -> PathBuf {
    let dir = tempfile::tempdir().expect("dir");
    for entry in std::fs::read_dir("migrations/sqlite").expect("migrations") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let number: u32 = name[..4].parse().expect("numbered migration");
        if number <= last {
            std::fs::copy(entry.path(), dir.path().join(&name)).expect("copy");
        }
    }
    let url = format!("sqlite:{}?mode=rwc", path.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut c)
            .await
            .expect("wal");
        sqlx::migrate::Migrator::new(dir.path())
            .await
            .expect("migrator")
            .run(&mut c)
            .await
            .expect("migrate");
        sqlx::query("INSERT INTO agents (login, display_name, role, active, created_at) VALUES ('ops', 'ops', 'supervisor', 1, '2009-10-14T00:00:00+00:00')")
            .execute(&mut c)
            .await
            .expect("agent");
        c.close().await.expect("close");
    });
    path.to_path_buf()
}
