//! The node configuration: one JSON file (`/etc/dm-dns/node.json` by
//! default) with everything `install`, `status`, `explain` and `plan` need to
//! know about the node, so that they run without arguments. The NixOS module
//! writes it from `services.dm-dns.settings` and checks it at build time with
//! `dm-dns config --config FILE`; elsewhere it is written by hand (README,
//! "Node configuration"). Command-line flags override its values.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::artifacts::reverse::ReverseZone;
use crate::dns::name::Domain;
use crate::error::Error;
use crate::node::hosts;

/// Where the commands look when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/dm-dns/node.json";
/// The largest node configuration read (it holds paths, keys and hosts).
const MAX_BYTES: u64 = 4 << 20;

/// The file as written: field names are the JSON keys.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// The clan domain this node serves.
    pub domain: String,
    /// Keys allowed to sign the zone: base64 of the raw ED25519 key, or a
    /// path to a PEM public key.
    #[serde(default)]
    pub trusted_keys: Vec<String>,
    /// The signed zone data-mesher delivers.
    pub mesh_file: Utf8PathBuf,
    /// The zone file the server (unbound's auth-zone, or Knot) loads.
    pub zone_file: Utf8PathBuf,
    /// Installed serial, hashes, last-good zone.
    pub state_dir: Utf8PathBuf,
    /// The unbound-control command, program first.
    #[serde(default = "default_control")]
    pub unbound_control: Vec<String>,
    /// The knotc command, program first. When set, Knot DNS holds the zone
    /// (install applies updates through it, status asks it) and
    /// `unbound_control` is not used.
    #[serde(default)]
    pub knot_control: Option<Vec<String>>,
    /// Seconds one knotc or unbound-control call may take.
    #[serde(default = "default_timeout")]
    pub control_timeout: f64,
    /// The largest mesh file read: bytes, or with a K, M or G suffix.
    #[serde(default = "default_size")]
    pub max_mesh_size: String,
    #[serde(default)]
    pub allow_rollback: bool,
    /// This node's own address records: `{ "<address>": ["<name>", ...] }`.
    #[serde(default)]
    pub hosts: BTreeMap<String, Vec<String>>,
    /// The node's unbound, for `explain` (e.g. `127.0.0.1:5335`).
    #[serde(default)]
    pub server: Option<SocketAddr>,
    /// How this machine gets a new configuration, for hints
    /// (e.g. `clan machines update alpha`).
    #[serde(default)]
    pub redeploy: Option<String>,
    /// Reverse domains the node answers from the signed zone's addresses
    /// (e.g. `2.0.ip6.arpa`), each served from `<name>.zone` beside
    /// `zone_file`.
    #[serde(default)]
    pub reverse_zones: Vec<String>,
    /// What this node's unbound answers devices outside the clan (the
    /// server role), for `status` to report.
    #[serde(default)]
    pub serves: Option<Serves>,
}

/// The server role as the node configuration records it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Serves {
    /// `address` or `address@port` unbound listens on for other devices.
    pub listen: Vec<String>,
    /// Networks (CIDR) allowed to ask.
    pub allow: Vec<String>,
    /// Where other names go; empty: unbound resolves them itself.
    #[serde(default)]
    pub forward: Vec<String>,
}

/// The defaults of a node, with a configuration file or without one (the
/// commands' flags fall back to these).
pub fn default_control() -> Vec<String> {
    vec!["unbound-control".into()]
}
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_MAX_MESH_BYTES: u64 = 256 << 20;

fn default_timeout() -> f64 {
    DEFAULT_CONTROL_TIMEOUT.as_secs_f64()
}
fn default_size() -> String {
    format!("{}M", DEFAULT_MAX_MESH_BYTES >> 20)
}

/// A checked node configuration.
#[derive(Debug)]
pub struct NodeConfig {
    /// The file it was read from.
    pub path: Utf8PathBuf,
    pub domain: Domain,
    pub trusted_keys: Vec<String>,
    pub mesh_file: Utf8PathBuf,
    pub zone_file: Utf8PathBuf,
    pub state_dir: Utf8PathBuf,
    pub unbound_control: Vec<String>,
    pub knot_control: Option<Vec<String>>,
    pub control_timeout: Duration,
    pub max_mesh_bytes: u64,
    pub allow_rollback: bool,
    pub addresses: Vec<(String, IpAddr)>,
    pub server: Option<SocketAddr>,
    pub redeploy: Option<String>,
    pub reverse_zones: Vec<ReverseZone>,
    pub serves: Option<Serves>,
    /// The file as read, for `dm-dns config` to print back.
    pub file: File,
}

