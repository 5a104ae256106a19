//! `dm-dns plan`: what pushing a zone would change against the live mesh
//! file, with the scopes behind each change (octoDNS's `plan`, DNSControl's
//! `preview`).

use std::collections::HashMap;

use camino::Utf8Path;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;

use crate::diff;
use crate::error::Error;
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
    let manifest = crate::explain::read_manifest(zone_dir)?.unwrap_or(Value::Null);
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
    let why = Reasons::from_manifest(&manifest, &new.domain);
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
struct Reasons(HashMap<String, String>);

impl Reasons {
    fn from_manifest(manifest: &Value, domain: &Domain) -> Reasons {
        let mut map: HashMap<String, String> = HashMap::new();
        let items = |key: &str| manifest[key].as_array().cloned().unwrap_or_default();
        for record in items("records") {
            let sources: Vec<&str> = record["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if let Some(host) = record["host"].as_str() {
                map.insert(host.to_owned(), format!("from {}", sources.join(", ")));
            }
        }
        for skipped in items("skipped") {
            if let (Some(host), Some(reason)) =
                (skipped["host"].as_str(), skipped["reason"].as_str())
            {
                map.entry(host.to_owned())
                    .or_insert_with(|| format!("now skipped: {reason}"));
            }
        }
        for address in items("addresses") {
            if let (Some(machine), Some(scope)) =
                (address["machine"].as_str(), address["scope"].as_str())
            {
                map.insert(domain.machine_name(machine), format!("from {scope}"));
            }
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
