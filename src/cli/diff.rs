//! `dm-dns diff`: two zones compared, exit 1 when they differ.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use dm_dns::artifacts::diff;
use dm_dns::error::Error;
use dm_dns::sys::files;
use dm_dns::tools::zones;

/// Compare two zones: names added, removed and retargeted, and a unified diff.
///
/// OLD and NEW may each be a zone output directory, a zone.conf (signed or
/// not) or a zone.db. Exit 0 when they are the same, 1 when they differ.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns diff checks/example/expected ./zone\n  \
    dm-dns diff --json old/zone.db /var/lib/data-mesher/files/home/dns/cnames")]
pub struct DiffArgs {
    /// The zone before: an output directory, zone.conf, signed file or zone.db.
    old: Utf8PathBuf,
    /// The zone after, in any of the same forms.
    new: Utf8PathBuf,
    #[command(flatten)]
    output: super::OutputFormat,
    /// Also write the report to FILE (a Nix check's $out; the exit code
    /// still says whether the zones differ, so a differing check fails).
    #[arg(long, value_name = "FILE", value_parser = super::path_arg)]
    report: Option<Utf8PathBuf>,
}

pub fn run(args: DiffArgs) -> Result<ExitCode, Error> {
    if args.old == "-" && args.new == "-" {
        return Err(Error::input("only one of OLD and NEW can be - (stdin)"));
    }
    let load = |path: &Utf8PathBuf| {
        if path == "-" {
            zones::parse(&super::read_text(path, "a zone")?, "stdin")
        } else {
            zones::load(path)
        }
    };
    let (old, new) = (load(&args.old)?, load(&args.new)?);
    let result = diff::compare(&old, &new, args.old.as_str(), args.new.as_str());
    let text = args.output.render(&result, || result.to_text());
    // The report first: if it cannot be written, nothing was printed.
    if let Some(report) = &args.report {
        files::write_file(report, text.as_bytes(), 0o644)?;
    }
    super::print(&text)?;
    Ok(if result.same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
