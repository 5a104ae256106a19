//! `manifest.json`, its one owner: the format, the writer (`zone` writes it
//! beside the zone files) and the readers: which scopes are behind each
//! record and what was left out and why (`explain`, `plan`), and the
//! `zone.conf` hash it records (`sign`).

use std::io::{self, Write};
use std::net::IpAddr;

use camino::Utf8Path;
use serde::Deserialize;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};

use super::render::{self, json_str, needs_json_escape};
use crate::compile::addresses::{AddressSkip, SkippedAddress};
use crate::compile::zone::{SkipReason, Skipped, Zone};
use crate::dns::ip_text::{self, IpText};
use crate::dns::rdata::Rdata;
use crate::error::Error;
use crate::exports::canonical::{Exports, machine_at, network_at};
use crate::sys::digest::hex;

/// Version of the `manifest.json` layout (2: address records; 3: compact,
/// records as arrays whose sources are indices into one table of scopes;
/// 4: declared records; 5: no field a scope's key already says: a record's
/// machine, an address's machine, family and network).
pub const FORMAT: u32 = 5;

/// Hashes that tie the manifest to the files beside it.
pub struct Hashes {
    pub input: [u8; 32],
    pub conf: [u8; 32],
    pub db: [u8; 32],
}

/// The part of `manifest.json` that needs only the zone: everything up to the
/// hashes, which `write_end` adds once the zone files are written.
/// Splitting it lets the records be written while the zone files are.
///
/// Compact: every scope key is written once, in `scopes` (the canonical
/// exports' sorted scopes), and records, skipped hosts and addresses name
/// their scopes by index into it (README.md, "File formats", has the sizes).
pub fn write_start(out: &mut impl Write, zone: &Zone<'_>, exports: &Exports<'_>) -> io::Result<()> {
    // Skipped hosts carry their scope's key; its index is found in the
    // sorted table (few of them, so a search each is cheap). Addresses,
    // hundreds of thousands in a large clan, carry the index itself.
    let index_of = |key: &str| {
        exports
            .scopes
            .binary_search_by(|s| (*s.key).cmp(key))
            .expect("every scope named comes from the exports")
    };
    writeln!(out, "{{")?;
    writeln!(out, "  \"format\": {FORMAT},")?;
    writeln!(out, "  \"tool\": \"dm-dns {}\",", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "  \"domain\": \"{}\",", zone.domain)?;
    writeln!(
        out,
        "  \"counts\": {{\"scopes\": {}, \"hosts\": {}, \"records\": {}, \"skipped\": {}, \
         \"addresses\": {}, \"skipped_addresses\": {}, \"declared\": {}}},",
        exports.scopes.len(),
        exports.host_count(),
        zone.record_count(),
        zone.skipped.len(),
        zone.addresses.records.len(),
        zone.addresses.skipped.len(),
        zone.declared.len()
    )?;
    out.write_all(b"  \"scopes\": ")?;
    write_json_lines(out, exports.scopes.iter(), |out, scope| {
        json_str(out, &scope.key)
    })?;
    out.write_all(b",\n  \"records\": ")?;
    let mut number = itoa::Buffer::new();
    write_json_lines(out, zone.records(), |out, r| {
        // A record's host is a checked LDH name: nothing in it needs
        // escaping. Its machine is its scopes' (the reader finds it there).
        debug_assert!(!needs_json_escape(r.host));
        out.write_all(b"[\"")?;
        out.write_all(r.host.as_bytes())?;
        out.write_all(b"\",[")?;
        for (j, source) in r.source_indices().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            out.write_all(number.format(source).as_bytes())?;
        }
        out.write_all(b"]]")
    })?;
    out.write_all(b",\n  \"skipped\": ")?;
    write_json_lines(out, zone.skipped.iter(), |out, k| {
        out.write_all(b"[")?;
        json_str(out, k.host)?;
        write!(out, ",{},\"{}\"]", index_of(k.scope), k.reason.code())
    })?;
    out.write_all(b",\n  \"addresses\": ")?;
    write_json_lines(out, zone.addresses.records.iter(), |out, r| {
        out.write_all(b"[\"")?;
        out.write_all(IpText::of(&r.address).as_bytes())?;
        out.write_all(b"\",")?;
        out.write_all(number.format(r.scope_index).as_bytes())?;
        out.write_all(b"]")
    })?;
    out.write_all(b",\n  \"skipped_addresses\": ")?;
    write_json_lines(out, zone.addresses.skipped.iter(), |out, k| {
        out.write_all(b"[")?;
        json_str(out, k.value)?;
        out.write_all(b",")?;
        out.write_all(number.format(k.scope_index).as_bytes())?;
        out.write_all(b",\"")?;
        out.write_all(k.reason.code().as_bytes())?;
        out.write_all(b"\"]")
    })?;
    // Declared records come from the service's settings, not a scope: name,
    // type and data as the zone files write it.
    out.write_all(b",\n  \"declared\": ")?;
    write_json_lines(out, zone.declared.iter(), |out, (name, data)| {
        out.write_all(b"[")?;
        json_str(out, name)?;
        write!(out, ",\"{}\",", data.kind())?;
        json_str(out, &data.to_string())?;
        out.write_all(b"]")
    })?;
    out.write_all(b",\n")
}

