//! The command line: one module per command, each holding its arguments and
//! its run function; the options several commands share are defined here
//! and flattened in. Commands only convert arguments and call the library.

mod completions;
mod config;
mod diff;
mod explain;
mod install;
mod keygen;
mod plan;
mod pubkey;
mod reverse;
mod sign;
mod status;
mod verify;
mod zone;

use std::process::ExitCode;

use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, Parser, Subcommand};
use ed25519_dalek::VerifyingKey;

use dm_dns::dns::name::Domain;
use dm_dns::error::Error;
use dm_dns::node::config::{self as node_config, NodeConfig};
use dm_dns::node::control::{Control, Server};
use dm_dns::sign::keys;
use dm_dns::sys::files;

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
        \n  plan     what a push would change (dm-send-dns --dry-run)\
        \n  config   check and show the node configuration\n\
        \nOn a node, install, status, explain and plan take their defaults from the node \
        configuration, /etc/dm-dns/node.json (--config to choose another).\n\
        \nExit codes: 0 success (diff: same; status: current; explain: the name has a \
        record; plan: no changes), 1 diff: different, status: not current, explain: no \
        record, plan: changes, 2 error.",
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
    Reverse(reverse::ReverseArgs),
    Config(config::ConfigArgs),
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
        Command::Reverse(args) => reverse::run(args),
        Command::Config(args) => config::run(args),
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
    /// `dm-dns pubkey` prints it; repeatable. Replaces the node
    /// configuration's trusted_keys. (Values starting with '-' are taken as
    /// given, so pasted PEM text gets an error that never repeats it.)
    #[arg(long = "trusted-key", value_name = "KEY", allow_hyphen_values = true)]
    pub trusted_keys: Vec<String>,
}

impl TrustedKeys {
    /// The keys given, else the node configuration's.
    pub fn load(&self, node: Option<&NodeConfig>) -> Result<Vec<VerifyingKey>, Error> {
        let given = match node {
            Some(node) if self.trusted_keys.is_empty() => &node.trusted_keys,
            _ => &self.trusted_keys,
        };
        given.iter().map(|k| keys::load_public(k)).collect()
    }
}

/// `--max-mesh-size`: how large a mesh file may be; checked before reading.
#[derive(Args)]
pub struct MeshSizeLimit {
    /// Refuse mesh files larger than SIZE (bytes, or with K, M or G suffix;
    /// 256M holds about four million records). [default: the node
    /// configuration's max_mesh_size, else 256M]
    #[arg(long = "max-mesh-size", value_name = "SIZE", value_parser = node_config::parse_size)]
    pub max_mesh_bytes: Option<u64>,
}

impl MeshSizeLimit {
    pub fn resolve(&self, node: Option<&NodeConfig>) -> u64 {
        self.max_mesh_bytes
            .or(node.map(|n| n.max_mesh_bytes))
            .unwrap_or(node_config::DEFAULT_MAX_MESH_BYTES)
    }
}

/// `--config`: the node configuration the node commands take their
/// defaults from.
#[derive(Args)]
pub struct ConfigArg {
    /// The node configuration (JSON; README, "Node configuration"); flags
    /// override its values. [default: /etc/dm-dns/node.json, when it exists]
    #[arg(long, value_name = "FILE", value_parser = path_arg)]
    pub config: Option<Utf8PathBuf>,
}

impl ConfigArg {
    pub fn load(&self) -> Result<Option<NodeConfig>, Error> {
        node_config::load(self.config.as_deref())
    }
}

/// A path argument that has no `-` form: `-` (stdin or stdout) is refused
/// by name instead of being taken as a file called `-`.
pub fn path_arg(text: &str) -> Result<Utf8PathBuf, String> {
    if text == "-" {
        return Err(
            "this option takes a path; - (stdin or stdout) is not one here (see --help for \
             the options that take -)"
                .into(),
        );
    }
    Ok(Utf8PathBuf::from(text))
}

/// A value from its flag, else from the node configuration; neither is an
/// error that says both ways to give it.
pub fn required<T>(
    flag: Option<T>,
    node: Option<&NodeConfig>,
    from_node: impl FnOnce(&NodeConfig) -> T,
    name: &str,
) -> Result<T, Error> {
    if let Some(value) = flag {
        return Ok(value);
    }
    match node {
        Some(node) => Ok(from_node(node)),
        None => Err(Error::input(format!(
            "--{name} is needed: pass it, or run this on a node with a node configuration \
             (none at {}; pass --config FILE, or see README, \"Node configuration\")",
            node_config::DEFAULT_PATH
        ))),
    }
}

