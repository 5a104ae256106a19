//! What changed between two zones, as a summary of names and a unified diff
//! of their canonical text (the `zone.conf` rendering): `dm-dns diff`, the
//! golden checks, `plan`, and install's one-line log.
//!
//! Both texts list their records in one order (the header, CNAMEs by host,
//! address records by name and address), so the lines they share are
//! exactly the records they share, found by one merge walk: no diff
//! algorithm, and neither text is ever held whole.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::artifacts::render::{self, Cname};
use crate::artifacts::zonefile::ZoneData;
use crate::dns::name::Domain;
use crate::dns::rdata::Rdata;

/// One line of a zone's canonical text: its record, and what orders it
/// among the other zone's lines (its section, header, CNAME, address or
/// other record, then the record's key). The text itself is rendered only
/// for the lines a hunk shows: a million-record zone's unchanged lines are
/// compared by their records, never written out.
#[derive(Clone, Copy)]
struct Line<'a> {
    domain: &'a Domain,
    record: LineRecord<'a>,
}

#[derive(Clone, Copy)]
enum LineRecord<'a> {
    Header,
    Cname(Cname<'a>),
    Address(&'a (String, IpAddr)),
    Other(&'a (String, Rdata)),
}

impl Line<'_> {
    fn section(&self) -> u8 {
        match self.record {
            LineRecord::Header => 0,
            LineRecord::Cname(_) => 1,
            LineRecord::Address(_) => 2,
            LineRecord::Other(_) => 3,
        }
    }

    fn order(&self, other: &Line<'_>) -> Ordering {
        match (self.record, other.record) {
            (LineRecord::Cname(a), LineRecord::Cname(b)) => a.host.cmp(b.host),
            (LineRecord::Address(a), LineRecord::Address(b)) => render::address_order(a, b),
            (LineRecord::Other(a), LineRecord::Other(b)) => a.cmp(b),
            _ => self.section().cmp(&other.section()),
        }
    }

    /// Whether two lines in the same place read the same. In one domain
    /// only a CNAME's machine can differ there: the other keys are whole
    /// records. Across domains the texts are compared.
    fn same_text(&self, other: &Line<'_>) -> bool {
        if self.domain != other.domain {
            return self.text() == other.text();
        }
        match (self.record, other.record) {
            (LineRecord::Cname(a), LineRecord::Cname(b)) => a.machine == b.machine,
            _ => true,
        }
    }

    /// The line as `write_conf` writes it.
    fn text(&self) -> String {
        let mut out = Vec::new();
        match self.record {
            LineRecord::Header => out.extend(render::conf_header(self.domain).into_bytes()),
            LineRecord::Cname(c) => {
                render::write_conf_cname(&mut out, &c, &render::conf_cname_suffix(self.domain))
                    .expect("writing to memory")
            }
            LineRecord::Address((name, address)) => render::write_conf_address(
                &mut out,
                self.domain,
                render::Owner::Name(name),
                address,
            )
            .expect("writing to memory"),
            LineRecord::Other((name, data)) => {
                render::write_conf_other(&mut out, name, data).expect("writing to memory")
            }
        }
        String::from_utf8(out).expect("zone text is ASCII")
    }
}

/// The canonical text's lines, in `write_conf`'s order.
fn lines(zone: &ZoneData) -> impl Iterator<Item = Line<'_>> {
    let line = move |record| Line {
        domain: &zone.domain,
        record,
    };
    std::iter::once(line(LineRecord::Header))
        .chain(zone.cnames().map(move |c| line(LineRecord::Cname(c))))
        .chain(
            zone.addresses()
                .iter()
                .map(move |a| line(LineRecord::Address(a))),
        )
        .chain(
            zone.others()
                .iter()
                .map(move |o| line(LineRecord::Other(o))),
        )
}

