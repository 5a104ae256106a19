//! Renderings of the zone: unbound `local-data` (`zone.conf`), an RFC 1035
//! master file (`zone.db`) and the canonical input the manifest hashes
//! (`manifest` writes the manifest). All are streamed to a writer; nothing
//! here reads a clock, a path or a hash map, so same zone, same bytes.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::compile::addresses::AddressRecord;
use crate::compile::zone::Zone;
use crate::dns::ip_text::IpText;
use crate::dns::name::Domain;
use crate::dns::rdata::Rdata;
use crate::exports::Peer;
use crate::exports::canonical::Exports;
use crate::exports::records::RecordsInput;
use crate::sys::digest::HashingWriter;

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

/// The zone's CNAMEs to machines in host order: the endpoints', and the
/// declared CNAMEs whose target is a machine's form `<label>.<domain>`,
/// merged in (every file holds those among the CNAMEs; `zonefile` reads
/// any CNAME of that form as one of them).
pub fn zone_cnames<'z>(zone: &'z Zone<'_>) -> impl Iterator<Item = Cname<'z>> + 'z {
    let endpoints = zone.records().map(|r| Cname {
        host: r.host,
        machine: r.machine(),
    });
    let declared: Vec<Cname<'z>> = zone
        .declared
        .iter()
        .filter_map(|(name, data)| match data {
            Rdata::Cname(target) => machine_form(&zone.domain, target).map(|machine| Cname {
                host: name,
                machine,
            }),
            _ => None,
        })
        .collect();
    if declared.is_empty() {
        // The usual zone: no merge step in a loop over a million records.
        return Cnames::Endpoints(endpoints);
    }
    // Each declared CNAME goes before the endpoint records it sorts before
    // (no host is both): found once each, so the loop over the endpoints
    // compares counts, not names.
    let mut places: Vec<usize> = declared
        .iter()
        .map(|d| zone.records_before(d.host))
        .collect();
    places.reverse();
    let mut declared = declared.into_iter().rev().collect::<Vec<_>>();
    let (mut endpoints, mut written) = (endpoints, 0);
    Cnames::Merged(std::iter::from_fn(move || {
        if places.last() == Some(&written) {
            places.pop();
            return declared.pop();
        }
        written += 1;
        endpoints.next()
    }))
}

/// The endpoints' CNAMEs alone, or merged with declared ones.
enum Cnames<E, M> {
    Endpoints(E),
    Merged(M),
}

impl<'z, E, M> Iterator for Cnames<E, M>
where
    E: Iterator<Item = Cname<'z>>,
    M: Iterator<Item = Cname<'z>>,
{
    type Item = Cname<'z>;

    fn next(&mut self) -> Option<Cname<'z>> {
        match self {
            Cnames::Endpoints(e) => e.next(),
            Cnames::Merged(m) => m.next(),
        }
    }
}

/// The machine `target` names when it has a machine name's form,
/// `<label>.<domain>`.
pub fn machine_form<'t>(domain: &Domain, target: &'t str) -> Option<&'t str> {
    domain
        .relative(target)
        .filter(|label| !label.contains('.') && *label != "*")
}

/// Declared records other than addresses and CNAMEs to machines: CNAMEs to
/// other names, TXT and SRV, by name, type and value.
pub type OtherList = [(String, Rdata)];

/// The zone's declared records that `OtherList` holds.
pub fn zone_others(zone: &Zone<'_>) -> Vec<(String, Rdata)> {
    zone.declared
        .iter()
        .filter(|(_, data)| is_other(&zone.domain, data))
        .cloned()
        .collect()
}

/// Whether `data` belongs in `OtherList` rather than among the CNAMEs to
/// machines or the address records.
pub fn is_other(domain: &Domain, data: &Rdata) -> bool {
    match data {
        Rdata::A(_) | Rdata::Aaaa(_) => false,
        Rdata::Cname(target) => machine_form(domain, target).is_none(),
        Rdata::Txt(_) | Rdata::Srv(_) => true,
    }
}

/// Address records as lists hold them: full name (no trailing dot) and
/// address, in `address_order`. The node's and the zone files' readers
/// keep such lists; `zone` renders from `ZoneAddresses` instead.
pub type AddressList<N = String> = [(N, IpAddr)];