/// `--unbound-control` and `--control-timeout`, as install and status take
/// them.
#[derive(Args)]
pub struct ControlArgs {
    /// How to run unbound-control, split on spaces (e.g. "unbound-control -s
    /// /run/unbound/unbound.ctl"). [default: the node configuration's
    /// unbound_control, else unbound-control]
    #[arg(long, value_name = "CMD", conflicts_with = "knot_control")]
    unbound_control: Option<String>,
    /// Knot DNS holds the zone: how to run knotc, split on spaces (e.g.
    /// "knotc -s /run/dm-dns-knot/knot.sock"). [default: the node
    /// configuration's knot_control; without one, unbound holds the zone]
    #[arg(long, value_name = "CMD")]
    knot_control: Option<String>,
    /// Seconds one unbound-control call may take; then it is killed.
    /// [default: the node configuration's control_timeout, else 5]
    #[arg(long, value_name = "SECONDS")]
    control_timeout: Option<f64>,
}

impl ControlArgs {
    /// Whether either flag was given.
    pub fn is_given(&self) -> bool {
        self.unbound_control.is_some()
            || self.knot_control.is_some()
            || self.control_timeout.is_some()
    }

    pub fn resolve(&self, node: Option<&NodeConfig>) -> Result<Control, Error> {
        let timeout = match (self.control_timeout, node) {
            (Some(seconds), _) => node_config::positive_seconds(seconds)
                .map_err(|e| Error::input(format!("--control-timeout {e}")))?,
            (None, Some(node)) => node.control_timeout,
            (None, None) => node_config::DEFAULT_CONTROL_TIMEOUT,
        };
        let split = |cmd: &str| cmd.split_whitespace().map(str::to_owned).collect();
        let (server, command): (Server, Vec<String>) =
            match (&self.knot_control, &self.unbound_control, node) {
                (Some(cmd), _, _) => (Server::Knot, split(cmd)),
                (None, Some(cmd), _) => (Server::Unbound, split(cmd)),
                (None, None, Some(node)) => match &node.knot_control {
                    Some(knot) => (Server::Knot, knot.clone()),
                    None => (Server::Unbound, node.unbound_control.clone()),
                },
                (None, None, None) => (Server::Unbound, node_config::default_control()),
            };
        if command.is_empty() {
            let (flag, example) = match server {
                Server::Knot => ("--knot-control", "knotc -s /run/dm-dns-knot/knot.sock"),
                Server::Unbound => (
                    "--unbound-control",
                    "unbound-control -c /etc/unbound/unbound.conf",
                ),
            };
            return Err(Error::input(format!(
                "{flag} is empty (hint: e.g. '{example}')"
            )));
        }
        Ok(Control {
            server,
            command,
            timeout,
        })
    }
}

/// The text of a file, or of standard input for `-` (`what` is read, for
/// messages): the one way the commands read a small text input. (Exports
/// and mesh files, which can be large, have readers of their own.)
pub fn read_text(path: &Utf8Path, what: &str) -> Result<String, Error> {
    let limit = files::Limit::Small;
    let bytes = if path == "-" {
        files::read_stdin(limit).map_err(|e| Error::io(format!("reading {what} from stdin"), e))?
    } else {
        files::read_file(path, limit).map_err(|e| Error::io(format!("reading {path}"), e))?
    };
    let label = if path == "-" { "stdin" } else { path.as_str() };
    String::from_utf8(bytes).map_err(|_| Error::input(format!("{what} in {label} is not text")))
}

/// `--json`: a report as JSON (each carries its `format` version) or as
/// text.
#[derive(Args, Clone, Copy)]
pub struct OutputFormat {
    /// Print the report as JSON (README, "JSON reports").
    #[arg(long)]
    json: bool,
}

impl OutputFormat {
    /// The report in the chosen form.
    pub fn render(self, report: &impl serde::Serialize, text: impl FnOnce() -> String) -> String {
        if self.json {
            serde_json::to_string_pretty(report).expect("reports serialise") + "\n"
        } else {
            text()
        }
    }

    pub fn print(
        self,
        report: &impl serde::Serialize,
        text: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        print(&self.render(report, text))
    }
}

/// Writes a command's report to stdout.
pub fn print(text: &str) -> Result<(), Error> {
    std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
        .map_err(|e| Error::io("writing to stdout", e))
}

/// "1 record", "2 records".
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `, N other records` for a zone's declared TXT, SRV and CNAMEs to other
/// names than machines', when it has any (reports stay as they were
/// without).
pub fn other_records(zone: &dm_dns::artifacts::zonefile::ZoneData) -> String {
    match zone.others().len() {
        0 => String::new(),
        n => format!(", {}", count(n, "other record")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks of every command's definition.
    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
