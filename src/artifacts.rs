//! The `zone` output directory: `zone.conf`, `zone.db` and `manifest.json`,
//! written together or not at all.

use camino::Utf8Path;

use crate::error::Error;
use crate::output::{OutputDir, StagedFile};
use crate::render::{self, Hashes, HashingWriter};
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
    let out = OutputDir::open(dir)?;
    // The manifest's records need only the zone, so they are written on a
    // second core while this one writes the zone files.
    let (zone_files, manifest) = std::thread::scope(|s| {
        let manifest = s.spawn(|| {
            let input = render::canonical_input_sha256(exports);
            out.stage(MANIFEST, |w| render::write_manifest_start(w, zone, exports))
                .map(|(staged, ())| (staged, input))
        });
        let zone_files = write_zone_files(&out, zone);
        let manifest = manifest.join().expect("manifest writer does not panic");
        (zone_files, manifest)
    });
    let (conf, db, serial) = zone_files?;
    let (mut manifest, input) = manifest?;
    let hashes = Hashes {
        input,
        conf: conf.1,
        db: db.1,
    };
    render::write_manifest_end(manifest.writer(), serial, &hashes)
        .map_err(|e| Error::io(format!("writing {dir}/{MANIFEST}"), e))?;
    out.commit(vec![conf.0, db.0, manifest])?;
    Ok(Summary {
        records: zone.record_count(),
        skipped: zone.skipped.len(),
        serial,
    })
}

type Hashed = (StagedFile, [u8; 32]);

fn write_zone_files(out: &OutputDir, zone: &Zone<'_>) -> Result<(Hashed, Hashed, u32), Error> {
    let addresses = render::zone_addresses(zone);
    let conf = out.stage(CONF, |w| {
        let mut w = HashingWriter::new(w);
        render::write_conf(&mut w, &zone.domain, render::zone_cnames(zone), &addresses)?;
        w.finish().map(|(_, hash)| hash)
    })?;
    let serial = render::content_serial(&conf.1);
    let db = out.stage(DB, |w| {
        let mut w = HashingWriter::new(w);
        render::write_db(
            &mut w,
            &zone.domain,
            serial,
            render::zone_cnames(zone),
            &addresses,
        )?;
        w.finish().map(|(_, hash)| hash)
    })?;
    Ok((conf, db, serial))
}

/// The `zone.conf` hash a manifest records. `write_manifest_end` puts the
/// hashes on the last line but one, so only the file's tail is read: a
/// large zone's manifest is over a hundred megabytes.
fn recorded_conf_sha256(path: &Utf8Path) -> Result<Option<String>, Error> {
    use std::io::{Read, Seek, SeekFrom};
    #[derive(serde::Deserialize)]
    struct Hashes {
        #[serde(rename = "zone.conf")]
        conf: String,
    }
    const TAIL: u64 = 4096;
    let mut file =
        std::fs::File::open(path).map_err(|e| Error::io(format!("reading {path}"), e))?;
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

/// `zone.conf` as read back for signing: its bytes, their SHA-256 and the
/// zone they hold.
pub struct CheckedConf {
    pub body: Vec<u8>,
    pub sha256: [u8; 32],
    pub zone: ZoneData,
}

/// Reads `zone.conf` back from an output directory for signing: its bytes must
/// match the hash in `manifest.json` and parse strictly.
pub fn read_conf_checked(dir: &Utf8Path) -> Result<CheckedConf, Error> {
    let conf_path = dir.join(CONF);
    let manifest_path = dir.join(MANIFEST);
    let body =
        std::fs::read(&conf_path).map_err(|e| Error::io(format!("reading {conf_path}"), e))?;
    let recorded = recorded_conf_sha256(&manifest_path)?;
    let sha256 = render::sha256(&body);
    if recorded.as_deref() != Some(render::hex(&sha256).as_str()) {
        return Err(Error::input(format!(
            "{conf_path} does not match the sha256 in {manifest_path}; refusing to sign \
             (hint: rebuild the zone with `dm-dns zone` or `nix build .#dm-dns-zone`)"
        )));
    }
    let zone = std::str::from_utf8(&body)
        .map_err(|_| "not UTF-8".to_string())
        .and_then(zonefile::parse_conf)
        .map_err(|e| Error::input(format!("{conf_path}: {e}")))?;
    Ok(CheckedConf { body, sha256, zone })
}
