//! What changed between two zones, as a summary of names and a unified diff
//! of their canonical text (the `zone.conf` rendering): `dm-dns diff`, the
//! golden checks, `plan`, and install's one-line log.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::Serialize;

use crate::artifacts::render;
use crate::artifacts::zonefile::ZoneData;

pub fn canonical_text(zone: &ZoneData) -> String {
    let mut out = Vec::new();
    render::write_conf(&mut out, &zone.domain, zone.cnames(), zone.addresses())
        .expect("writing to memory");
    String::from_utf8(out).expect("zone text is ASCII")
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Change {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// The version of the JSON comparison.
pub const FORMAT: u32 = 1;

/// Two zones compared: the changes and the unified diff.
#[derive(Debug, Serialize)]
pub struct ZoneDiff {
    pub format: u32,
    pub same: bool,
    pub old_domain: String,
    pub new_domain: String,
    #[serde(flatten)]
    pub changes: Changes,
    pub unified: String,
}

/// The names added, removed and retargeted, and the address records added
/// and removed.
#[derive(Debug, Default, Serialize)]
pub struct Changes {
    pub added: Vec<Change>,
    pub removed: Vec<Change>,
    pub retargeted: Vec<Change>,
    /// Address records only in the new zone.
    pub addresses_added: Vec<AddressRecord>,
    /// Address records only in the old zone.
    pub addresses_removed: Vec<AddressRecord>,
}

/// One A or AAAA record.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AddressRecord {
    pub name: String,
    /// `A` or `AAAA`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub address: std::net::IpAddr,
}

impl std::fmt::Display for AddressRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.name, self.record_type, self.address)
    }
}

/// Each address record in `zone` and not in `other`.
fn addresses_missing_from(zone: &ZoneData, other: &ZoneData) -> Vec<AddressRecord> {
    zone.addresses()
        .iter()
        .filter(|record| {
            other
                .addresses()
                .binary_search_by(|r| render::address_order(r, record))
                .is_err()
        })
        .map(|(name, address)| AddressRecord {
            name: name.clone(),
            record_type: if address.is_ipv4() { "A" } else { "AAAA" },
            address: *address,
        })
        .collect()
}

pub fn compare(old: &ZoneData, new: &ZoneData, old_label: &str, new_label: &str) -> ZoneDiff {
    let (old_text, new_text) = (canonical_text(old), canonical_text(new));
    ZoneDiff {
        format: FORMAT,
        same: old_text == new_text,
        old_domain: old.domain.to_string(),
        new_domain: new.domain.to_string(),
        changes: changes(old, new),
        unified: similar::TextDiff::from_lines(&old_text, &new_text)
            .unified_diff()
            .header(old_label, new_label)
            .to_string(),
    }
}

/// The names added, removed and retargeted, and the address records added
/// and removed.
pub fn changes(old: &ZoneData, new: &ZoneData) -> Changes {
    let target = |zone: &ZoneData, machine: &str| Some(zone.domain.machine_name(machine));
    let mut diff = Changes {
        addresses_added: addresses_missing_from(new, old),
        addresses_removed: addresses_missing_from(old, new),
        ..Changes::default()
    };
    // Both zones are sorted by host: one merge walk, no lookups.
    let mut olds = old.cnames().peekable();
    let mut news = new.cnames().peekable();
    loop {
        let order = match (olds.peek(), news.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(o), Some(n)) => o.host.cmp(n.host),
        };
        match order {
            Ordering::Less => {
                let c = olds.next().expect("peeked");
                diff.removed.push(Change {
                    host: c.host.to_owned(),
                    old: target(old, c.machine),
                    new: None,
                });
            }
            Ordering::Greater => {
                let c = news.next().expect("peeked");
                diff.added.push(Change {
                    host: c.host.to_owned(),
                    old: None,
                    new: target(new, c.machine),
                });
            }
            Ordering::Equal => {
                let (o, n) = (olds.next().expect("peeked"), news.next().expect("peeked"));
                if o.machine != n.machine || old.domain != new.domain {
                    diff.retargeted.push(Change {
                        host: n.host.to_owned(),
                        old: target(old, o.machine),
                        new: target(new, n.machine),
                    });
                }
            }
        }
    }
    diff
}

