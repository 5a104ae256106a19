//! Reading zones back: the strict `zone.conf` grammar (what a signed mesh file
//! may carry) and our `zone.db` master files. `diff` and `install` read zones
//! only through here.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::artifacts::render::{self, Cname};
use crate::dns::ip_text;
use crate::dns::name::{self, Domain, NameFilter, NameHash, Quoted};
use crate::dns::rdata::Rdata;
use crate::sys::{digest, halves};

/// A zone as read from a file: the domain, its CNAMEs (host -> machine),
/// sorted by host, each host once, and its address records in
/// `render::address_order`.
#[derive(Debug, Clone)]
pub struct ZoneData {
    pub domain: Domain,
    // Every host and machine name back to back (`Names`), the CNAMEs as
    // spans into them, sorted by host: a node reads a zone of a million
    // records on every update, and two allocations per record were most of
    // that.
    names: Names,
    cnames: Vec<(Span, Span)>,
    addresses: Vec<(String, IpAddr)>,
    /// Declared records other than addresses and CNAMEs to machines
    /// (`render::OtherList`), sorted.
    others: Vec<(String, Rdata)>,
}

/// Where a name lies in `ZoneData::names`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// The names of a zone's CNAMEs, one after the other, in one string or in
/// two: a zone read in halves keeps each half's names where that half put
/// them, the back's at spans from `back_from` on. Copying them after the
/// front's would fill tens of megabytes of fresh memory on one core.
#[derive(Debug, Clone)]
struct Names {
    front: String,
    back: String,
    /// Where the back's spans start; `u32::MAX` while there is no back.
    back_from: u32,
}

impl Names {
    fn new() -> Names {
        Names {
            front: String::new(),
            back: String::new(),
            back_from: u32::MAX,
        }
    }

    fn get(&self, span: Span) -> &str {
        let (text, start) = if span.start < self.back_from {
            (&self.front, span.start)
        } else {
            (&self.back, span.start - self.back_from)
        };
        &text[start as usize..(start + span.len) as usize]
    }

    /// Adds `name` after the last one.
    fn push(&mut self, name: &str) -> Result<Span, String> {
        let (text, base) = if self.back_from == u32::MAX {
            (&mut self.front, 0)
        } else {
            (&mut self.back, self.back_from)
        };
        let start = u32::try_from(text.len())
            .ok()
            .and_then(|len| len.checked_add(base));
        let len = u32::try_from(name.len()).ok();
        let (Some(start), Some(len)) = (start, len) else {
            return Err("the zone's names exceed 4 GiB".into());
        };
        if start.checked_add(len).is_none_or(|end| end == u32::MAX) {
            return Err("the zone's names exceed 4 GiB".into());
        }
        text.push_str(name);
        Ok(Span { start, len })
    }

    /// Takes `back`, the names of a zone read on its own, as the back; its
    /// spans move by the returned shift.
    fn join(&mut self, back: Names) -> Result<u32, String> {
        if self.back_from != u32::MAX || back.back_from != u32::MAX {
            return Err("a zone read in more than two parts".into());
        }
        let shift = u32::try_from(self.front.len())
            .ok()
            .filter(|shift| {
                u32::try_from(back.front.len())
                    .ok()
                    .and_then(|len| shift.checked_add(len))
                    .is_some_and(|end| end < u32::MAX)
            })
            .ok_or("the zone's names exceed 4 GiB")?;
        self.back = back.front;
        self.back_from = shift;
        Ok(shift)
    }
}

impl PartialEq for ZoneData {
    fn eq(&self, other: &ZoneData) -> bool {
        self.domain == other.domain
            && self.addresses == other.addresses
            && self.others == other.others
            && self.cnames.len() == other.cnames.len()
            && self.cnames().eq(other.cnames())
    }
}

impl Eq for ZoneData {}

impl ZoneData {
    pub fn new(domain: Domain) -> ZoneData {
        ZoneData {
            domain,
            names: Names::new(),
            cnames: Vec::new(),
            addresses: Vec::new(),
            others: Vec::new(),
        }
    }

    /// Declared CNAMEs to other names than machines', TXT and SRV records.
    pub fn others(&self) -> &[(String, Rdata)] {
        &self.others
    }

    /// Address records: full name (no trailing dot) and address.
    pub fn addresses(&self) -> &[(String, IpAddr)] {
        &self.addresses
    }

    /// The same zone with other address records (sorted here).
    pub fn with_addresses(mut self, mut addresses: Vec<(String, IpAddr)>) -> ZoneData {
        addresses.sort_unstable_by(render::address_order);
        self.addresses = addresses;
        self
    }

