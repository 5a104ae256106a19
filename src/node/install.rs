//! `dm-dns install`: from the signed mesh file to the zone the node serves.
//!
//! verify -> refuse rollback -> render the zone file (CNAMEs + this node's
//! address records) -> check it -> swap it in atomically, keeping the previous
//! file as last-good -> put it in service (Knot: a transaction of the changed
//! records when the change is small, else a reload of that zone; unbound: a
//! reload) -> record the state. Any failure leaves the previous zone file in
//! place and the server serving it.
//!
//! One install at a time per state directory (a lock held from reading the
//! state to writing it). Whatever step a crash interrupts, the next run
//! converges: when the zone file already holds the zone, it asks the server
//! which serial it serves and reloads if that differs.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::artifacts::diff::{self, Changes};
use crate::artifacts::render;
use crate::artifacts::reverse::{self, ReverseZone};
use crate::artifacts::zonefile::{self, ZoneData};
use crate::dns::name::Domain;
use crate::error::Error;
use crate::node::control::{Control, Reload, Server};
use crate::sign::signed::{self, RefusalKind, Rejection};
use crate::sys::files::{self, Limit};
use crate::sys::{clock, digest, halves};

const LOCK: &str = "install.lock";

pub struct Config {
    pub mesh_file: Utf8PathBuf,
    pub trusted_keys: Vec<VerifyingKey>,
    pub domain: Domain,
    /// This node's own A/AAAA records below the domain.
    pub addresses: Vec<(String, IpAddr)>,
    /// Reverse domains this node answers, each from its own file beside
    /// the zone file, with PTR records for the signed zone's addresses.
    pub reverse_zones: Vec<ReverseZone>,
    pub zone_file: Utf8PathBuf,
    pub state_dir: Utf8PathBuf,
    /// How to reach the server that holds the zone; `None` skips the
    /// reload (before the server starts).
    pub control: Option<Control>,
    pub allow_rollback: bool,
    /// A larger mesh file is refused before it is read.
    pub max_mesh_bytes: u64,
    /// How this machine gets a new configuration (`clan machines update
    /// alpha`), when its configuration is managed: then a refusal that only
    /// a new node configuration fixes says to redeploy.
    pub redeploy: Option<String>,
}

/// `installed.<domain>.json`: the state of one domain, so a node moved to
/// another domain (or a state directory shared by two) never compares serials
/// across domains.
pub fn state_path(state_dir: &Utf8Path, domain: &Domain) -> Utf8PathBuf {
    state_dir.join(format!("installed.{domain}.json"))
}

/// The domains the state directory holds an installed zone of, sorted.
pub fn installed_domains(state_dir: &Utf8Path) -> Result<Vec<String>, Error> {
    let entries = match state_dir.read_dir_utf8() {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {state_dir}"), e)),
    };
    let mut domains = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("reading {state_dir}"), e))?;
        if let Some(domain) = entry
            .file_name()
            .strip_prefix("installed.")
            .and_then(|rest| rest.strip_suffix(".json"))
        {
            domains.push(domain.to_owned());
        }
    }
    domains.sort();
    Ok(domains)
}

fn last_good_path(config: &Config) -> Utf8PathBuf {
    config
        .state_dir
        .join(format!("last-good.{}.zone", config.domain))
}

/// What was installed last, kept in the state directory (`status` reads it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub domain: String,
    pub serial: u64,
    pub mesh_sha256: String,
    pub zone_sha256: String,
    /// Base64 of the key that signed it.
    #[serde(default)]
    pub signer: String,
    #[serde(default)]
    pub cnames: usize,
    #[serde(default)]
    pub addresses: usize,
    /// Unix time the zone was first installed (runs that find it in place
    /// leave it).
    #[serde(default)]
    pub installed_at: u64,
}

/// The last mesh file this node refused, or could not put in service,
/// until one is installed again (`refused.<domain>.json`,
/// `not-applied.<domain>.json`).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailureRecord {
    pub at: u64,
    /// The serial the file's header claims, if it has one.
    #[serde(default)]
    pub serial: Option<u64>,
    pub mesh_sha256: String,
    /// Why a refused file was refused; none for a file not applied.
    #[serde(default)]
    pub kind: Option<RefusalKind>,
    pub reason: String,
}