/// One step of a merge walk over two sequences sorted in one order: an item
/// of the old alone, of the new alone, or one of each in the same place.
enum Merged<T> {
    Old(T),
    New(T),
    Both(T, T),
}

fn merge<T>(
    old: impl Iterator<Item = T>,
    new: impl Iterator<Item = T>,
    order: impl Fn(&T, &T) -> Ordering,
) -> impl Iterator<Item = Merged<T>> {
    let (mut olds, mut news) = (old.peekable(), new.peekable());
    std::iter::from_fn(move || {
        let order = match (olds.peek(), news.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(o), Some(n)) => order(o, n),
        };
        Some(match order {
            Ordering::Less => Merged::Old(olds.next()?),
            Ordering::Greater => Merged::New(news.next()?),
            Ordering::Equal => Merged::Both(olds.next()?, news.next()?),
        })
    })
}

/// Lines of context around each change, as `diff -u` gives.
const CONTEXT: usize = 3;

/// The unified diff of two zones' canonical texts (empty when they are the
/// same), in `diff -u`'s format: hunks with three lines of context, joined
/// when at most six unchanged lines lie between two changes.
pub fn unified(old: &ZoneData, new: &ZoneData, old_label: &str, new_label: &str) -> String {
    let mut writer = Unified::default();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for step in merge(lines(old), lines(new), Line::order) {
        match step {
            Merged::Old(o) => removed.push(o),
            Merged::New(n) => added.push(n),
            Merged::Both(o, n) if o.same_text(&n) => {
                writer.change(&mut removed, &mut added);
                writer.same(o);
            }
            Merged::Both(o, n) => {
                removed.push(o);
                added.push(n);
            }
        }
    }
    writer.change(&mut removed, &mut added);
    writer.finish(old_label, new_label)
}

/// Builds the hunks as the walk goes; only the open hunk and the unchanged
/// lines since its last change are held.
#[derive(Default)]
struct Unified<'a> {
    out: String,
    /// Lines of the old and the new text passed so far.
    at: (usize, usize),
    hunk: Option<Hunk>,
    /// Unchanged lines since the last change (or the last few, with no hunk
    /// open).
    unchanged: std::collections::VecDeque<Line<'a>>,
}

struct Hunk {
    start: (usize, usize),
    len: (usize, usize),
    body: String,
}

impl Hunk {
    /// A line tagged ` `, `-` or `+`, counted in the old text, the new, or
    /// both.
    fn push(&mut self, tag: char, line: &Line<'_>) {
        self.len.0 += usize::from(tag != '+');
        self.len.1 += usize::from(tag != '-');
        self.body.push(tag);
        self.body.push_str(&line.text());
    }
}

impl<'a> Unified<'a> {
    fn same(&mut self, line: Line<'a>) {
        self.at.0 += 1;
        self.at.1 += 1;
        self.unchanged.push_back(line);
        if self.hunk.is_some() && self.unchanged.len() > 2 * CONTEXT {
            self.close();
        } else if self.hunk.is_none() && self.unchanged.len() > CONTEXT {
            self.unchanged.pop_front();
        }
    }

    /// A block of removed and added lines (either may be empty).
    fn change(&mut self, removed: &mut Vec<Line<'a>>, added: &mut Vec<Line<'a>>) {
        if removed.is_empty() && added.is_empty() {
            return;
        }
        let hunk = self.hunk.get_or_insert_with(|| Hunk {
            start: (
                self.at.0 - self.unchanged.len(),
                self.at.1 - self.unchanged.len(),
            ),
            len: (0, 0),
            body: String::new(),
        });
        for line in self.unchanged.drain(..) {
            hunk.push(' ', &line);
        }
        self.at.0 += removed.len();
        self.at.1 += added.len();
        for line in removed.drain(..) {
            hunk.push('-', &line);
        }
        for line in added.drain(..) {
            hunk.push('+', &line);
        }
    }

