//! `dm-dns status`: is this node current? What install recorded (serial,
//! signer, counts, when), what the mesh file holds now, what the zone file
//! holds, which serial the server holding the zone (Knot or unbound)
//! serves, and the last refused update.

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::dns::codes::codes;
use crate::dns::name::Domain;
use crate::error::Error;
use crate::node::config::Serves;
use crate::node::control::Control;
use crate::node::install::{self, FailureRecord, State};
use crate::sign::signed::RefusalKind;
use crate::sys::clock::utc;
use crate::sys::{digest, files};

pub struct Config {
    pub state_dir: Utf8PathBuf,
    /// `None`: the one domain the state directory holds.
    pub domain: Option<Domain>,
    pub mesh_file: Option<Utf8PathBuf>,
    pub zone_file: Option<Utf8PathBuf>,
    pub control: Option<Control>,
    /// The server role, when the node has it.
    pub serves: Option<Serves>,
}

/// The version of the JSON report; a field's meaning never changes within
/// one.
pub const FORMAT: u32 = 1;

/// How the node stands, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// Nothing was ever installed for this domain.
    NeverInstalled,
    /// The zone server's control program (knotc, unbound-control) got no
    /// answer: what it serves is unknown. (The code predates Knot.)
    UnboundUnreachable,
    /// The server or the zone file does not serve what was installed.
    Stale,
    /// The latest mesh file was refused.
    Refused,
    /// The latest mesh file was accepted but could not be put in service.
    NotApplied,
    /// The mesh file changed and has not been installed yet.
    Pending,
    Current,
}

codes!(Health {
    NeverInstalled => "never-installed",
    UnboundUnreachable => "unbound-unreachable",
    Stale => "stale",
    Refused => "refused",
    NotApplied => "not-applied",
    Pending => "pending",
    Current => "current",
});

#[derive(Debug, Serialize)]
pub struct Report {
    pub format: u32,
    pub domain: String,
    pub state_dir: String,
    pub health: Health,
    /// Why the node is not current, one line each.
    pub problems: Vec<String>,
    pub installed: Option<Installed>,
    /// The serial the zone server serves (asked only with a control
    /// command).
    pub served_serial: Option<u32>,
    /// Which server was asked: `knot` or `unbound`.
    pub served_by: Option<&'static str>,
    pub last_refused: Option<LastFailure>,
    pub last_not_applied: Option<LastFailure>,
    /// What unbound answers devices outside the clan (the server role).
    pub serves: Option<Serves>,
}

#[derive(Debug, Serialize)]
pub struct Installed {
    pub serial: u64,
    /// Serials are the Unix time of signing (`dm-dns sign`'s default).
    pub signed_at: String,
    pub signer: String,
    pub cnames: usize,
    pub addresses: usize,
    pub installed_at: String,
}

#[derive(Debug, Serialize)]
pub struct LastFailure {
    pub at: String,
    pub serial: Option<u64>,
    /// For a refusal, why (`not-signed`, `untrusted-signer`, ...).
    pub kind: Option<RefusalKind>,
    pub reason: String,
}

impl From<FailureRecord> for LastFailure {
    fn from(record: FailureRecord) -> LastFailure {
        LastFailure {
            at: utc(record.at),
            serial: record.serial,
            kind: record.kind,
            reason: record.reason,
        }
    }
}

/// The domain to report on: the one given, else the one the state directory
/// holds; an error says what the directory holds.
fn domain_of(config: &Config) -> Result<Domain, Error> {
    if let Some(domain) = &config.domain {
        return Ok(domain.clone());
    }
    let held = install::installed_domains(&config.state_dir)?;
    match held.as_slice() {
        [one] => Domain::parse(one)
            .map_err(|e| Error::input(format!("{}: installed.{one}.json: {e}", config.state_dir))),
        [] => Err(Error::input(format!(
            "{} holds no installed zone, so the domain is unknown (hint: pass --domain, \
             or --state-dir if this is not the node's state directory)",
            config.state_dir
        ))),
        many => Err(Error::input(format!(
            "{} holds zones of {}; pass --domain to pick one",
            config.state_dir,
            many.join(", ")
        ))),
    }
}

/// Why nothing is installed for `domain`: a wrong `--state-dir` or
/// `--domain` is named as such.
fn never_installed(config: &Config, domain: &Domain) -> Result<String, Error> {
    if !config.state_dir.is_dir() {
        return Ok(format!(
            "the state directory {} does not exist (hint: wrong --state-dir? on a node it is \
             the node configuration's state_dir)",
            config.state_dir
        ));
    }
    let held = install::installed_domains(&config.state_dir)?;
    if !held.is_empty() {
        return Ok(format!(
            "no zone of {domain} was ever installed in {}, which holds zones of {} \
             (hint: wrong --domain?)",
            config.state_dir,
            held.join(", ")
        ));
    }
    Ok(format!(
        "no zone of {domain} was ever installed in {} (hint: is a signed file there? \
         `systemctl status dm-dns-install`)",
        config.state_dir
    ))
}

