//! `dm-dns install`: the signed mesh file into unbound, on every node.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{DomainArg, MeshSizeLimit, TrustedKeys, read_text};
use dm_dns::control::Control;
use dm_dns::error::Error;
use dm_dns::hosts;
use dm_dns::install::{self, Outcome};

/// Install a signed mesh file into unbound (every node, whenever it changes).
///
/// Verifies the file, refuses older serials, renders an RFC 1035 zone with the
/// CNAMEs and this node's own address records, checks it, replaces the zone
/// file atomically (the previous one is kept as last-good in the state
/// directory) and reloads only that zone with unbound-control. On any failure
/// the previous zone keeps serving. Without a mesh file yet, or when the mesh
/// file is refused (not signed by a trusted key, or no key given) and no zone
/// is in place, writes a zone of the node's own records so unbound can start;
/// a refusal still exits 2.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    dm-dns install --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --trusted-key /etc/dm-dns/signing.pub --domain clan --hosts /etc/hosts \\\n    \
    --zone-file /var/lib/dm-dns/zone/clan.zone --state-dir /var/lib/dm-dns \\\n    \
    --unbound-control 'unbound-control -c /etc/unbound/unbound.conf'")]
pub struct InstallArgs {
    /// The signed mesh file (data-mesher's dns/cnames).
    #[arg(long, value_name = "FILE")]
    mesh_file: Utf8PathBuf,
    // Without --trusted-key every mesh file is refused (see the about text).
    #[command(flatten)]
    trusted: TrustedKeys,
    #[command(flatten)]
    domain: DomainArg,
    /// This node's address records: /etc/hosts format or JSON
    /// { "<address>": [ "<name>", ... ] }; only names below the domain are used.
    #[arg(long, value_name = "FILE")]
    hosts: Option<Utf8PathBuf>,
    /// The zone file unbound's auth-zone loads.
    #[arg(long, value_name = "PATH")]
    zone_file: Utf8PathBuf,
    /// Where the installed serial, hashes and last-good zone are kept.
    #[arg(long, value_name = "DIR")]
    state_dir: Utf8PathBuf,
    /// How to run unbound-control, split on spaces (e.g. "unbound-control -c FILE").
    #[arg(long, value_name = "CMD", default_value = "unbound-control")]
    unbound_control: String,
    /// Do not reload unbound (use before unbound starts).
    #[arg(long)]
    no_reload: bool,
    /// Seconds one unbound-control call may take; then it is killed and the
    /// previous zone file is put back.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    control_timeout: f64,
    /// Accept a serial older than the installed one: the way back after a
    /// zone was signed with a wrong serial (see README, "Serials").
    #[arg(long)]
    allow_rollback: bool,
    #[command(flatten)]
    limit: MeshSizeLimit,
}

/// Arguments to the library's install configuration: key files and the
/// hosts file are read here, every value is checked.
impl TryFrom<InstallArgs> for install::Config {
    type Error = Error;

    fn try_from(args: InstallArgs) -> Result<install::Config, Error> {
        let domain = args.domain.parse()?;
        let addresses = match &args.hosts {
            Some(path) => hosts::parse(&read_text(path)?, &domain)
                .map_err(|e| Error::input(format!("--hosts {path}: {e}")))?,
            None => Vec::new(),
        };
        let control_timeout = super::control_timeout(args.control_timeout)?;
        let reload_command: Vec<String> = args
            .unbound_control
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if reload_command.is_empty() && !args.no_reload {
            return Err(Error::input(
                "--unbound-control is empty (hint: e.g. 'unbound-control -c /etc/unbound/unbound.conf', \
                 or --no-reload before unbound runs)",
            ));
        }
        let control = Control {
            command: reload_command,
            timeout: control_timeout,
        };
        Ok(install::Config {
            mesh_file: args.mesh_file,
            trusted_keys: args.trusted.load()?,
            domain,
            addresses,
            zone_file: args.zone_file,
            state_dir: args.state_dir,
            control: (!args.no_reload).then_some(control),
            allow_rollback: args.allow_rollback,
            max_mesh_bytes: args.limit.max_mesh_bytes,
        })
    }
}

pub fn run(args: InstallArgs) -> Result<ExitCode, Error> {
    let config = install::Config::try_from(args)?;
    match install::run(&config)? {
        Outcome::Installed {
            serial,
            records,
            changes,
        } => {
            eprintln!(
                "dm-dns: installed serial {serial} ({}) into {}: {changes}",
                super::count(records, "CNAME"),
                config.zone_file
            )
        }
        Outcome::Unchanged { serial } => eprintln!("dm-dns: serial {serial} is already installed"),
        Outcome::Bootstrapped => eprintln!(
            "dm-dns: no {} yet; wrote a zone of this node's own records to {}",
            config.mesh_file, config.zone_file
        ),
        Outcome::KeptExisting => eprintln!(
            "dm-dns: no {} yet; keeping {}",
            config.mesh_file, config.zone_file
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    const KEY: &str = "b88oXyX9Wu/GxFGBxIpM55exUCZX1vPjNhUUcXd1n+g=";

    fn parsed(extra: &[&str]) -> Result<install::Config, Error> {
        let mut argv = vec![
            "dm-dns",
            "install",
            "--mesh-file",
            "/m",
            "--domain",
            "Clan.",
            "--zone-file",
            "/z",
            "--state-dir",
            "/s",
            "--trusted-key",
            KEY,
        ];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Install(args) => install::Config::try_from(args),
            _ => unreachable!("an install command line"),
        }
    }

    #[test]
    fn defaults_reload_with_a_timeout_and_refuse_rollbacks() {
        let config = parsed(&[]).unwrap();
        assert_eq!(config.domain.as_str(), "clan");
        let control = config.control.unwrap();
        assert_eq!(control.command, ["unbound-control"]);
        assert_eq!(control.timeout, Duration::from_secs(5));
        assert_eq!(config.max_mesh_bytes, 256 << 20);
        assert_eq!(config.trusted_keys.len(), 1);
        assert!(!config.allow_rollback && config.addresses.is_empty());
    }

    #[test]
    fn options_reach_the_config() {
        let config = parsed(&[
            "--unbound-control",
            "unbound-control -s /run/u.ctl",
            "--control-timeout",
            "0.5",
            "--max-mesh-size",
            "1G",
            "--allow-rollback",
        ])
        .unwrap();
        let control = config.control.as_ref().unwrap();
        assert_eq!(control.command, ["unbound-control", "-s", "/run/u.ctl"]);
        assert_eq!(control.timeout, Duration::from_millis(500));
        assert_eq!(config.max_mesh_bytes, 1 << 30);
        assert!(config.allow_rollback);
        assert_eq!(parsed(&["--no-reload"]).unwrap().control, None);
    }

    #[test]
    fn bad_values_are_input_errors() {
        for (extra, needle) in [
            (&["--control-timeout", "0"][..], "positive"),
            (&["--control-timeout=-1"][..], "positive"),
            (&["--unbound-control", " "][..], "empty"),
            (&["--trusted-key", "/no/such.pub"][..], "does not exist"),
        ] {
            let err = parsed(extra).err().expect("refused").to_string();
            assert!(err.contains(needle), "{extra:?}: {err}");
        }
    }
}
