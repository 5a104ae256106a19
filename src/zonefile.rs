//! Reading zones back: the strict `zone.conf` grammar (what a signed mesh file
//! may carry) and our `zone.db` master files. `diff` and `install` read zones
//! only through here.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::name::{self, Domain, Quoted};
use crate::render::{self, Cname};

/// A zone as read from a file: the domain, its CNAMEs (host -> machine),
/// sorted by host, each host once, and its address records in
/// `render::address_order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneData {
    pub domain: Domain,
    // A sorted vector rather than a map: zones arrive sorted, and a node
    // reads a large one on every update.
    cnames: Vec<(String, String)>,
    addresses: Vec<(String, IpAddr)>,
}

impl ZoneData {
    pub fn new(domain: Domain) -> ZoneData {
        ZoneData {
            domain,
            cnames: Vec::new(),
            addresses: Vec::new(),
        }
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
        self.cnames
            .iter()
            .map(|(host, machine)| Cname { host, machine })
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
            .binary_search_by(|(h, _)| h.as_str().cmp(host))
            .ok()
            .map(|i| self.cnames[i].1.as_str())
    }

    /// Adds `host CNAME target`, checking names the way `zone` does.
    fn add(&mut self, host: &str, target: &str) -> Result<(), String> {
        let checked_host =
            name::normalize_host(host).map_err(|e| format!("host {}: {e}", Quoted(host)))?;
        if checked_host != host.strip_suffix('.').unwrap_or(host) {
            return Err(format!(
                "host {} is not in canonical lower case",
                Quoted(host)
            ));
        }
        if self.domain.relative(&checked_host).is_none() {
            return Err(format!(
                "host {} is not below the domain {:?}",
                Quoted(host),
                self.domain.as_str()
            ));
        }
        let machine = target
            .strip_suffix('.')
            .and_then(|t| self.domain.relative(t))
            .filter(|m| !m.contains('.'))
            .ok_or_else(|| {
                format!(
                    "target {} is not <machine>.{}.",
                    Quoted(target),
                    self.domain.as_str()
                )
            })?;
        self.domain
            .check_machine(machine)
            .map_err(|e| format!("target {}: {e}", Quoted(target)))?;
        if self.domain.machine_name(machine) == *checked_host {
            return Err(format!("host {} is a CNAME to itself", Quoted(host)));
        }
        self.cnames
            .push((checked_host.into_owned(), machine.to_owned()));
        Ok(())
    }

    /// Adds `name A|AAAA text`. `machine_only`: the name must be
    /// `<machine>.<domain>` (what a signed zone may carry); a node's zone file
    /// also holds its own records, any name below the domain.
    fn add_address(
        &mut self,
        name: &str,
        kind: &str,
        text: &str,
        machine_only: bool,
    ) -> Result<(), String> {
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
        let relative = self.domain.relative(bare).ok_or_else(|| {
            format!(
                "name {} is not below the domain {:?}",
                Quoted(name),
                self.domain.as_str()
            )
        })?;
        if machine_only {
            if relative.contains('.') {
                return Err(format!(
                    "address records are only for machine names <machine>.{}, not {}",
                    self.domain.as_str(),
                    Quoted(name)
                ));
            }
            self.domain
                .check_machine(relative)
                .map_err(|e| format!("name {}: {e}", Quoted(name)))?;
        }
        let address = match kind {
            "A" => text.parse::<Ipv4Addr>().map(IpAddr::V4).ok(),
            _ => text.parse::<Ipv6Addr>().map(IpAddr::V6).ok(),
        }
        .filter(|a| a.to_string() == text)
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
    /// a host that is the name of a machine records point to: the same rules
    /// as `zone`, which also rule out CNAME chains and loops. A name has
    /// either a CNAME or addresses.
    fn finish(mut self) -> Result<ZoneData, String> {
        self.addresses.sort_unstable_by(render::address_order);
        if let Some(pair) = self.addresses.windows(2).find(|p| p[0] == p[1]) {
            return Err(format!(
                "the address record {} {} appears twice",
                Quoted(&pair[0].0),
                pair[0].1
            ));
        }
        self.cnames.sort_unstable();
        if let Some((name, _)) = self
            .addresses
            .iter()
            .find(|(name, _)| self.target(name).is_some())
        {
            return Err(format!(
                "{} has both a CNAME and an address record",
                Quoted(name)
            ));
        }
        if let Some(pair) = self.cnames.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(format!("host {} appears twice", Quoted(&pair[0].0)));
        }
        // A set only looked up, never iterated, so its order cannot leak
        // out; hashed with FNV-1a, cheap for short names (sorting a million
        // machine names was most of this check).
        let mut machines: HashSet<&str, Fnv> =
            HashSet::with_capacity_and_hasher(self.cnames.len() / 4, Fnv(0));
        machines.extend(self.cnames.iter().map(|(_, m)| m.as_str()));
        let shadowing = self.cnames.iter().find(|(host, _)| {
            self.domain
                .relative(host)
                .is_some_and(|r| machines.contains(r))
        });
        if let Some((host, _)) = shadowing {
            return Err(format!(
                "host {} is the name of a machine other records point to, and would \
                 shadow it (a CNAME chain or loop)",
                Quoted(host)
            ));
        }
        Ok(self)
    }
}

