//! `dm-dns status`: whether this node serves what it installed.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{ConfigArg, ControlArgs, OutputFormat, parse_domain, required};
use dm_dns::error::Error;
use dm_dns::node::status::{self, Health};

/// Show whether this node serves the zone it installed.
///
/// Reads what install recorded in the state directory (serial, signer, record
/// counts, when), the last refused update and the last one not applied, and
/// compares them with the mesh file, the zone file and the serial the zone
/// server (Knot, or unbound's auth-zone) serves. On a node every value comes from the node configuration
/// (/etc/dm-dns/node.json), so `dm-dns status` needs no arguments; without
/// one, --state-dir is needed and the domain is the one the state directory
/// holds. Exit 0 when the node serves what it installed and the latest mesh
/// file is installed; 1 when it does not (health never-installed,
/// unbound-unreachable, stale, refused, not-applied or pending: the report
/// is printed all the same); 2 on error.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns status\n  \
    dm-dns status --json | jq .health\n  \
    dm-dns status --state-dir /var/lib/dm-dns --domain clan \\\n    \
    --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --zone-file /var/lib/dm-dns/zone/clan.zone --knot-control 'knotc -s /run/dm-dns-knot/knot.sock'")]
pub struct StatusArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Where install keeps its state. [default: the node configuration's
    /// state_dir]
    #[arg(long, value_name = "DIR", value_parser = super::path_arg)]
    state_dir: Option<Utf8PathBuf>,
    /// The clan domain this node serves. [default: the node configuration's
    /// domain, else the one the state directory holds]
    #[arg(long)]
    domain: Option<String>,
    /// The signed mesh file: is its latest version installed? [default: the
    /// node configuration's mesh_file]
    #[arg(long, value_name = "FILE", value_parser = super::path_arg)]
    mesh_file: Option<Utf8PathBuf>,
    /// The zone file the server loads: does it hold the installed zone?
    /// [default: the node configuration's zone_file]
    #[arg(long, value_name = "PATH", value_parser = super::path_arg)]
    zone_file: Option<Utf8PathBuf>,
    #[command(flatten)]
    control: ControlArgs,
    /// Do not ask the zone server (Knot or unbound) which serial it serves.
    #[arg(long)]
    no_unbound: bool,
    #[command(flatten)]
    output: OutputFormat,
}

impl TryFrom<StatusArgs> for status::Config {
    type Error = Error;

    fn try_from(args: StatusArgs) -> Result<status::Config, Error> {
        let node = args.config.load()?;
        let node = node.as_ref();
        let domain = match (&args.domain, node) {
            (Some(raw), _) => Some(parse_domain(raw)?),
            (None, Some(node)) => Some(node.domain.clone()),
            (None, None) => None,
        };
        // Without a node configuration a server is asked only when told how.
        let ask_unbound = !args.no_unbound && (node.is_some() || args.control.is_given());
        Ok(status::Config {
            state_dir: required(args.state_dir, node, |n| n.state_dir.clone(), "state-dir")?,
            domain,
            mesh_file: args.mesh_file.or(node.map(|n| n.mesh_file.clone())),
            zone_file: args.zone_file.or(node.map(|n| n.zone_file.clone())),
            control: ask_unbound
                .then(|| args.control.resolve(node))
                .transpose()?,
            serves: node.and_then(|n| n.serves.clone()),
        })
    }
}

pub fn run(args: StatusArgs) -> Result<ExitCode, Error> {
    let output = args.output;
    let report = status::report(&status::Config::try_from(args)?)?;
    output.print(&report, || report.to_text())?;
    Ok(if report.health == Health::Current {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
