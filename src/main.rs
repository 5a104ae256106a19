//! `dm-dns`: parses the command line and hands it to `cli`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: dm_dns::sys::alloc::HugeLarge = dm_dns::sys::alloc::HugeLarge;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
