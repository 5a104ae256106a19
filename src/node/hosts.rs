//! The node's own address records: `/etc/hosts` lines or the JSON form of
//! NixOS `networking.hosts` (`{ "<address>": [ "<name>", ... ] }`). Only names
//! below the clan domain are kept; they become A/AAAA records of the zone.
//!
//! Loopback addresses are set apart: NixOS maps the machine's own name to
//! 127.0.0.2 in `networking.hosts` (nixos/modules/config/networking.nix),
//! and Debian to 127.0.1.1, but the zone must give a name the address other
//! machines reach it at and its services listen on.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::dns::name::{self, Domain};

/// A node's address records below the domain, sorted and deduplicated.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Hosts {
    pub records: Vec<(String, IpAddr)>,
    /// Names given a loopback address, left out of `records`.
    pub loopback: Vec<(String, IpAddr)>,
    /// Entries below the domain that are no address record (an address with
    /// a zone index, a name that is no DNS name), each said why; left out,
    /// so that one odd line never keeps a node without a zone.
    pub unusable: Vec<String>,
}

/// Address records below `domain` from a hosts file or its JSON form.
pub fn parse(text: &str, domain: &Domain) -> Result<Hosts, String> {
    let pairs = if text.trim_start().starts_with('{') {
        from_json(text)?
    } else {
        from_hosts_file(text)
    };
    collect(pairs, domain)
}

/// Address records below `domain` from `{ "<address>": ["<name>", ...] }`.
pub fn from_map(map: &BTreeMap<String, Vec<String>>, domain: &Domain) -> Result<Hosts, String> {
    let pairs = map
        .iter()
        .flat_map(|(addr, names)| names.iter().map(move |n| (addr.clone(), n.clone())));
    collect(pairs.collect(), domain)
}

fn collect(pairs: Vec<(String, String)>, domain: &Domain) -> Result<Hosts, String> {
    let mut records = BTreeSet::new();
    let mut loopback = BTreeSet::new();
    let mut unusable = Vec::new();
    for (addr, raw_name) in pairs {
        let Ok(name) = name::normalize_host(&raw_name) else {
            // A hosts file may hold names that are not DNS names; only those
            // claiming to be below the domain must be valid.
            let lower = raw_name.to_ascii_lowercase();
            if domain
                .relative(lower.strip_suffix('.').unwrap_or(&lower))
                .is_some()
            {
                unusable.push(format!(
                    "{} is not a valid host name",
                    name::Quoted(&raw_name)
                ));
            }
            continue;
        };
        if domain.relative(&name).is_some() {
            let Ok(ip) = addr.parse::<IpAddr>() else {
                unusable.push(format!(
                    "{} (for {}) is not an IP address",
                    name::Quoted(&addr),
                    name::Quoted(&name)
                ));
                continue;
            };
            let set = if ip.is_loopback() {
                &mut loopback
            } else {
                &mut records
            };
            set.insert((name.into_owned(), ip));
        }
    }
    Ok(Hosts {
        records: records.into_iter().collect(),
        loopback: loopback.into_iter().collect(),
        unusable,
    })
}

fn from_json(text: &str) -> Result<Vec<(String, String)>, String> {
    let map: BTreeMap<String, Vec<String>> = serde_json::from_str(text)
        .map_err(|e| format!("not a JSON object of address -> [names]: {e}"))?;
    Ok(map
        .into_iter()
        .flat_map(|(addr, names)| names.into_iter().map(move |n| (addr.clone(), n)))
        .collect())
}

fn from_hosts_file(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        // An address without names maps nothing (glibc skips such lines).
        pairs.extend(fields.map(|n| (addr.to_owned(), n.to_owned())));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_names_below_the_domain() {
        let domain = Domain::parse("clan").unwrap();
        let hosts = "127.0.0.1 localhost\n10.0.0.1 alpha.clan alpha # me\n\
                     fd00::1 alpha.clan\n10.0.0.2 beta.example.org\n";
        let records = parse(hosts, &domain).unwrap().records;
        assert_eq!(
            records,
            vec![
                ("alpha.clan".to_string(), "10.0.0.1".parse().unwrap()),
                ("alpha.clan".to_string(), "fd00::1".parse().unwrap()),
            ]
        );
        let json = r#"{"fd00::1": ["alpha.clan"], "10.0.0.1": ["Alpha.Clan.", "alpha"]}"#;
        assert_eq!(parse(json, &domain).unwrap().records, records);
    }

    #[test]
    fn sets_loopback_addresses_apart() {
        let domain = Domain::parse("clan").unwrap();
        let nixos = r#"{"127.0.0.2": ["alpha.clan", "alpha"], "::1": ["localhost"], "10.0.0.2": ["beta.clan"]}"#;
        let hosts = parse(nixos, &domain).unwrap();
        assert_eq!(
            hosts.records,
            [("beta.clan".to_string(), "10.0.0.2".parse().unwrap())]
        );
        assert_eq!(
            hosts.loopback,
            [("alpha.clan".to_string(), "127.0.0.2".parse().unwrap())]
        );
        let debian = parse("127.0.1.1 alpha.clan alpha\n::1 alpha.clan\n", &domain).unwrap();
        assert!(debian.records.is_empty() && debian.loopback.len() == 2);
    }

    #[test]
    fn sets_unusable_entries_apart() {
        let domain = Domain::parse("clan").unwrap();
        let hosts = parse(
            "10.0.0 alpha.clan\nfe80::1%wg0 beta.clan\n10.0.0.1\n10.0.0.1 al\"pha.clan\n10.0.0.2 gamma.clan\n",
            &domain,
        )
        .unwrap();
        assert_eq!(
            hosts.records,
            [("gamma.clan".to_string(), "10.0.0.2".parse().unwrap())]
        );
        assert_eq!(hosts.unusable.len(), 3, "{:?}", hosts.unusable);
        assert!(
            hosts.unusable[1].contains("\"fe80::1%wg0\" (for \"beta.clan\") is not an IP address")
        );
        assert!(
            parse("10.0.0.1 my_clan_box\n", &domain)
                .unwrap()
                .records
                .is_empty()
        );
        assert!(parse("{1}", &domain).is_err());
    }
}
