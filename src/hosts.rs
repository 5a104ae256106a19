//! The node's own address records: `/etc/hosts` lines or the JSON form of
//! NixOS `networking.hosts` (`{ "<address>": [ "<name>", ... ] }`). Only names
//! below the clan domain are kept; they become A/AAAA records of the zone.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::name::{self, Domain};

/// Address records below `domain`, sorted and deduplicated.
pub fn parse(text: &str, domain: &Domain) -> Result<Vec<(String, IpAddr)>, String> {
    let pairs = if text.trim_start().starts_with('{') {
        from_json(text)?
    } else {
        from_hosts_file(text)?
    };
    let mut records = BTreeSet::new();
    for (addr, raw_name) in pairs {
        let Ok(name) = name::normalize_host(&raw_name) else {
            // A hosts file may hold names that are not DNS names; only those
            // claiming to be below the domain must be valid.
            let lower = raw_name.to_ascii_lowercase();
            if domain
                .relative(lower.strip_suffix('.').unwrap_or(&lower))
                .is_some()
            {
                return Err(format!(
                    "{} is not a valid host name",
                    name::Quoted(&raw_name)
                ));
            }
            continue;
        };
        if domain.relative(&name).is_some() {
            let ip: IpAddr = addr.parse().map_err(|_| {
                format!(
                    "{} (for {}) is not an IP address",
                    name::Quoted(&addr),
                    name::Quoted(&name)
                )
            })?;
            records.insert((name.into_owned(), ip));
        }
    }
    Ok(records.into_iter().collect())
}

fn from_json(text: &str) -> Result<Vec<(String, String)>, String> {
    let map: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(text)
        .map_err(|e| format!("not a JSON object of address -> [names]: {e}"))?;
    Ok(map
        .into_iter()
        .flat_map(|(addr, names)| names.into_iter().map(move |n| (addr.clone(), n)))
        .collect())
}

fn from_hosts_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        let names: Vec<&str> = fields.collect();
        if names.is_empty() {
            return Err(format!("line {}: an address without names", index + 1));
        }
        pairs.extend(names.into_iter().map(|n| (addr.to_owned(), n.to_owned())));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_names_below_the_domain() {
        let domain = Domain::parse("clan").unwrap();
        let hosts = "127.0.0.1 localhost\n10.0.0.1 alpha.clan alpha # me\n\
                     fd00::1 alpha.clan\n10.0.0.2 beta.example.org\n";
        let records = parse(hosts, &domain).unwrap();
        assert_eq!(
            records,
            vec![
                ("alpha.clan".to_string(), "10.0.0.1".parse().unwrap()),
                ("alpha.clan".to_string(), "fd00::1".parse().unwrap()),
            ]
        );
        let json = r#"{"fd00::1": ["alpha.clan"], "10.0.0.1": ["Alpha.Clan.", "alpha"]}"#;
        assert_eq!(parse(json, &domain).unwrap(), records);
    }

    #[test]
    fn refuses_bad_addresses() {
        let domain = Domain::parse("clan").unwrap();
        assert!(parse("10.0.0 alpha.clan\n", &domain).is_err());
        assert!(parse("10.0.0.1\n", &domain).is_err());
        assert!(parse("10.0.0.1 al\"pha.clan\n", &domain).is_err());
        assert!(parse("10.0.0.1 my_clan_box\n", &domain).unwrap().is_empty());
        assert!(parse("[1]", &domain).is_err());
    }
}
