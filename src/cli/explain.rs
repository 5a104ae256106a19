//! `dm-dns explain`: why a name resolves the way it does.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::Args;

use super::{ConfigArg, OutputFormat, parse_domain, required};
use dm_dns::compile::addresses::NetworkChoice;
use dm_dns::error::Error;
use dm_dns::exports;
use dm_dns::tools::explain::{self, Source};

/// Explain one name: which scopes export it and the record it became (or
/// the wildcard endpoint that answers it, or the declared record and its
/// source, the service's `records` setting; for a reverse name, the PTR
/// nodes derive from an address record), or why it was left out.
///
/// --zone takes a `dm-dns zone` output directory (its manifest names the
/// source scopes and the reasons for what was skipped), a signed mesh file, a
/// zone.conf or an installed zone file (records only). --exports with
/// --domain compiles the exports on the spot, so that a name the zone
/// refuses (claimed by two machines, a bad name) is explained too. On a
/// node, with neither, it explains from the zone file the node serves and
/// asks the node's unbound what it answers now (the node configuration's
/// zone_file and server). Exit 0 when the name has a record in the zone, 1
/// when it has none, 2 on error.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns explain music.clan\n  \
    dm-dns explain git.clan --zone $(nix build --print-out-paths .#dm-dns-zone)\n  \
    dm-dns explain music.clan --exports exports.json --domain clan")]
pub struct ExplainArgs {
    /// The name to explain, e.g. git.clan.
    name: String,
    #[command(flatten)]
    config: ConfigArg,
    /// The zone: an output directory, a signed file, zone.conf or zone.db.
    /// [default: the node configuration's zone_file]
    #[arg(long, value_name = "ZONE", conflicts_with = "exports", value_parser = super::path_arg)]
    zone: Option<Utf8PathBuf>,
    /// The clan's exports instead (as `dm-dns zone --exports` takes them).
    #[arg(long, value_name = "FILE", requires = "domain")]
    exports: Option<Utf8PathBuf>,
    /// The clan domain, with --exports.
    #[arg(long)]
    domain: Option<String>,
    /// With --exports: the network services that give machine names their
    /// addresses, as `dm-dns zone --networks`.
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "exports")]
    networks: Option<Vec<String>>,
    /// With --exports: the declared records, as `dm-dns zone --records`.
    #[arg(long, value_name = "FILE", requires = "exports")]
    records: Option<Utf8PathBuf>,
    /// Also ask this DNS server what it answers now (A and AAAA), e.g. the
    /// node's unbound at 127.0.0.1:5335. [default: the node configuration's
    /// server]
    #[arg(long, value_name = "ADDR:PORT")]
    server: Option<std::net::SocketAddr>,
    /// Do not ask any server.
    #[arg(long, conflicts_with = "server")]
    no_server: bool,
    #[command(flatten)]
    output: OutputFormat,
}

pub fn run(args: ExplainArgs) -> Result<ExitCode, Error> {
    let node = args.config.load()?;
    let node = node.as_ref();
    let mut explanation = match &args.exports {
        Some(path) => {
            let bytes = exports::read_source(path)?;
            let domain = parse_domain(args.domain.as_deref().unwrap_or_default())?;
            let networks = args
                .networks
                .map_or(NetworkChoice::ByPriority, NetworkChoice::Ordered);
            let records = match &args.records {
                Some(path) => exports::records::read(path)?,
                None => Default::default(),
            };
            explain::explain(
                &args.name,
                &Source::Exports {
                    bytes: &bytes,
                    domain: &domain,
                    networks: &networks,
                    records: &records,
                },
            )?
        }
        None => {
            let zone = required(args.zone, node, |n| n.zone_file.clone(), "zone")?;
            explain::explain(&args.name, &Source::Zone(&zone))?
        }
    };
    let server = match (args.server, args.no_server) {
        (_, true) => None,
        (Some(server), _) => Some(server),
        (None, false) => node.and_then(|n| n.server),
    };
    if let Some(server) = server {
        explanation.ask(server, std::time::Duration::from_secs(2))?;
    }
    args.output.print(&explanation, || explanation.to_text())?;
    Ok(if explanation.resolves {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