pub fn refusal_path(state_dir: &Utf8Path, domain: &Domain) -> Utf8PathBuf {
    state_dir.join(format!("refused.{domain}.json"))
}

pub fn not_applied_path(state_dir: &Utf8Path, domain: &Domain) -> Utf8PathBuf {
    state_dir.join(format!("not-applied.{domain}.json"))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new zone was swapped in and put in service as `applied` says;
    /// `changes` says what changed against the previous zone file, in one
    /// line.
    Installed {
        serial: u64,
        records: usize,
        changes: String,
        applied: Applied,
    },
    /// The zone file already holds exactly this zone.
    Unchanged { serial: u64 },
    /// No mesh file yet: a zone of the node's own records was written.
    Bootstrapped,
    /// No mesh file yet, and a zone is already in place.
    KeptExisting,
    /// The mesh file is not to be served, or could not be put in service.
    Failed {
        failure: Failure,
        /// What this node serves now, in words.
        consequence: String,
    },
}

/// How a new zone file was put in service.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Knot applied only the changed records, as one transaction.
    Transaction { edits: usize },
    /// The server reloaded the zone from the file.
    Reloaded,
    /// No server was asked (`--no-reload`).
    FileOnly,
}

/// The two ways an update fails, kept apart: a refused file must not be
/// served (retrying cannot help); a file not applied was accepted, but
/// something on the node (the zone server, the disk) kept it out of service, and
/// the next run retries it.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    Refused(Rejection),
    NotApplied {
        reason: String,
        /// The new zone is in the zone file and served; only recording it
        /// failed.
        served: bool,
    },
}

impl Failure {
    fn not_applied(reason: impl ToString) -> Failure {
        Failure::NotApplied {
            reason: reason.to_string(),
            served: false,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Failure::Refused(rejection) => &rejection.message,
            Failure::NotApplied { reason, .. } => reason,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(_) => write!(f, "refused: {}", self.reason()),
            Failure::NotApplied { .. } => write!(f, "not applied: {}", self.reason()),
        }
    }
}

/// Installs the mesh file; returns what happened and warnings about the
/// reverse zones (which never hold the forward zone back).
pub fn run(config: &Config) -> Result<(Outcome, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let outcome = run_with(config, &mut warnings)?;
    Ok((outcome, warnings))
}

fn run_with(config: &Config, warnings: &mut Vec<String>) -> Result<Outcome, Error> {
    std::fs::create_dir_all(&config.state_dir)
        .map_err(|e| Error::io(format!("creating {}", config.state_dir), e))?;
    refuse_loose_state_dir(&config.state_dir)?;
    let _lock = lock(&config.state_dir)?;
    let mesh = match signed::read_limited(&config.mesh_file, config.max_mesh_bytes) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            // A server needs every zone it is configured for to load.
            for zone in &config.reverse_zones {
                if !reverse_file(config, zone).exists() {
                    update_reverse(config, zone, 1, &[], warnings);
                }
            }
            return bootstrap(config);
        }
        Err(e @ Error::Input(_)) => {
            let failure = Failure::Refused(Rejection::new(RefusalKind::TooLarge, e.to_string()));
            return fail(config, failure);
        }
        Err(e) => return fail(config, Failure::not_applied(e)),
    };
    let claimed = signed::claimed_serial(&mesh);
    // The whole file's hash (for the state and the records) is taken while
    // it is verified; its bytes are dropped then: a large zone should not be
    // in memory three times over.
    let (verified, sha256) = halves::join(
        || signed::verify(&mesh, &config.trusted_keys, Some(&config.domain)),
        || digest::hex(&digest::sha256(&mesh)),
    );
    drop(mesh);
    let result = install_verified(config, verified, sha256.clone(), warnings);
    let record = |failure: &Failure| FailureRecord {
        at: clock::unix_now(),
        serial: claimed,
        mesh_sha256: sha256.clone(),
        kind: match failure {
            Failure::Refused(r) => Some(r.kind),
            Failure::NotApplied { .. } => None,
        },
        reason: failure.reason().to_owned(),
    };
    match result {
        Ok(outcome) => {
            for path in [
                refusal_path(&config.state_dir, &config.domain),
                not_applied_path(&config.state_dir, &config.domain),
            ] {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::io(format!("removing the old record {path}"), e));
                    }
                    _ => {}
                }
            }
            Ok(outcome)
        }
        Err(failure) => {
            let failure = with_node_hint(failure, config);
            let path = match &failure {
                Failure::Refused(_) => refusal_path(&config.state_dir, &config.domain),
                Failure::NotApplied { .. } => not_applied_path(&config.state_dir, &config.domain),
            };
            let recorded = write_record(&path, &record(&failure));
            let mut outcome = fail(config, failure)?;
            if let (Err(e), Outcome::Failed { consequence, .. }) = (recorded, &mut outcome) {
                consequence.push_str(&format!("; recording this for `dm-dns status` failed: {e}"));
            }
            Ok(outcome)
        }
    }
}