    pub fn cnames(&self) -> impl Iterator<Item = Cname<'_>> {
        self.cnames.iter().map(|&(host, machine)| Cname {
            host: self.names.get(host),
            machine: self.names.get(machine),
        })
    }

    pub fn len(&self) -> usize {
        self.cnames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cnames.is_empty()
    }

    /// The machine `host` is a CNAME to.
    pub fn target(&self, host: &str) -> Option<&str> {
        self.cnames
            .binary_search_by(|&(h, _)| self.names.get(h).cmp(host))
            .ok()
            .map(|i| self.names.get(self.cnames[i].1))
    }

    /// Adds `host CNAME target`, checking names the way `zone` does: a
    /// target of a machine's form `<label>.<domain>.` makes one of the
    /// CNAMEs to machines (an endpoint's, or a declared alias); any other a
    /// declared CNAME among the other records.
    fn add(&mut self, host: &str, target: &str) -> Result<(), String> {
        let machine_target = target
            .strip_suffix('.')
            .and_then(|t| render::machine_form(&self.domain, t));
        let Some(machine) = machine_target else {
            return self.add_other(host, "CNAME", target);
        };
        let checked_host =
            name::normalize_endpoint(host).map_err(|e| format!("host {}: {e}", Quoted(host)))?;
        if checked_host != host.strip_suffix('.').unwrap_or(host) {
            return Err(format!(
                "host {} is not in canonical lower case",
                Quoted(host)
            ));
        }
        let Some(relative) = self.domain.relative(&checked_host) else {
            return Err(format!(
                "host {} is not below the domain {:?}",
                Quoted(host),
                self.domain.as_str()
            ));
        };
        if relative == "*" {
            return Err(format!(
                "host {} is a wildcard for every name of the domain",
                Quoted(host)
            ));
        }
        self.domain
            .check_machine(machine)
            .map_err(|e| format!("target {}: {e}", Quoted(target)))?;
        if relative == machine {
            return Err(format!("host {} is a CNAME to itself", Quoted(host)));
        }
        let host = self.names.push(&checked_host)?;
        let machine = self.names.push(machine)?;
        self.cnames.push((host, machine));
        Ok(())
    }

    /// Adds a declared record that is no address and no CNAME to a machine:
    /// `name.` (TXT at the domain itself too) and data in canonical text.
    fn add_other(&mut self, name: &str, kind: &str, text: &str) -> Result<(), String> {
        let bare = name
            .strip_suffix('.')
            .ok_or_else(|| format!("name {} must end with '.'", Quoted(name)))?;
        let checked = name::normalize_record_name(bare, matches!(kind, "TXT" | "SRV"))
            .map_err(|e| format!("name {}: {e}", Quoted(name)))?;
        if checked != bare {
            return Err(format!(
                "name {} is not in canonical lower case",
                Quoted(name)
            ));
        }
        if kind == "SRV" && !name::is_service_name(bare) {
            return Err(format!(
                "name {} of an SRV record is not _service._proto.<name>",
                Quoted(name)
            ));
        }
        let at_apex = bare == self.domain.as_str();
        if !(at_apex && kind == "TXT") && self.domain.relative(bare).is_none() {
            return Err(format!(
                "name {} is not below the domain {:?}",
                Quoted(name),
                self.domain.as_str()
            ));
        }
        let data = Rdata::parse(kind, text).map_err(|e| format!("name {}: {e}", Quoted(name)))?;
        if let Rdata::Cname(target) = &data
            && target == bare
        {
            return Err(format!("host {} is a CNAME to itself", Quoted(name)));
        }
        self.others.push((bare.to_owned(), data));
        Ok(())
    }

    /// Adds `name A|AAAA text`, any name below the domain: a machine's, a
    /// declared one, or (in a node's zone file) one of the node's own.
    fn add_address(&mut self, name: &str, kind: &str, text: &str) -> Result<(), String> {
        let bare = name
            .strip_suffix('.')
            .ok_or_else(|| format!("name {} must end with '.'", Quoted(name)))?;
        let checked =
            name::normalize_host(bare).map_err(|e| format!("name {}: {e}", Quoted(name)))?;
        if checked != bare {
            return Err(format!(
                "name {} is not in canonical lower case",
                Quoted(name)
            ));
        }
        self.domain.relative(bare).ok_or_else(|| {
            format!(
                "name {} is not below the domain {:?}",
                Quoted(name),
                self.domain.as_str()
            )
        })?;
        let address = ip_text::parse_canonical(text)
            .filter(|&(address, canonical)| canonical && (kind == "A") == address.is_ipv4())
            .map(|(address, _)| address)
            .ok_or_else(|| {
                format!(
                    "{} is not an {kind} address in canonical form",
                    Quoted(text)
                )
            })?;
        self.addresses.push((bare.to_owned(), address));
        Ok(())
    }

    /// Sorts (cheap for the sorted files we write), refuses a host twice and
    /// CNAME chains longer than a declared alias to an endpoint (so no
    /// loops). A name has either a CNAME or other records.
    fn finish(mut self) -> Result<ZoneData, String> {
        self.others.sort_unstable();
        if let Some(pair) = self.others.windows(2).find(|p| p[0] == p[1]) {
            return Err(format!(
                "the record {} {} {} appears twice",
                Quoted(&pair[0].0),
                pair[0].1.kind(),
                pair[0].1
            ));
        }
        self.addresses.sort_unstable_by(render::address_order);
        if let Some(pair) = self.addresses.windows(2).find(|p| p[0] == p[1]) {
            return Err(format!(
                "the address record {} {} appears twice",
                Quoted(&pair[0].0),
                pair[0].1
            ));
        }
        let names = &self.names;
        let host_of = |c: &(Span, Span)| names.get(c.0);
        // Zones we write are sorted already: one pass (on two cores) says so.
        let sorted = |records: &[(Span, Span)]| {
            records
                .windows(2)
                .all(|pair| host_of(&pair[0]) < host_of(&pair[1]))
        };
        let middle = self.cnames.len() / 2;
        let halves_sorted = halves::halves(&self.cnames, sorted);
        let sorted = halves_sorted.0
            && halves_sorted.1
            && sorted(&self.cnames[middle.saturating_sub(1)..(middle + 1).min(self.cnames.len())]);
        if !sorted {
            self.cnames.sort_unstable_by(|a, b| {
                (host_of(a), names.get(a.1)).cmp(&(host_of(b), names.get(b.1)))
            });
            if let Some(pair) = self
                .cnames
                .windows(2)
                .find(|pair| host_of(&pair[0]) == host_of(&pair[1]))
            {
                return Err(format!("host {} appears twice", Quoted(host_of(&pair[0]))));
            }
        }
        if let Some(name) = self.first_address_at_a_cname() {
            return Err(format!(
                "{} has both a CNAME and an address record",
                Quoted(name)
            ));
        }
        if let Some(host) = self.chained_host() {
            return Err(format!(
                "host {} is a CNAME to a name that is a CNAME to another (a chain \
                 longer than an alias of an endpoint, or a loop)",
                Quoted(host)
            ));
        }
        self.check_others()?;
        Ok(self)
    }

    /// The first address record's name that is also a CNAME's host. Both
    /// lists are sorted by name, so one walk finds it; the walk gallops
    /// over the hosts, as a million of them may lie between two machines.
    fn first_address_at_a_cname(&self) -> Option<&str> {
        let host = |c: &(Span, Span)| self.names.get(c.0);
        let mut rest = &self.cnames[..];
        for (name, _) in &self.addresses {
            let mut ahead = 1;
            while ahead < rest.len() && host(&rest[ahead - 1]) < name.as_str() {
                ahead *= 2;
            }
            let ahead = ahead.min(rest.len());
            rest = &rest[rest[..ahead].partition_point(|c| host(c) < name.as_str())..];
            if rest.first().is_some_and(|c| host(c) == name) {
                return Some(name);
            }
        }
        None
    }

    /// The other records' rules across the zone: a CNAME alone at its
    /// name, and a declared CNAME never the start of a longer chain.
    fn check_others(&self) -> Result<(), String> {
        let has_address = |name: &str| {
            self.addresses
                .binary_search_by(|(n, _)| n.as_str().cmp(name))
                .is_ok()
        };
        // The other records are sorted by name (then type, CNAME before TXT
        // and SRV): a name's records are neighbours, found by search.
        let records_at = |name: &str| {
            let start = self.others.partition_point(|(n, _)| n.as_str() < name);
            let end = self.others.partition_point(|(n, _)| n.as_str() <= name);
            &self.others[start..end]
        };
        let other_cname = |name: &str| records_at(name).iter().any(|(_, data)| data.is_cname());
        for (name, data) in &self.others {
            let not_alone = self.target(name).is_some()
                || (data.is_cname() && (has_address(name) || records_at(name).len() > 1));
            if not_alone {
                return Err(format!("{} has a CNAME and other records", Quoted(name)));
            }
            let Rdata::Cname(target) = data else { continue };
            let chained = other_cname(target)
                || self
                    .target(target)
                    .is_some_and(|m| self.target(&self.domain.machine_name(m)).is_some());
            if chained {
                return Err(format!(
                    "host {} is a CNAME to {}, which leads to another CNAME",
                    Quoted(name),
                    Quoted(target)
                ));
            }
        }
        Ok(())
    }

    /// The first host (in host order) that points to a machine whose name is
    /// a CNAME to a machine whose name is a CNAME again: a chain of three
    /// or a loop. (A declared alias to an endpoint is a chain of two.) The
    /// names CNAMEs point to that are CNAMEs themselves are found first: a
    /// `NameFilter` of the machines' names
    /// rules out all but about one host in fifty; only those it lets
    /// through are checked exactly, against the machines of the records. A
    /// hash set over every name would cost a cache miss per record. Each
    /// pass reads every record, so two cores share it.
    fn chained_host(&self) -> Option<&str> {
        let names = &self.names;
        let machine = |&(_, machine): &(Span, Span)| names.get(machine);
        let relative = |&(host, _): &(Span, Span)| self.domain.relative(names.get(host));
        // Sized for machines that serve eight names each: a million records'
        // filter (256 KB) then stays in a core's cache, and one that does not
        // is slower than the exact checks it saves (README.md, "Benchmarks").
        // Fewer names per machine only let more hosts through.
        let filters = halves::halves(&self.cnames, |records| {
            let mut filter = NameFilter::with_capacity(self.cnames.len() / 8);
            records.iter().for_each(|c| filter.insert(machine(c)));
            filter
        });
        let filter = filters.0.union(&filters.1);
        let candidates = names_found(&self.cnames, |c| {
            relative(c).filter(|r| filter.may_contain(r))
        });
        if candidates.is_empty() {
            return None;
        }
        let shadowed = names_found(&self.cnames, |c| {
            Some(machine(c)).filter(|m| candidates.contains(m))
        });
        if shadowed.is_empty() {
            return None;
        }
        self.cnames
            .iter()
            .find(|c| {
                relative(c).is_some_and(|r| shadowed.contains(r)) && shadowed.contains(machine(c))
            })
            .map(|&(host, _)| names.get(host))
    }
}

