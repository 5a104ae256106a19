//! Renderings of the zone: unbound `local-data` (`zone.conf`), an RFC 1035
//! master file (`zone.db`) and `manifest.json`. All are streamed to a writer;
//! nothing here reads a clock, a path or a hash map, so same zone, same bytes.

use std::io::{self, Write};
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::name::Domain;
use crate::zone::{Exports, Zone};

/// Version of the `manifest.json` layout.
pub const MANIFEST_FORMAT: u32 = 1;
/// TTL of every record we publish: short, so a retargeted endpoint moves fast.
pub const TTL: u32 = 300;
/// SOA timers (refresh, retry, expire, minimum); only secondaries read them.
const SOA_TIMERS: &str = "3600 600 86400 300";

/// A writer that hashes what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
        }
    }

    pub fn finish(self) -> (W, [u8; 32]) {
        (self.inner, self.hasher.finalize().into())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SOA serial derived from content (the `zone.conf` hash), never from a clock.
pub fn content_serial(conf_sha256: &[u8; 32]) -> u32 {
    let serial = u32::from_be_bytes([
        conf_sha256[0],
        conf_sha256[1],
        conf_sha256[2],
        conf_sha256[3],
    ]);
    serial.max(1)
}

/// A CNAME as every rendering needs it: `<host>.` to `<machine>.<domain>.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cname<'a> {
    pub host: &'a str,
    pub machine: &'a str,
}

pub fn zone_cnames<'z>(zone: &'z Zone<'_>) -> impl Iterator<Item = Cname<'z>> + 'z {
    zone.records().map(|r| Cname {
        host: r.host,
        machine: r.machine,
    })
}

/// `zone.conf`: unbound `local-data`, a drop-in for the reference service's file.
pub fn write_conf<'a>(
    out: &mut impl Write,
    domain: &Domain,
    cnames: impl Iterator<Item = Cname<'a>>,
) -> io::Result<()> {
    writeln!(out, "local-zone: \"{domain}.\" transparent")?;
    for c in cnames {
        writeln!(
            out,
            "local-data: \"{}. CNAME {}.{domain}.\"",
            c.host, c.machine
        )?;
    }
    Ok(())
}

/// `zone.db`: an RFC 1035 master file with absolute names, so it reads the
/// same whatever `$ORIGIN` a server assumes. `addresses` are the node's own
/// A/AAAA records (empty for the build output).
pub fn write_db<'a>(
    out: &mut impl Write,
    domain: &Domain,
    serial: u32,
    cnames: impl Iterator<Item = Cname<'a>>,
    addresses: &[(String, IpAddr)],
) -> io::Result<()> {
    writeln!(out, "$ORIGIN {domain}.")?;
    writeln!(out, "$TTL {TTL}")?;
    writeln!(
        out,
        "{domain}. IN SOA localhost. nobody.invalid. {serial} {SOA_TIMERS}"
    )?;
    writeln!(out, "{domain}. IN NS localhost.")?;
    for (name, addr) in addresses {
        let kind = if addr.is_ipv4() { "A" } else { "AAAA" };
        writeln!(out, "{name}. IN {kind} {addr}")?;
    }
    for c in cnames {
        writeln!(out, "{}. IN CNAME {}.{domain}.", c.host, c.machine)?;
    }
    Ok(())
}

/// The canonical input as compact JSON in the projected form; its hash
/// identifies the input independently of order, formatting and duplicates.
pub fn write_canonical_input(out: &mut impl Write, exports: &Exports<'_>) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, scope) in exports.scopes.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &*scope.key)?;
        out.write_all(b":{\"hosts\":[")?;
        for (j, host) in scope.hosts.iter().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, &**host)?;
        }
        out.write_all(b"]}")?;
    }
    out.write_all(b"}")
}

pub fn canonical_input_sha256(exports: &Exports<'_>) -> [u8; 32] {
    let mut w = HashingWriter::new(io::sink());
    write_canonical_input(&mut w, exports).expect("writing to a sink cannot fail");
    w.finish().1
}

/// Hashes that tie the manifest to the files beside it.
pub struct Hashes {
    pub input: [u8; 32],
    pub conf: [u8; 32],
    pub db: [u8; 32],
}

/// `manifest.json`: one record or skipped host per line, stable key order.
pub fn write_manifest(
    out: &mut impl Write,
    zone: &Zone<'_>,
    exports: &Exports<'_>,
    serial: u32,
    hashes: &Hashes,
) -> io::Result<()> {
    let s = |v: &str| serde_json::to_string(v).expect("strings always serialise");
    writeln!(out, "{{")?;
    writeln!(out, "  \"format\": {MANIFEST_FORMAT},")?;
    writeln!(
        out,
        "  \"tool\": {},",
        s(concat!("dm-dns ", env!("CARGO_PKG_VERSION")))
    )?;
    writeln!(out, "  \"domain\": {},", s(zone.domain.as_str()))?;
    writeln!(out, "  \"soa_serial\": {serial},")?;
    writeln!(
        out,
        "  \"counts\": {{\"scopes\": {}, \"hosts\": {}, \"records\": {}, \"skipped\": {}}},",
        exports.scopes.len(),
        exports.host_count(),
        zone.record_count(),
        zone.skipped.len()
    )?;
    writeln!(
        out,
        "  \"sha256\": {{\"input\": \"{}\", \"zone.conf\": \"{}\", \"zone.db\": \"{}\"}},",
        hex(&hashes.input),
        hex(&hashes.conf),
        hex(&hashes.db)
    )?;
    write!(out, "  \"records\": [")?;
    for (i, r) in zone.records().enumerate() {
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}    {{\"host\": {}, \"machine\": {}, \"target\": {}, \"sources\": [",
            s(r.host),
            s(r.machine),
            s(&zone.domain.machine_name(r.machine)),
        )?;
        for (j, source) in r.sources().enumerate() {
            let sep = if j == 0 { "" } else { ", " };
            write!(out, "{sep}{}", s(source))?;
        }
        write!(out, "]}}")?;
    }
    let close = if zone.record_count() == 0 { "" } else { "\n  " };
    writeln!(out, "{close}],")?;
    write!(out, "  \"skipped\": [")?;
    for (i, k) in zone.skipped.iter().enumerate() {
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}    {{\"host\": {}, \"scope\": {}, \"reason\": {}}}",
            s(k.host),
            s(k.scope),
            s(k.reason.as_str())
        )?;
    }
    let close = if zone.skipped.is_empty() { "" } else { "\n  " };
    writeln!(out, "{close}]")?;
    writeln!(out, "}}")
}
