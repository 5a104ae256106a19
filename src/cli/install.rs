//! `dm-dns install`: the signed mesh file into unbound, on every node.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{
    ConfigArg, ControlArgs, MeshSizeLimit, TrustedKeys, parse_domain, read_text, required,
};
use dm_dns::artifacts::reverse::ReverseZone;
use dm_dns::error::Error;
use dm_dns::node::hosts;
use dm_dns::node::install::{self, Applied, Failure, Outcome};

/// Install a signed mesh file into the node's DNS (every node, whenever it
/// changes).
///
/// Verifies the file, refuses older serials, renders an RFC 1035 zone with the
/// CNAMEs and this node's own address records, checks it, replaces the zone
/// file atomically (the previous one is kept as last-good in the state
/// directory) and puts it in service: with --knot-control, Knot DNS takes a
/// small change as one transaction of the changed records and reloads a
/// large one beside the served zone; with --unbound-control, unbound reloads
/// only that auth-zone. On any failure the previous zone keeps serving.
/// Without a mesh file yet, or when the mesh file is refused (not signed by a
/// trusted key, or no key given) and no zone is in place, writes a zone of
/// the node's own records so the server can start; a refusal still exits 2.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    dm-dns install --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --trusted-key /etc/dm-dns/signing.pub --domain clan --hosts /etc/hosts \\\n    \
    --zone-file /var/lib/dm-dns/zone/clan.zone --state-dir /var/lib/dm-dns \\\n    \
    --knot-control 'knotc -s /run/dm-dns-knot/knot.sock'")]
pub struct InstallArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The signed mesh file (data-mesher's dns/cnames). [default: the node
    /// configuration's mesh_file]
    #[arg(long, value_name = "FILE", value_parser = super::path_arg)]
    mesh_file: Option<Utf8PathBuf>,
    // Without any trusted key every mesh file is refused (see the about text).
    #[command(flatten)]
    trusted: TrustedKeys,
    /// The clan domain (meta.domain), e.g. clan or example.com. [default:
    /// the node configuration's domain]
    #[arg(long)]
    domain: Option<String>,
    /// This node's address records: /etc/hosts format or JSON
    /// { "<address>": [ "<name>", ... ] }; only names below the domain are
    /// used, loopback addresses never. Replaces the node configuration's hosts.
    #[arg(long, value_name = "FILE", value_parser = super::path_arg)]
    hosts: Option<Utf8PathBuf>,
    /// The zone file Knot (or unbound's auth-zone) loads. [default: the node
    /// configuration's zone_file]
    #[arg(long, value_name = "PATH", value_parser = super::path_arg)]
    zone_file: Option<Utf8PathBuf>,
    /// Where the installed serial, hashes and last-good zone are kept.
    /// [default: the node configuration's state_dir]
    #[arg(long, value_name = "DIR", value_parser = super::path_arg)]
    state_dir: Option<Utf8PathBuf>,
    /// A reverse domain to answer (repeatable), e.g. 2.0.ip6.arpa: its PTR
    /// records, one for each address record of the signed zone in it, are
    /// written to <NAME>.zone beside the zone file and reloaded. Replaces
    /// the node configuration's reverse_zones.
    #[arg(long = "reverse-zone", value_name = "NAME", value_parser = ReverseZone::parse)]
    reverse_zones: Option<Vec<ReverseZone>>,
    #[command(flatten)]
    control: ControlArgs,
    /// Only write the zone file; ask no server (before the servers start).
    #[arg(long)]
    no_reload: bool,
    /// Accept a serial older than the installed one: the way back after a
    /// zone was signed with a wrong serial (see README, "Serials").
    #[arg(long)]
    allow_rollback: bool,
    #[command(flatten)]
    limit: MeshSizeLimit,
}

/// Arguments over the node configuration to the library's install
/// configuration: key files and the hosts file are read here, every value
/// is checked.
impl TryFrom<InstallArgs> for install::Config {
    type Error = Error;