/// The names `find` finds in `records`, read on two cores. Only looked up,
/// never iterated: the set's order cannot leak out.
fn names_found<'n>(
    records: &[(Span, Span)],
    find: impl Fn(&(Span, Span)) -> Option<&'n str> + Sync,
) -> HashSet<&'n str, NameHash> {
    let (mut names, more) = halves::halves(records, |half| {
        half.iter()
            .filter_map(&find)
            .collect::<HashSet<_, NameHash>>()
    });
    names.extend(more);
    names
}

/// Parses a `zone.conf` body strictly: exactly one leading
/// `local-zone: "<domain>." transparent` line, then only
/// `local-data: "<host>. CNAME <machine>.<domain>."` and
/// `local-data: "<machine>.<domain>. A|AAAA <address>"` lines, each ending in
/// a newline. Any other unbound directive is refused.
pub fn parse_conf(text: &str) -> Result<ZoneData, String> {
    let Some((first, records)) = text.split_once('\n').filter(|_| text.ends_with('\n')) else {
        return Err("the zone does not end with a newline (truncated?)".into());
    };
    let domain = first
        .strip_prefix("local-zone: \"")
        .and_then(|rest| rest.strip_suffix(".\" transparent"))
        .ok_or_else(|| {
            format!(
                "line 1: expected `local-zone: \"<domain>.\" transparent`, found {}",
                Quoted(first)
            )
        })?;
    let domain = Domain::parse(domain)
        .ok()
        .filter(|d| d.as_str() == domain)
        .ok_or_else(|| {
            format!(
                "line 1: the domain {} is not a canonical lower-case name without a \
                 trailing dot",
                Quoted(domain)
            )
        })?;
    read_in_halves(records, 2, |lines, first_line| {
        let mut zone = ZoneData::new(domain.clone());
        zone.add_conf_lines(lines, first_line).map(|()| zone)
    })?
    .finish()
}