/// The configuration at `explicit` (which must exist), or else at
/// [`DEFAULT_PATH`] if there is one there; `None` when neither is.
pub fn load(explicit: Option<&Utf8Path>) -> Result<Option<NodeConfig>, Error> {
    let path = explicit.unwrap_or(Utf8Path::new(DEFAULT_PATH));
    let bytes = match crate::sign::signed::read_limited(path, MAX_BYTES)? {
        Some(bytes) => bytes,
        None if explicit.is_some() => {
            return Err(Error::input(format!(
                "--config {path}: no such file (hint: on NixOS the module writes {DEFAULT_PATH}; \
                 elsewhere write one as README, \"Node configuration\" shows)"
            )));
        }
        None => return Ok(None),
    };
    parse(&bytes, path).map(Some)
}

/// Parses and checks a configuration; every problem names the file and key.
pub fn parse(bytes: &[u8], path: &Utf8Path) -> Result<NodeConfig, Error> {
    let file: File = serde_json::from_slice(bytes).map_err(|e| {
        Error::input(format!(
            "{path}: {e} (hint: README, \"Node configuration\", lists every key)"
        ))
    })?;
    let mut problems = Vec::new();
    let mut problem = |key: &str, what: String| problems.push(format!("{path}: {key}: {what}"));
    let domain = Domain::parse(&file.domain)
        .map_err(|e| problem("domain", e.to_string()))
        .ok();
    for (key, value) in [
        ("mesh_file", &file.mesh_file),
        ("zone_file", &file.zone_file),
        ("state_dir", &file.state_dir),
    ] {
        if !value.is_absolute() {
            problem(key, format!("{value:?} is not an absolute path"));
        }
    }
    for key in &file.trusted_keys {
        if !key.starts_with('/') && crate::sign::keys::parse_public(key).is_err() {
            problem(
                "trusted_keys",
                format!(
                    "{key:?} is neither base64 of a 32-byte ED25519 public key nor an absolute path"
                ),
            );
        }
    }
    if file.unbound_control.first().is_none_or(|p| p.is_empty()) {
        problem(
            "unbound_control",
            "empty (hint: [\"unbound-control\", \"-s\", \"/run/unbound/unbound.ctl\"])".into(),
        );
    }
    if file
        .knot_control
        .as_ref()
        .is_some_and(|c| c.first().is_none_or(|p| p.is_empty()))
    {
        problem(
            "knot_control",
            "empty (hint: [\"knotc\", \"-s\", \"/run/dm-dns-knot/knot.sock\"], or leave it out)"
                .into(),
        );
    }
    let control_timeout = positive_seconds(file.control_timeout)
        .map_err(|e| problem("control_timeout", e))
        .ok();
    let max_mesh_bytes = parse_size(&file.max_mesh_size)
        .map_err(|e| problem("max_mesh_size", e))
        .ok();
    let mut addresses = Vec::new();
    if let Some(domain) = &domain {
        match hosts::from_map(&file.hosts, domain) {
            Ok(parsed) => {
                for unusable in &parsed.unusable {
                    problem("hosts", unusable.clone());
                }
                for (name, address) in &parsed.loopback {
                    problem(
                        "hosts",
                        format!(
                            "{address} (for {name}) is a loopback address, which other \
                             machines cannot reach and this machine's own services do not \
                             listen on (hint: give the machine's internal address)"
                        ),
                    );
                }
                addresses = parsed.records;
            }
            Err(e) => problem("hosts", e),
        }
    }
    let mut reverse_zones = Vec::new();
    for raw in &file.reverse_zones {
        match ReverseZone::parse(raw) {
            Ok(zone) => reverse_zones.push(zone),
            Err(e) => problem("reverse_zones", e),
        }
    }
    if let Some(serves) = &file.serves {
        for (key, values, check) in [
            (
                "serves.listen",
                &serves.listen,
                address_at_port as fn(&str) -> bool,
            ),
            ("serves.allow", &serves.allow, network),
            ("serves.forward", &serves.forward, address_at_port),
        ] {
            for value in values.iter().filter(|v| !check(v)) {
                let form = if key == "serves.allow" {
                    "a network such as 192.168.1.0/24 or 200::/7"
                } else {
                    "an address, optionally with @port, such as 192.168.1.5 or fd00::1@53"
                };
                problem(key, format!("{value:?} is not {form}"));
            }
        }
        if serves.listen.is_empty() {
            problem(
                "serves.listen",
                "empty: the server role needs an address to answer on".into(),
            );
        }
    }
    let (Some(domain), Some(control_timeout), Some(max_mesh_bytes), true) =
        (domain, control_timeout, max_mesh_bytes, problems.is_empty())
    else {
        return Err(Error::Input(problems));
    };
    Ok(NodeConfig {
        path: path.to_owned(),
        domain,
        trusted_keys: file.trusted_keys.clone(),
        mesh_file: file.mesh_file.clone(),
        zone_file: file.zone_file.clone(),
        state_dir: file.state_dir.clone(),
        unbound_control: file.unbound_control.clone(),
        knot_control: file.knot_control.clone(),
        control_timeout,
        max_mesh_bytes,
        allow_rollback: file.allow_rollback,
        addresses,
        server: file.server,
        redeploy: file.redeploy.clone(),
        reverse_zones,
        serves: file.serves.clone(),
        file,
    })
}

