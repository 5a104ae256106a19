//! `dm-dns plan`: what a push would change.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{MeshSizeLimit, TrustedKeys};
use dm_dns::error::Error;
use dm_dns::plan;

/// Show what pushing a zone would change against the live mesh file.
///
/// Verifies the live file (the one data-mesher holds on this machine) with
/// the trusted keys, shows its serial and when it was signed, and lists every
/// name added (+), removed (-) or retargeted (~), and every address record
/// added or removed, with the scopes that export it now or why it is gone.
/// `dm-send-dns --dry-run` runs this. Exit 0 when nothing would change, 1
/// when something would, 2 on error.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    dm-dns plan --zone result --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --trusted-key signing.pub")]
pub struct PlanArgs {
    /// The zone to push: a `dm-dns zone` output directory.
    #[arg(long, value_name = "DIR")]
    zone: Utf8PathBuf,
    /// The live signed mesh file; if it does not exist, every name is new.
    #[arg(long, value_name = "FILE")]
    mesh_file: Utf8PathBuf,
    #[command(flatten)]
    trusted: TrustedKeys,
    #[command(flatten)]
    limit: MeshSizeLimit,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PlanArgs) -> Result<ExitCode, Error> {
    let trusted = args.trusted.load()?;
    let plan = plan::plan(
        &args.zone,
        &args.mesh_file,
        &trusted,
        args.limit.max_mesh_bytes,
    )?;
    let text = if args.json {
        serde_json::to_string_pretty(&plan).expect("plan serialises") + "\n"
    } else {
        plan.to_text()
    };
    super::print(&text)?;
    Ok(if plan.changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
