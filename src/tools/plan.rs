//! `dm-dns plan`: what pushing a zone would change against the live mesh
//! file, with the scopes behind each change (octoDNS's `plan`, DNSControl's
//! `preview`).
//!
//! The live file is whatever data-mesher holds: none yet (first push), the
//! built-in service's unsigned `zone.conf` (migration), a file signed by the
//! key before a rotation, or one this key signed. Only the last can be read
//! as a zone; the others are reported as what they are, and every name is
//! then listed as new: the push replaces them.

use std::collections::HashMap;

use camino::Utf8Path;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use crate::artifacts::diff;
use crate::artifacts::manifest::Manifest;
use crate::artifacts::zonefile::ZoneData;
use crate::compile::declared;
use crate::dns::name::Domain;
use crate::error::Error;
use crate::sign::keys;
use crate::sign::signed::{self, RefusalKind};
use crate::sys::clock::utc;
use crate::tools::zones;

/// The version of the JSON plan.
pub const FORMAT: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Plan {
    pub format: u32,
    pub live: Live,
    pub changes: Vec<PlannedChange>,
    pub summary: Summary,
}

/// What the live mesh file is.
#[derive(Debug, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Live {
    /// No live file: the first push.
    Missing { path: String },
    /// Signed by a trusted key; the changes are against its zone.
    Verified {
        path: String,
        serial: u64,
        signed_at: String,
        signer: String,
    },
    /// A file that cannot be verified: the push replaces it.
    Unverifiable {
        path: String,
        kind: RefusalKind,
        /// The key it claims to be signed by, if it names one.
        signer: Option<String>,
        reason: String,
    },
}

#[derive(Debug, Serialize)]
pub struct PlannedChange {
    pub op: Op,
    pub name: String,
    /// `CNAME`, `A`, `AAAA`, `TXT` or `SRV`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    /// The record's value before (for remove and retarget) and after.
    pub old: Option<String>,
    pub new: Option<String>,
    /// The scopes that export the name now.
    pub scopes: Vec<String>,
    /// Why the new zone leaves a removed name out (a manifest skip reason).
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Add,
    Retarget,
    Remove,
}

impl Op {
    fn sign(self) -> char {
        match self {
            Op::Add => '+',
            Op::Retarget => '~',
            Op::Remove => '-',
        }
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub added: usize,
    pub retargeted: usize,
    pub removed: usize,
    pub addresses_added: usize,
    pub addresses_removed: usize,
    /// Declared TXT and SRV records and CNAMEs to other names than machines'.
    pub declared_added: usize,
    pub declared_removed: usize,
}

/// Compares the zone output `zone_dir` with the live `mesh_file`, verified
/// against `trusted`.
pub fn plan(
    zone_dir: &Utf8Path,
    mesh_file: &Utf8Path,
    trusted: &[VerifyingKey],
    max_mesh_bytes: u64,
) -> Result<Plan, Error> {
    if trusted.is_empty() {
        return Err(Error::input(
            "plan needs the clan's public key to read the live file: pass --trusted-key \
             (the clan's signing.pub) or run it on a node with a node configuration",
        ));
    }
    // The manifest last: the mesh file's bytes and the live zone are gone
    // by then, so at most two zones are in memory at once.
    let new = zones::load(zone_dir)?;
    let path = mesh_file.to_string();
    let (live, old) = match signed::read_limited(mesh_file, max_mesh_bytes)? {
        None => (Live::Missing { path }, None),
        Some(bytes) => match signed::verify(&bytes, trusted, Some(&new.domain)) {
            Ok(verified) => (
                Live::Verified {
                    path,
                    serial: verified.serial,
                    signed_at: utc(verified.serial),
                    signer: keys::public_base64(&verified.signer),
                },
                Some(verified.zone),
            ),
            Err(rejection) => (
                Live::Unverifiable {
                    path,
                    kind: rejection.kind,
                    signer: signed::claimed_signer(&bytes),
                    reason: rejection.message,
                },
                None,
            ),
        },
    };
    let old = old.unwrap_or_else(|| ZoneData::new(new.domain.clone()));
    let changes = diff::changes(&old, &new);
    drop(old);
    let manifest = zones::manifest_of(zone_dir, &new)?;
    // Reasons are gathered for the changed names alone: a push changes a
    // few names of a zone that can hold millions.
    let changed: std::collections::HashSet<&str> = changes
        .added
        .iter()
        .chain(&changes.retargeted)
        .chain(&changes.removed)
        .map(|c| c.host.as_str())
        .chain(
            changes
                .addresses_added
                .iter()
                .chain(&changes.addresses_removed)
                .map(|r| r.name.as_str()),
        )
        .chain(
            changes
                .others_added
                .iter()
                .chain(&changes.others_removed)
                .map(|r| r.name.as_str()),
        )
        .collect();
    let why = manifest
        .map(|m| Reasons::from_manifest(&m, &new.domain, &changed))
        .unwrap_or_default();
    let mut planned = Vec::new();
    let mut cname = |op, c: &diff::Change| {
        planned.push(why.change(op, &c.host, "CNAME", c.old.clone(), c.new.clone()))
    };
    changes.added.iter().for_each(|c| cname(Op::Add, c));
    changes
        .retargeted
        .iter()
        .for_each(|c| cname(Op::Retarget, c));
    changes.removed.iter().for_each(|c| cname(Op::Remove, c));
    for (op, records) in [
        (Op::Add, &changes.addresses_added),
        (Op::Remove, &changes.addresses_removed),
    ] {
        for record in records {
            let address = Some(record.address.to_string());
            let (old, new) = match op {
                Op::Remove => (address, None),
                _ => (None, address),
            };
            planned.push(why.change(op, &record.name, record.record_type, old, new));
        }
    }
    for (op, records) in [
        (Op::Add, &changes.others_added),
        (Op::Remove, &changes.others_removed),
    ] {
        for record in records {
            // Names as the CNAMEs above show them, without the final dot.
            let data = record.data.strip_suffix('.').unwrap_or(&record.data);
            let (old, new) = match op {
                Op::Remove => (Some(data.to_owned()), None),
                _ => (None, Some(data.to_owned())),
            };
            planned.push(why.change(op, &record.name, record.record_type, old, new));
        }
    }
    planned.sort_by(|a, b| a.name.cmp(&b.name).then(a.op.cmp(&b.op)));
    Ok(Plan {
        format: FORMAT,
        live,
        summary: Summary {
            added: changes.added.len(),
            retargeted: changes.retargeted.len(),
            removed: changes.removed.len(),
            addresses_added: changes.addresses_added.len(),
            addresses_removed: changes.addresses_removed.len(),
            declared_added: changes.others_added.len(),
            declared_removed: changes.others_removed.len(),
        },
        changes: planned,
    })
}

/// From the new zone's manifest: which scopes export each name now, or
/// why it is left out.
#[derive(Default)]
struct Reasons {
    scopes: HashMap<String, Vec<String>>,
    skipped: HashMap<String, String>,
}

impl Reasons {
    fn from_manifest(
        manifest: &Manifest,
        domain: &Domain,
        names: &std::collections::HashSet<&str>,
    ) -> Reasons {
        let mut reasons = Reasons::default();
        for record in manifest.records().filter(|r| names.contains(r.host)) {
            let sources = record.sources().into_iter().map(str::to_owned).collect();
            reasons.scopes.insert(record.host.to_owned(), sources);
        }
        for skipped in manifest.skipped().filter(|s| names.contains(s.host)) {
            reasons
                .skipped
                .entry(skipped.host.to_owned())
                .or_insert_with(|| skipped.reason.code().to_owned());
        }
        // Addresses name their machine: compared as such, no full name is
        // built for each of a large clan's hundreds of thousands.
        let machines: std::collections::HashSet<&str> = names
            .iter()
            .filter_map(|name| domain.relative(name))
            .collect();
        for address in manifest.addresses() {
            if machines.contains(address.machine) {
                reasons
                    .scopes
                    .entry(domain.machine_name(address.machine))
                    .or_default()
                    .push(address.scope.to_owned());
            }
        }
        for declared in manifest.declared().filter(|d| names.contains(d.name)) {
            reasons
                .scopes
                .entry(declared.name.to_owned())
                .or_default()
                .push(declared::SOURCE.to_owned());
        }
        for scopes in reasons.scopes.values_mut() {
            scopes.sort();
            scopes.dedup();
        }
        reasons
    }