    /// Ends the open hunk with up to `CONTEXT` unchanged lines; the last
    /// `CONTEXT` stay as the next hunk's leading context.
    fn close(&mut self) {
        let Some(mut hunk) = self.hunk.take() else {
            return;
        };
        for line in self.unchanged.iter().take(CONTEXT) {
            hunk.push(' ', line);
        }
        while self.unchanged.len() > CONTEXT {
            self.unchanged.pop_front();
        }
        let range = |start: usize, len: usize| match len {
            1 => format!("{}", start + 1),
            0 => format!("{start},0"),
            _ => format!("{},{len}", start + 1),
        };
        let _ = writeln!(
            self.out,
            "@@ -{} +{} @@",
            range(hunk.start.0, hunk.len.0),
            range(hunk.start.1, hunk.len.1)
        );
        self.out.push_str(&hunk.body);
    }

    fn finish(mut self, old_label: &str, new_label: &str) -> String {
        self.close();
        if self.out.is_empty() {
            return self.out;
        }
        format!("--- {old_label}\n+++ {new_label}\n{}", self.out)
    }
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
    /// Declared TXT and SRV records and CNAMEs to other names than
    /// machines', only in the new zone.
    pub others_added: Vec<OtherRecord>,
    /// The same, only in the old zone.
    pub others_removed: Vec<OtherRecord>,
}

/// One declared record of `ZoneData::others`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OtherRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub data: String,
}

impl std::fmt::Display for OtherRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.name, self.record_type, self.data)
    }
}

