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

/// Print the manual page (roff), or write one page per command to a
/// directory: dm-dns(1), dm-dns-zone(1), dm-dns-install(1), ...
#[derive(Args)]
#[command(after_help = "Examples:\n  dm-dns man | man -l -\n  dm-dns man --out-dir share/man/man1")]
pub struct ManArgs {
    /// Write dm-dns.1 and dm-dns-<command>.1 here instead.
    #[arg(long, value_name = "DIR", value_parser = super::path_arg)]
    out_dir: Option<camino::Utf8PathBuf>,
}

/// What every page about the node commands needs to say: where the node
/// configuration is and what the exit codes mean.
const FILES_AND_EXIT: &str = r#".SH FILES
.TP
/etc/dm-dns/node.json
The node configuration (JSON): domain, trusted_keys, mesh_file, zone_file,
state_dir, unbound_control, knot_control, control_timeout, max_mesh_size, allow_rollback,
hosts, server, redeploy. install, status, explain and plan take their
defaults from it; flags override it; --config chooses another file. The
NixOS module writes it from services.dm-dns.settings.
.TP
<state_dir>/installed.<domain>.json
What install put in service: serial, hashes, signer, counts, when.
.TP
<state_dir>/refused.<domain>.json, <state_dir>/not-applied.<domain>.json
The last update refused, and the last one accepted but not put in service.
.SH ENVIRONMENT
dm-dns reads no environment variables; a node's settings are in its node
configuration, so the commands behave the same under sudo and env -i.
.SH EXIT STATUS
0 success (diff: the zones are the same; status: current; explain: the name
has a record; plan: nothing would change). 1 diff: the zones differ; status:
not current; explain: the name has no record; plan: something would change.
2 an error: the message names the file, scope or host and what to do.
"#;

fn page(command: clap::Command, out: &mut Vec<u8>) -> Result<(), Error> {
    clap_mangen::Man::new(command)
        .render(out)
        .map_err(|e| Error::io("rendering the manual page", e))?;
    out.extend_from_slice(FILES_AND_EXIT.as_bytes());
    Ok(())
}

pub fn man(args: ManArgs) -> Result<ExitCode, Error> {
    let mut root = Cli::command();
    root.build();
    let Some(dir) = args.out_dir else {
        let mut out = Vec::new();
        page(root, &mut out)?;
        std::io::Write::write_all(&mut std::io::stdout(), &out)
            .map_err(|e| Error::io("writing to stdout", e))?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {dir}"), e))?;
    let mut pages = vec![("dm-dns".to_owned(), root.clone())];
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("dm-dns-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, command) in pages {
        let mut out = Vec::new();
        page(command, &mut out)?;
        dm_dns::sys::files::write_file(&dir.join(format!("{name}.1")), &out, 0o644)?;
    }
    Ok(ExitCode::SUCCESS)
}