/// A `zone.conf` body read (`parse_conf`; `None` if it is not UTF-8) while a
/// second core takes its SHA-256: the two take about as long as each other,
/// and whoever reads a signed or built zone checks both. The parse counts
/// only if the hash is the one expected.
pub fn parse_conf_hashed(body: &[u8]) -> (Option<Result<ZoneData, String>>, [u8; 32]) {
    halves::join(
        || std::str::from_utf8(body).ok().map(parse_conf),
        || digest::sha256(body),
    )
}

/// The zone `read` makes of `records` (whole lines, the first of them line
/// `first_line` of the file), read in two halves on two cores when there
/// are many, split at a line end near the middle. Line numbers in errors
/// count from the file's first line either way, and the front's error is
/// the one reported: it comes first in the file.
fn read_in_halves(
    records: &str,
    first_line: usize,
    read: impl Fn(&str, &(dyn Fn() -> usize + Sync)) -> Result<ZoneData, String> + Sync,
) -> Result<ZoneData, String> {
    /// Below this, one core reads the records; above, two.
    const PARALLEL_FROM: usize = 1 << 20;
    let split = records[records.len() / 2..]
        .find('\n')
        .map(|at| records.len() / 2 + at + 1)
        .filter(|_| records.len() >= PARALLEL_FROM)
        .unwrap_or(records.len());
    let (front, back) = records.split_at(split);
    if back.is_empty() {
        return read(front, &|| first_line);
    }
    let (front_zone, back_zone) = halves::join(
        || read(front, &|| first_line),
        || read(back, &|| first_line + front.matches('\n').count()),
    );
    let mut zone = front_zone?;
    zone.append(back_zone?)?;
    Ok(zone)
}

impl ZoneData {
    /// Adds the record lines of a `zone.conf` (each ending in a newline),
    /// the first of them line `first_line()` of the file (counted only for
    /// an error).
    fn add_conf_lines(
        &mut self,
        lines: &str,
        first_line: impl Fn() -> usize,
    ) -> Result<(), String> {
        for (index, line) in lines.split_terminator('\n').enumerate() {
            let at = |e: String| format!("line {}: {e}", first_line() + index);
            let record = conf_record(line).ok_or_else(|| {
                at(format!(
                    "only `local-data: \"<name>. <type> <data>\"` lines (CNAME, A, AAAA, SRV; \
                     TXT quoted with ') may follow the local-zone line, found {}",
                    Quoted(line)
                ))
            })?;
            let (name, kind, data) = record;
            match kind {
                "A" | "AAAA" => self.add_address(name, kind, data),
                "CNAME" if !name.ends_with('.') => {
                    Err(format!("host {} must end with '.'", Quoted(name)))
                }
                "CNAME" => self.add(name, data),
                _ => self.add_other(name, kind, data),
            }
            .map_err(at)?;
        }
        Ok(())
    }

    /// Adds the records of `other` (of the same domain, read on its own)
    /// after these.
    fn append(&mut self, other: ZoneData) -> Result<(), String> {
        let shift = self.names.join(other.names)?;
        self.cnames
            .extend(other.cnames.into_iter().map(|(host, machine)| {
                let moved = |s: Span| Span {
                    start: s.start + shift,
                    len: s.len,
                };
                (moved(host), moved(machine))
            }));
        self.addresses.extend(other.addresses);
        self.others.extend(other.others);
        Ok(())
    }
}