/// The one order of address records in every file: by name, A before AAAA,
/// then by address.
pub fn address_order<N: AsRef<str>>(a: &(N, IpAddr), b: &(N, IpAddr)) -> std::cmp::Ordering {
    (a.0.as_ref(), a.1.is_ipv6(), a.1).cmp(&(b.0.as_ref(), b.1.is_ipv6(), b.1))
}

/// Whose address record a line is: a full name, or a machine's, written
/// `<machine>.<domain>` by the renderings themselves (a large clan's
/// hundreds of thousands of machine names are never built as strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    Name(&'a str),
    Machine(&'a str),
}

impl Owner<'_> {
    fn write(&self, out: &mut impl Write, domain: &Domain) -> io::Result<()> {
        match self {
            Owner::Name(name) => out.write_all(name.as_bytes()),
            Owner::Machine(machine) => {
                out.write_all(machine.as_bytes())?;
                out.write_all(b".")?;
                out.write_all(domain.as_str().as_bytes())
            }
        }
    }

    /// The full name's order, without building the name.
    fn cmp(&self, other: &Owner<'_>, domain: &Domain) -> std::cmp::Ordering {
        fn parts<'p>(owner: &Owner<'p>, domain: &'p Domain) -> [&'p [u8]; 3] {
            match *owner {
                Owner::Name(name) => [name.as_bytes(), b"", b""],
                Owner::Machine(machine) => [machine.as_bytes(), b".", domain.as_str().as_bytes()],
            }
        }
        cmp_joined(parts(self, domain), parts(other, domain))
    }
}

/// The order of the concatenations of `a`'s and of `b`'s parts, compared a
/// run of bytes at a time.
fn cmp_joined(a: [&[u8]; 3], b: [&[u8]; 3]) -> std::cmp::Ordering {
    let (mut a, mut b) = (
        a.into_iter().filter(|p| !p.is_empty()),
        b.into_iter().filter(|p| !p.is_empty()),
    );
    let (mut left, mut right) = (a.next(), b.next());
    loop {
        let (l, r) = match (left, right) {
            (Some(l), Some(r)) => (l, r),
            (l, r) => return l.is_some().cmp(&r.is_some()),
        };
        let n = l.len().min(r.len());
        match l[..n].cmp(&r[..n]) {
            std::cmp::Ordering::Equal => {}
            unequal => return unequal,
        }
        left = if n < l.len() { Some(&l[n..]) } else { a.next() };
        right = if n < r.len() { Some(&r[n..]) } else { b.next() };
    }
}

/// Address records as the renderings read them, in `address_order`.
pub trait AddressLines {
    fn lines(&self) -> impl Iterator<Item = (Owner<'_>, IpAddr)>;
}

impl<N: AsRef<str>> AddressLines for AddressList<N> {
    fn lines(&self) -> impl Iterator<Item = (Owner<'_>, IpAddr)> {
        self.iter()
            .map(|(name, address)| (Owner::Name(name.as_ref()), *address))
    }
}

/// A zone's address records as renderings take them: the machines', and
/// the declared ones merged in where they sort, without a list of them all.
pub struct ZoneAddresses<'z> {
    machines: &'z [AddressRecord<'z>],
    /// Positions in `machines` in the order of full names, when that is not
    /// theirs: they are chosen in machine order, which is the full names'
    /// unless one machine's name starts another's (`a` and `a-b`).
    order: Option<Vec<u32>>,
    /// Sorted, each with the number of machine records before it.
    declared: Vec<(usize, &'z str, IpAddr)>,
}