/// A JSON array with one item per line (`[]` when empty).
fn write_json_lines<W: Write, T>(
    out: &mut W,
    items: impl Iterator<Item = T>,
    mut write_item: impl FnMut(&mut W, T) -> io::Result<()>,
) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut empty = true;
    for item in items {
        out.write_all(if empty { b"\n    " } else { b",\n    " })?;
        write_item(out, item)?;
        empty = false;
    }
    out.write_all(if empty { b"]" } else { b"\n  ]" })
}

pub fn write_end(out: &mut impl Write, serial: u32, hashes: &Hashes) -> io::Result<()> {
    writeln!(out, "  \"soa_serial\": {serial},")?;
    writeln!(
        out,
        "  \"sha256\": {{\"input\": \"{}\", \"zone.conf\": \"{}\", \"zone.db\": \"{}\"}}",
        hex(&hashes.input),
        hex(&hashes.conf),
        hex(&hashes.db)
    )?;
    writeln!(out, "}}")
}

/// The `zone.conf` hash a manifest records. `write_end` puts the
/// hashes on the last line but one, so only the file's tail is read: a
/// large zone's manifest is over a hundred megabytes.
pub fn recorded_conf_sha256(path: &Utf8Path) -> Result<Option<String>, Error> {
    use std::io::{Read, Seek, SeekFrom};
    #[derive(serde::Deserialize)]
    struct Hashes {
        #[serde(rename = "zone.conf")]
        conf: String,
    }
    const TAIL: u64 = 4096;
    let mut file = crate::sys::files::open_regular(path, true)
        .map_err(|e| Error::io(format!("reading {path}"), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("reading {path}"), e))?
        .len();
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(|e| Error::io(format!("reading {path}"), e))?;
    let tail = String::from_utf8_lossy(&tail);
    Ok(tail
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("  \"sha256\": "))
        .and_then(|object| serde_json::from_str::<Hashes>(object).ok())
        .map(|hashes| hashes.conf))
}

/// A manifest as written, scopes still as indices (checked to be in range,
/// and to have a machine where a record or an address needs one).
#[derive(Debug, Deserialize)]
pub struct Manifest {
    format: u32,
    scopes: Vec<String>,
    records: Records,
    skipped: Vec<(String, usize, SkipReason)>,
    /// Address and scope.
    addresses: Vec<(String, usize)>,
    /// Value, scope and reason.
    skipped_addresses: Vec<(String, usize, AddressSkip)>,
    declared: Vec<(String, String, String)>,
    /// Where each scope's machine starts in its key (`Manifest::parse`).
    #[serde(skip)]
    machine_at: Vec<Option<usize>>,
}

/// The records, packed: a million of them as separate strings and vectors
/// would take several times the memory of the zone itself. Every host is
/// in one text, one after the other; `ends` says where each record's host
/// and sources end.
#[derive(Debug, Default)]
struct Records {
    text: String,
    sources: Vec<u32>,
    /// Per record: the end of its host in `text` and of its sources in
    /// `sources`; each starts where the one before ended.
    ends: Vec<[u32; 2]>,
}

