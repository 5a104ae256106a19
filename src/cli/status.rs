//! `dm-dns status`: whether this node serves what it installed.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::parse_domain;
use dm_dns::control::Control;
use dm_dns::error::Error;
use dm_dns::status::{self, Health};

/// Show whether this node serves the zone it installed.
///
/// Reads what install recorded in the state directory (serial, signer, record
/// counts, when) and the last refused update, and compares it with the mesh
/// file, the zone file and the serial unbound serves. Exit 0 when the node
/// serves what it installed and the latest mesh file is installed; 1 when it
/// is stale, the latest update was refused or is not installed yet, or
/// nothing was ever installed; 2 on error. On a NixOS node the module sets
/// the DM_DNS_* variables, so `dm-dns status` needs no arguments there.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns status\n  \
    dm-dns status --json | jq .health\n  \
    dm-dns status --state-dir /var/lib/dm-dns --domain clan \\\n    \
    --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --zone-file /var/lib/dm-dns/zone/clan.zone --unbound-control 'unbound-control -s /run/unbound/unbound.ctl'")]
pub struct StatusArgs {
    /// Where install keeps its state.
    #[arg(long, value_name = "DIR", env = "DM_DNS_STATE_DIR")]
    state_dir: Utf8PathBuf,
    /// The clan domain this node serves.
    #[arg(long, env = "DM_DNS_DOMAIN")]
    domain: String,
    /// The signed mesh file: is its latest version installed?
    #[arg(long, value_name = "FILE", env = "DM_DNS_MESH_FILE")]
    mesh_file: Option<Utf8PathBuf>,
    /// The zone file unbound loads: does it hold the installed zone?
    #[arg(long, value_name = "PATH", env = "DM_DNS_ZONE_FILE")]
    zone_file: Option<Utf8PathBuf>,
    /// How to run unbound-control, to ask which serial unbound serves.
    #[arg(long, value_name = "CMD", env = "DM_DNS_UNBOUND_CONTROL")]
    unbound_control: Option<String>,
    /// Seconds one unbound-control call may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    control_timeout: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl TryFrom<StatusArgs> for status::Config {
    type Error = Error;

    fn try_from(args: StatusArgs) -> Result<status::Config, Error> {
        let timeout = super::control_timeout(args.control_timeout)?;
        Ok(status::Config {
            state_dir: args.state_dir,
            domain: parse_domain(&args.domain)?,
            mesh_file: args.mesh_file,
            zone_file: args.zone_file,
            control: args.unbound_control.map(|cmd| Control {
                command: cmd.split_whitespace().map(str::to_owned).collect(),
                timeout,
            }),
        })
    }
}

pub fn run(args: StatusArgs) -> Result<ExitCode, Error> {
    let json = args.json;
    let report = status::report(&status::Config::try_from(args)?)?;
    let text = if json {
        serde_json::to_string_pretty(&report).expect("report serialises") + "\n"
    } else {
        report.to_text()
    };
    super::print(&text)?;
    Ok(if report.health == Health::Current {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