impl<'z> ZoneAddresses<'z> {
    pub fn of(zone: &'z Zone<'_>) -> ZoneAddresses<'z> {
        let declared = zone.declared.iter().filter_map(|(name, data)| match data {
            Rdata::A(address) => Some((name.as_str(), IpAddr::V4(*address))),
            Rdata::Aaaa(address) => Some((name.as_str(), IpAddr::V6(*address))),
            _ => None,
        });
        ZoneAddresses::new(&zone.domain, &zone.addresses.records, declared)
    }

    fn new(
        domain: &Domain,
        machines: &'z [AddressRecord<'z>],
        declared: impl Iterator<Item = (&'z str, IpAddr)>,
    ) -> ZoneAddresses<'z> {
        let line = |r: &AddressRecord<'z>| (Owner::Machine(r.machine), r.address);
        let order = |a: &(Owner<'_>, IpAddr), b: &(Owner<'_>, IpAddr)| {
            a.0.cmp(&b.0, domain)
                .then_with(|| (a.1.is_ipv6(), a.1).cmp(&(b.1.is_ipv6(), b.1)))
        };
        let in_order = machines.windows(2).all(|pair| {
            pair[0].machine == pair[1].machine || order(&line(&pair[0]), &line(&pair[1])).is_lt()
        });
        let order_of_names = (!in_order).then(|| {
            let mut positions: Vec<u32> = (0..machines.len() as u32).collect();
            positions.sort_by(|&a, &b| {
                order(&line(&machines[a as usize]), &line(&machines[b as usize]))
            });
            positions
        });
        let mut declared: Vec<(&str, IpAddr)> = declared.collect();
        declared.sort_unstable_by(address_order);
        // Few declared records: each finds its place by a search. A machine
        // record that sorts the same (an error the compile reports) stays
        // first.
        let declared = declared
            .into_iter()
            .map(|(name, address)| {
                let record = (Owner::Name(name), address);
                let before = |r: &AddressRecord<'z>| order(&line(r), &record).is_le();
                let place = match &order_of_names {
                    Some(order) => order.partition_point(|&i| before(&machines[i as usize])),
                    None => machines.partition_point(before),
                };
                (place, name, address)
            })
            .collect();
        ZoneAddresses {
            machines,
            order: order_of_names,
            declared,
        }
    }
}

impl AddressLines for ZoneAddresses<'_> {
    fn lines(&self) -> impl Iterator<Item = (Owner<'_>, IpAddr)> {
        let (mut next, mut declared) = (0, self.declared.iter().peekable());
        std::iter::from_fn(move || {
            if let Some(&(_, name, address)) = declared.next_if(|d| d.0 == next) {
                return Some((Owner::Name(name), address));
            }
            let position = match &self.order {
                Some(order) => *order.get(next)? as usize,
                None => next,
            };
            let record = self.machines.get(position)?;
            next += 1;
            Some((Owner::Machine(record.machine), record.address))
        })
    }
}

fn family(address: &IpAddr) -> &'static str {
    if address.is_ipv4() { "A" } else { "AAAA" }
}

/// `zone.conf`: unbound `local-data`, a drop-in for the built-in service's
/// file (README.md): the CNAMEs, then the address records, then the other
/// declared records.
pub fn write_conf<'a>(
    out: &mut impl Write,
    domain: &Domain,
    cnames: impl Iterator<Item = Cname<'a>>,
    addresses: &(impl AddressLines + ?Sized),
    others: &OtherList,
) -> io::Result<()> {
    out.write_all(conf_header(domain).as_bytes())?;
    let suffix = conf_cname_suffix(domain);
    for c in cnames {
        write_conf_cname(out, &c, &suffix)?;
    }
    for (owner, address) in addresses.lines() {
        write_conf_address(out, domain, owner, &address)?;
    }
    for (name, data) in others {
        write_conf_other(out, name, data)?;
    }
    Ok(())
}

/// One declared record's line of `zone.conf`. TXT data holds double
/// quotes, so its line is quoted with single ones, as unbound reads it;
/// TXT strings hold neither (`rdata::check_txt`).
pub fn write_conf_other(out: &mut impl Write, name: &str, data: &Rdata) -> io::Result<()> {
    let quote = if matches!(data, Rdata::Txt(_)) {
        '\''
    } else {
        '"'
    };
    writeln!(
        out,
        "local-data: {quote}{name}. {} {data}{quote}",
        data.kind()
    )
}

/// `zone.conf`'s first line.
pub fn conf_header(domain: &Domain) -> String {
    format!("local-zone: \"{domain}.\" transparent\n")
}