/// `address` or `address@port`, as unbound's `interface` and
/// `forward-addr` take them; a bad one would keep unbound from starting.
fn address_at_port(text: &str) -> bool {
    let (address, port) = match text.split_once('@') {
        Some((address, port)) => (address, Some(port)),
        None => (text, None),
    };
    address.parse::<IpAddr>().is_ok() && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// `address/prefix`, the prefix within the address's bits.
fn network(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let bits = match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        Ok(IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    prefix.parse::<u8>().is_ok_and(|p| p <= bits) && !prefix.starts_with('+')
}

/// A positive number of seconds.
pub fn positive_seconds(seconds: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| format!("{seconds} is not a positive number of seconds (e.g. 5 or 0.5)"))
}

/// `1048576`, `1024K`, `1M`, `1G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "b88oXyX9Wu/GxFGBxIpM55exUCZX1vPjNhUUcXd1n+g=";

    fn parsed(json: &str) -> Result<NodeConfig, String> {
        parse(json.as_bytes(), Utf8Path::new("/etc/dm-dns/node.json")).map_err(|e| e.to_string())
    }

    fn minimal(extra: &str) -> String {
        format!(
            r#"{{"domain": "Clan.", "mesh_file": "/m", "zone_file": "/z", "state_dir": "/s"{extra}}}"#
        )
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let config = parsed(&minimal("")).unwrap();
        assert_eq!(config.domain.as_str(), "clan");
        assert_eq!(config.unbound_control, ["unbound-control"]);
        assert_eq!(config.control_timeout, Duration::from_secs(5));
        assert_eq!(config.max_mesh_bytes, 256 << 20);
        assert!(config.trusted_keys.is_empty() && config.addresses.is_empty());
        assert!(!config.allow_rollback && config.server.is_none());
    }

    #[test]
    fn every_value_is_read() {
        let config = parsed(&minimal(&format!(
            r#", "trusted_keys": ["{KEY}", "/etc/k.pub"], "unbound_control": ["uc", "-s", "/u.ctl"],
              "control_timeout": 0.5, "max_mesh_size": "1G", "allow_rollback": true,
              "hosts": {{"10.0.0.1": ["alpha.clan", "alpha"]}}, "server": "127.0.0.1:5335",
              "redeploy": "clan machines update alpha", "reverse_zones": ["2.0.ip6.arpa."],
              "serves": {{"listen": ["10.0.0.1"], "allow": ["10.0.0.0/24"]}}"#
        )))
        .unwrap();
        assert_eq!(config.trusted_keys.len(), 2);
        assert_eq!(config.unbound_control, ["uc", "-s", "/u.ctl"]);
        assert_eq!(config.control_timeout, Duration::from_millis(500));
        assert_eq!(config.max_mesh_bytes, 1 << 30);
        assert_eq!(
            config.addresses,
            [("alpha.clan".to_string(), "10.0.0.1".parse().unwrap())]
        );
        assert_eq!(config.server, Some("127.0.0.1:5335".parse().unwrap()));
        assert_eq!(
            config.redeploy.as_deref(),
            Some("clan machines update alpha")
        );
        assert_eq!(config.reverse_zones[0].as_str(), "2.0.ip6.arpa");
        let serves = config.serves.unwrap();
        assert_eq!(
            (serves.listen, serves.allow),
            (vec!["10.0.0.1".into()], vec!["10.0.0.0/24".into()])
        );
    }

    #[test]
    fn every_problem_is_named_with_its_key() {
        let err = parsed(
            r#"{"domain": "clan", "mesh_file": "m", "zone_file": "/z", "state_dir": "/s",
                "trusted_keys": ["nope"], "unbound_control": [], "control_timeout": 0,
                "max_mesh_size": "12Q", "hosts": {"127.0.0.2": ["alpha.clan"]},
                "reverse_zones": ["clan"],
                "serves": {"listen": ["10.0.0.1@99999"], "allow": ["200::/129", "10.0.0.0"],
                           "forward": ["dns.example"]}}"#,
        )
        .unwrap_err();
        for key in [
            "mesh_file",
            "trusted_keys",
            "unbound_control",
            "control_timeout",
            "max_mesh_size",
            "hosts: 127.0.0.2 (for alpha.clan) is a loopback",
            "reverse_zones: \"clan\" is no reverse domain",
            "serves.listen: \"10.0.0.1@99999\" is not an address",
            "serves.allow: \"200::/129\" is not a network",
            "serves.allow: \"10.0.0.0\" is not a network",
            "serves.forward: \"dns.example\" is not an address",
        ] {
            assert!(err.contains(&format!("node.json: {key}")), "{key}: {err}");
        }
        assert!(
            parsed(r#"{"domain": "clan"}"#)
                .unwrap_err()
                .contains("mesh_file")
        );
        assert!(
            parsed(&minimal(r#", "typo": 1"#))
                .unwrap_err()
                .contains("unknown field `typo`")
        );
        assert!(parsed(&minimal("").replace("Clan.", "a b")).is_err());
    }

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
}
