//! The caredesk binary: parse the command line, set up logging, dispatch, map errors to the
//! exit codes of docs/commands.md (as one sentence, or one JSON object under --format json).

use std::process::ExitCode;

use caredesk::cli::{Cli, failure};
use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(failure::report_usage(&e, &args)),
    };
    let format = cli.global.format;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAREDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = caredesk::Error::io("cannot start", e);
            return ExitCode::from(failure::report(&e, format));
        }
    };
    match runtime.block_on(caredesk::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): not an error of ours.
        Err(caredesk::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => ExitCode::from(failure::report(&e, format)),
    }
}
