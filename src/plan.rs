//! `dm-dns plan`: what pushing a zone would change against the live mesh
//! file, with the scopes behind each change (octoDNS's `plan`, DNSControl's
//! `preview`).

use std::collections::HashMap;

use camino::Utf8Path;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use crate::diff;
use crate::error::Error;
use crate::manifest::Manifest;
use crate::name::Domain;
use crate::signed;
use crate::status::utc;

#[derive(Debug, Serialize)]
pub struct Plan {
    /// The live zone's serial and signing time, if there is one.
    pub live_serial: Option<u64>,
    pub live_signed_at: Option<String>,
    pub changes: Vec<PlannedChange>,
}

#[derive(Debug, Serialize)]
pub struct PlannedChange {
    /// `+` added, `-` removed, `~` retargeted.
    pub op: &'static str,
    pub name: String,
    pub text: String,
    /// The scopes that export it now, or why it is no longer in the zone.
    pub because: String,
}

/// Compares the zone output `zone_dir` with the signed `mesh_file`
/// (verified against `trusted`; absent means every name is new).
pub fn plan(
    zone_dir: &Utf8Path,
    mesh_file: &Utf8Path,
    trusted: &[VerifyingKey],
    max_mesh_bytes: u64,
) -> Result<Plan, Error> {
    let new = diff::load(zone_dir)?;
    let manifest = crate::explain::read_manifest(zone_dir)?;
    let live = signed::read_limited(mesh_file, max_mesh_bytes)?
        .map(|bytes| {
            signed::verify(&bytes, trusted, Some(&new.domain))
                .map_err(|e| Error::input(format!("the live {mesh_file}: {e}")))
        })
        .transpose()?;
    let (live_serial, old) = match live {
        Some(verified) => (Some(verified.serial), verified.zone),
        None => (None, crate::zonefile::ZoneData::new(new.domain.clone())),
    };
    let changes = diff::changes(&old, &new);
    let why = manifest
        .map(|m| Reasons::from_manifest(&m, &new.domain))
        .unwrap_or_default();
    let mut planned = Vec::new();
    for c in &changes.added {
        planned.push(PlannedChange {
            op: "+",
            name: c.host.clone(),
            text: format!("CNAME {}.", c.new.as_deref().unwrap_or_default()),
            because: why.of(&c.host),
        });
    }
    for c in &changes.retargeted {
        planned.push(PlannedChange {
            op: "~",
            name: c.host.clone(),
            text: format!(
                "CNAME {}. -> {}.",
                c.old.as_deref().unwrap_or_default(),
                c.new.as_deref().unwrap_or_default()
            ),
            because: why.of(&c.host),
        });
    }
    for c in &changes.removed {
        planned.push(PlannedChange {
            op: "-",
            name: c.host.clone(),
            text: format!("CNAME {}.", c.old.as_deref().unwrap_or_default()),
            because: why.of(&c.host),
        });
    }
    for (op, records) in [
        ("+", &changes.addresses_added),
        ("-", &changes.addresses_removed),
    ] {
        for record in records {
            let name = record.split(' ').next().unwrap_or_default().to_owned();
            planned.push(PlannedChange {
                op,
                because: why.of(&name),
                text: record[name.len()..].trim().to_owned(),
                name,
            });
        }
    }
    planned.sort_by(|a, b| a.name.cmp(&b.name).then(a.op.cmp(b.op)));
    Ok(Plan {
        live_serial,
        live_signed_at: live_serial.map(utc),
        changes: planned,
    })
}

/// From the new zone's manifest: which scopes export each name now, or
/// why it is left out.
#[derive(Default)]
struct Reasons(HashMap<String, String>);

impl Reasons {
    fn from_manifest(manifest: &Manifest, domain: &Domain) -> Reasons {
        let mut map: HashMap<String, String> = HashMap::new();
        for record in manifest.records() {
            map.insert(
                record.host.to_owned(),
                format!("from {}", record.sources().join(", ")),
            );
        }
        for skipped in manifest.skipped() {
            map.entry(skipped.host.to_owned())
                .or_insert_with(|| format!("now skipped: {}", skipped.reason));
        }
        for address in manifest.addresses() {
            map.insert(
                domain.machine_name(address.machine),
                format!("from {}", address.scope),
            );
        }
        Reasons(map)
    }

    fn of(&self, name: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| "no scope exports it now".into())
    }
}

impl Plan {
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        match (&self.live_serial, &self.live_signed_at) {
            (Some(serial), Some(at)) => {
                let _ = writeln!(out, "live zone: serial {serial}, signed {at}");
            }
            _ => out.push_str("live zone: none yet; every name is new\n"),
        }
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        }
        for c in &self.changes {
            let _ = writeln!(out, "{} {} {}  ({})", c.op, c.name, c.text, c.because);
        }
        out
    }
}
