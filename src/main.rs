//! The `dm-dns` command line: argument parsing and wiring only.

use std::io::{Read, Write};
use std::process::ExitCode;

use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, Parser, Subcommand};

use dm_dns::error::Error;
use dm_dns::install::{self, Outcome};
use dm_dns::name::Domain;
use dm_dns::zone::{Exports, Zone};
use dm_dns::{artifacts, diff, exports, hosts, keys, output, signed};

#[derive(Parser)]
#[command(
    name = "dm-dns",
    version,
    about = "Distributed DNS for clan networks",
    long_about = "Distributed DNS for clan networks.\n\n\
        Every endpoint a clan service exports (endpoints.hosts, e.g. music.<domain>) \
        becomes a CNAME to the machine that serves it. The pipeline:\n\
        \n  zone     exports -> zone.conf, zone.db, manifest.json   (pure, in a Nix build)\
        \n  sign     zone.conf -> signed mesh file                 (deploy time, secret key)\
        \n  verify   check a signed mesh file                      (any node)\
        \n  install  signed mesh file -> unbound auth-zone         (every node, on change)\n\
        \nExit codes: 0 success (diff: same), 1 diff: different, 2 error.",
    after_help = "Example:\n  dm-dns zone --exports examples/clan-exports.json --domain clan --out zone/"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Zone(ZoneArgs),
    Diff(DiffArgs),
    Keygen(KeygenArgs),
    Pubkey(PubkeyArgs),
    Sign(SignArgs),
    Verify(VerifyArgs),
    Install(InstallArgs),
}

/// Compile a clan's exports into zone.conf, zone.db and manifest.json.
///
/// Hosts ending in .<domain> become `<host>. CNAME <machine>.<domain>.`, where
/// machine is the fourth field of the scope key service:instance:role:machine.
/// Other hosts, and a host equal to its own machine's name, are skipped and
/// listed in the manifest. Bad names, conflicting claims and names that would
/// shadow a machine are errors (exit 2) and nothing is written.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns zone --exports exports.json --domain clan --out ./zone\n  \
    nix eval --json .#exports | dm-dns zone --exports - --domain clan --out ./zone\n  \
    dm-dns zone --exports exports.nix --domain example.com --out ./zone")]
struct ZoneArgs {
    /// Exports as JSON (builtins.toJSON of the raw exports or of
    /// { <scope> = { hosts = [...]; }; }), a plain-data .nix file, or - for stdin.
    #[arg(long, value_name = "FILE")]
    exports: Utf8PathBuf,
    /// The clan domain (meta.domain), e.g. clan or example.com.
    #[arg(long)]
    domain: String,
    /// Output directory; created if missing, filled atomically.
    #[arg(long, value_name = "DIR")]
    out: Utf8PathBuf,
}

/// Compare two zones: names added, removed and retargeted, and a unified diff.
///
/// OLD and NEW may each be a zone output directory, a zone.conf (signed or
/// not) or a zone.db. Exit 0 when they are the same, 1 when they differ.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
    dm-dns diff checks/example/expected ./zone\n  \
    dm-dns diff --json old/zone.db /var/lib/data-mesher/files/home/dns/cnames")]
struct DiffArgs {
    /// The zone before: an output directory, zone.conf, signed file or zone.db.
    old: Utf8PathBuf,
    /// The zone after, in any of the same forms.
    new: Utf8PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report to FILE (a Nix check's $out; the exit code
    /// still says whether the zones differ, so a differing check fails).
    #[arg(long, value_name = "FILE")]
    report: Option<Utf8PathBuf>,
}

/// Create an ED25519 signing key pair in data-mesher's PEM formats.
///
/// The private key is PKCS#8 PEM (mode 0600), the public key SPKI PEM, exactly
/// as `data-mesher generate signing-key` writes them.
#[derive(Args)]
struct KeygenArgs {
    /// Where the private key goes (created with mode 0600, e.g. signing.key).
    #[arg(long, value_name = "FILE")]
    private_key_path: Utf8PathBuf,
    /// Where the public key goes (e.g. signing.pub; give it to the nodes).
    #[arg(long, value_name = "FILE")]
    public_key_path: Utf8PathBuf,
    /// Replace existing key files (both are written, or neither).
    #[arg(long)]
    force: bool,
}

/// Print the base64 of the raw public key (the form data-mesher allowlists take).
#[derive(Args)]
struct PubkeyArgs {
    /// A file holding a PEM private key, a PEM public key or the base64
    /// form; or the base64 form itself. (Hyphen values are taken as given, so
    /// pasted PEM text gets our error, which never repeats it.)
    #[arg(allow_hyphen_values = true)]
    keyfile: Utf8PathBuf,
}

/// Sign a zone output for the mesh (deploy time).
///
/// Reads zone.conf and manifest.json from DIR, checks that they belong
/// together, and writes header comment lines followed by the exact zone.conf
/// bytes. The result is still a valid unbound include.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    pass show dm-dns/signing.key | dm-dns sign --key - --zone result --out cnames")]
struct SignArgs {
    /// PKCS#8 PEM private key file, or - to read it from stdin.
    #[arg(long, value_name = "KEY")]
    key: Utf8PathBuf,
    /// A `dm-dns zone` output directory (e.g. the Nix store path).
    #[arg(long, value_name = "DIR")]
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
    /// Where to write the signed mesh file (replaced atomically).
    #[arg(long, value_name = "FILE")]
    out: Utf8PathBuf,
}

/// Check a signed mesh file against trusted keys.
#[derive(Args)]
struct VerifyArgs {
    /// A PEM public key file or the base64 of the raw key; repeatable.
    #[arg(
        long = "trusted-key",
        value_name = "K",
        required = true,
        allow_hyphen_values = true
    )]
    trusted_keys: Vec<String>,
    /// Refuse a zone for any other domain.
    #[arg(long)]
    domain: Option<String>,
    #[command(flatten)]
    limit: MeshSizeLimit,
    /// The signed mesh file to check.
    file: Utf8PathBuf,
}

