//! Reading `manifest.json` back (`render` writes it): which scopes are behind
//! each record, and what was left out and why, for `explain` and `plan`.

use camino::Utf8Path;
use serde::Deserialize;

use crate::artifacts::render::MANIFEST_FORMAT;
use crate::error::Error;

/// A manifest as written, scopes still as indices (checked to be in range).
#[derive(Debug, Deserialize)]
pub struct Manifest {
    format: u32,
    scopes: Vec<String>,
    records: Vec<(String, String, Vec<usize>)>,
    skipped: Vec<(String, usize, String)>,
    addresses: Vec<(String, String, String, usize, String)>,
    skipped_addresses: Vec<(String, String, usize, String, String)>,
}

pub struct Record<'m> {
    pub host: &'m str,
    pub machine: &'m str,
    source_indices: &'m [usize],
    scopes: &'m [String],
}

impl<'m> Record<'m> {
    /// The scopes that export the record (resolved only when asked: a
    /// lookup by name walks every record).
    pub fn sources(&self) -> Vec<&'m str> {
        self.source_indices
            .iter()
            .map(|&i| self.scopes[i].as_str())
            .collect()
    }
}

pub struct Skipped<'m> {
    pub host: &'m str,
    pub scope: &'m str,
    pub reason: &'m str,
}

pub struct Address<'m> {
    pub machine: &'m str,
    /// `A` or `AAAA`.
    pub family: &'m str,
    pub address: &'m str,
    pub scope: &'m str,
    pub network: &'m str,
}

pub struct SkippedAddress<'m> {
    pub machine: &'m str,
    pub value: &'m str,
    pub scope: &'m str,
    pub network: &'m str,
    pub reason: &'m str,
}

impl Manifest {
    /// The manifest in a zone output directory.
    pub fn read(dir: &Utf8Path) -> Result<Manifest, Error> {
        let path = dir.join(crate::artifacts::MANIFEST);
        let bytes = crate::sys::files::read_file(&path)
            .map_err(|e| Error::io(format!("reading {path}"), e))?;
        Manifest::parse(&bytes, path.as_str())
    }

    pub fn parse(bytes: &[u8], label: &str) -> Result<Manifest, Error> {
        let rebuild = "(hint: rebuild the zone with this dm-dns: `dm-dns zone` or \
                       `nix build .#dm-dns-zone`)";
        let other_format = |format: u32| {
            Error::input(format!(
                "{label} has manifest format {format}, this dm-dns reads format \
                 {MANIFEST_FORMAT} {rebuild}"
            ))
        };
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| {
            // Read again only to say why: an older layout should say so.
            #[derive(Deserialize)]
            struct Format {
                format: u32,
            }
            match serde_json::from_slice::<Format>(bytes) {
                Ok(Format { format }) if format != MANIFEST_FORMAT => other_format(format),
                Ok(_) => Error::input(format!("{label} is damaged: {e} {rebuild}")),
                Err(e) => Error::input(format!("{label} is not a dm-dns manifest: {e}")),
            }
        })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(other_format(manifest.format));
        }
        let scopes = manifest.scopes.len();
        let in_range = manifest
            .records
            .iter()
            .flat_map(|r| &r.2)
            .chain(manifest.skipped.iter().map(|s| &s.1))
            .chain(manifest.addresses.iter().map(|a| &a.3))
            .chain(manifest.skipped_addresses.iter().map(|a| &a.2))
            .all(|&index| index < scopes);
        if !in_range {
            return Err(Error::input(format!(
                "{label} is damaged: a scope index is outside its {scopes} scopes {rebuild}"
            )));
        }
        Ok(manifest)
    }

    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        self.records.iter().map(|(host, machine, sources)| Record {
            host,
            machine,
            source_indices: sources,
            scopes: &self.scopes,
        })
    }

    pub fn skipped(&self) -> impl Iterator<Item = Skipped<'_>> {
        self.skipped.iter().map(|(host, scope, reason)| Skipped {
            host,
            scope: &self.scopes[*scope],
            reason,
        })
    }

    pub fn addresses(&self) -> impl Iterator<Item = Address<'_>> {
        self.addresses
            .iter()
            .map(|(machine, family, address, scope, network)| Address {
                machine,
                family,
                address,
                scope: &self.scopes[*scope],
                network,
            })
    }

    pub fn skipped_addresses(&self) -> impl Iterator<Item = SkippedAddress<'_>> {
        self.skipped_addresses
            .iter()
            .map(|(machine, value, scope, network, reason)| SkippedAddress {
                machine,
                value,
                scope: &self.scopes[*scope],
                network,
                reason,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{"format": 3, "scopes": ["a:b:c:alpha", "n:x:peer:alpha"],
        "records": [["music.clan", "alpha", [0, 1]]],
        "skipped": [["www.example.org", 0, "outside-domain"]],
        "addresses": [["alpha", "AAAA", "200::1", 1, "n:x"]],
        "skipped_addresses": [["alpha", "10.0.0.1", 1, "n:x", "lower-priority"]]}"#;

    #[test]
    fn resolves_scope_indices() {
        let m = Manifest::parse(MANIFEST.as_bytes(), "m").unwrap();
        let record = m.records().next().unwrap();
        assert_eq!(
            (record.host, record.machine, record.sources()),
            ("music.clan", "alpha", vec!["a:b:c:alpha", "n:x:peer:alpha"])
        );
        assert_eq!(m.skipped().next().unwrap().scope, "a:b:c:alpha");
        assert_eq!(m.addresses().next().unwrap().scope, "n:x:peer:alpha");
        assert_eq!(
            m.skipped_addresses().next().unwrap().reason,
            "lower-priority"
        );
    }

    #[test]
    fn refuses_other_formats_and_bad_indices() {
        let old = Manifest::parse(br#"{"format": 2, "records": []}"#, "m").unwrap_err();
        assert!(old.to_string().contains("format 2"), "{old}");
        let newer = MANIFEST.replace("\"format\": 3", "\"format\": 4");
        let err = Manifest::parse(newer.as_bytes(), "m").unwrap_err();
        assert!(err.to_string().contains("format 4"), "{err}");
        let bad = MANIFEST.replace("[0, 1]", "[0, 2]");
        let err = Manifest::parse(bad.as_bytes(), "m").unwrap_err();
        assert!(err.to_string().contains("outside its 2 scopes"), "{err}");
    }
}