/// What ends each CNAME line of `zone.conf` (computed once per zone).
pub fn conf_cname_suffix(domain: &Domain) -> String {
    format!(".{domain}.\"\n")
}

/// One CNAME line of `zone.conf`. Plain write_all, no formatting machinery:
/// this runs once per record.
pub fn write_conf_cname(out: &mut impl Write, c: &Cname<'_>, suffix: &str) -> io::Result<()> {
    out.write_all(b"local-data: \"")?;
    out.write_all(c.host.as_bytes())?;
    out.write_all(b". CNAME ")?;
    out.write_all(c.machine.as_bytes())?;
    out.write_all(suffix.as_bytes())
}

/// One address line of `zone.conf`.
pub fn write_conf_address(
    out: &mut impl Write,
    domain: &Domain,
    owner: Owner<'_>,
    address: &IpAddr,
) -> io::Result<()> {
    out.write_all(b"local-data: \"")?;
    owner.write(out, domain)?;
    write_address_data(out, b". ", address)?;
    out.write_all(b"\"\n")
}

/// `<separator><A|AAAA> <address>`: what follows the owner of an address
/// record in `zone.conf` and `zone.db`, written piece by piece (see
/// `IpText`).
fn write_address_data(out: &mut impl Write, separator: &[u8], address: &IpAddr) -> io::Result<()> {
    out.write_all(separator)?;
    out.write_all(family(address).as_bytes())?;
    out.write_all(b" ")?;
    out.write_all(IpText::of(address).as_bytes())
}

/// `zone.db`: an RFC 1035 master file with absolute names, so it reads the
/// same whatever `$ORIGIN` a server assumes. `addresses` are the machines'
/// A/AAAA records (on a node, merged with its own).
pub fn write_db<'a>(
    out: &mut impl Write,
    domain: &Domain,
    serial: u32,
    cnames: impl Iterator<Item = Cname<'a>>,
    addresses: &(impl AddressLines + ?Sized),
    others: &OtherList,
) -> io::Result<()> {
    write_db_head(out, domain, serial)?;
    write_db_body(out, domain, cnames, addresses, others)
}

/// The SOA record's data for `serial`: no server names, no mailbox (the
/// zone is never transferred).
pub fn soa_data(serial: u32) -> String {
    format!("localhost. nobody.invalid. {serial} {SOA_TIMERS}")
}

/// `zone.db` up to its records: the only part that needs the serial.
pub fn write_db_head(out: &mut impl Write, domain: &Domain, serial: u32) -> io::Result<()> {
    writeln!(out, "$ORIGIN {domain}.")?;
    writeln!(out, "$TTL {TTL}")?;
    writeln!(out, "{domain}. IN SOA {}", soa_data(serial))?;
    writeln!(out, "{domain}. IN NS localhost.")
}

/// The rest of `zone.db`, after `write_db_head`: the address records, the
/// other declared records, the CNAMEs to machines.
pub fn write_db_body<'a>(
    out: &mut impl Write,
    domain: &Domain,
    cnames: impl Iterator<Item = Cname<'a>>,
    addresses: &(impl AddressLines + ?Sized),
    others: &OtherList,
) -> io::Result<()> {
    for (owner, address) in addresses.lines() {
        owner.write(out, domain)?;
        write_address_data(out, b". IN ", &address)?;
        out.write_all(b"\n")?;
    }
    for (name, data) in others {
        writeln!(out, "{name}. IN {} {data}", data.kind())?;
    }
    write_db_cnames(out, domain, cnames)
}

/// The CNAMEs to machines, as `zone.db` ends.
fn write_db_cnames<'a>(
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
            // Canonical hosts are names (LDH, or a wildcard): the million
            // of a large clan go unchecked.
            json_plain(out, host)?;
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
                    // An address's canonical text: digits, dots, colons.
                    Peer::Address(_, v) => json_plain(out, v)?,
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