/// Install a signed mesh file into unbound (every node, whenever it changes).
///
/// Verifies the file, refuses older serials, renders an RFC 1035 zone with the
/// CNAMEs and this node's own address records, checks it, replaces the zone
/// file atomically (the previous one is kept as last-good in the state
/// directory) and reloads only that zone with unbound-control. On any failure
/// the previous zone keeps serving. Without a mesh file yet, or when the mesh
/// file is refused (not signed by a trusted key, or no key given) and no zone
/// is in place, writes a zone of the node's own records so unbound can start;
/// a refusal still exits 2.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    dm-dns install --mesh-file /var/lib/data-mesher/files/home/dns/cnames \\\n    \
    --trusted-key /etc/dm-dns/signing.pub --domain clan --hosts /etc/hosts \\\n    \
    --zone-file /var/lib/dm-dns/zone/clan.zone --state-dir /var/lib/dm-dns \\\n    \
    --unbound-control 'unbound-control -c /etc/unbound/unbound.conf'")]
struct InstallArgs {
    /// The signed mesh file (data-mesher's dns/cnames).
    #[arg(long, value_name = "FILE")]
    mesh_file: Utf8PathBuf,
    /// A PEM public key file or the base64 of the raw key; repeatable. With
    /// none, every mesh file is refused and only the zone of this node's own
    /// records is written.
    #[arg(long = "trusted-key", value_name = "K", allow_hyphen_values = true)]
    trusted_keys: Vec<String>,
    /// The clan domain this node serves.
    #[arg(long)]
    domain: String,
    /// This node's address records: /etc/hosts format or JSON
    /// { "<address>": [ "<name>", ... ] }; only names below the domain are used.
    #[arg(long, value_name = "FILE")]
    hosts: Option<Utf8PathBuf>,
    /// The zone file unbound's auth-zone loads.
    #[arg(long, value_name = "PATH")]
    zone_file: Utf8PathBuf,
    /// Where the installed serial, hashes and last-good zone are kept.
    #[arg(long, value_name = "DIR")]
    state_dir: Utf8PathBuf,
    /// How to run unbound-control, split on spaces (e.g. "unbound-control -c FILE").
    #[arg(long, value_name = "CMD", default_value = "unbound-control")]
    unbound_control: String,
    /// Do not reload unbound (use before unbound starts).
    #[arg(long)]
    no_reload: bool,
    /// Seconds one unbound-control call may take; then it is killed and the
    /// previous zone file is put back.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    control_timeout: f64,
    /// Accept a serial older than the installed one: the way back after a
    /// zone was signed with a wrong serial (see README, "Serials").
    #[arg(long)]
    allow_rollback: bool,
    #[command(flatten)]
    limit: MeshSizeLimit,
}

/// How large a mesh file may be; checked before it is read.
#[derive(Args)]
struct MeshSizeLimit {
    /// Refuse mesh files larger than SIZE (bytes, or with K, M or G suffix;
    /// 256M holds about four million records).
    #[arg(long = "max-mesh-size", value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_mesh_bytes: u64,
}

