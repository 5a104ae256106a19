//! The command line: one module per command, each holding its arguments and
//! its run function; the options several commands share are defined here
//! and flattened in. Commands only convert arguments and call the library.

mod completions;
mod diff;
mod explain;
mod install;
mod keygen;
mod plan;
mod pubkey;
mod sign;
mod status;
mod verify;
mod zone;

use std::process::ExitCode;

use camino::Utf8Path;
use clap::{Args, Parser, Subcommand};
use ed25519_dalek::VerifyingKey;

use dm_dns::error::Error;
use dm_dns::keys;
use dm_dns::name::Domain;

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
        \n  install  signed mesh file -> unbound auth-zone         (every node, on change)\
        \n  status   is this node current? (exit 0 current, 1 not)\
        \n  explain  why a name resolves the way it does\
        \n  plan     what a push would change (dm-send-dns --dry-run)\n\
        \nExit codes: 0 success (diff: same; status: current), 1 diff: different or\
        status: not current, 2 error.",
    after_help = "Example:\n  dm-dns zone --exports examples/clan-exports.json --domain clan --out zone/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    Zone(zone::ZoneArgs),
    Diff(diff::DiffArgs),
    Keygen(keygen::KeygenArgs),
    Pubkey(pubkey::PubkeyArgs),
    Sign(sign::SignArgs),
    Verify(verify::VerifyArgs),
    Install(install::InstallArgs),
    Status(status::StatusArgs),
    Explain(explain::ExplainArgs),
    Plan(plan::PlanArgs),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
}

/// Runs the command; errors print as `error: ...` and exit 2.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Zone(args) => zone::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Pubkey(args) => pubkey::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Install(args) => install::run(args),
        Command::Status(args) => status::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--domain`, required.
#[derive(Args)]
pub struct DomainArg {
    /// The clan domain (meta.domain), e.g. clan or example.com.
    #[arg(long)]
    pub domain: String,
}

impl DomainArg {
    pub fn parse(&self) -> Result<Domain, Error> {
        parse_domain(&self.domain)
    }
}

pub fn parse_domain(raw: &str) -> Result<Domain, Error> {
    Domain::parse(raw).map_err(|e| Error::input(format!("--domain {raw:?}: {e}")))
}

/// `--trusted-key`, repeatable.
#[derive(Args)]
pub struct TrustedKeys {
    /// A PEM public key file, or the base64 of the raw ED25519 key as
    /// `dm-dns pubkey` prints it; repeatable. (Values starting with '-' are
    /// taken as given, so pasted PEM text gets an error that never repeats it.)
    #[arg(long = "trusted-key", value_name = "KEY", allow_hyphen_values = true)]
    pub trusted_keys: Vec<String>,
}

impl TrustedKeys {
    pub fn load(&self) -> Result<Vec<VerifyingKey>, Error> {
        self.trusted_keys
            .iter()
            .map(|k| keys::load_public(k))
            .collect()
    }
}

/// `--max-mesh-size`: how large a mesh file may be; checked before reading.
#[derive(Args)]
pub struct MeshSizeLimit {
    /// Refuse mesh files larger than SIZE (bytes, or with K, M or G suffix;
    /// 256M holds about four million records).
    #[arg(
        long = "max-mesh-size",
        value_name = "SIZE",
        default_value = "256M",
        value_parser = parse_size
    )]
    pub max_mesh_bytes: u64,
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

pub fn read_text(path: &Utf8Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {path}"), e))
}

/// A file's bytes, or standard input for `-` (what is read, in `what`).
pub fn read_input(path: &Utf8Path, what: &str) -> Result<Vec<u8>, Error> {
    if path != "-" {
        return std::fs::read(path).map_err(|e| Error::io(format!("reading {path}"), e));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
        .map_err(|e| Error::io(format!("reading {what} from stdin"), e))?;
    Ok(bytes)
}

/// Writes a command's report to stdout.
pub fn print(text: &str) -> Result<(), Error> {
    std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
        .map_err(|e| Error::io("writing to stdout", e))
}

/// `--control-timeout`: a positive number of seconds.
pub fn control_timeout(seconds: f64) -> Result<std::time::Duration, Error> {
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| {
            Error::input(format!(
                "--control-timeout {seconds}: not a positive number of seconds (hint: e.g. 5 or 0.5)"
            ))
        })
}

/// "1 record", "2 records".
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("12Q").unwrap_err().contains("unknown unit"));
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    /// clap's own consistency checks of every command's definition.
    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