/// One `zone.conf` record line: name, type and data. Only TXT data has
/// spaces inside quotes, and only its line is quoted with `'`.
fn conf_record(line: &str) -> Option<(&str, &str, &str)> {
    let rr = line
        .strip_prefix("local-data: \"")
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| {
            line.strip_prefix("local-data: '")
                .and_then(|rest| rest.strip_suffix('\''))
        })?;
    let quoted_with = line.as_bytes()[12];
    let (name, rest) = rr.split_once(' ')?;
    let (kind, data) = rest.split_once(' ')?;
    let fits = match kind {
        "CNAME" | "A" | "AAAA" => !data.contains(' ') && quoted_with == b'"',
        "SRV" => quoted_with == b'"',
        "TXT" => quoted_with == b'\'',
        _ => false,
    };
    fits.then_some((name, kind, data))
}

/// Reads the CNAMEs and address records of an RFC 1035 master file as `zone`
/// and `install` write them (absolute names, one record per line). SOA and NS
/// records are accepted and not compared.
pub fn parse_db(text: &str) -> Result<ZoneData, String> {
    // The lines up to the one that sets the zone ($ORIGIN or the SOA) one
    // by one; the records after them, a node's whole zone, in halves.
    let mut zone: Option<ZoneData> = None;
    let mut head = (0, 0);
    for line in text.split_inclusive('\n') {
        head = (head.0 + line.len(), head.1 + 1);
        add_db_lines(&mut zone, line, || head.1)?;
        if zone.is_some() {
            break;
        }
    }
    // The line that set the zone holds no record.
    let Some(ZoneData { domain, .. }) = zone else {
        return Err("no $ORIGIN or SOA record: not a zone file".into());
    };
    read_in_halves(&text[head.0..], head.1 + 1, |lines, first_line| {
        let mut zone = Some(ZoneData::new(domain.clone()));
        add_db_lines(&mut zone, lines, first_line)?;
        Ok(zone.expect("set before the lines"))
    })?
    .finish()
}

