//! `pipecat-cloud`: manage Pipecat Cloud agents, secret sets, builds and
//! organization settings from a terminal or a script.
//!
//! A thin front end on `pipecat-api`: the library sends, checks and waits;
//! this binary parses arguments, calls it and shows the answers.

mod agent;
mod app;
mod arguments;
mod argv;
mod build;
mod completions;
mod confirm;
mod context;
mod dashboard;
mod deploy;
mod docker;
mod failure;
mod org;
mod output;
mod plan;
mod progress;
mod secrets;

fn main() -> std::process::ExitCode {
    app::main()
}