/// `1048576`, `1024K`, `1M`, `1G` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let factor: u64 = match unit {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return Err(format!("unknown unit {unit:?} (use K, M or G, e.g. 256M)")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("{text:?} is not a size (e.g. 268435456 or 256M)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Zone(args) => run_zone(args),
        Command::Diff(args) => run_diff(args),
        Command::Keygen(args) => run_keygen(args),
        Command::Pubkey(args) => run_pubkey(args),
        Command::Sign(args) => run_sign(args),
        Command::Verify(args) => run_verify(args),
        Command::Install(args) => run_install(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_domain(raw: &str) -> Result<Domain, Error> {
    Domain::parse(raw).map_err(|e| Error::input(format!("--domain {raw:?}: {e}")))
}

fn run_zone(args: ZoneArgs) -> Result<ExitCode, Error> {
    let domain = parse_domain(&args.domain)?;
    let bytes = exports::read_source(&args.exports)?;
    let exports = Exports::canonicalize(exports::parse(&bytes)?)?;
    let zone = Zone::compile(&exports, &domain)?;
    let summary = artifacts::write(&args.out, &zone, &exports)?;
    eprintln!(
        "dm-dns: {} records, {} skipped, serial {} -> {}",
        summary.records, summary.skipped, summary.serial, args.out
    );
    Ok(ExitCode::SUCCESS)
}

fn run_diff(args: DiffArgs) -> Result<ExitCode, Error> {
    let old = diff::load(&args.old)?;
    let new = diff::load(&args.new)?;
    let result = diff::compare(&old, &new, args.old.as_str(), args.new.as_str());
    let text = if args.json {
        serde_json::to_string_pretty(&result).expect("diff serialises") + "\n"
    } else {
        result.to_text()
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::io("writing to stdout", e))?;
    if let Some(report) = &args.report {
        output::write_file(report, text.as_bytes(), 0o644)?;
    }
    Ok(if result.same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_keygen(args: KeygenArgs) -> Result<ExitCode, Error> {
    let key = keys::write_pair(&args.private_key_path, &args.public_key_path, args.force)?;
    eprintln!(
        "dm-dns: wrote {} and {} (public key {})",
        args.private_key_path,
        args.public_key_path,
        keys::public_base64(&key.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}

fn read_text(path: &Utf8Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {path}"), e))
}

fn run_pubkey(args: PubkeyArgs) -> Result<ExitCode, Error> {
    let key = keys::load_public(args.keyfile.as_str())?;
    println!("{}", keys::public_base64(&key));
    Ok(ExitCode::SUCCESS)
}

fn run_sign(args: SignArgs) -> Result<ExitCode, Error> {
    let key_text = if args.key == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::io("reading the key from stdin", e))?;
        text
    } else {
        read_text(&args.key)?
    };
    let key = keys::parse_private(&key_text)?;
    let (body, zone) = artifacts::read_conf_checked(&args.zone)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let serial = args.serial.unwrap_or(now);
    signed::check_serial(serial, now, args.allow_future_serial)
        .map_err(|e| Error::input(format!("--serial: {e}")))?;
    let file = signed::sign(&key, &zone.domain, serial, &body);
    output::write_file(&args.out, &file, 0o644)?;
    eprintln!(
        "dm-dns: signed {} records for {} with serial {serial} -> {}",
        zone.len(),
        zone.domain,
        args.out
    );
    Ok(ExitCode::SUCCESS)
}

fn run_install(args: InstallArgs) -> Result<ExitCode, Error> {
    let domain = parse_domain(&args.domain)?;
    let addresses = match &args.hosts {
        Some(path) => hosts::parse(&read_text(path)?, &domain)
            .map_err(|e| Error::input(format!("--hosts {path}: {e}")))?,
        None => Vec::new(),
    };
    let config = install::Config {
        mesh_file: args.mesh_file,
        trusted_keys: load_trusted(&args.trusted_keys)?,
        domain,
        addresses,
        zone_file: args.zone_file,
        state_dir: args.state_dir,
        reload_command: (!args.no_reload).then(|| {
            args.unbound_control
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        }),
        control_timeout: std::time::Duration::try_from_secs_f64(args.control_timeout).map_err(
            |_| {
                Error::input(format!(
                    "--control-timeout {}: not a number of seconds (hint: e.g. 5 or 0.5)",
                    args.control_timeout
                ))
            },
        )?,
        allow_rollback: args.allow_rollback,
        max_mesh_bytes: args.limit.max_mesh_bytes,
    };
    match install::run(&config)? {
        Outcome::Installed { serial, records } => {
            eprintln!(
                "dm-dns: installed serial {serial} ({records} records) into {}",
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
    }
    Ok(ExitCode::SUCCESS)
}

fn load_trusted(args: &[String]) -> Result<Vec<ed25519_dalek::VerifyingKey>, Error> {
    args.iter().map(|k| keys::load_public(k)).collect()
}

fn run_verify(args: VerifyArgs) -> Result<ExitCode, Error> {
    let trusted = load_trusted(&args.trusted_keys)?;
    let domain = args.domain.as_deref().map(parse_domain).transpose()?;
    let bytes = signed::read_limited(&args.file, args.limit.max_mesh_bytes)?
        .ok_or_else(|| Error::input(format!("{} does not exist", args.file)))?;
    let verified = signed::verify(&bytes, &trusted, domain.as_ref())
        .map_err(|e| Error::input(format!("{}: {e}", args.file)))?;
    println!(
        "ok: domain {}, serial {}, {} records, signer {}",
        verified.zone.domain,
        verified.serial,
        verified.zone.len(),
        keys::public_base64(&verified.signer)
    );
    Ok(ExitCode::SUCCESS)
}