/// The hash of the canonical input: the exports and, when there are any,
/// the declared records (sorted by name and type, so their order never
/// shows), after a newline.
pub fn canonical_input_sha256(exports: &Exports<'_>, records: &RecordsInput) -> [u8; 32] {
    let mut w = HashingWriter::new(io::sink());
    write_canonical_input(&mut w, exports).expect("writing to a sink cannot fail");
    if !records.is_empty() {
        w.write_all(b"\n").expect("writing to a sink cannot fail");
        serde_json::to_writer(&mut w, records).expect("writing to a sink cannot fail");
    }
    w.finish().expect("writing to a sink cannot fail").1
}

/// Writes a JSON string. Only quotes, backslashes and control characters
/// need escaping (as serde_json escapes them, so the bytes are the same);
/// names and ordinary scope keys have none and are copied as they are.
pub(super) fn json_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    if needs_json_escape(text) {
        serde_json::to_writer(&mut *out, text).map_err(io::Error::other)
    } else {
        json_plain(out, text)
    }
}

/// A JSON string of `text`, which has nothing to escape.
fn json_plain(out: &mut impl Write, text: &str) -> io::Result<()> {
    debug_assert!(!needs_json_escape(text));
    out.write_all(b"\"")?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\"")
}

/// Whether any byte of `text` must be escaped in a JSON string. Every byte
/// is looked at, with no early exit, so the loop runs on vector registers:
/// the canonical input's hash reads every key and host of the exports.
pub(super) fn needs_json_escape(text: &str) -> bool {
    text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_parts_compare_as_their_concatenations() {
        let pieces: [&[u8]; 6] = [b"", b"a", b"a-", b".", b"ab", b"a.clan"];
        for a in [0, 1, 2, 5] {
            for b in 0..6 {
                for c in 0..6 {
                    let left = [pieces[a], pieces[b], pieces[c]];
                    for right in [[pieces[c], pieces[a], b""], [pieces[b], b"", pieces[a]]] {
                        assert_eq!(
                            cmp_joined(left, right),
                            left.concat().cmp(&right.concat()),
                            "{left:?} {right:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn zone_addresses_are_the_machines_and_the_declared_ones_in_name_order() {
        let domain = Domain::parse("clan").unwrap();
        let address = |last: u8, v6: bool| match v6 {
            false => IpAddr::from([10, 0, 0, last]),
            true => IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, u16::from(last)]),
        };
        // "a-b.clan" sorts before "a.clan" though "a" sorts before "a-b".
        let machine_sets: [&[&str]; 4] = [&[], &["b"], &["a", "b", "c0"], &["a", "a-b", "a0", "b"]];
        let declared_sets: [&[&str]; 4] = [
            &[],
            &["a.clan"],
            &["a-b.clan", "a0.clan", "c.clan"],
            &["0.clan", "b.x.clan", "z.clan"],
        ];
        for machines in machine_sets {
            for declared in declared_sets {
                let mut records: Vec<AddressRecord> = machines
                    .iter()
                    .flat_map(|&m| {
                        [(1, true), (2, false), (1, false)].map(|(last, v6)| AddressRecord {
                            machine: m,
                            address: address(last, v6),
                            scope: "s:i:r:m",
                            scope_index: 0,
                            network: "s:i",
                        })
                    })
                    .collect();
                // As `addresses::select` gives them: machine, A before AAAA, address.
                records.sort_by_key(|r| (r.machine, r.address.is_ipv6(), r.address));
                let extra: Vec<(&str, IpAddr)> = declared
                    .iter()
                    .rev()
                    .flat_map(|&n| [(n, address(3, false)), (n, address(1, false))])
                    .collect();
                let zone = ZoneAddresses::new(&domain, &records, extra.iter().copied());
                let lines: Vec<(String, IpAddr)> = zone
                    .lines()
                    .map(|(owner, address)| {
                        let mut name = Vec::new();
                        owner.write(&mut name, &domain).unwrap();
                        (String::from_utf8(name).unwrap(), address)
                    })
                    .collect();
                let mut expected: Vec<(String, IpAddr)> = records
                    .iter()
                    .map(|r| (format!("{}.clan", r.machine), r.address))
                    .chain(extra.iter().map(|&(n, a)| (n.to_owned(), a)))
                    .collect();
                expected.sort_by(address_order);
                assert_eq!(lines, expected, "{machines:?} {declared:?}");
            }
        }
    }
}