    fn change(
        &self,
        op: Op,
        name: &str,
        record_type: &'static str,
        old: Option<String>,
        new: Option<String>,
    ) -> PlannedChange {
        PlannedChange {
            op,
            name: name.to_owned(),
            record_type,
            old,
            new,
            scopes: self.scopes.get(name).cloned().unwrap_or_default(),
            skipped: (op == Op::Remove)
                .then(|| self.skipped.get(name).cloned())
                .flatten(),
        }
    }
}

impl Live {
    fn describe(&self) -> String {
        match self {
            Live::Missing { path } => {
                format!("live zone: no live file at {path}: first push; every name below is new")
            }
            Live::Verified {
                serial,
                signed_at,
                signer,
                ..
            } => format!("live zone: serial {serial}, signed {signed_at} by {signer}"),
            Live::Unverifiable {
                path,
                kind,
                signer,
                reason,
            } => {
                let what = match (kind, signer) {
                    (RefusalKind::NotSigned, _) => {
                        "unsigned: the built-in service's zone?".to_owned()
                    }
                    (RefusalKind::UntrustedSigner, Some(signer)) => {
                        format!("signed by {signer}, not a trusted key: the key before a rotation?")
                    }
                    _ => reason.clone(),
                };
                format!(
                    "live zone: {path} cannot be verified ({what}) and will be replaced; \
                     every name below is listed as new"
                )
            }
        }
    }
}

impl Plan {
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = self.live.describe() + "\n";
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        }
        for c in &self.changes {
            // A CNAME's target in presentation form, as zone files write it.
            let dot = if c.record_type == "CNAME" { "." } else { "" };
            let value = match (&c.old, &c.new) {
                (Some(old), Some(new)) => format!("{old}{dot} -> {new}{dot}"),
                (Some(value), None) | (None, Some(value)) => format!("{value}{dot}"),
                (None, None) => String::new(),
            };
            let because = match (&c.skipped, c.scopes.as_slice()) {
                (Some(reason), _) => format!("now skipped: {reason}"),
                (None, []) => "no scope exports it now".to_owned(),
                (None, scopes) => format!("from {}", scopes.join(", ")),
            };
            let _ = writeln!(
                out,
                "{} {} {} {value}  ({because})",
                c.op.sign(),
                c.name,
                c.record_type
            );
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "summary: {} to add, {} to retarget, {} to remove; address records: {} to add, {} to remove{}",
            s.added,
            s.retargeted,
            s.removed,
            s.addresses_added,
            s.addresses_removed,
            if s.declared_added + s.declared_removed > 0 {
                format!(
                    "; declared records: {} to add, {} to remove",
                    s.declared_added, s.declared_removed
                )
            } else {
                String::new()
            }
        );
        out
    }
}