impl Changes {
    /// One line for a log: counts, and the first few names of each kind.
    pub fn summary_line(&self) -> String {
        const NAMES: usize = 5;
        let list = |changes: &[Change]| -> String {
            let mut names: Vec<&str> = changes
                .iter()
                .take(NAMES)
                .map(|c| c.host.as_str())
                .collect();
            if changes.len() > NAMES {
                names.push("...");
            }
            names.join(" ")
        };
        let mut parts = Vec::new();
        for (label, changes) in [
            ("added", &self.added),
            ("removed", &self.removed),
            ("retargeted", &self.retargeted),
        ] {
            if !changes.is_empty() {
                parts.push(format!("{} {label} ({})", changes.len(), list(changes)));
            }
        }
        let addresses = self.addresses_added.len() + self.addresses_removed.len();
        if addresses > 0 {
            parts.push(format!("{addresses} address records changed"));
        }
        if parts.is_empty() {
            return "no name changed".into();
        }
        parts.join(", ")
    }
}

impl ZoneDiff {
    /// The human summary followed by the unified diff.
    pub fn to_text(&self) -> String {
        let changes = &self.changes;
        let mut out = String::new();
        if self.same {
            out.push_str("zones are the same\n");
            return out;
        }
        if self.old_domain != self.new_domain {
            let _ = writeln!(out, "domain: {} -> {}", self.old_domain, self.new_domain);
        }
        let _ = writeln!(
            out,
            "{} added, {} removed, {} retargeted",
            changes.added.len(),
            changes.removed.len(),
            changes.retargeted.len()
        );
        if !(changes.addresses_added.is_empty() && changes.addresses_removed.is_empty()) {
            let _ = writeln!(
                out,
                "{} address records added, {} removed",
                changes.addresses_added.len(),
                changes.addresses_removed.len()
            );
        }
        let none = String::new();
        for c in &changes.added {
            let _ = writeln!(
                out,
                "  added       {} -> {}",
                c.host,
                c.new.as_ref().unwrap_or(&none)
            );
        }
        for c in &changes.removed {
            let _ = writeln!(
                out,
                "  removed     {} -> {}",
                c.host,
                c.old.as_ref().unwrap_or(&none)
            );
        }
        for c in &changes.retargeted {
            let _ = writeln!(
                out,
                "  retargeted  {}: {} -> {}",
                c.host,
                c.old.as_ref().unwrap_or(&none),
                c.new.as_ref().unwrap_or(&none)
            );
        }
        for record in &changes.addresses_added {
            let _ = writeln!(out, "  added       {record}");
        }
        for record in &changes.addresses_removed {
            let _ = writeln!(out, "  removed     {record}");
        }
        out.push('\n');
        out.push_str(&self.unified);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::zonefile;

    fn zone(text: &str) -> ZoneData {
        zonefile::parse_conf(&format!("local-zone: \"clan.\" transparent\n{text}")).unwrap()
    }

    #[test]
    fn classifies_changes() {
        let old = zone(
            "local-data: \"a.clan. CNAME alpha.clan.\"\nlocal-data: \"b.clan. CNAME alpha.clan.\"\n",
        );
        let new = zone(
            "local-data: \"b.clan. CNAME beta.clan.\"\nlocal-data: \"c.clan. CNAME alpha.clan.\"\n",
        );
        let d = compare(&old, &new, "old", "new");
        assert!(!d.same);
        assert_eq!(d.changes.added[0].host, "c.clan");
        assert_eq!(d.changes.removed[0].host, "a.clan");
        assert_eq!(d.changes.retargeted[0].old.as_deref(), Some("alpha.clan"));
        assert_eq!(d.changes.retargeted[0].new.as_deref(), Some("beta.clan"));
        assert!(
            d.unified
                .contains("-local-data: \"a.clan. CNAME alpha.clan.\"")
        );
        assert!(d.to_text().starts_with("1 added, 1 removed, 1 retargeted"));
        assert!(compare(&old, &old, "x", "y").same);
    }

    #[test]
    fn compares_address_records() {
        let old = zone("local-data: \"alpha.clan. A 10.0.0.1\"\n");
        let new = zone(
            "local-data: \"alpha.clan. A 10.0.0.2\"\nlocal-data: \"alpha.clan. AAAA 200::1\"\n",
        );
        let d = compare(&old, &new, "old", "new");
        assert!(!d.same);
        let text = |records: &[AddressRecord]| -> Vec<String> {
            records.iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            text(&d.changes.addresses_added),
            ["alpha.clan A 10.0.0.2", "alpha.clan AAAA 200::1"]
        );
        assert_eq!(
            text(&d.changes.addresses_removed),
            ["alpha.clan A 10.0.0.1"]
        );
        assert_eq!(
            serde_json::to_value(&d.changes.addresses_removed[0]).unwrap(),
            serde_json::json!({"name": "alpha.clan", "type": "A", "address": "10.0.0.1"})
        );
        assert!(
            d.to_text().contains("2 address records added, 1 removed"),
            "{}",
            d.to_text()
        );
    }
}