/// On a managed node a refusal that only a new node configuration fixes
/// (a rotated key, another domain) says to redeploy, not which flag to pass.
fn with_node_hint(failure: Failure, config: &Config) -> Failure {
    match (failure, &config.redeploy) {
        (Failure::Refused(rejection), Some(redeploy)) if rejection.kind.fixed_on_the_node() => {
            let text = rejection.message.as_str();
            let text = match text.rfind(" (hint: ") {
                Some(at) if text.ends_with(')') => &text[..at],
                _ => text,
            };
            Failure::Refused(Rejection::new(
                rejection.kind,
                format!(
                    "{text} (hint: this node's configuration decides it; if the clan's \
                     configuration changed (a new signing key?), redeploy this machine: {redeploy})"
                ),
            ))
        }
        (failure, _) => failure,
    }
}

/// A failed update: the previous zone stays when there is one; without one,
/// a zone of the node's own records is written so the server can start (a
/// refused file, such as the built-in service's unsigned one left after
/// migrating, must never keep the server down).
fn fail(config: &Config, failure: Failure) -> Result<Outcome, Error> {
    let consequence = if let Failure::NotApplied { served: true, .. } = failure {
        "the new zone is served".to_owned()
    } else if zone_file_exists(config)? {
        format!("the previous zone stays in {}", config.zone_file)
    } else {
        write_bootstrap(config)?;
        format!(
            "there was no zone yet, so a zone of this node's own records was written to {} \
             for the server to start with",
            config.zone_file
        )
    };
    Ok(Outcome::Failed {
        failure,
        consequence,
    })
}

