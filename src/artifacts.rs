//! The `zone` output directory: `zone.conf`, `zone.db` and `manifest.json`,
//! written together or not at all.

use camino::Utf8Path;

use crate::error::Error;
use crate::output::OutputDir;
use crate::render::{self, HashingWriter, Hashes};
use crate::zone::{Exports, Zone};
use crate::zonefile::{self, ZoneData};

pub const CONF: &str = "zone.conf";
pub const DB: &str = "zone.db";
pub const MANIFEST: &str = "manifest.json";

/// Figures for the one-line report of `dm-dns zone`.
pub struct Summary {
    pub records: usize,
    pub skipped: usize,
    pub serial: u32,
}

pub fn write(dir: &Utf8Path, zone: &Zone<'_>, exports: &Exports<'_>) -> Result<Summary, Error> {
    let mut out = OutputDir::open(dir)?;
    let conf = out.stage(CONF, |w| {
        let mut w = HashingWriter::new(w);
        render::write_conf(&mut w, &zone.domain, render::zone_cnames(zone))?;
        Ok(w.finish().1)
    })?;
    let serial = render::content_serial(&conf);
    let db = out.stage(DB, |w| {
        let mut w = HashingWriter::new(w);
        render::write_db(&mut w, &zone.domain, serial, render::zone_cnames(zone), &[])?;
        Ok(w.finish().1)
    })?;
    let hashes = Hashes {
        input: render::canonical_input_sha256(exports),
        conf,
        db,
    };
    out.stage(MANIFEST, |w| {
        render::write_manifest(w, zone, exports, serial, &hashes)
    })?;
    out.commit()?;
    Ok(Summary {
        records: zone.record_count(),
        skipped: zone.skipped.len(),
        serial,
    })
}

/// Reads `zone.conf` back from an output directory for signing: its bytes must
/// match the hash in `manifest.json` and parse strictly.
pub fn read_conf_checked(dir: &Utf8Path) -> Result<(Vec<u8>, ZoneData), Error> {
    let conf_path = dir.join(CONF);
    let manifest_path = dir.join(MANIFEST);
    let body = std::fs::read(&conf_path).map_err(|e| Error::io(format!("reading {conf_path}"), e))?;
    let manifest = std::fs::read(&manifest_path)
        .map_err(|e| Error::io(format!("reading {manifest_path}"), e))?;
    let recorded = serde_json::from_slice::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|m| m["sha256"][CONF].as_str().map(str::to_owned));
    if recorded.as_deref() != Some(render::hex(&render::sha256(&body)).as_str()) {
        return Err(Error::input(format!(
            "{conf_path} does not match the sha256 in {manifest_path}; refusing to sign \
             (hint: rebuild the zone with `dm-dns zone` or `nix build .#dm-dns-zone`)"
        )));
    }
    let zone = std::str::from_utf8(&body)
        .map_err(|_| "not UTF-8".to_string())
        .and_then(zonefile::parse_conf)
        .map_err(|e| Error::input(format!("{conf_path}: {e}")))?;
    Ok((body, zone))
}
