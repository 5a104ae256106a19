//! `dm-dns config`: the node configuration, checked and shown.

use std::process::ExitCode;

use clap::Args;

use super::ConfigArg;
use dm_dns::error::Error;
use dm_dns::node::config as node_config;

/// Check the node configuration and print it with every default filled in.
///
/// The node configuration (/etc/dm-dns/node.json, written by the NixOS
/// module from services.dm-dns.settings) gives install, status, explain and
/// plan their defaults. This reads it as they do, reports every problem
/// with the key it concerns, and prints the values in effect. The NixOS
/// module runs it when it builds the file. Exit 0 when the file is valid, 2
/// when it is not or there is none.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns config\n  \
    dm-dns config --config ./node.json")]
pub struct ConfigArgs {
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: ConfigArgs) -> Result<ExitCode, Error> {
    let node = args.config.load()?.ok_or_else(|| {
        Error::input(format!(
            "no node configuration at {} (hint: pass --config FILE; README, \
             \"Node configuration\", shows one)",
            node_config::DEFAULT_PATH
        ))
    })?;
    eprintln!("dm-dns: {} is valid", node.path);
    super::print(&(serde_json::to_string_pretty(&node.file).expect("serialises") + "\n"))?;
    Ok(ExitCode::SUCCESS)
}
