//! Reverse zones: PTR records derived from a zone's address records, for
//! the reverse domains a node (or another server) is told to answer. Each
//! name that has an A or AAAA record gets a PTR from its address's reverse
//! name, so a reverse zone never names an address the zone does not hold.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::artifacts::render::{TTL, soa_data};
use crate::dns::name::Quoted;

/// A reverse domain to answer: `<octets>.in-addr.arpa` or
/// `<nibbles>.ip6.arpa`, lower case, without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReverseZone(String);

impl ReverseZone {
    /// Checks `raw`: one to four decimal octets before `in-addr.arpa`, or one
    /// to 32 hexadecimal nibbles before `ip6.arpa` (the reverse domain of a
    /// prefix of 8, 16, 24 or 32 bits, or a multiple of four).
    pub fn parse(raw: &str) -> Result<ReverseZone, String> {
        let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
        let fits = if let Some(octets) = name.strip_suffix(".in-addr.arpa") {
            let labels: Vec<&str> = octets.split('.').collect();
            labels.len() <= 4
                && labels
                    .iter()
                    .all(|l| l.parse::<u8>().is_ok_and(|octet| octet.to_string() == *l))
        } else if let Some(nibbles) = name.strip_suffix(".ip6.arpa") {
            let labels: Vec<&str> = nibbles.split('.').collect();
            labels.len() <= 32
                && labels
                    .iter()
                    .all(|l| l.len() == 1 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        } else {
            false
        };
        if !fits {
            return Err(format!(
                "{} is no reverse domain (hint: octets before in-addr.arpa, as in \
                 1.168.192.in-addr.arpa, or hexadecimal nibbles before ip6.arpa, as in \
                 2.0.ip6.arpa for yggdrasil's 200::/8)",
                Quoted(raw)
            ));
        }
        Ok(ReverseZone(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `reverse_name` (an address's) lies in this zone.
    pub fn holds(&self, reverse_name: &str) -> bool {
        reverse_name == self.0
            || reverse_name
                .strip_suffix(self.0.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    }
}

impl std::fmt::Display for ReverseZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The reverse name of `address`, without the trailing dot.
pub fn reverse_name(address: &IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                name.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
                name.push('.');
                name.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
                name.push('.');
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}

/// The address a full reverse name stands for (`reverse_name`'s inverse).
pub fn address_of(reverse_name: &str) -> Option<IpAddr> {
    let name = reverse_name.strip_suffix('.').unwrap_or(reverse_name);
    if let Some(octets) = name.strip_suffix(".in-addr.arpa") {
        let mut bytes: Vec<u8> = octets
            .split('.')
            .map(|o| o.parse().ok())
            .collect::<Option<_>>()?;
        bytes.reverse();
        let bytes: [u8; 4] = bytes.try_into().ok()?;
        return Some(IpAddr::from(bytes));
    }
    let nibbles = name.strip_suffix(".ip6.arpa")?;
    let mut digits: Vec<u8> = nibbles
        .split('.')
        .map(|n| {
            (n.len() == 1)
                .then(|| u8::from_str_radix(n, 16).ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    digits.reverse();
    let digits: [u8; 32] = digits.try_into().ok()?;
    let bytes: [u8; 16] = std::array::from_fn(|i| digits[2 * i] << 4 | digits[2 * i + 1]);
    Some(IpAddr::from(bytes))
}

/// The PTR records of `zone` from `addresses` (name, address): reverse
/// name and the name it points to, sorted, each pair once.
pub fn ptr_records(zone: &ReverseZone, addresses: &[(String, IpAddr)]) -> Vec<(String, String)> {
    let mut records: Vec<(String, String)> = addresses
        .iter()
        .map(|(name, address)| (reverse_name(address), name.clone()))
        .filter(|(reverse, _)| zone.holds(reverse))
        .collect();
    records.sort_unstable();
    records.dedup();
    records
}

/// The reverse zone as an RFC 1035 master file with absolute names, as
/// `zone.db` is written: SOA (with `serial`), NS, then the PTR records.
pub fn write_db(
    out: &mut impl Write,
    zone: &ReverseZone,
    serial: u32,
    records: &[(String, String)],
) -> io::Result<()> {
    writeln!(out, "$ORIGIN {zone}.")?;
    writeln!(out, "$TTL {TTL}")?;
    writeln!(out, "{zone}. IN SOA {}", soa_data(serial))?;
    writeln!(out, "{zone}. IN NS localhost.")?;
    for (reverse, name) in records {
        writeln!(out, "{reverse}. IN PTR {name}.")?;
    }
    Ok(())
}

/// The master file as a string (small: one record per address).
pub fn render(zone: &ReverseZone, serial: u32, addresses: &[(String, IpAddr)]) -> String {
    let mut out = Vec::new();
    write_db(&mut out, zone, serial, &ptr_records(zone, addresses)).expect("writing to memory");
    String::from_utf8(out).expect("zone text is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name(&"192.168.1.20".parse().unwrap()),
            "20.1.168.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name(&"200:1111::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.1.1.1.0.0.2.0.ip6.arpa"
        );
    }

    #[test]
    fn reverse_names_read_back() {
        for text in ["192.168.1.20", "200:1111::1", "fd00::21", "::"] {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(address_of(&reverse_name(&address)), Some(address));
        }
        assert_eq!(address_of("1.168.192.in-addr.arpa"), None);
        assert_eq!(address_of("2.0.ip6.arpa."), None);
        assert_eq!(address_of("music.clan"), None);
    }

    #[test]
    fn zones_hold_their_addresses_only() {
        let ygg = ReverseZone::parse("2.0.IP6.arpa.").unwrap();
        assert_eq!(ygg.as_str(), "2.0.ip6.arpa");
        let addresses = vec![
            ("alpha.clan".to_owned(), "200:1111::1".parse().unwrap()),
            ("beta.clan".to_owned(), "301:2222::1".parse().unwrap()),
            ("printer.clan".to_owned(), "192.168.1.20".parse().unwrap()),
        ];
        let records = ptr_records(&ygg, &addresses);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].1, "alpha.clan");
        let exact = ReverseZone::parse("20.1.168.192.in-addr.arpa").unwrap();
        assert_eq!(
            ptr_records(&exact, &addresses),
            [("20.1.168.192.in-addr.arpa".into(), "printer.clan".into())]
        );
        assert!(
            ptr_records(
                &ReverseZone::parse("1.168.192.in-addr.arpa").unwrap(),
                &addresses
            )
            .len()
                == 1
        );
        assert!(
            ptr_records(
                &ReverseZone::parse("21.1.168.192.in-addr.arpa").unwrap(),
                &addresses
            )
            .is_empty()
        );
        // A label boundary: 2.0.ip6.arpa holds 1.2.0.ip6.arpa, not 12.0.ip6.arpa.
        assert!(ygg.holds("1.2.0.ip6.arpa"));
        assert!(!ygg.holds("12.0.ip6.arpa"));
    }

    #[test]
    fn refuses_other_names() {
        for bad in [
            "clan",
            "in-addr.arpa",
            "256.in-addr.arpa",
            "01.in-addr.arpa",
            "1.2.3.4.5.in-addr.arpa",
            "ab.ip6.arpa",
            "g.ip6.arpa",
            "x.ip6.arpa.evil",
        ] {
            assert!(ReverseZone::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn renders_a_master_file() {
        let zone = ReverseZone::parse("1.168.192.in-addr.arpa").unwrap();
        let text = render(
            &zone,
            7,
            &[("printer.clan".into(), "192.168.1.20".parse().unwrap())],
        );
        assert!(
            text.ends_with("20.1.168.192.in-addr.arpa. IN PTR printer.clan.\n"),
            "{text}"
        );
        assert!(text.contains("1.168.192.in-addr.arpa. IN SOA localhost. nobody.invalid. 7 "));
    }
}
