//! `dm-dns sign`: a zone output signed for the mesh (deploy time).

use std::io::Write;
use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::read_text;
use dm_dns::artifacts;
use dm_dns::error::Error;
use dm_dns::sign::keys;
use dm_dns::sign::signed;
use dm_dns::sys::clock;
use dm_dns::sys::files;

/// Sign a zone output for the mesh (deploy time).
///
/// Reads zone.conf and manifest.json from DIR, checks that they belong
/// together, and writes header comment lines followed by the exact zone.conf
/// bytes. The result is still a valid unbound include.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    pass show dm-dns/signing.key | dm-dns sign --key - --zone result --out cnames")]
pub struct SignArgs {
    /// PKCS#8 PEM private key file, or - to read it from stdin.
    #[arg(long, value_name = "KEY")]
    key: Utf8PathBuf,
    /// A `dm-dns zone` output directory (e.g. the Nix store path), or the
    /// zone.conf in it.
    #[arg(long, value_name = "DIR", value_parser = super::path_arg)]
    zone: Utf8PathBuf,
    /// Serial of this update; defaults to the current Unix time. Nodes refuse
    /// serials lower than the one they have, so it must grow with every push;
    /// it must fit 32 bits.
    #[arg(long, value_name = "N")]
    serial: Option<u64>,
    /// Accept a --serial more than a day ahead of the clock (every later push
    /// then needs a serial at least as high).
    #[arg(long)]
    allow_future_serial: bool,
    /// Where to write the signed mesh file (replaced atomically), or - for
    /// stdout.
    #[arg(long, value_name = "FILE")]
    out: Utf8PathBuf,
}

pub fn run(args: SignArgs) -> Result<ExitCode, Error> {
    let key = keys::parse_private(&read_text(&args.key, "the signing key")?)?;
    // The zone.conf itself names its directory.
    let dir = match args.zone.file_name() {
        Some(artifacts::CONF) if args.zone.is_file() => args.zone.parent().unwrap_or(&args.zone),
        _ => &args.zone,
    };
    let conf = artifacts::read_conf_checked(dir)?;
    let zone = &conf.zone;
    let now = clock::unix_now();
    let serial = args.serial.unwrap_or(now);
    signed::check_serial(serial, now, args.allow_future_serial)
        .map_err(|e| Error::input(format!("--serial: {e}")))?;
    let header = signed::header(&key, &zone.domain, serial, &conf.sha256);
    let parts = [header.as_bytes(), &conf.body];
    if args.out == "-" {
        let mut stdout = std::io::stdout().lock();
        parts
            .iter()
            .try_for_each(|part| stdout.write_all(part))
            .map_err(|e| Error::io("writing to stdout", e))?;
    } else {
        files::write_file_parts(&args.out, &parts, 0o644)?;
    }
    eprintln!(
        "dm-dns: signed {}, {}{} for {} with serial {serial} -> {}",
        super::count(zone.len(), "CNAME"),
        super::count(zone.addresses().len(), "address record"),
        super::other_records(zone),
        zone.domain,
        args.out
    );
    Ok(ExitCode::SUCCESS)
}