/// Installs the mesh file as verified (`signed::verify`'s result).
fn install_verified(
    config: &Config,
    verified: Result<signed::Verified, Rejection>,
    mesh_sha256: String,
    warnings: &mut Vec<String>,
) -> Result<Outcome, Failure> {
    let refuse = |kind, why: String| {
        Failure::Refused(Rejection::new(kind, format!("{}: {why}", config.mesh_file)))
    };
    let not_applied = Failure::not_applied;

    if config.trusted_keys.is_empty() {
        return Err(refuse(
            RefusalKind::NoTrustedKeys,
            "no trusted keys are configured (hint: pass --trusted-key with the clan's \
             dm-dns public key)"
                .into(),
        ));
    }
    let verified = verified.map_err(|r| refuse(r.kind, r.message))?;
    let previous = read_state(&config.state_dir, &config.domain).map_err(not_applied)?;
    if let Some(prev) = &previous
        && !config.allow_rollback
    {
        let same_file = prev.mesh_sha256 == mesh_sha256;
        if verified.serial < prev.serial || (verified.serial == prev.serial && !same_file) {
            return Err(refuse(
                RefusalKind::NotNewer,
                format!(
                    "serial {} is not newer than the installed serial {} (rollback or replay; \
                     hint: sign with a newer serial, or pass --allow-rollback on purpose)",
                    verified.serial, prev.serial
                ),
            ));
        }
    }
    let serial = u32::try_from(verified.serial).map_err(|_| {
        refuse(
            RefusalKind::BadFormat,
            format!("serial {} does not fit a DNS SOA serial", verified.serial),
        )
    })?;
    let (cnames, addresses) = (verified.zone.len(), verified.zone.addresses().len());
    // PTRs come from the signed zone's addresses alone, never the node's own.
    let signed_addresses = if config.reverse_zones.is_empty() {
        Vec::new()
    } else {
        verified.zone.addresses().to_vec()
    };
    let update_reverse_zones = |warnings: &mut Vec<String>| {
        for zone in &config.reverse_zones {
            update_reverse(config, zone, serial, &signed_addresses, warnings);
        }
    };
    let (zone_text, zone) = render_checked(verified.zone, serial, &config.addresses)
        .map_err(|e| refuse(RefusalKind::ConflictsWithHosts, e))?;
    let zone_sha256 = || digest::hex(&digest::sha256(zone_text.as_bytes()));
    let state_of = |zone_sha256| State {
        domain: config.domain.to_string(),
        serial: verified.serial,
        mesh_sha256: mesh_sha256.clone(),
        zone_sha256,
        signer: crate::sign::keys::public_base64(&verified.signer),
        cnames,
        addresses,
        installed_at: clock::unix_now(),
    };
    let current = read_zone_file(config).map_err(not_applied)?;
    if current.as_deref() == Some(zone_text.as_bytes()) {
        let state = state_of(zone_sha256());
        // An earlier run may have died between the swap and the reload.
        if let Some(control) = &config.control
            && control
                .served_serial(&config.domain)
                .map_err(|e| control_failed(config, control, e))?
                != Some(serial)
        {
            reload(control, &config.domain, serial, cnames + addresses)
                .map_err(|e| control_failed(config, control, e))?;
        }
        // A run that finds the zone in place and recorded keeps the record,
        // and with it when the zone was installed.
        let recorded = previous.is_some_and(|p| {
            p == State {
                installed_at: p.installed_at,
                ..state.clone()
            }
        });
        update_reverse_zones(warnings);
        if !recorded {
            write_state(config, &state)?;
        }
        return Ok(Outcome::Unchanged {
            serial: verified.serial,
        });
    }
    // The previous zone is read while the new one is hashed, and dropped
    // once compared: a node's zone can be large.
    let (zone_sha256, previous_zone) =
        halves::join(zone_sha256, || current.as_deref().and_then(parse_zone_file));
    let state = state_of(zone_sha256);
    let (changes, old_serial) = match previous_zone {
        Some((old, old_serial)) => (Some(diff::changes(&old, &zone)), Some(old_serial)),
        None => (None, None),
    };
    let summary = match &changes {
        Some(changes) => changes.summary_line(),
        None => format!("first zone, {} names", zone.len()),
    };
    // Knot is given only the changed records when it is known to serve the
    // previous file and the change is small; anything else is a reload.
    let transaction = match (&config.control, old_serial, &changes) {
        (Some(control), Some(old_serial), Some(changes)) if control.server == Server::Knot => {
            knot_edits(&config.domain, changes, serial).map(|edits| (old_serial, edits))
        }
        _ => None,
    };
    let applied = swap_in(
        config,
        &zone_text,
        current.as_deref(),
        serial,
        cnames + addresses,
        transaction,
    )?;
    // Before the state: a run killed in between is seen as not done, like
    // one killed between the swap and the reload.
    update_reverse_zones(warnings);
    write_state(config, &state)?;
    Ok(Outcome::Installed {
        serial: verified.serial,
        records: cnames,
        changes: summary,
        applied,
    })
}

/// A zone file as install wrote it: its zone and SOA serial; `None` for
/// anything else (it is then replaced whole).
fn parse_zone_file(bytes: &[u8]) -> Option<(ZoneData, u32)> {
    let text = std::str::from_utf8(bytes).ok()?;
    Some((zonefile::parse_db(text).ok()?, zonefile::db_serial(text)?))
}

/// The most record edits sent to Knot as one transaction; a larger change
/// reloads the zone, which Knot does beside the served one (README,
/// "Benchmarks": a reload of 1M records takes about 1.3 s, and every edit a
/// knotc round trip).
const MAX_TRANSACTION_EDITS: usize = 2_000;

