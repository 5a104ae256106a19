//! A zone read from whatever form an operator has at hand: a `dm-dns zone`
//! output directory, a `zone.conf`, a signed mesh file (its header skipped,
//! not checked) or a `zone.db` (an installed zone file). For `diff`,
//! `explain` and `plan`; `install` verifies instead.

use camino::Utf8Path;

use crate::artifacts::manifest::Manifest;
use crate::artifacts::zonefile::{self, ZoneData};
use crate::error::Error;
use crate::sign::signed;
use crate::sys::files::{self, Limit};
use crate::sys::halves;

/// Reads a zone from a `zone` output directory, a `zone.conf` (signed or not)
/// or a `zone.db`.
pub fn load(path: &Utf8Path) -> Result<ZoneData, Error> {
    let file = if path.is_dir() {
        path.join("zone.conf")
    } else {
        path.to_owned()
    };
    let bytes = files::read_file(&file, Limit::ZoneFile)
        .map_err(|e| Error::io(format!("reading {file}"), e))?;
    let text = halves::utf8(&bytes)
        .ok_or_else(|| Error::input(format!("{file} is not text: not a zone")))?;
    parse(text, file.as_str())
}

/// A zone, and its manifest when `path` is a zone output directory; the
/// two must agree (a hand-edited manifest is refused).
pub fn load_with_manifest(path: &Utf8Path) -> Result<(ZoneData, Option<Manifest>), Error> {
    let zone = load(path)?;
    let manifest = manifest_of(path, &zone)?;
    Ok((zone, manifest))
}

/// The manifest beside `zone`, loaded from `path`, when it is a zone output
/// directory; it must list exactly the zone's records.
pub fn manifest_of(path: &Utf8Path, zone: &ZoneData) -> Result<Option<Manifest>, Error> {
    let manifest = Manifest::beside(path)?;
    if let Some(manifest) = &manifest
        && !manifest.agrees_with(zone)
    {
        return Err(Error::input(format!(
            "{path}: manifest.json does not list the records of zone.conf: one of them was \
             changed after the build (hint: rebuild the zone with `dm-dns zone` or \
             `nix build .#dm-dns-zone`)"
        )));
    }
    Ok(manifest)
}

/// A zone from its text (`label` names it in errors).
pub fn parse(text: &str, label: &str) -> Result<ZoneData, Error> {
    let body = signed::strip_header(text);
    let parsed = if body.starts_with("local-zone:") {
        zonefile::parse_conf(body)
    } else {
        zonefile::parse_db(body)
    };
    parsed.map_err(|e| {
        Error::input(format!(
            "{label} is not a zone: {e} (hint: diff, explain and status read zones: a \
             `dm-dns zone` output directory, a zone.conf, a signed mesh file or a zone.db)"
        ))
    })
}