/// Adds the records of master-file `lines` to `zone` (set by the first
/// $ORIGIN or SOA among them if not yet), the first of them line
/// `first_line()` of the file (counted only for an error).
fn add_db_lines(
    zone: &mut Option<ZoneData>,
    lines: &str,
    first_line: impl Fn() -> usize,
) -> Result<(), String> {
    for (index, raw) in lines.lines().enumerate() {
        // A comment starts at a ';' outside TXT strings (which may hold one).
        let strings_end = raw.rfind('"').map_or(0, |at| at + 1);
        let comment_at = raw[strings_end..]
            .find(';')
            .map_or(raw.len(), |at| strings_end + at);
        let line = raw[..comment_at].trim();
        if line.is_empty() || line.starts_with("$TTL") {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", first_line() + index);
        if let Some(origin) = line.strip_prefix("$ORIGIN") {
            let domain = Domain::parse(origin.trim()).map_err(|e| at(e.to_string()))?;
            zone.get_or_insert(ZoneData::new(domain));
            continue;
        }
        // Records we read have at most the ten fields of an SOA.
        let mut fields = [""; 12];
        let mut count = 0;
        for field in line.split_ascii_whitespace() {
            if count == fields.len() {
                return Err(at(format!("unsupported record {}", Quoted(raw))));
            }
            fields[count] = field;
            count += 1;
        }
        let fields = &fields[..count];
        let Some(kind_at) = fields
            .iter()
            .position(|f| matches!(*f, "SOA" | "NS" | "A" | "AAAA" | "CNAME" | "TXT" | "SRV"))
        else {
            return Err(at(format!("unsupported record {}", Quoted(raw))));
        };
        match fields[kind_at] {
            "SOA" if zone.is_none() => {
                let domain = Domain::parse(fields[0]).map_err(|e| at(e.to_string()))?;
                *zone = Some(ZoneData::new(domain));
            }
            "CNAME" => {
                let zone = zone
                    .as_mut()
                    .ok_or_else(|| at("a CNAME before $ORIGIN or SOA".into()))?;
                let target = fields
                    .get(kind_at + 1)
                    .ok_or_else(|| at("a CNAME without target".into()))?;
                zone.add(fields[0], target).map_err(at)?;
            }
            kind @ ("A" | "AAAA") => {
                let zone = zone
                    .as_mut()
                    .ok_or_else(|| at("an address before $ORIGIN or SOA".into()))?;
                let value = fields
                    .get(kind_at + 1)
                    .ok_or_else(|| at("an address record without address".into()))?;
                zone.add_address(fields[0], kind, value).map_err(at)?;
            }
            kind @ ("TXT" | "SRV") => {
                let zone = zone
                    .as_mut()
                    .ok_or_else(|| at(format!("a {kind} record before $ORIGIN or SOA")))?;
                let data = if kind == "TXT" {
                    line.find('"').map_or("", |at| &line[at..])
                } else {
                    &fields[kind_at + 1..].join(" ")
                };
                zone.add_other(fields[0], kind, data).map_err(at)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The SOA serial of a master file as `zone` and `install` write it.
pub fn db_serial(text: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let at = fields.iter().position(|f| *f == "SOA")?;
        fields.get(at + 3)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "local-zone: \"clan.\" transparent\n\
                        local-data: \"music.clan. CNAME alpha.clan.\"\n";

    #[test]
    fn reads_conf() {
        let zone = parse_conf(CONF).unwrap();
        assert_eq!(zone.domain.as_str(), "clan");
        assert_eq!(zone.target("music.clan"), Some("alpha"));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "local-zone: \"clan.\" transparent",
            "local-zone: \"clan.\" static\n",
            "local-zone: \"clan.\" transparent\nforward-zone:\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. A 1.2.3\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. A 200::1\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. AAAA 0200::1\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. AAAA 200:0::1\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.org. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. A 1.2.3.4\"\n\
             local-data: \"alpha.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.clan.\"\n\
             local-data: \"music.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.org\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.org. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"Music.clan. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan.  CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\n\n",
            "local-zone: \"clan.\" transparent\r\n",
            "local-zone: \"clan..\" transparent\n",
            "local-zone: \"Clan.\" transparent\n",
            // A loop and chains of three.
            "local-zone: \"clan.\" transparent\nlocal-data: \"a.clan. CNAME b.clan.\"\n\
             local-data: \"b.clan. CNAME a.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"a.clan. CNAME b.clan.\"\n\
             local-data: \"b.clan. CNAME c.clan.\"\nlocal-data: \"c.clan. CNAME d.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"x.clan. CNAME y.sub.clan.\"\n\
             local-data: \"y.sub.clan. CNAME z.org.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"x.clan. CNAME a.sub.clan.\"\n\
             local-data: \"a.sub.clan. CNAME b.clan.\"\nlocal-data: \"b.clan. CNAME c.clan.\"\n",
            // Wildcards only as endpoints, never for the whole domain.
            "local-zone: \"clan.\" transparent\nlocal-data: \"*.clan. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"*.s3.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"a.*.clan. CNAME alpha.clan.\"\n",
            // Declared records: types, quoting, names, escapes, exclusivity.
            "local-zone: \"clan.\" transparent\nlocal-data: \"p.clan. MX 10 m.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"p.clan. TXT \\\"x\\\"\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: 'p.clan. TXT \"x\\\"y\"'\n",
            "local-zone: \"clan.\" transparent\nlocal-data: 'p.clan. TXT \"x\"' ; z\n",
            "local-zone: \"clan.\" transparent\nlocal-data: 'p.clan. SRV 1 1 1 a.clan.'\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"p.clan. SRV 1 1 1 a.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"_a._tcp.org. SRV 1 1 1 a.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"_a.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"clan. CNAME x.org.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"p.clan. CNAME x.org.\"\n\
             local-data: 'p.clan. TXT \"y\"'\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"p.clan. CNAME x.org.\"\n\
             local-data: \"p.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.clan.\"\n\
             local-data: 'music.clan. TXT \"y\"'\n",
        ] {
            assert!(parse_conf(bad).is_err(), "{bad:?} accepted");
        }
        let twice = format!("{CONF}local-data: \"music.clan. CNAME beta.clan.\"\n");
        assert!(parse_conf(&twice).unwrap_err().contains("twice"));
    }

    /// An address record at a CNAME's host is found wherever the two meet
    /// among many hosts and addresses: first, last, between, or nowhere.
    #[test]
    fn finds_an_address_at_a_cname_anywhere() {
        let hosts: Vec<String> = (0..300).map(|i| format!("h{i:03}.clan")).collect();
        let conf = |addresses: &[&str]| {
            let mut conf = String::from("local-zone: \"clan.\" transparent\n");
            for host in &hosts {
                conf += &format!("local-data: \"{host}. CNAME m.clan.\"\n");
            }
            for name in addresses {
                conf += &format!("local-data: \"{name}. A 10.0.0.1\"\n");
            }
            conf
        };
        let cases: [&[&str]; 7] = [
            &["a.clan", "m.clan", "z.clan"],
            &["h000.clan"],
            &["h299.clan"],
            &["a.clan", "h150.clan", "z.clan"],
            &["h0.clan", "h1000.clan", "h149.clan", "h2.clan", "h299.clan"],
            &["h0.clan", "h1000.clan", "h149x.clan", "h2.clan", "h3.clan"],
            &["h29.clan", "h2999.clan", "h30.clan"],
        ];
        for addresses in cases {
            let at_a_host = addresses.iter().find(|a| hosts.iter().any(|h| h == *a));
            let result = parse_conf(&conf(addresses));
            match at_a_host {
                Some(name) => assert_eq!(
                    result.unwrap_err(),
                    format!("\"{name}\" has both a CNAME and an address record")
                ),
                None => assert!(result.is_ok(), "{addresses:?}: {:?}", result.err()),
            }
        }
    }

    /// Every declared type reads back from either file as the same zone.
    #[test]
    fn reads_declared_records_from_both_files() {
        let conf = "local-zone: \"clan.\" transparent\n\
                    local-data: \"*.s3.clan. CNAME gamma.clan.\"\n\
                    local-data: \"git.clan. CNAME forge.clan.\"\n\
                    local-data: \"forge.clan. CNAME beta.clan.\"\n\
                    local-data: \"printer.clan. A 192.168.1.20\"\n\
                    local-data: \"_ldap._tcp.clan. SRV 10 5 389 alpha.clan.\"\n\
                    local-data: 'clan. TXT \"v=spf1 -all\" \"a; b\"'\n\
                    local-data: \"docs.clan. CNAME example.org.\"\n";
        let zone = parse_conf(conf).unwrap();
        assert_eq!(zone.target("*.s3.clan"), Some("gamma"));
        assert_eq!(zone.target("git.clan"), Some("forge"));
        let others: Vec<String> = zone
            .others()
            .iter()
            .map(|(n, d)| format!("{n} {} {d}", d.kind()))
            .collect();
        assert_eq!(
            others,
            [
                "_ldap._tcp.clan SRV 10 5 389 alpha.clan.",
                "clan TXT \"v=spf1 -all\" \"a; b\"",
                "docs.clan CNAME example.org."
            ]
        );
        let mut db = Vec::new();
        render::write_db(
            &mut db,
            &zone.domain,
            7,
            zone.cnames(),
            zone.addresses(),
            zone.others(),
        )
        .unwrap();
        let db = String::from_utf8(db).unwrap();
        assert!(parse_db(&db).unwrap() == zone, "{db}");
    }

    /// A body over 1 MB is read in two halves on two cores: the same zone,
    /// and errors in either half name their line in the whole file.
    #[test]
    fn large_bodies_read_in_halves_like_small_ones() {
        let lines: Vec<String> = (0..40_000)
            .map(|i| {
                format!(
                    "local-data: \"host-{i:06}.clan. CNAME m{}.clan.\"\n",
                    i % 97
                )
            })
            .collect();
        let whole = format!("{CONF}{}", lines.concat());
        assert!(whole.len() > 1 << 20);
        let zone = parse_conf(&whole).unwrap();
        assert_eq!(zone.len(), 40_001);
        assert_eq!(zone.target("host-039999.clan"), Some("m35"));
        // Every kind of record from the back half too, where zone.conf
        // has its addresses and declared records.
        let tail = "local-data: \"printer.clan. A 192.168.1.20\"\n\
                    local-data: 'clan. TXT \"v=spf1 -all\"'\n\
                    local-data: \"_ldap._tcp.clan. SRV 10 5 389 m1.clan.\"\n";
        let with_tail = parse_conf(&format!("{whole}{tail}")).unwrap();
        assert_eq!(with_tail.addresses().len(), 1);
        assert_eq!(with_tail.others().len(), 2);
        for bad_line in [3, 20_000, 39_999] {
            let mut broken = lines.clone();
            broken[bad_line - 2] = "forward-zone:\n".into();
            let err = parse_conf(&format!("{CONF}{}", broken.concat())).unwrap_err();
            assert!(
                err.starts_with(&format!("line {}: ", bad_line + 1)),
                "{err}"
            );
        }
        let mut twice = lines.clone();
        twice[39_000] = lines[10].clone();
        let err = parse_conf(&format!("{CONF}{}", twice.concat())).unwrap_err();
        assert!(err.contains("\"host-000010.clan\" appears twice"), "{err}");
        // Out of order only where the sorted check's two halves meet.
        let head = "local-zone: \"clan.\" transparent\n";
        let mut swapped = lines.clone();
        swapped.swap(19_999, 20_000);
        let reordered = parse_conf(&format!("{head}{}", swapped.concat())).unwrap();
        // (Compared without Debug: a failure would print megabytes.)
        let in_order = parse_conf(&format!("{head}{}", lines.concat())).unwrap();
        assert!(reordered == in_order, "the swapped records were not sorted");
        // A host named like a machine, among many the filter lets through:
        // an alias (a chain of two) is fine, a chain of three is not.
        let alias = format!("{whole}local-data: \"m5.clan. CNAME m6.clan.\"\n");
        assert!(parse_conf(&alias).is_ok());
        let chain = format!("{alias}local-data: \"m6.clan. CNAME m7.clan.\"\n");
        let Err(err) = parse_conf(&chain) else {
            panic!("a chain of three accepted");
        };
        assert!(
            err.contains("\"m5.clan\" is a CNAME to a name that is a CNAME"),
            "{err}"
        );
    }

    /// Names read in two parts read back from either, at the spans their
    /// zone holds; a third part is refused, never misread.
    #[test]
    fn names_in_two_parts_read_back() {
        let mut front = Names::new();
        let mut back = Names::new();
        let front_spans: Vec<Span> = ["alpha", "b", "music.clan"]
            .iter()
            .map(|n| front.push(n).unwrap())
            .collect();
        let back_spans: Vec<Span> = ["x", "wiki.clan", "gamma"]
            .iter()
            .map(|n| back.push(n).unwrap())
            .collect();
        let shift = front.join(back).unwrap();
        assert_eq!(shift, 16);
        let moved = |s: &Span| Span {
            start: s.start + shift,
            len: s.len,
        };
        let read: Vec<&str> = front_spans
            .iter()
            .map(|s| front.get(*s))
            .chain(back_spans.iter().map(|s| front.get(moved(s))))
            .collect();
        assert_eq!(
            read,
            ["alpha", "b", "music.clan", "x", "wiki.clan", "gamma"]
        );
        let after = front.push("delta").unwrap();
        assert_eq!(front.get(after), "delta");
        assert_eq!(front.get(moved(&back_spans[2])), "gamma");
        assert!(front.join(Names::new()).is_err());
    }

    /// A node's zone file is read in halves too: the same zone as its
    /// `zone.conf`, errors at their own line numbers, the head before the
    /// split whatever sets the zone.
    #[test]
    fn large_master_files_read_in_halves_like_small_ones() {
        let lines: Vec<String> = (0..40_000)
            .map(|i| format!("host-{i:06}.clan. 300 IN CNAME m{}.clan.\n", i % 97))
            .collect();
        let head = "$ORIGIN clan.\n$TTL 300\n\
                    clan. 300 IN SOA ns.clan. admin.clan. 7 3600 600 86400 300\n\
                    clan. 300 IN NS ns.clan.\n";
        let tail = "printer.clan. 300 IN A 192.168.1.20\n\
                    clan. 300 IN TXT \"v=spf1 -all\" ; a comment\n\
                    _ldap._tcp.clan. 300 IN SRV 10 5 389 m1.clan.\n";
        let whole = format!("{head}{}{tail}", lines.concat());
        assert!(whole.len() > 1 << 20);
        let zone = parse_db(&whole).unwrap();
        assert_eq!(zone.len(), 40_000);
        assert_eq!(zone.target("host-039999.clan"), Some("m35"));
        assert_eq!(zone.addresses().len(), 1);
        assert_eq!(zone.others().len(), 2);
        let conf: String = std::iter::once("local-zone: \"clan.\" transparent\n".to_string())
            .chain((0..40_000).map(|i| {
                format!(
                    "local-data: \"host-{i:06}.clan. CNAME m{}.clan.\"\n",
                    i % 97
                )
            }))
            .chain([
                "local-data: \"printer.clan. A 192.168.1.20\"\n".to_string(),
                "local-data: 'clan. TXT \"v=spf1 -all\"'\n".to_string(),
                "local-data: \"_ldap._tcp.clan. SRV 10 5 389 m1.clan.\"\n".to_string(),
            ])
            .collect();
        assert!(
            zone == parse_conf(&conf).unwrap(),
            "not the zone.conf's zone"
        );
        // Only the SOA sets the zone: the same records follow it.
        let soa_first = whole.replacen("$ORIGIN clan.\n", "", 1);
        assert!(parse_db(&soa_first).unwrap() == zone);
        for bad_line in [5, 20_000, 40_004] {
            let mut broken = lines.clone();
            broken[bad_line - 5] = "x.clan. 300 IN MX 10 m.clan.\n".into();
            let err = parse_db(&format!("{head}{}", broken.concat())).unwrap_err();
            assert!(err.starts_with(&format!("line {bad_line}: ")), "{err}");
        }
        let mut twice = lines.clone();
        twice[39_000] = lines[10].clone();
        let err = parse_db(&format!("{head}{}", twice.concat())).unwrap_err();
        assert!(err.contains("\"host-000010.clan\" appears twice"), "{err}");
        let before = format!("{}{head}", lines[0]);
        let err = parse_db(&before).unwrap_err();
        assert!(
            err.starts_with("line 1: a CNAME before $ORIGIN or SOA"),
            "{err}"
        );
        assert!(
            parse_db("; only a comment\n")
                .unwrap_err()
                .contains("not a zone file")
        );
    }

    #[test]
    fn refuses_targets_over_the_length_limit() {
        let domain = vec!["d".repeat(63); 3].join(".");
        let zone_with = |machine: &str| {
            format!(
                "local-zone: \"{domain}.\" transparent\nlocal-data: \"w.{domain}. CNAME {machine}.{domain}.\"\n"
            )
        };
        assert!(parse_conf(&zone_with(&"m".repeat(61))).is_ok());
        let err = parse_conf(&zone_with(&"m".repeat(62))).unwrap_err();
        assert!(err.contains("254 characters"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn conf_parser_never_panics(text in "\\PC{0,200}") {
            let _ = parse_conf(&text);
            let _ = parse_db(&text);
        }

        /// Any one-byte change to a valid body is refused or still a valid zone
        /// whose every name passed the checks: never something in between.
        #[test]
        fn mutated_bodies_are_refused_or_clean(at in 0usize..200, byte in proptest::prelude::any::<u8>()) {
            let mut bytes = format!("{CONF}local-data: \"wiki.clan. CNAME beta.clan.\"\n").into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            if let Ok(text) = std::str::from_utf8(&bytes)
                && let Ok(zone) = parse_conf(text)
            {
                for c in zone.cnames() {
                    proptest::prop_assert!(name::normalize_host(c.host).is_ok());
                    proptest::prop_assert!(name::check_label(c.machine).is_ok());
                    proptest::prop_assert!(zone.domain.relative(c.host).is_some());
                }
            }
        }
    }

    #[test]
    fn reads_db() {
        let db = "$ORIGIN clan.\n$TTL 300\nclan. IN SOA localhost. nobody.invalid. 1 2 3 4 5\n\
                  clan. IN NS localhost.\nalpha.clan. IN A 10.0.0.1\n\
                  music.clan. 300 IN CNAME alpha.clan. ; comment\n";
        let with_address = format!("{CONF}local-data: \"alpha.clan. A 10.0.0.1\"\n");
        assert_eq!(parse_db(db).unwrap(), parse_conf(&with_address).unwrap());
        assert!(parse_db("hello\n").is_err());
    }
}
