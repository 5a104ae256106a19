//! Renderings of the zone: unbound `local-data` (`zone.conf`), an RFC 1035
//! master file (`zone.db`) and `manifest.json`. All are streamed to a writer;
//! nothing here reads a clock, a path or a hash map, so same zone, same bytes.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::compile::zone::Zone;
use crate::dns::name::Domain;
use crate::exports::Peer;
use crate::exports::canonical::Exports;
use crate::sys::digest::{HashingWriter, hex};

/// Version of the `manifest.json` layout (2: address records; 3: compact,
/// records as arrays whose sources are indices into one table of scopes).
pub const MANIFEST_FORMAT: u32 = 3;
/// TTL of every record we publish: short, so a retargeted endpoint moves fast.
pub const TTL: u32 = 300;
/// SOA timers (refresh, retry, expire, minimum); only secondaries read them.
const SOA_TIMERS: &str = "3600 600 86400 300";

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

/// Address records as every rendering takes them: full name (no trailing
/// dot) and address, in `address_order`.
pub type AddressList = [(String, IpAddr)];

/// The one order of address records in every file: by name, A before AAAA,
/// then by address.
pub fn address_order(a: &(String, IpAddr), b: &(String, IpAddr)) -> std::cmp::Ordering {
    (&a.0, a.1.is_ipv6(), a.1).cmp(&(&b.0, b.1.is_ipv6(), b.1))
}

/// The zone's machine address records as renderings take them.
pub fn zone_addresses(zone: &Zone<'_>) -> Vec<(String, IpAddr)> {
    let mut list: Vec<(String, IpAddr)> = zone
        .addresses
        .records
        .iter()
        .map(|r| (zone.domain.machine_name(r.machine), r.address))
        .collect();
    list.sort_unstable_by(address_order);
    list
}

fn family(address: &IpAddr) -> &'static str {
    if address.is_ipv4() { "A" } else { "AAAA" }
}

/// `zone.conf`: unbound `local-data`, a drop-in for the reference service's
/// file: the CNAMEs, then the machines' address records.
pub fn write_conf<'a>(
    out: &mut impl Write,
    domain: &Domain,
    cnames: impl Iterator<Item = Cname<'a>>,
    addresses: &AddressList,
) -> io::Result<()> {
    writeln!(out, "local-zone: \"{domain}.\" transparent")?;
    // Plain write_all, no formatting machinery: this loop runs once per record.
    let suffix = format!(".{domain}.\"\n");
    for c in cnames {
        out.write_all(b"local-data: \"")?;
        out.write_all(c.host.as_bytes())?;
        out.write_all(b". CNAME ")?;
        out.write_all(c.machine.as_bytes())?;
        out.write_all(suffix.as_bytes())?;
    }
    for (name, address) in addresses {
        writeln!(out, "local-data: \"{name}. {} {address}\"", family(address))?;
    }
    Ok(())
}

/// `zone.db`: an RFC 1035 master file with absolute names, so it reads the
/// same whatever `$ORIGIN` a server assumes. `addresses` are the machines'
/// A/AAAA records (on a node, merged with its own).
pub fn write_db<'a>(
    out: &mut impl Write,
    domain: &Domain,
    serial: u32,
    cnames: impl Iterator<Item = Cname<'a>>,
    addresses: &AddressList,
) -> io::Result<()> {
    write_db_head(out, domain, serial, addresses)?;
    write_db_cnames(out, domain, cnames)
}

/// `zone.db` up to its CNAMEs: the only part that needs the serial.
pub fn write_db_head(
    out: &mut impl Write,
    domain: &Domain,
    serial: u32,
    addresses: &AddressList,
) -> io::Result<()> {
    writeln!(out, "$ORIGIN {domain}.")?;
    writeln!(out, "$TTL {TTL}")?;
    writeln!(
        out,
        "{domain}. IN SOA localhost. nobody.invalid. {serial} {SOA_TIMERS}"
    )?;
    writeln!(out, "{domain}. IN NS localhost.")?;
    for (name, address) in addresses {
        writeln!(out, "{name}. IN {} {address}", family(address))?;
    }
    Ok(())
}

/// The rest of `zone.db`, after `write_db_head`.
pub fn write_db_cnames<'a>(
    out: &mut impl Write,
    domain: &Domain,
    cnames: impl Iterator<Item = Cname<'a>>,
) -> io::Result<()> {
    let suffix = format!(".{domain}.\n");
    for c in cnames {
        out.write_all(c.host.as_bytes())?;
        out.write_all(b". IN CNAME ")?;
        out.write_all(c.machine.as_bytes())?;
        out.write_all(suffix.as_bytes())?;
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
        json_str(out, &scope.key)?;
        out.write_all(b":{\"hosts\":[")?;
        for (j, host) in scope.hosts.iter().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            json_str(out, host)?;
        }
        out.write_all(b"]")?;
        // Only where present, so an input without networks hashes as before.
        if !scope.peers.is_empty() {
            out.write_all(b",\"peers\":[")?;
            for (j, peer) in scope.peers.iter().enumerate() {
                if j > 0 {
                    out.write_all(b",")?;
                }
                match peer {
                    Peer::Value(v) => json_str(out, v)?,
                    Peer::Unavailable(why) => {
                        out.write_all(b"{\"missing\":")?;
                        json_str(out, why)?;
                        out.write_all(b"}")?;
                    }
                }
            }
            out.write_all(b"]")?;
        }
        if let Some(priority) = scope.priority {
            write!(out, ",\"priority\":{priority}")?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b"}")
}