pub fn report(config: &Config) -> Result<Report, Error> {
    let domain = domain_of(config)?;
    let state = install::read_state(&config.state_dir, &domain)?;
    let refusal = install::read_refusal(&config.state_dir, &domain)?;
    let not_applied = install::read_not_applied(&config.state_dir, &domain)?;
    let mut findings: Vec<(Health, String)> = Vec::new();
    let mut served_serial = None;
    match &state {
        None => findings.push((Health::NeverInstalled, never_installed(config, &domain)?)),
        Some(state) => {
            if let Some(path) = &config.zone_file {
                let now = file_sha256(path)?;
                if now.as_deref() != Some(state.zone_sha256.as_str()) {
                    findings.push((
                        Health::Stale,
                        format!(
                            "{path} does not hold the installed zone (serial {})",
                            state.serial
                        ),
                    ));
                }
            }
        }
    }
    let served_by = config.control.as_ref().map(|c| c.server.name());
    if let Some(control) = &config.control {
        let (server, unit) = (control.server.name(), control.server.unit());
        match control.served_serial(&domain) {
            Err(e) => findings.push((
                Health::UnboundUnreachable,
                format!("{e} (hint: `systemctl status {unit}`)"),
            )),
            Ok(served) => {
                served_serial = served;
                if let Some(state) = &state
                    && served.map(u64::from) != Some(state.serial)
                {
                    findings.push((
                        Health::Stale,
                        format!(
                            "{server} serves {} but serial {} is installed (hint: the next \
                             `dm-dns install` reloads it)",
                            served.map_or("no zone".to_string(), |s| format!("serial {s}")),
                            state.serial
                        ),
                    ));
                }
            }
        }
    }
    if let Some(path) = &config.mesh_file {
        let mesh = file_sha256(path)?;
        let is_latest = |record: &Option<FailureRecord>| {
            record
                .as_ref()
                .is_some_and(|r| mesh.as_deref() == Some(r.mesh_sha256.as_str()))
        };
        let installed_now = state
            .as_ref()
            .is_some_and(|s| mesh.as_deref() == Some(s.mesh_sha256.as_str()));
        if is_latest(&refusal) {
            findings.push((Health::Refused, format!("the latest {path} was refused")));
        } else if is_latest(&not_applied) {
            findings.push((
                Health::NotApplied,
                format!("the latest {path} was accepted but not applied"),
            ));
        } else if mesh.is_some() && !installed_now {
            findings.push((
                Health::Pending,
                format!("{path} changed and is not installed yet"),
            ));
        }
    } else if refusal.is_some() {
        findings.push((Health::Refused, "the latest mesh file was refused".into()));
    } else if not_applied.is_some() {
        findings.push((
            Health::NotApplied,
            "the latest mesh file was not applied".into(),
        ));
    }
    findings.sort_by_key(|(health, _)| *health);
    Ok(Report {
        format: FORMAT,
        domain: domain.to_string(),
        state_dir: config.state_dir.to_string(),
        health: findings.first().map_or(Health::Current, |(h, _)| *h),
        problems: findings.into_iter().map(|(_, text)| text).collect(),
        installed: state.as_ref().map(installed),
        served_serial,
        served_by,
        last_refused: refusal.map(LastFailure::from),
        last_not_applied: not_applied.map(LastFailure::from),
        serves: config.serves.clone(),
    })
}

fn installed(state: &State) -> Installed {
    Installed {
        serial: state.serial,
        signed_at: utc(state.serial),
        signer: state.signer.clone(),
        cnames: state.cnames,
        addresses: state.addresses,
        installed_at: utc(state.installed_at),
    }
}

fn file_sha256(path: &Utf8Path) -> Result<Option<String>, Error> {
    // Hashed as it is read: a mesh file can be large.
    let hashed = files::open_regular(path, true).and_then(|file| {
        let mut hasher = digest::HashingWriter::new(std::io::sink());
        std::io::copy(&mut std::io::BufReader::new(file), &mut hasher)?;
        Ok(hasher.finish()?.1)
    });
    match hashed {
        Ok(sha256) => Ok(Some(digest::hex(&sha256))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {path}"), e)),
    }
}

impl Report {
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "domain:        {}", self.domain);
        let _ = writeln!(out, "health:        {}", self.health.code());
        for problem in &self.problems {
            let _ = writeln!(out, "  - {problem}");
        }
        if let Some(i) = &self.installed {
            let _ = writeln!(out, "serial:        {} (signed {})", i.serial, i.signed_at);
            let _ = writeln!(out, "signer:        {}", i.signer);
            let _ = writeln!(
                out,
                "records:       {} CNAMEs, {} addresses",
                i.cnames, i.addresses
            );
            let _ = writeln!(out, "installed:     {}", i.installed_at);
        }
        if let (Some(serial), Some(server)) = (self.served_serial, self.served_by) {
            let _ = writeln!(out, "{:<15}serial {serial}", format!("{server}:"));
        }
        if let Some(serves) = &self.serves {
            let forward = if serves.forward.is_empty() {
                "resolved by unbound itself (DNSSEC validated)".to_owned()
            } else {
                serves.forward.join(", ")
            };
            let _ = writeln!(out, "serves others: {}", serves.listen.join(", "));
            let _ = writeln!(
                out,
                "  allowed:     {} (everyone else: REFUSED)",
                serves.allow.join(", ")
            );
            let _ = writeln!(out, "  other names: {forward}");
        }
        for (label, record) in [
            ("last refused: ", &self.last_refused),
            ("not applied:  ", &self.last_not_applied),
        ] {
            if let Some(r) = record {
                let serial = r.serial.map_or(String::new(), |s| format!("serial {s}, "));
                let kind = r.kind.map_or(String::new(), |k| format!("[{}] ", k.code()));
                let _ = writeln!(out, "{label} {} {serial}{kind}{}", r.at, r.reason);
            }
        }
        out
    }
}
