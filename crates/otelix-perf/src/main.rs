//! `otelix-perf`: load and SLO test of an HTTP service. See `otelix-perf --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with code 2.
    let args = otelix_perf::Args::parse();
    match otelix_perf::run(&args) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(error) => {
            eprintln!("otelix-perf: error: {error}");
            ExitCode::from(2)
        }
    }
}
