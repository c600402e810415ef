//! The `cascade` binary: parses the command line, sets up logging and hands over to `cli`.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Before the runtime starts its threads, so that they share the allocator's arenas.
    cascade::memory::limit_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("cascade: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("CASCADE_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_writer(std::io::stderr);
    // One JSON object per line for log collectors; the human format otherwise.
    if std::env::var("CASCADE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
    cascade::cli::run(cascade::cli::Cli::parse()).await
}
