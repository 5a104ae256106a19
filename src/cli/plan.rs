//! `dm-dns plan`: what a push would change.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{ConfigArg, MeshSizeLimit, OutputFormat, TrustedKeys, required};
use dm_dns::error::Error;
use dm_dns::tools::plan;

/// Show what pushing a zone would change against the live mesh file.
///
/// Reads the live file (the one data-mesher holds on this machine): none
/// yet (first push), one it cannot verify, such as the built-in service's
/// unsigned zone or a file signed by the key before a rotation (the push
/// replaces it, and every name is listed as new), or one signed by a trusted
/// key, whose serial and signing time it shows. Then it lists every name
/// added (+), removed (-) or retargeted (~), and every address record added
/// or removed, with the scopes that export it now or why it is gone, and a
/// summary line of counts. `dm-send-dns --dry-run` runs this. Exit 0 when
/// nothing would change, 1 when something would, 2 on error.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns plan --zone result\n  \
    dm-dns plan --zone result --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --trusted-key signing.pub")]
pub struct PlanArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The zone to push: a `dm-dns zone` output directory.
    #[arg(long, value_name = "DIR", value_parser = super::path_arg)]
    zone: Utf8PathBuf,
    /// The live signed mesh file; if it does not exist, every name is new.
    /// [default: the node configuration's mesh_file]
    #[arg(long, value_name = "FILE", value_parser = super::path_arg)]
    mesh_file: Option<Utf8PathBuf>,
    // The live file is read as a zone only if one of these keys signed it.
    #[command(flatten)]
    trusted: TrustedKeys,
    #[command(flatten)]
    limit: MeshSizeLimit,
    #[command(flatten)]
    output: OutputFormat,
}

pub fn run(args: PlanArgs) -> Result<ExitCode, Error> {
    let node = args.config.load()?;
    let node = node.as_ref();
    let mesh_file = required(args.mesh_file, node, |n| n.mesh_file.clone(), "mesh-file")?;
    let plan = plan::plan(
        &args.zone,
        &mesh_file,
        &args.trusted.load(node)?,
        args.limit.resolve(node),
    )?;
    args.output.print(&plan, || plan.to_text())?;
    Ok(if plan.changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
