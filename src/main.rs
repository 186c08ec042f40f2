//! The caredesk binary: parse the command line, set up logging, dispatch, map errors to the
//! exit codes of docs/commands.md.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = caredesk::cli::Cli::parse();
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
            eprintln!("caredesk: cannot start: {e}");
            return ExitCode::from(1);
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
        Err(e) => {
            // Messages quote the input at fault; the input must not drive the terminal.
            eprintln!(
                "caredesk: {}",
                caredesk::domain::text::terminal_text(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}