/// FNV-1a, as a `BuildHasher` and its `Hasher`.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl BuildHasher for Fnv {
    type Hasher = Fnv;

    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Parses a `zone.conf` body strictly: exactly one leading
/// `local-zone: "<domain>." transparent` line, then only
/// `local-data: "<host>. CNAME <machine>.<domain>."` and
/// `local-data: "<machine>.<domain>. A|AAAA <address>"` lines, each ending in
/// a newline. Any other unbound directive is refused.
pub fn parse_conf(text: &str) -> Result<ZoneData, String> {
    if !text.ends_with('\n') {
        return Err("the zone does not end with a newline (truncated?)".into());
    }
    let mut lines = text.split_terminator('\n').enumerate();
    let first = lines.next().map(|(_, l)| l).unwrap_or_default();
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
    let mut zone = ZoneData::new(domain);
    for (index, line) in lines {
        let record = line
            .strip_prefix("local-data: \"")
            .and_then(|rest| rest.strip_suffix('"'))
            .and_then(|rr| {
                let mut parts = rr.split(' ');
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some(name), Some(kind @ ("CNAME" | "A" | "AAAA")), Some(value), None) => {
                        Some((name, kind, value))
                    }
                    _ => None,
                }
            });
        let (host, kind, target) = record.ok_or_else(|| {
            format!(
                "line {}: only `local-data: \"<host>. CNAME <machine>.<domain>.\"` and \
                 `local-data: \"<machine>.<domain>. A|AAAA <address>\"` may follow the \
                 local-zone line, found {}",
                index + 1,
                Quoted(line)
            )
        })?;
        if kind != "CNAME" {
            zone.add_address(host, kind, target, true)
                .map_err(|e| format!("line {}: {e}", index + 1))?;
            continue;
        }
        if !host.ends_with('.') {
            return Err(format!(
                "line {}: host {} must end with '.'",
                index + 1,
                Quoted(host)
            ));
        }
        zone.add(host, target)
            .map_err(|e| format!("line {}: {e}", index + 1))?;
    }
    zone.finish()
}

/// Reads the CNAMEs and address records of an RFC 1035 master file as `zone`
/// and `install` write them (absolute names, one record per line). SOA and NS
/// records are accepted and not compared.
pub fn parse_db(text: &str) -> Result<ZoneData, String> {
    let mut zone: Option<ZoneData> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split(';').next().unwrap_or_default().trim();
        if line.is_empty() || line.starts_with("$TTL") {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", index + 1);
        if let Some(origin) = line.strip_prefix("$ORIGIN") {
            let domain = Domain::parse(origin.trim()).map_err(|e| at(e.to_string()))?;
            zone.get_or_insert(ZoneData::new(domain));
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(kind_at) = fields
            .iter()
            .position(|f| matches!(*f, "SOA" | "NS" | "A" | "AAAA" | "CNAME"))
        else {
            return Err(at(format!("unsupported record {}", Quoted(raw))));
        };
        match fields[kind_at] {
            "SOA" if zone.is_none() => {
                let domain = Domain::parse(fields[0]).map_err(|e| at(e.to_string()))?;
                zone = Some(ZoneData::new(domain));
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
                zone.add_address(fields[0], kind, value, false)
                    .map_err(at)?;
            }
            _ => {}
        }
    }
    zone.ok_or_else(|| "no $ORIGIN or SOA record: not a zone file".to_string())?
        .finish()
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
            "local-zone: \"clan.\" transparent\nlocal-data: \"a.b.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. A 1.2.3\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. A 200::1\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. AAAA 0200::1\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. AAAA 200:0::1\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.org. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. A 1.2.3.4\"\n\
             local-data: \"alpha.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.clan.\"\n\
             local-data: \"music.clan. A 1.2.3.4\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.org.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.org. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"alpha.clan. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"Music.clan. CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan.  CNAME alpha.clan.\"\n",
            "local-zone: \"clan.\" transparent\n\n",
            "local-zone: \"clan.\" transparent\r\n",
            "local-zone: \"clan..\" transparent\n",
            "local-zone: \"Clan.\" transparent\n",
            // A loop, a chain and a host shadowing a machine.
            "local-zone: \"clan.\" transparent\nlocal-data: \"a.clan. CNAME b.clan.\"\n\
             local-data: \"b.clan. CNAME a.clan.\"\n",
            "local-zone: \"clan.\" transparent\nlocal-data: \"a.clan. CNAME b.clan.\"\n\
             local-data: \"b.clan. CNAME c.clan.\"\n",
        ] {
            assert!(parse_conf(bad).is_err(), "{bad:?} accepted");
        }
        let twice = format!("{CONF}local-data: \"music.clan. CNAME beta.clan.\"\n");
        assert!(parse_conf(&twice).unwrap_err().contains("twice"));
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