pub fn canonical_input_sha256(exports: &Exports<'_>) -> [u8; 32] {
    let mut w = HashingWriter::new(io::sink());
    write_canonical_input(&mut w, exports).expect("writing to a sink cannot fail");
    w.finish().expect("writing to a sink cannot fail").1
}

/// Hashes that tie the manifest to the files beside it.
pub struct Hashes {
    pub input: [u8; 32],
    pub conf: [u8; 32],
    pub db: [u8; 32],
}

/// Writes a JSON string. Only quotes, backslashes and control characters
/// need escaping (as serde_json escapes them, so the bytes are the same);
/// names and ordinary scope keys have none and are copied as they are.
fn json_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    if needs_json_escape(text) {
        serde_json::to_writer(&mut *out, text).map_err(io::Error::other)
    } else {
        out.write_all(b"\"")?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\"")
    }
}

/// Whether any byte of `text` must be escaped in a JSON string. Every byte
/// is looked at, with no early exit, so the loop runs on vector registers:
/// the canonical input's hash reads every key and host of the exports.
fn needs_json_escape(text: &str) -> bool {
    text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// The part of `manifest.json` that needs only the zone: everything up to the
/// hashes, which `write_manifest_end` adds once the zone files are written.
/// Splitting it lets the records be written while the zone files are.
///
/// Compact: every scope key is written once, in `scopes` (the canonical
/// exports' sorted scopes), and records, skipped hosts and addresses name
/// their scopes by index into it: 73 MB for a million records (`bench/`
/// names) instead of 126.
pub fn write_manifest_start(
    out: &mut impl Write,
    zone: &Zone<'_>,
    exports: &Exports<'_>,
) -> io::Result<()> {
    // Skipped hosts and addresses carry their scope's key; its index is found
    // in the sorted table (few of them, so a search each is cheap).
    let index_of = |key: &str| {
        exports
            .scopes
            .binary_search_by(|s| (*s.key).cmp(key))
            .expect("every scope named comes from the exports")
    };
    writeln!(out, "{{")?;
    writeln!(out, "  \"format\": {MANIFEST_FORMAT},")?;
    writeln!(out, "  \"tool\": \"dm-dns {}\",", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "  \"domain\": \"{}\",", zone.domain)?;
    writeln!(
        out,
        "  \"counts\": {{\"scopes\": {}, \"hosts\": {}, \"records\": {}, \"skipped\": {}, \
         \"addresses\": {}, \"skipped_addresses\": {}}},",
        exports.scopes.len(),
        exports.host_count(),
        zone.record_count(),
        zone.skipped.len(),
        zone.addresses.records.len(),
        zone.addresses.skipped.len()
    )?;
    out.write_all(b"  \"scopes\": ")?;
    write_json_lines(out, exports.scopes.iter(), |out, scope| {
        json_str(out, &scope.key)
    })?;
    out.write_all(b",\n  \"records\": ")?;
    let mut number = itoa::Buffer::new();
    write_json_lines(out, zone.records(), |out, r| {
        // A record's host and machine are checked LDH names: nothing in
        // them needs escaping.
        debug_assert!(!needs_json_escape(r.host) && !needs_json_escape(r.machine));
        out.write_all(b"[\"")?;
        out.write_all(r.host.as_bytes())?;
        out.write_all(b"\",\"")?;
        out.write_all(r.machine.as_bytes())?;
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
        write!(out, ",{},\"{}\"]", index_of(k.scope), k.reason.as_str())
    })?;
    out.write_all(b",\n  \"addresses\": ")?;
    write_json_lines(out, zone.addresses.records.iter(), |out, r| {
        out.write_all(b"[")?;
        json_str(out, r.machine)?;
        write!(
            out,
            ",\"{}\",\"{}\",{},",
            r.family(),
            r.address,
            index_of(r.scope)
        )?;
        json_str(out, r.network)?;
        out.write_all(b"]")
    })?;
    out.write_all(b",\n  \"skipped_addresses\": ")?;
    write_json_lines(out, zone.addresses.skipped.iter(), |out, k| {
        out.write_all(b"[")?;
        json_str(out, k.machine)?;
        out.write_all(b",")?;
        json_str(out, k.value)?;
        write!(out, ",{},", index_of(k.scope))?;
        json_str(out, k.network)?;
        write!(out, ",\"{}\"]", k.reason.as_str())
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

pub fn write_manifest_end(out: &mut impl Write, serial: u32, hashes: &Hashes) -> io::Result<()> {
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