/// `changes` as knotc `zone-set`/`zone-unset` commands, the new SOA last;
/// `None` when there are more than [`MAX_TRANSACTION_EDITS`].
fn knot_edits(domain: &Domain, changes: &Changes, serial: u32) -> Option<String> {
    // Declared TXT, SRV and CNAMEs to other names change rarely: a reload.
    if !(changes.others_added.is_empty() && changes.others_removed.is_empty()) {
        return None;
    }
    let count = changes.added.len()
        + changes.removed.len()
        + 2 * changes.retargeted.len()
        + changes.addresses_added.len()
        + changes.addresses_removed.len();
    if count > MAX_TRANSACTION_EDITS {
        return None;
    }
    let ttl = render::TTL;
    let mut edits = String::new();
    let mut line = |text: String| {
        edits.push_str(&text);
        edits.push('\n');
    };
    for change in changes.removed.iter().chain(&changes.retargeted) {
        line(format!("zone-unset {domain}. {}. CNAME", change.host));
    }
    for record in &changes.addresses_removed {
        let (name, kind, address) = (&record.name, record.record_type, record.address);
        line(format!("zone-unset {domain}. {name}. {kind} {address}"));
    }
    for record in &changes.addresses_added {
        let (name, kind, address) = (&record.name, record.record_type, record.address);
        line(format!("zone-set {domain}. {name}. {ttl} {kind} {address}"));
    }
    for change in changes.added.iter().chain(&changes.retargeted) {
        let target = change.new.as_deref()?;
        line(format!(
            "zone-set {domain}. {}. {ttl} CNAME {target}.",
            change.host
        ));
    }
    line(format!(
        "zone-set {domain}. {domain}. {ttl} SOA {}",
        render::soa_data(serial)
    ));
    Some(edits)
}

/// Where the reverse zone's file is: beside the zone file, named after it.
pub fn reverse_file(config: &Config, zone: &ReverseZone) -> Utf8PathBuf {
    let dir = config.zone_file.parent().unwrap_or(Utf8Path::new("."));
    dir.join(format!("{zone}.zone"))
}

/// Writes the reverse zone's file when its PTR records changed, and has
/// the server reload it. Its SOA serial stays while the records do, so an
/// update that moves no address reloads nothing. A failure is a warning:
/// the server keeps what it served, and the next install tries again.
fn update_reverse(
    config: &Config,
    zone: &ReverseZone,
    serial: u32,
    addresses: &[(String, IpAddr)],
    warnings: &mut Vec<String>,
) {
    let path = reverse_file(config, zone);
    let current = files::read_file(&path, Limit::ZoneFile).ok();
    let old_serial = current
        .as_deref()
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(zonefile::db_serial);
    if let Some(old_serial) = old_serial
        && current.as_deref() == Some(reverse::render(zone, old_serial, addresses).as_bytes())
    {
        return;
    }
    let text = reverse::render(zone, serial, addresses);
    if let Err(e) = files::write_file(&path, text.as_bytes(), 0o644) {
        warnings.push(format!("reverse zone {zone}: {e}"));
        return;
    }
    let Some(control) = &config.control else {
        return;
    };
    let reloaded = Domain::parse(zone.as_str())
        .map_err(|e| e.to_string())
        .and_then(|name| control.reload(&name));
    if let Err(e) = reloaded {
        warnings.push(format!(
            "reverse zone {zone}: written to {path}, but {} did not reload it: {e} (hint: \
             is the zone in its configuration?)",
            control.server.name()
        ));
    }
}

/// With no mesh file yet, the server still needs a loadable zone.
fn bootstrap(config: &Config) -> Result<Outcome, Error> {
    if zone_file_exists(config)? {
        return Ok(Outcome::KeptExisting);
    }
    write_bootstrap(config)?;
    Ok(Outcome::Bootstrapped)
}

/// The zone of this node's own address records alone.
fn write_bootstrap(config: &Config) -> Result<(), Error> {
    let empty = ZoneData::new(config.domain.clone());
    let (text, _) = render_checked(empty, 1, &config.addresses).map_err(Error::input)?;
    files::write_file(&config.zone_file, text.as_bytes(), 0o644)
}