impl Records {
    /// Host and source indices of each record.
    fn iter(&self) -> impl Iterator<Item = (&str, &[u32])> {
        let starts = std::iter::once([0, 0]).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, end)| {
            (
                &self.text[start[0] as usize..end[0] as usize],
                &self.sources[start[1] as usize..end[1] as usize],
            )
        })
    }
}

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Records, D::Error> {
        struct Packer;
        impl<'de> Visitor<'de> for Packer {
            type Value = Records;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of [host, [scope index, ...]]")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records, A::Error> {
                let mut records = Records::default();
                while seq.next_element_seed(RecordInto(&mut records))?.is_some() {}
                Ok(records)
            }
        }
        d.deserialize_seq(Packer)
    }
}

/// One `[host, [scope index, ...]]`, appended to the packed records as it is
/// read: a million records' source lists are never a million vectors.
struct RecordInto<'r>(&'r mut Records);

impl<'de> DeserializeSeed<'de> for RecordInto<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a record [host, [scope index, ...]]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let records = self.0;
        let too_large = || serde::de::Error::custom("more than 4 GB of records");
        let host: std::borrow::Cow<'de, str> = seq
            .next_element()?
            .ok_or_else(|| serde::de::Error::invalid_length(0, &"a record of 2 fields"))?;
        records.text.push_str(&host);
        let host_end = u32::try_from(records.text.len()).map_err(|_| too_large())?;
        seq.next_element_seed(SourcesInto(&mut records.sources))?
            .ok_or_else(|| serde::de::Error::invalid_length(1, &"a record of 2 fields"))?;
        if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            return Err(serde::de::Error::invalid_length(3, &"a record of 2 fields"));
        }
        let sources_end = u32::try_from(records.sources.len()).map_err(|_| too_large())?;
        records.ends.push([host_end, sources_end]);
        Ok(())
    }
}

/// A record's scope indices, appended to the packed list.
struct SourcesInto<'s>(&'s mut Vec<u32>);

impl<'de> DeserializeSeed<'de> for SourcesInto<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SourcesInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of scope indices")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(index) = seq.next_element::<u32>()? {
            self.0.push(index);
        }
        Ok(())
    }
}

pub struct Record<'m> {
    pub host: &'m str,
    pub machine: &'m str,
    source_indices: &'m [u32],
    scopes: &'m [String],
}

impl<'m> Record<'m> {
    /// The scopes that export the record (resolved only when asked: a
    /// lookup by name walks every record).
    pub fn sources(&self) -> Vec<&'m str> {
        self.source_indices
            .iter()
            .map(|&i| self.scopes[i as usize].as_str())
            .collect()
    }
}

/// A declared record (source `settings`), its data in the zone files' text.
pub struct Declared<'m> {
    pub name: &'m str,
    pub kind: &'m str,
    pub data: &'m str,
}

pub struct Address<'m> {
    pub machine: &'m str,
    /// `A` or `AAAA`.
    pub family: &'m str,
    pub address: &'m str,
    pub scope: &'m str,
    pub network: &'m str,
}

impl Manifest {
    /// The manifest of a zone compiled in memory, as `zone` would write it
    /// (without hashes): `explain --exports` reads it like a written one.
    pub fn of(zone: &Zone<'_>, exports: &Exports<'_>) -> Manifest {
        let mut text = Vec::new();
        let no_hashes = Hashes {
            input: [0; 32],
            conf: [0; 32],
            db: [0; 32],
        };
        write_start(&mut text, zone, exports)
            .and_then(|()| write_end(&mut text, 0, &no_hashes))
            .expect("writing to memory");
        Manifest::parse(&text, "the compiled manifest").expect("a manifest reads back")
    }

    /// `manifest.json` beside the zone, when `zone_path` is an output
    /// directory.
    pub fn beside(zone_path: &Utf8Path) -> Result<Option<Manifest>, Error> {
        if !zone_path.is_dir() {
            return Ok(None);
        }
        Manifest::read(zone_path).map(Some)
    }

