//! shinrai, an SRE platform in one binary: the command line.
//!
//! Architecture invariant: this crate is the one place that reads settings from the
//! environment (through clap's `env`), reads configuration files, picks a store backend
//! from the database URL and installs logging.

mod cli;
mod client;
mod demo;
mod incidents;
mod oncall;
mod output;
mod secrets;
mod serve;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the reason and its causes, outermost first.
            let reason: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", reason.join(": "));
            ExitCode::FAILURE
        }
    }
}
