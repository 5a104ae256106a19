//! `dm-dns completions SHELL` and `dm-dns man`: generated from the command
//! definitions, so they never drift from `--help`. The Nix package installs
//! both.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use dm_dns::error::Error;

/// Print shell completions for bash, zsh, fish, elvish or powershell.
#[derive(Args)]
#[command(after_help = "Example:\n  dm-dns completions bash > /etc/bash_completion.d/dm-dns")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: Shell,
}

pub fn completions(args: CompletionsArgs) -> Result<ExitCode, Error> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "dm-dns",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Print the manual page (roff), e.g. `dm-dns man | man -l -`.
#[derive(Args)]
pub struct ManArgs {}

pub fn man(_: ManArgs) -> Result<ExitCode, Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::io("rendering the manual page", e))?;
    std::io::Write::write_all(&mut std::io::stdout(), &out)
        .map_err(|e| Error::io("writing to stdout", e))?;
    Ok(ExitCode::SUCCESS)
}