    /// Whether the manifest names exactly the records of `zone` (the
    /// `zone.conf` beside it, whose hash it records): a hand-edited manifest
    /// must never explain a record the zone does not hold.
    pub fn agrees_with(&self, zone: &crate::artifacts::zonefile::ZoneData) -> bool {
        let domain = &zone.domain;
        // Declared records are read as the zone files hold them: CNAMEs to
        // a machine's form among the CNAMEs, addresses among the addresses.
        // Address records are compared as (name below the domain, address),
        // the manifest's text read strictly: no string is built for the
        // hundreds of thousands of them.
        let mut declared_cnames: Vec<(&str, &str)> = Vec::new();
        let mut listed: Vec<(&str, IpAddr)> = Vec::with_capacity(self.addresses.len());
        for a in self.addresses() {
            match ip_text::parse_canonical(a.address) {
                Some((address, true)) => listed.push((a.machine, address)),
                _ => return false,
            }
        }
        let mut others: Vec<(String, Rdata)> = Vec::new();
        for (name, kind, data) in &self.declared {
            let Ok(rdata) = Rdata::parse(kind, data) else {
                return false;
            };
            let machine = data
                .strip_suffix('.')
                .filter(|_| rdata.is_cname())
                .and_then(|target| render::machine_form(domain, target));
            let address = match rdata {
                Rdata::A(v4) => Some(IpAddr::V4(v4)),
                Rdata::Aaaa(v6) => Some(IpAddr::V6(v6)),
                _ => None,
            };
            match (address, machine) {
                (Some(address), _) => match domain.relative(name) {
                    Some(relative) => listed.push((relative, address)),
                    None => return false,
                },
                (None, Some(machine)) => declared_cnames.push((name, machine)),
                (None, None) => others.push((name.clone(), rdata)),
            }
        }
        if self.records.ends.len() + declared_cnames.len() != zone.len() {
            return false;
        }
        // The records are in host order, as the zone's CNAMEs are; the few
        // declared CNAMEs to machines are sorted and merged in.
        declared_cnames.sort_unstable();
        let mut declared = declared_cnames.into_iter().peekable();
        let mut records = self.records().map(|r| (r.host, r.machine)).peekable();
        let cnames = std::iter::from_fn(|| match (records.peek(), declared.peek()) {
            (Some(record), Some(cname)) if cname < record => declared.next(),
            (Some(_), _) => records.next(),
            (None, _) => declared.next(),
        });
        let cnames_agree = cnames
            .zip(zone.cnames())
            .all(|((host, machine), c)| host == c.host && machine == c.machine);
        let mut held = Vec::with_capacity(zone.addresses().len());
        for (name, address) in zone.addresses() {
            match domain.relative(name) {
                Some(relative) => held.push((relative, *address)),
                None => return false,
            }
        }
        listed.sort_unstable();
        held.sort_unstable();
        others.sort_unstable();
        cnames_agree && listed == held && others == zone.others()
    }

    /// The manifest in a zone output directory.
    pub fn read(dir: &Utf8Path) -> Result<Manifest, Error> {
        let path = dir.join(crate::artifacts::MANIFEST);
        let bytes = crate::sys::files::read_file(&path, crate::sys::files::Limit::ZoneFile)
            .map_err(|e| Error::io(format!("reading {path}"), e))?;
        Manifest::parse(&bytes, path.as_str())
    }

