//! The `quanzi` binary: parses the command line and hands over to [`cli`].
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod telemetry;

fn main() -> std::process::ExitCode {
    cli::main()
}
