//! `dm-dns zone`: exports in, zone.conf, zone.db and manifest.json out.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::DomainArg;
use dm_dns::artifacts;
use dm_dns::compile::addresses::NetworkChoice;
use dm_dns::compile::zone::SkipReason;
use dm_dns::error::Error;
use dm_dns::exports;
use dm_dns::exports::canonical::Exports;
use dm_dns::sys::halves;

/// Compile a clan's exports into zone.conf, zone.db and manifest.json.
///
/// Hosts ending in .<domain> become `<host>. CNAME <machine>.<domain>.`, where
/// machine is the fourth field of the scope key service:instance:role:machine.
/// Other hosts, and a host equal to its own machine's name, are skipped and
/// listed in the manifest. Bad names, conflicting claims and names that would
/// shadow a machine are errors (exit 2) and nothing is written.
///
/// Each machine name <machine>.<domain> also gets A/AAAA records from the
/// addresses the clan's network services export (peer.hosts): by default
/// from the internal network with the highest networking.priority
/// (internet and tor are left out; only IP literals count), or from the
/// first network of --networks that has one.
///
/// An endpoint may be a wildcard, *.<name> (not *.<domain>): every name
/// below <name> without records of its own is then a CNAME to its machine.
/// --records adds records the exports do not give (a printer, an alias,
/// SRV and TXT records), checked as strictly.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns zone --exports exports.json --domain clan --out ./zone\n  \
    nix eval --json .#exports | dm-dns zone --exports - --domain clan --out ./zone\n  \
    dm-dns zone --exports exports.nix --domain example.com --out ./zone\n  \
    dm-dns zone --exports exports.json --records records.json --domain clan --out ./zone")]
pub struct ZoneArgs {
    /// Exports as JSON (builtins.toJSON of the raw exports or of
    /// { <scope> = { hosts = [...]; }; }), a plain-data .nix file, or - for stdin.
    #[arg(long, value_name = "FILE")]
    exports: Utf8PathBuf,
    #[command(flatten)]
    domain: DomainArg,
    /// Output directory; created if missing (its parent must exist), filled
    /// atomically.
    #[arg(long, value_name = "DIR", value_parser = super::path_arg)]
    out: Utf8PathBuf,
    /// Network services that give machine names their addresses, preferred
    /// first (e.g. yggdrasil,mycelium; the full name clan-core/yggdrasil
    /// works too). Default: every network except internet and tor, by
    /// networking.priority.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    networks: Option<Vec<String>>,
    /// Records the clan declares beside its endpoints, as JSON (the clan
    /// service's `records` setting), or - for stdin: each name below the
    /// domain maps record types (A, AAAA, CNAME, TXT, SRV) to values, e.g.
    /// {"printer.clan": {"A": ["192.168.1.20"]}}.
    #[arg(long, value_name = "FILE")]
    records: Option<Utf8PathBuf>,
}

pub fn run(args: ZoneArgs) -> Result<ExitCode, Error> {
    let domain = args.domain.parse()?;
    let bytes = exports::read_source(&args.exports)?;
    // The declared records are read while the exports are.
    let (exports, records) = halves::join(
        || Exports::parse_source(&args.exports, &bytes),
        || match &args.records {
            Some(path) => exports::records::read(path),
            None => Ok(Default::default()),
        },
    );
    let (exports, records) = (exports?, records?);
    let networks = match args.networks {
        Some(list) => NetworkChoice::Ordered(list),
        None => NetworkChoice::ByPriority,
    };
    let compiled = artifacts::compile(&exports, &domain, &networks, &records)?;
    let written = artifacts::write(&args.out, &compiled, &exports)?;
    let unchanged = bytes
        .unchanged()
        .map_err(|e| Error::io(format!("reading {}", args.exports), e))?;
    if !unchanged {
        return Err(Error::input(format!(
            "{} changed while it was read; nothing was written (hint: run dm-dns zone again \
             once whatever writes it has finished)",
            args.exports
        )));
    }
    let summary = written.commit()?;
    let zone = &compiled.zone;
    if summary.records == 0
        && zone
            .skipped
            .iter()
            .any(|s| s.reason == SkipReason::OutsideDomain)
    {
        eprintln!(
            "warning: every exported host is outside the domain {domain}, so the zone has no \
             CNAME (hint: is --domain the clan's meta.domain? e.g. {} is skipped)",
            zone.skipped[0].host
        );
    }
    eprintln!(
        "dm-dns: {}, {}, {}, {} skipped, serial {} -> {}",
        super::count(summary.records, "record"),
        super::count(zone.addresses.records.len(), "address record"),
        super::count(zone.declared.len(), "declared record"),
        summary.skipped,
        summary.serial,
        args.out
    );
    // The process ends here: freeing a large clan's million names one by
    // one would take longer than the exit's unmapping of them all.
    std::mem::forget(compiled);
    std::mem::forget(exports);
    std::mem::forget(bytes);
    Ok(ExitCode::SUCCESS)
}