impl OtherRecord {
    fn of((name, data): &(String, Rdata)) -> OtherRecord {
        OtherRecord {
            name: name.clone(),
            record_type: data.kind(),
            data: data.to_string(),
        }
    }
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

impl AddressRecord {
    fn of((name, address): &(String, IpAddr)) -> AddressRecord {
        AddressRecord {
            name: name.clone(),
            record_type: if address.is_ipv4() { "A" } else { "AAAA" },
            address: *address,
        }
    }
}

/// The records only in `new` and those only in `old`, two lists sorted in
/// `order`: one merge walk.
fn added_and_removed<'z, T, R>(
    old: &'z [T],
    new: &'z [T],
    order: impl Fn(&&'z T, &&'z T) -> Ordering,
    record: impl Fn(&'z T) -> R,
) -> (Vec<R>, Vec<R>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for step in merge(old.iter(), new.iter(), order) {
        match step {
            Merged::Old(r) => removed.push(record(r)),
            Merged::New(r) => added.push(record(r)),
            Merged::Both(..) => {}
        }
    }
    (added, removed)
}

pub fn compare(old: &ZoneData, new: &ZoneData, old_label: &str, new_label: &str) -> ZoneDiff {
    let unified = unified(old, new, old_label, new_label);
    ZoneDiff {
        format: FORMAT,
        same: unified.is_empty(),
        old_domain: old.domain.to_string(),
        new_domain: new.domain.to_string(),
        changes: changes(old, new),
        unified,
    }
}

/// The names added, removed and retargeted, and the address records added
/// and removed.
pub fn changes(old: &ZoneData, new: &ZoneData) -> Changes {
    let target = |zone: &ZoneData, machine: &str| Some(zone.domain.machine_name(machine));
    let (addresses_added, addresses_removed) = added_and_removed(
        old.addresses(),
        new.addresses(),
        |a, b| render::address_order(a, b),
        AddressRecord::of,
    );
    let (others_added, others_removed) =
        added_and_removed(old.others(), new.others(), Ord::cmp, OtherRecord::of);
    let mut diff = Changes {
        addresses_added,
        addresses_removed,
        others_added,
        others_removed,
        ..Changes::default()
    };
    // Both zones are sorted by host: one merge walk, no lookups.
    for step in merge(old.cnames(), new.cnames(), |o, n| o.host.cmp(n.host)) {
        match step {
            Merged::Old(c) => diff.removed.push(Change {
                host: c.host.to_owned(),
                old: target(old, c.machine),
                new: None,
            }),
            Merged::New(c) => diff.added.push(Change {
                host: c.host.to_owned(),
                old: None,
                new: target(new, c.machine),
            }),
            Merged::Both(o, n) if o.machine != n.machine || old.domain != new.domain => {
                diff.retargeted.push(Change {
                    host: n.host.to_owned(),
                    old: target(old, o.machine),
                    new: target(new, n.machine),
                })
            }
            Merged::Both(..) => {}
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
        let others = self.others_added.len() + self.others_removed.len();
        if others > 0 {
            parts.push(format!("{others} declared records changed"));
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
        if !(changes.others_added.is_empty() && changes.others_removed.is_empty()) {
            let _ = writeln!(
                out,
                "{} declared records added, {} removed",
                changes.others_added.len(),
                changes.others_removed.len()
            );
        }
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
        for record in &changes.others_added {
            let _ = writeln!(out, "  added       {record}");
        }
        for record in &changes.others_removed {
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

    proptest::proptest! {
        /// The merge walk's diff is `diff -u`'s (here: the `similar`
        /// crate's, over the whole texts), hunk for hunk.
        #[test]
        fn unified_is_the_line_diff_of_the_texts(
            old in proptest::collection::btree_map("[a-h]{1,3}", "m[a-c]", 0..40),
            edits in proptest::collection::vec((0usize..40, 0u8..3), 0..6),
            old_addresses in proptest::collection::btree_set((0u8..4, 0u8..3), 0..6),
            new_addresses in proptest::collection::btree_set((0u8..4, 0u8..3), 0..6),
            old_others in proptest::collection::btree_set((0u8..3, 0u8..3), 0..4),
            new_others in proptest::collection::btree_set((0u8..3, 0u8..3), 0..4),
            same_domain in proptest::bool::weighted(0.9),
        ) {
            // A few edits of the old zone: the changes a diff usually shows,
            // with long runs of unchanged lines between them.
            let mut new = old.clone();
            let hosts: Vec<String> = old.keys().cloned().collect();
            for (at, op) in edits {
                let Some(host) = hosts.get(at) else { continue };
                match op {
                    0 => drop(new.remove(host)),
                    1 => drop(new.insert(host.clone(), "mz".into())),
                    _ => drop(new.insert(format!("{host}z"), "ma".into())),
                }
            }
            let build = |cnames: &std::collections::BTreeMap<String, String>,
                         addresses: &std::collections::BTreeSet<(u8, u8)>,
                         others: &std::collections::BTreeSet<(u8, u8)>,
                         domain: &str| {
                let mut conf = format!("local-zone: \"{domain}.\" transparent\n");
                for (host, machine) in cnames {
                    conf += &format!("local-data: \"{host}.{domain}. CNAME {machine}.{domain}.\"\n");
                }
                for (machine, last) in addresses {
                    conf += &format!("local-data: \"n{machine}.{domain}. A 10.0.0.{last}\"\n");
                }
                for (name, text) in others {
                    conf += &format!("local-data: 't{name}.{domain}. TXT \"{text}\"'\n");
                }
                zonefile::parse_conf(&conf).unwrap()
            };
            let old = build(&old, &old_addresses, &old_others, "clan");
            let domain = if same_domain { "clan" } else { "example.org" };
            let new = build(&new, &new_addresses, &new_others, domain);
            let text = |zone: &ZoneData| {
                let mut out = Vec::new();
                render::write_conf(&mut out, &zone.domain, zone.cnames(), zone.addresses(), zone.others()).unwrap();
                String::from_utf8(out).unwrap()
            };
            let expected = similar::TextDiff::from_lines(&text(&old)[..], &text(&new)[..])
                .unified_diff()
                .header("a", "b")
                .to_string();
            proptest::prop_assert_eq!(unified(&old, &new, "a", "b"), expected);
        }
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
