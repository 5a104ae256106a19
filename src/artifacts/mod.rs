//! The zone's files: `zone.conf`, `zone.db` and `manifest.json`, rendered
//! and written together into the `zone` output directory or not at all
//! (this module), read back (`zonefile`, `manifest`) and compared (`diff`).

pub mod diff;
pub mod manifest;
pub mod render;
pub mod reverse;
pub mod zonefile;

use camino::Utf8Path;

use crate::compile::addresses::NetworkChoice;
use crate::compile::zone::Zone;
use crate::dns::name::Domain;
use crate::error::Error;
use crate::exports::canonical::Exports;
use crate::exports::records::RecordsInput;
use crate::sys::digest::{self, HashingWriter};
use crate::sys::files::{self, Limit, OutputDir, StagedFile};
use crate::sys::halves;
use crate::sys::pipe;
use manifest::Hashes;
use zonefile::ZoneData;

pub const CONF: &str = "zone.conf";
pub const DB: &str = "zone.db";
pub const MANIFEST: &str = "manifest.json";

/// Figures for the one-line report of `dm-dns zone`.
pub struct Summary {
    pub records: usize,
    pub skipped: usize,
    pub serial: u32,
}

/// A compiled zone and the hash of the input it came from, which the
/// manifest records.
pub struct Compiled<'e> {
    pub zone: Zone<'e>,
    input_sha256: [u8; 32],
}

/// Compiles the zone while a second core hashes the canonical input (the
/// compile is mostly serial, and the hash reads every key and host).
pub fn compile<'e>(
    exports: &'e Exports<'e>,
    domain: &Domain,
    networks: &NetworkChoice,
    records: &RecordsInput,
) -> Result<Compiled<'e>, Error> {
    let (zone, input_sha256) = halves::join(
        || Zone::compile_with(exports, domain, networks, records),
        || render::canonical_input_sha256(exports, records),
    );
    Ok(Compiled {
        zone: zone?,
        input_sha256,
    })
}

/// The zone's files, written under temporary names beside their places.
pub struct Written {
    // Dropped in this order: the staged files, then the directory they
    // were in, which goes too if this run created it.
    files: Vec<StagedFile>,
    out: OutputDir,
    pub summary: Summary,
}

impl Written {
    /// Puts every file in place; dropped instead, none is.
    pub fn commit(self) -> Result<Summary, Error> {
        self.out.commit(self.files)?;
        Ok(self.summary)
    }
}

pub fn write(
    dir: &Utf8Path,
    compiled: &Compiled<'_>,
    exports: &Exports<'_>,
) -> Result<Written, Error> {
    let zone = &compiled.zone;
    let out = OutputDir::open(dir)?;
    // The manifest's records need only the zone, so they are written on
    // another core while the zone files are.
    let (zone_files, manifest) = halves::join(
        || write_zone_files(&out, zone),
        || out.stage(MANIFEST, |w| manifest::write_start(w, zone, exports)),
    );
    let (conf, db, serial) = zone_files?;
    let (mut manifest, ()) = manifest?;
    let hashes = Hashes {
        input: compiled.input_sha256,
        conf: conf.1,
        db: db.1,
    };
    manifest::write_end(manifest.writer(), serial, &hashes)
        .map_err(|e| Error::io(format!("writing {dir}/{MANIFEST}"), e))?;
    Ok(Written {
        out,
        files: vec![conf.0, db.0, manifest],
        summary: Summary {
            records: zone.record_count(),
            skipped: zone.skipped.len(),
            serial,
        },
    })
}

type Hashed = (StagedFile, [u8; 32]);

/// `zone.conf`, then `zone.db`, whose serial comes from the `zone.conf`
/// hash. Both are rendered on this thread and hashed and written on
/// another, in chunks, so `zone.db`'s records are rendered while `zone.conf`
/// is hashed and only its four-line head, written by the writer, waits for
/// the serial.
fn write_zone_files(out: &OutputDir, zone: &Zone<'_>) -> Result<(Hashed, Hashed, u32), Error> {
    let (mut rendered, chunks) = pipe::channel();
    let hash_and_write = move || {
        let conf = out.stage(CONF, |w| {
            let mut w = HashingWriter::new(w);
            chunks.copy_file(&mut w)?;
            w.finish().map(|(_, hash)| hash)
        })?;
        let serial = render::content_serial(&conf.1);
        let db = out.stage(DB, |w| {
            let mut w = HashingWriter::new(w);
            render::write_db_head(&mut w, &zone.domain, serial)?;
            chunks.copy_file(&mut w)?;
            w.finish().map(|(_, hash)| hash)
        })?;
        Ok((conf, db, serial))
    };
    // The renderer's end of the channel goes with it, so the writer sees
    // every file end (or the renderer stop) before it is waited for.
    let domain = &zone.domain;
    let render = move || {
        // Built here, while another core writes the manifest.
        let addresses = &render::ZoneAddresses::of(zone);
        let others = &render::zone_others(zone);
        render::write_conf(
            &mut rendered,
            domain,
            render::zone_cnames(zone),
            addresses,
            others,
        )
        .and_then(|()| rendered.end_file())
        .and_then(|()| {
            let cnames = render::zone_cnames(zone);
            render::write_db_body(&mut rendered, domain, cnames, addresses, others)
        })
        .and_then(|()| rendered.end_file())
    };
    let (rendering, written) = halves::join(render, hash_and_write);
    // The writer's own error says more than the renderer's "it stopped".
    let files = written?;
    rendering.map_err(|e| Error::io("rendering the zone files", e))?;
    Ok(files)
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
    let body = files::read_file(&conf_path, Limit::ZoneFile)
        .map_err(|e| Error::io(format!("reading {conf_path}"), e))?;
    let recorded = manifest::recorded_conf_sha256(&manifest_path)?;
    // A hash that does not match is the error to report, whatever the
    // parse found.
    let (parsed, sha256) = zonefile::parse_conf_hashed(&body);
    if recorded.as_deref() != Some(digest::hex(&sha256).as_str()) {
        return Err(Error::input(format!(
            "{conf_path} does not match the sha256 in {manifest_path}; refusing to sign \
             (hint: rebuild the zone with `dm-dns zone` or `nix build .#dm-dns-zone`)"
        )));
    }
    let zone = parsed
        .unwrap_or_else(|| Err("not UTF-8".into()))
        .map_err(|e| Error::input(format!("{conf_path}: {e}")))?;
    Ok(CheckedConf { body, sha256, zone })
}