    fn try_from(args: InstallArgs) -> Result<install::Config, Error> {
        let node = args.config.load()?;
        let node = node.as_ref();
        let domain = match &args.domain {
            Some(raw) => parse_domain(raw)?,
            None => required(None, node, |n| n.domain.clone(), "domain")?,
        };
        let addresses = match (&args.hosts, node) {
            (Some(path), _) => {
                let parsed = hosts::parse(&read_text(path, "the hosts")?, &domain)
                    .map_err(|e| Error::input(format!("--hosts {path}: {e}")))?;
                for (name, address) in &parsed.loopback {
                    eprintln!(
                        "dm-dns: --hosts {path}: left out {name} {address}: a loopback \
                         address is never a machine's address in the zone"
                    );
                }
                for unusable in &parsed.unusable {
                    eprintln!("dm-dns: --hosts {path}: left out: {unusable}");
                }
                parsed.records
            }
            (None, Some(node)) if node.domain == domain => node.addresses.clone(),
            (None, _) => Vec::new(),
        };
        let control = args.control.resolve(node)?;
        Ok(install::Config {
            mesh_file: required(args.mesh_file, node, |n| n.mesh_file.clone(), "mesh-file")?,
            trusted_keys: args.trusted.load(node)?,
            domain,
            addresses,
            reverse_zones: match args.reverse_zones {
                Some(zones) => zones,
                None => node.map(|n| n.reverse_zones.clone()).unwrap_or_default(),
            },
            zone_file: required(args.zone_file, node, |n| n.zone_file.clone(), "zone-file")?,
            state_dir: required(args.state_dir, node, |n| n.state_dir.clone(), "state-dir")?,
            control: (!args.no_reload).then_some(control),
            allow_rollback: args.allow_rollback || node.is_some_and(|n| n.allow_rollback),
            max_mesh_bytes: args.limit.resolve(node),
            redeploy: node.and_then(|n| n.redeploy.clone()),
        })
    }
}

pub fn run(args: InstallArgs) -> Result<ExitCode, Error> {
    let config = install::Config::try_from(args)?;
    let (outcome, warnings) = install::run(&config)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    match outcome {
        Outcome::Installed {
            serial,
            records,
            changes,
            applied,
        } => {
            let how = match applied {
                Applied::Transaction { edits } => {
                    format!(
                        "; applied as a transaction of {}",
                        super::count(edits, "edit")
                    )
                }
                Applied::Reloaded => "; zone reloaded".to_owned(),
                Applied::FileOnly => String::new(),
            };
            eprintln!(
                "dm-dns: installed serial {serial} ({}) into {}: {changes}{how}",
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
        Outcome::Failed {
            failure,
            consequence,
        } => {
            let what = match failure {
                Failure::Refused(_) => "refused",
                Failure::NotApplied { .. } => "not applied",
            };
            eprintln!("error: {what}: {}; {consequence}", failure.reason());
            return Ok(ExitCode::from(2));
        }
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
    fn the_node_configuration_gives_defaults_and_flags_override_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.json");
        std::fs::write(
            &path,
            format!(
                r#"{{"domain": "clan", "mesh_file": "/node/m", "zone_file": "/node/z",
                    "state_dir": "/node/s", "trusted_keys": ["{KEY}"],
                    "unbound_control": ["uc", "-s", "/u.ctl"], "control_timeout": 2,
                    "hosts": {{"10.0.0.1": ["alpha.clan"]}}, "redeploy": "clan machines update alpha"}}"#
            ),
        )
        .unwrap();
        let config_only = |extra: &[&str]| {
            let mut argv = vec!["dm-dns", "install", "--config", path.to_str().unwrap()];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).expect("parses").command {
                Command::Install(args) => install::Config::try_from(args),
                _ => unreachable!("an install command line"),
            }
        };
        let config = config_only(&[]).unwrap();
        assert_eq!(config.mesh_file, "/node/m");
        assert_eq!(
            (config.zone_file.as_str(), config.state_dir.as_str()),
            ("/node/z", "/node/s")
        );
        let control = config.control.unwrap();
        assert_eq!(control.command, ["uc", "-s", "/u.ctl"]);
        assert_eq!(control.timeout, Duration::from_secs(2));
        assert_eq!(config.addresses.len(), 1);
        assert_eq!(config.trusted_keys.len(), 1);
        assert_eq!(
            config.redeploy.as_deref(),
            Some("clan machines update alpha")
        );
        let overridden =
            config_only(&["--mesh-file", "/flag/m", "--control-timeout", "1"]).unwrap();
        assert_eq!(overridden.mesh_file, "/flag/m");
        assert_eq!(overridden.control.unwrap().timeout, Duration::from_secs(1));
        let missing = Cli::try_parse_from(["dm-dns", "install", "--config", "/no/such.json"]);
        let Command::Install(args) = missing.expect("parses").command else {
            unreachable!("an install command line")
        };
        let err = install::Config::try_from(args)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("/no/such.json: no such file"), "{err}");
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
