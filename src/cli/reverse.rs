//! `dm-dns reverse`: a reverse zone for other DNS servers.

use std::io::Write;
use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use dm_dns::artifacts::reverse::{self, ReverseZone};
use dm_dns::error::Error;
use dm_dns::sys::files;
use dm_dns::tools::zones;

/// Write a reverse zone: a PTR record for each address record of a zone
/// that lies in the reverse domain, as an RFC 1035 master file.
///
/// For servers other than the nodes' own (a router, a BIND or Knot
/// secondary); a node answers its reverse domains by itself
/// (`install --reverse-zone`). Every name with an A or AAAA record in the
/// zone (a machine's, or a declared one) is the target of the PTR of its
/// address; nothing else is.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns reverse --zone ./zone --origin 2.0.ip6.arpa\n  \
    dm-dns reverse --zone ./zone --origin 1.168.192.in-addr.arpa --out 1.168.192.zone")]
pub struct ReverseArgs {
    /// The zone: an output directory, a signed file, zone.conf or zone.db.
    #[arg(long, value_name = "ZONE", value_parser = super::path_arg)]
    zone: Utf8PathBuf,
    /// The reverse domain: octets before in-addr.arpa, or hexadecimal
    /// nibbles before ip6.arpa (yggdrasil's 200::/8 is 2.0.ip6.arpa).
    #[arg(long, value_name = "NAME", value_parser = ReverseZone::parse)]
    origin: ReverseZone,
    /// The SOA serial.
    #[arg(long, value_name = "N", default_value_t = 1)]
    serial: u32,
    /// Where to write it (replaced atomically); - or none: stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<Utf8PathBuf>,
}

pub fn run(args: ReverseArgs) -> Result<ExitCode, Error> {
    let zone = zones::load(&args.zone)?;
    let text = reverse::render(&args.origin, args.serial, zone.addresses());
    match args.out.as_ref().filter(|out| *out != "-") {
        Some(path) => files::write_file(path, text.as_bytes(), 0o644)?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("writing to stdout", e))?,
    }
    Ok(ExitCode::SUCCESS)
}