    pub fn parse(bytes: &[u8], label: &str) -> Result<Manifest, Error> {
        let rebuild = "(hint: rebuild the zone with this dm-dns: `dm-dns zone` or \
                       `nix build .#dm-dns-zone`)";
        let other_format = |format: u32| {
            Error::input(format!(
                "{label} has manifest format {format}, this dm-dns reads format \
                 {FORMAT} {rebuild}"
            ))
        };
        let mut manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| {
            // Read again only to say why: an older layout should say so.
            #[derive(Deserialize)]
            struct Format {
                format: u32,
            }
            match serde_json::from_slice::<Format>(bytes) {
                Ok(Format { format }) if format != FORMAT => other_format(format),
                Ok(_) => Error::input(format!("{label} is damaged: {e} {rebuild}")),
                Err(e) => Error::input(format!("{label} is not a dm-dns manifest: {e}")),
            }
        })?;
        if manifest.format != FORMAT {
            return Err(other_format(manifest.format));
        }
        let scopes = manifest.scopes.len();
        let in_range = manifest
            .records
            .sources
            .iter()
            .map(|&i| i as usize)
            .chain(manifest.skipped.iter().map(|s| s.1))
            .chain(manifest.addresses.iter().map(|a| a.1))
            .chain(manifest.skipped_addresses.iter().map(|a| a.1))
            .all(|index| index < scopes);
        if !in_range {
            return Err(Error::input(format!(
                "{label} is damaged: a scope index is outside its {scopes} scopes {rebuild}"
            )));
        }
        manifest.machine_at = manifest.scopes.iter().map(|key| machine_at(key)).collect();
        if !manifest.machines_agree() {
            return Err(Error::input(format!(
                "{label} is damaged: a record or an address has no scope of one machine \
                 {rebuild}"
            )));
        }
        Ok(manifest)
    }

    /// The machine of scope `index`, if its key has four fields.
    fn machine_of(&self, index: usize) -> Option<&str> {
        self.machine_at[index].map(|at| &self.scopes[index][at..])
    }

    /// Whether every record's scopes name one machine, and every address's
    /// scope names one: the reader takes the machine from there.
    fn machines_agree(&self) -> bool {
        let records_agree = self.records.iter().all(|(_, sources)| {
            let mut machines = sources.iter().map(|&i| self.machine_of(i as usize));
            let first = machines.next().flatten();
            first.is_some() && machines.all(|m| m == first)
        });
        let indices = self.addresses.iter().map(|a| a.1);
        let skipped = self.skipped_addresses.iter().map(|a| a.1);
        records_agree && indices.chain(skipped).all(|i| self.machine_at[i].is_some())
    }

    /// Machine and network of scope `index`, checked to have four fields.
    fn machine_and_network(&self, index: usize) -> (&str, &str) {
        let key = &self.scopes[index];
        let at = self.machine_at[index].expect("checked when read");
        (&key[at..], network_at(key, at))
    }

    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        self.records.iter().map(|(host, sources)| Record {
            host,
            machine: self
                .machine_of(sources[0] as usize)
                .expect("checked when read"),
            source_indices: sources,
            scopes: &self.scopes,
        })
    }

    pub fn skipped(&self) -> impl Iterator<Item = Skipped<'_>> {
        self.skipped.iter().map(|(host, scope, reason)| Skipped {
            host,
            scope: &self.scopes[*scope],
            reason: *reason,
        })
    }

    pub fn addresses(&self) -> impl Iterator<Item = Address<'_>> {
        self.addresses.iter().map(|(address, scope)| {
            let (machine, network) = self.machine_and_network(*scope);
            Address {
                machine,
                family: if address.contains(':') { "AAAA" } else { "A" },
                address,
                scope: &self.scopes[*scope],
                network,
            }
        })
    }

    pub fn declared(&self) -> impl Iterator<Item = Declared<'_>> {
        self.declared
            .iter()
            .map(|(name, kind, data)| Declared { name, kind, data })
    }

    pub fn skipped_addresses(&self) -> impl Iterator<Item = SkippedAddress<'_>> {
        self.skipped_addresses.iter().map(|(value, scope, reason)| {
            let (machine, network) = self.machine_and_network(*scope);
            SkippedAddress {
                machine,
                value,
                scope: &self.scopes[*scope],
                scope_index: *scope as u32,
                network,
                reason: *reason,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{"format": 5, "scopes": ["a:b:c:alpha", "n:x:peer:alpha"],
        "records": [["music.clan", [0, 1]]],
        "skipped": [["www.example.org", 0, "outside-domain"]],
        "addresses": [["200::1", 1]],
        "skipped_addresses": [["10.0.0.1", 1, "lower-priority"]],
        "declared": [["printer.clan", "A", "192.168.1.20"]]}"#;

    /// What the writer writes, the reader reads: every record with its
    /// scopes, every skip with its typed reason, every address, the hashes.
    #[test]
    fn written_manifests_read_back() {
        let json = br#"{"web:www:server:alpha": {"hosts": ["music.clan", "www.example.org", "alpha.clan"]},
            "docs:wiki:server:beta": {"hosts": ["music.clan", "wiki.clan"]},
            "net:ygg::": {"hosts": [], "priority": 10},
            "net:ygg:peer:alpha": {"hosts": [], "peers": ["200::1", "alpha.example"]}}"#;
        let exports = Exports::parse(json).unwrap();
        let domain = crate::dns::name::Domain::parse("clan").unwrap();
        // music.clan from two machines would be refused: only beta keeps it.
        let json = String::from_utf8(json.to_vec())
            .unwrap()
            .replace(r#"["music.clan", "wiki.clan"]"#, r#"["wiki.clan"]"#);
        let exports_ok = Exports::parse(json.as_bytes()).unwrap();
        assert!(Zone::compile(&exports, &domain).is_err());
        let zone = Zone::compile(&exports_ok, &domain).unwrap();
        let mut text = Vec::new();
        let hashes = Hashes {
            input: [1; 32],
            conf: [2; 32],
            db: [3; 32],
        };
        write_start(&mut text, &zone, &exports_ok).unwrap();
        write_end(&mut text, 7, &hashes).unwrap();
        let m = Manifest::parse(&text, "m").unwrap();
        let records: Vec<_> = m
            .records()
            .map(|r| (r.host, r.machine, r.sources()))
            .collect();
        assert_eq!(
            records,
            [
                ("music.clan", "alpha", vec!["web:www:server:alpha"]),
                ("wiki.clan", "beta", vec!["docs:wiki:server:beta"]),
            ]
        );
        let skipped: Vec<_> = m.skipped().map(|s| (s.host, s.scope, s.reason)).collect();
        assert_eq!(
            skipped,
            [
                (
                    "alpha.clan",
                    "web:www:server:alpha",
                    SkipReason::OwnMachineName
                ),
                (
                    "www.example.org",
                    "web:www:server:alpha",
                    SkipReason::OutsideDomain
                ),
            ]
        );
        let address = m.addresses().next().unwrap();
        assert_eq!(
            (
                address.machine,
                address.family,
                address.address,
                address.network
            ),
            ("alpha", "AAAA", "200::1", "net:ygg")
        );
        let skipped = m.skipped_addresses().next().unwrap();
        assert_eq!(
            (skipped.value, skipped.reason),
            ("alpha.example", AddressSkip::NotAnAddress)
        );
        let dir = tempfile::tempdir().unwrap();
        let path = camino::Utf8PathBuf::try_from(dir.path().join("manifest.json")).unwrap();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(recorded_conf_sha256(&path).unwrap(), Some(hex(&[2; 32])));
        assert_eq!(Manifest::of(&zone, &exports_ok).records().count(), 2);
    }

    /// A manifest agrees with the zone files written beside it, and with
    /// no zone one record away: every kind of record, each edited in turn.
    #[test]
    fn agrees_only_with_the_zone_it_describes() {
        use crate::artifacts::zonefile;
        use crate::compile::addresses::NetworkChoice;
        let exports = Exports::parse(
            br#"{"web:www:server:alpha": {"hosts": ["music.clan", "zz.clan"]},
                "web:www:server:beta": {"hosts": ["a.clan", "wiki.clan"]},
                "net:ygg::": {"hosts": [], "priority": 10},
                "net:ygg:peer:alpha": {"hosts": [], "peers": ["200::1", "10.0.0.1"]},
                "net:ygg:peer:beta": {"hosts": [], "peers": ["200::2"]}}"#,
        )
        .unwrap();
        let records = crate::exports::records::parse(
            br#"{"git.clan": {"CNAME": "beta.clan"}, "docs.clan": {"CNAME": "example.org"},
                "printer.clan": {"A": ["192.168.1.20"], "AAAA": ["fd00::20"]},
                "clan": {"TXT": ["v=spf1 -all"]},
                "_ldap._tcp.clan": {"SRV": [{"priority": 1, "weight": 2, "port": 389, "target": "alpha.clan"}]}}"#,
        )
        .unwrap();
        let domain = crate::dns::name::Domain::parse("clan").unwrap();
        let zone =
            Zone::compile_with(&exports, &domain, &NetworkChoice::ByPriority, &records).unwrap();
        let mut text = Vec::new();
        write_start(&mut text, &zone, &exports).unwrap();
        write_end(
            &mut text,
            1,
            &Hashes {
                input: [0; 32],
                conf: [0; 32],
                db: [0; 32],
            },
        )
        .unwrap();
        let manifest = String::from_utf8(text).unwrap();
        let mut conf = Vec::new();
        render::write_conf(
            &mut conf,
            &domain,
            render::zone_cnames(&zone),
            &render::ZoneAddresses::of(&zone),
            &render::zone_others(&zone),
        )
        .unwrap();
        let conf = zonefile::parse_conf(std::str::from_utf8(&conf).unwrap()).unwrap();
        let agrees = |manifest: &str| {
            Manifest::parse(manifest.as_bytes(), "m")
                .unwrap()
                .agrees_with(&conf)
        };
        assert!(agrees(&manifest));
        for (from, to) in [
            ("\"music.clan\"", "\"musik.clan\""),
            ("\"zz.clan\"", "\"a0.clan\""),
            ("[\"200::2\",", "[\"200::3\","),
            ("[\"10.0.0.1\",", "[\"10.0.0.2\","),
            ("[\"200::1\",", "[\"200:0::1\","),
            ("\"192.168.1.20\"", "\"192.168.1.21\""),
            ("\"fd00::20\"", "\"fd00::21\""),
            ("\"beta.clan.\"", "\"alpha.clan.\""),
            ("\"git.clan\"", "\"gut.clan\""),
            ("\"example.org.\"", "\"example.com.\""),
            ("v=spf1 -all", "v=spf1 +all"),
            ("389 alpha.clan.", "390 alpha.clan."),
        ] {
            assert!(manifest.contains(from), "{from} not in {manifest}");
            assert!(
                !agrees(&manifest.replacen(from, to, 1)),
                "{from} -> {to} agrees"
            );
        }
    }

    #[test]
    fn resolves_scope_indices() {
        let m = Manifest::parse(MANIFEST.as_bytes(), "m").unwrap();
        let record = m.records().next().unwrap();
        assert_eq!(
            (record.host, record.machine, record.sources()),
            ("music.clan", "alpha", vec!["a:b:c:alpha", "n:x:peer:alpha"])
        );
        assert_eq!(m.skipped().next().unwrap().scope, "a:b:c:alpha");
        let address = m.addresses().next().unwrap();
        assert_eq!(
            (
                address.machine,
                address.family,
                address.scope,
                address.network
            ),
            ("alpha", "AAAA", "n:x:peer:alpha", "n:x")
        );
        let skipped = m.skipped_addresses().next().unwrap();
        assert_eq!(
            (
                skipped.machine,
                skipped.value,
                skipped.network,
                skipped.reason
            ),
            ("alpha", "10.0.0.1", "n:x", AddressSkip::LowerPriority)
        );
        let declared = m.declared().next().unwrap();
        assert_eq!(
            (declared.name, declared.kind, declared.data),
            ("printer.clan", "A", "192.168.1.20")
        );
    }

    #[test]
    fn refuses_other_formats_and_bad_indices() {
        let old = Manifest::parse(br#"{"format": 2, "records": []}"#, "m").unwrap_err();
        assert!(old.to_string().contains("format 2"), "{old}");
        let newer = MANIFEST.replace("\"format\": 5", "\"format\": 6");
        let err = Manifest::parse(newer.as_bytes(), "m").unwrap_err();
        assert!(err.to_string().contains("format 6"), "{err}");
        let bad = MANIFEST.replace("[0, 1]", "[0, 2]");
        let err = Manifest::parse(bad.as_bytes(), "m").unwrap_err();
        assert!(err.to_string().contains("outside its 2 scopes"), "{err}");
        // The reader takes machines from scopes: a record of two machines'
        // scopes, or of none, and an address whose scope names no machine
        // are damage.
        for damaged in [
            MANIFEST.replace("\"n:x:peer:alpha\"]", "\"n:x:peer:beta\"]"),
            MANIFEST.replace("[0, 1]]", "[]]"),
            MANIFEST
                .replace("\"n:x:peer:alpha\"]", "\"n:x:alpha\"]")
                .replace("[0, 1]]", "[0]]"),
        ] {
            let err = Manifest::parse(damaged.as_bytes(), "m").unwrap_err();
            assert!(err.to_string().contains("one machine"), "{damaged}: {err}");
        }
        // A record is exactly [host, [index, ...]].
        for damaged in [
            MANIFEST.replace("[\"music.clan\", [0, 1]]", "[\"music.clan\"]"),
            MANIFEST.replace("[\"music.clan\", [0, 1]]", "[\"music.clan\", [0, 1], 2]"),
            MANIFEST.replace("[\"music.clan\", [0, 1]]", "[\"music.clan\", 0]"),
            MANIFEST.replace("[\"music.clan\", [0, 1]]", "[\"music.clan\", [0, -1]]"),
            MANIFEST.replace("[\"music.clan\", [0, 1]]", "[[0, 1], \"music.clan\"]"),
            MANIFEST.replace("[\"music.clan\", [0, 1]]", "{\"music.clan\": [0, 1]}"),
        ] {
            assert_ne!(damaged, MANIFEST);
            let err = Manifest::parse(damaged.as_bytes(), "m").unwrap_err();
            assert!(err.to_string().contains("is damaged"), "{damaged}: {err}");
        }
    }
}