/// Renders the auth-zone. The node's own address records (`--hosts`)
/// replace the zone's for the names they give: the node knows best how it
/// reaches itself and its neighbours. Returns the text and the zone it
/// holds (`zonefile::parse_db` reads the text back as exactly that zone, a
/// property the tests hold it to). The zone is taken, not copied: a node's
/// zone can be large.
pub fn render_checked(
    zone: ZoneData,
    serial: u32,
    own: &[(String, IpAddr)],
) -> Result<(String, ZoneData), String> {
    let has_cname = |name: &str| {
        zone.target(name).is_some()
            || zone
                .others()
                .iter()
                .any(|(n, data)| n == name && data.is_cname())
    };
    if let Some((name, _)) = own.iter().find(|(n, _)| has_cname(n)) {
        return Err(format!(
            "{name} is both an endpoint CNAME in the zone and an address of this node \
             (hint: remove it from networking.hosts or from the endpoint exports)"
        ));
    }
    let mut merged: Vec<(String, IpAddr)> = zone
        .addresses()
        .iter()
        .filter(|(name, _)| !own.iter().any(|(n, _)| n == name))
        .chain(own)
        .cloned()
        .collect();
    merged.sort_unstable_by(render::address_order);
    merged.dedup();
    let expected = zone.with_addresses(merged);
    let mut out = Vec::new();
    render::write_db(
        &mut out,
        &expected.domain,
        serial,
        expected.cnames(),
        expected.addresses(),
        expected.others(),
    )
    .expect("writing to memory");
    let text = String::from_utf8(out).expect("zone text is ASCII");
    Ok((text, expected))
}

/// Writes the new zone file and puts it in service; on failure the previous
/// file is put back, as the server still serves it. `transaction`: the
/// serial Knot must serve for the edits to apply, and the edits.
fn swap_in(
    config: &Config,
    zone_text: &str,
    current: Option<&[u8]>,
    serial: u32,
    records: usize,
    transaction: Option<(u32, String)>,
) -> Result<Applied, Failure> {
    let not_applied = Failure::not_applied;
    if let Some(bytes) = current {
        files::keep_copy(&config.zone_file, bytes, &last_good_path(config)).map_err(not_applied)?;
    }
    files::write_file(&config.zone_file, zone_text.as_bytes(), 0o644).map_err(not_applied)?;
    let Some(control) = &config.control else {
        return Ok(Applied::FileOnly);
    };
    if let Some((old_serial, edits)) = transaction
        && control.served_serial(&config.domain) == Ok(Some(old_serial))
        && control.apply(&config.domain, &edits).is_ok()
        && control.served_serial(&config.domain) == Ok(Some(serial))
    {
        return Ok(Applied::Transaction {
            edits: edits.lines().count() - 1,
        });
    }
    // A transaction that could not be applied (Knot served another zone,
    // refused an edit, or did not answer) leaves the reload, which reads
    // the file written above whatever Knot holds.
    if let Err(reload_error) = reload(control, &config.domain, serial, records) {
        // The server still serves the old zone from memory; put the old
        // file back so a later restart loads the same.
        if let Some(bytes) = current {
            files::write_file(&config.zone_file, bytes, 0o644).map_err(not_applied)?;
        }
        return Err(control_failed(config, control, reload_error));
    }
    Ok(Applied::Reloaded)
}

/// Reloads the zone and makes sure the server serves `serial`. A reload
/// that failed or outlasted its allowance may still have been carried out:
/// what the server serves decides, never the command's fate.
fn reload(control: &Control, domain: &Domain, serial: u32, records: usize) -> Result<(), String> {
    let allowance = reload_allowance(control.timeout, records);
    let reloading = Control {
        timeout: allowance,
        ..control.clone()
    };
    let started = Instant::now();
    match reloading.reload(domain) {
        Ok(Reload::Done) => Ok(()),
        Ok(Reload::Started) if serves_within(control, domain, serial, allowance) => Ok(()),
        Ok(Reload::Started) => Err(format!(
            "{} did not serve serial {serial} within {:.1} s of the reload (hint: its log says \
             why it did not load the file)",
            control.server.name(),
            allowance.as_secs_f64()
        )),
        // Cut off: still loading (unbound's control socket answers once it
        // is done).
        Err(_)
            if started.elapsed() >= allowance
                && serves_within(control, domain, serial, allowance) =>
        {
            Ok(())
        }
        // Refused outright: carried out only if the server says so now.
        Err(_) if control.served_serial(domain) == Ok(Some(serial)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// How long one reload may take: the server reads the whole zone file, so
/// the control timeout is given a second more for every 200,000 records
/// (README.md, "Benchmarks", has the load times measured).
fn reload_allowance(timeout: Duration, records: usize) -> Duration {
    timeout + Duration::from_secs_f64(records as f64 / 200_000.0)
}

/// Whether the server serves `serial` for `domain`, asked until `within`
/// has passed: a server still loading answers once it is done.
fn serves_within(control: &Control, domain: &Domain, serial: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if control.served_serial(domain) == Ok(Some(serial)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn control_failed(config: &Config, control: &Control, detail: String) -> Failure {
    let domain = &config.domain;
    let holding = match control.server {
        Server::Unbound => format!("unbound running with an auth-zone for {domain}."),
        Server::Knot => format!("knotd running with a zone {domain}."),
    };
    Failure::not_applied(format!(
        "{detail} (hint: is {holding} and a control socket? `systemctl status {}`; the next \
         install run retries)",
        control.server.unit()
    ))
}

/// The zone file's bytes, `None` if there is none. Never read through a
/// symlink: its target could be any file, and its bytes would end up in
/// last-good with mode 0644.
fn read_zone_file(config: &Config) -> Result<Option<Vec<u8>>, Error> {
    let path = &config.zone_file;
    match files::read_no_follow(path, Limit::ZoneFile) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if files::is_symlink_refusal(&e) => Err(zone_file_is_a_link(config)),
        Err(e) => Err(Error::io(format!("reading {path}"), e)),
    }
}

/// Whether a zone file is in place, without reading it (it can be large),
/// and with the same refusal of a symlink as `read_zone_file`.
fn zone_file_exists(config: &Config) -> Result<bool, Error> {
    let path = &config.zone_file;
    match path.symlink_metadata() {
        Ok(meta) if meta.is_symlink() => Err(zone_file_is_a_link(config)),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("reading {path}"), e)),
    }
}

fn zone_file_is_a_link(config: &Config) -> Error {
    Error::input(format!(
        "{} is a symbolic link; install never reads or replaces a zone through one \
         (hint: point --zone-file at a regular file in a directory only root can write)",
        config.zone_file
    ))
}

/// A state directory every user may write lets any of them reset the
/// installed serial, and with it the rollback protection: refused, as sshd
/// refuses a key file others may write.
fn refuse_loose_state_dir(dir: &Utf8Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)
        .map_err(|e| Error::io(format!("reading {dir}"), e))?
        .permissions()
        .mode();
    if mode & 0o002 != 0 {
        return Err(Error::input(format!(
            "the state directory {dir} is writable by every user (mode {:o}), so anyone \
             could reset the installed serial (hint: chmod o-w {dir})",
            mode & 0o7777
        )));
    }
    Ok(())
}

/// Holds the state directory's install lock until dropped: a second
/// install waits, then sees the first one's state.
fn lock(state_dir: &Utf8Path) -> Result<std::fs::File, Error> {
    let path = state_dir.join(LOCK);
    let file = files::open_no_follow(&path).map_err(|e| Error::io(format!("opening {path}"), e))?;
    file.lock()
        .map_err(|e| Error::io(format!("locking {path}"), e))?;
    Ok(file)
}

pub fn read_state(dir: &Utf8Path, domain: &Domain) -> Result<Option<State>, Error> {
    let path = state_path(dir, domain);
    let state: Option<State> = read_record(&path)?;
    if let Some(state) = &state
        && state.domain != domain.as_str()
    {
        return Err(Error::input(format!(
            "{path} records domain {:?}, not \"{domain}\": it was copied or edited (hint: \
             remove it, and install writes it anew with the next signed zone)",
            state.domain
        )));
    }
    Ok(state)
}

pub fn read_refusal(dir: &Utf8Path, domain: &Domain) -> Result<Option<FailureRecord>, Error> {
    read_record(&refusal_path(dir, domain))
}

pub fn read_not_applied(dir: &Utf8Path, domain: &Domain) -> Result<Option<FailureRecord>, Error> {
    read_record(&not_applied_path(dir, domain))
}

/// A JSON record of the state directory, never read through a symlink;
/// `None` when there is none.
fn read_record<T: serde::de::DeserializeOwned>(path: &Utf8Path) -> Result<Option<T>, Error> {
    match files::read_no_follow(path, Limit::Record) {
        Ok(text) => serde_json::from_slice(&text).map(Some).map_err(|e| {
            Error::input(format!(
                "{path} is damaged ({e}); remove it, and install writes it anew with the \
                 next signed zone"
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("reading {path}"), e)),
    }
}

fn write_record(path: &Utf8Path, record: &impl Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(record).expect("records serialise") + "\n";
    files::write_file(path, text.as_bytes(), 0o644)
}

/// Records what the server now serves. Called only after the zone is live: the
/// next run finds the zone in place and records it.
fn write_state(config: &Config, state: &State) -> Result<(), Failure> {
    let path = state_path(&config.state_dir, &config.domain);
    write_record(&path, state).map_err(|e| Failure::NotApplied {
        reason: format!(
            "serial {} is installed and served, but recording it in {path} failed ({e}); \
             the next install run records it",
            state.serial
        ),
        served: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_addresses_and_refuses_conflicts() {
        let zone = zonefile::parse_conf(
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.clan.\"\n",
        )
        .unwrap();
        let addresses = vec![("alpha.clan".to_string(), "10.0.0.1".parse().unwrap())];
        let (text, _) = render_checked(zone.clone(), 7, &addresses).unwrap();
        assert!(text.contains("clan. IN SOA localhost. nobody.invalid. 7 "));
        assert!(text.contains("alpha.clan. IN A 10.0.0.1\n"));
        assert!(text.contains("music.clan. IN CNAME alpha.clan.\n"));
        let clash = vec![("music.clan".to_string(), "10.0.0.1".parse().unwrap())];
        assert!(
            render_checked(zone, 7, &clash)
                .unwrap_err()
                .contains("both")
        );
    }

    proptest::proptest! {
        /// What the server gets reads back as exactly the zone that was verified
        /// plus the node's own records (install trusts this, not a re-read).
        #[test]
        fn rendered_zones_read_back_as_themselves(
            cnames in proptest::collection::btree_map("[a-z0-9]{1,6}(\\.[a-z]{1,3})?", "m[a-z]{0,3}", 0..40),
            addresses in proptest::collection::vec(("m[a-z]{0,3}", proptest::prelude::any::<std::net::IpAddr>()), 0..8),
            own in proptest::collection::vec(("m[a-z]{0,3}", proptest::prelude::any::<std::net::IpAddr>()), 0..3),
            txt in proptest::collection::vec(("[a-z]{1,4}", "[ -!#-&(-\\[\\]-~]{0,12}"), 0..4),
            srv in proptest::collection::vec(("_[a-z]{1,3}\\._(tcp|udp)", 0u16..3, "m[a-z]{0,3}"), 0..3),
        ) {
            let mut conf = String::from("local-zone: \"clan.\" transparent\n");
            for (host, machine) in &cnames {
                conf += &format!("local-data: \"{host}.clan. CNAME {machine}.clan.\"\n");
            }
            let mut seen = std::collections::BTreeSet::new();
            for (machine, address) in addresses.iter().filter(|r| seen.insert(*r)) {
                let family = if address.is_ipv4() { "A" } else { "AAAA" };
                conf += &format!("local-data: \"{machine}.clan. {family} {address}\"\n");
            }
            // Declared TXT (with ';' and spaces, which a master file's
            // comments and fields must not cut) and SRV records.
            for (name, text) in &txt {
                conf += &format!("local-data: '{name}.clan. TXT \"{text}\"'\n");
            }
            for (name, port, target) in &srv {
                conf += &format!("local-data: \"{name}.clan. SRV 1 2 {port} {target}.clan.\"\n");
            }
            let Ok(zone) = zonefile::parse_conf(&conf) else { return Ok(()) };
            let own: Vec<(String, IpAddr)> =
                own.into_iter().map(|(m, a)| (format!("{m}.clan"), a)).collect();
            if let Ok((text, expected)) = render_checked(zone, 9, &own) {
                proptest::prop_assert_eq!(zonefile::parse_db(&text).unwrap(), expected);
            }
        }
    }
}
