//! Properties of the zone compiler over generated clans:
//! - determinism: order, formatting, duplicates, case and trailing dots of the
//!   input never change a byte of the output;
//! - compatibility: for valid input the CNAMEs are exactly those of the
//!   built-in service's rule (README.md, "Rules").

use std::collections::BTreeSet;

use dm_dns::artifacts;
use dm_dns::compile::addresses::NetworkChoice;
use dm_dns::dns::name::Domain;
use dm_dns::exports::canonical::Exports;
use proptest::prelude::*;

const MACHINES: [&str; 4] = ["alpha", "beta", "gamma", "delta"];
const LABELS: [&str; 8] = [
    "music", "wiki", "git", "cloud", "chat", "mail", "media", "files",
];

/// One scope: (service, machine index, hosts).
type ScopeSpec = (String, usize, Vec<String>);

/// A valid clan: each internal host label belongs to one machine, so there are
/// no conflicts; some hosts are external.
fn clan() -> impl Strategy<Value = Vec<ScopeSpec>> {
    let scope = (
        0usize..6,
        0usize..MACHINES.len(),
        prop::collection::vec(0usize..12, 0..6),
    )
        .prop_map(|(service, machine, picks)| {
            let hosts = picks
                .into_iter()
                .map(|p| match p {
                    0..=7 if p % MACHINES.len() == machine => format!("{}.clan", LABELS[p]),
                    0..=7 => format!("{}.{}.clan", LABELS[p], MACHINES[machine]),
                    _ => format!("{}.example.org", LABELS[p - 8]),
                })
                .collect();
            (format!("svc{service}"), machine, hosts)
        });
    prop::collection::vec(scope, 0..12)
}

fn key(spec: &ScopeSpec) -> String {
    format!("{}:main:server:{}", spec.0, MACHINES[spec.1])
}

/// Raw exports as `builtins.toJSON` writes them, one scope at a time. Scopes
/// that repeat a key are merged, as Nix would have merged them.
fn raw_json(clan: &[ScopeSpec]) -> String {
    let mut merged: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for spec in clan {
        merged.entry(key(spec)).or_default().extend(spec.2.clone());
    }
    let map: serde_json::Map<String, serde_json::Value> = merged
        .into_iter()
        .map(|(k, hosts)| {
            let value = serde_json::json!({
                "endpoints": { "hosts": hosts },
                "dataMesher": { "files": { "dns/cnames": ["a2V5"] } },
            });
            (k, value)
        })
        .collect();
    serde_json::to_string(&map).unwrap()
}

/// The same clan written differently: projected form, pretty-printed, scopes
/// split into repeated keys in another order, hosts shuffled, duplicated,
/// upper-cased and with trailing dots.
fn rewritten_json(clan: &[ScopeSpec], seed: u64) -> String {
    let mut rng = seed;
    let mut next = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        rng >> 33
    };
    let mut parts: Vec<String> = Vec::new();
    for spec in clan {
        let mut hosts: Vec<String> = Vec::new();
        for h in &spec.2 {
            let variant = match next() % 3 {
                0 => h.clone(),
                1 => format!("{h}."),
                _ => h.to_uppercase(),
            };
            hosts.push(variant);
            if next() % 2 == 0 {
                hosts.push(h.clone());
            }
        }
        let len = hosts.len();
        for i in (1..len).rev() {
            hosts.swap(i, (next() as usize) % (i + 1));
        }
        let list = serde_json::to_string_pretty(&hosts).unwrap();
        parts.push(format!("  {:?} : {{ \"hosts\" : {list} }}", key(spec)));
    }
    let len = parts.len();
    for i in (1..len).rev() {
        parts.swap(i, (next() as usize) % (i + 1));
    }
    format!("{{\n{}\n}}\n", parts.join(",\n"))
}

fn build(json: &str) -> Vec<Vec<u8>> {
    let domain = Domain::parse("clan").unwrap();
    let exports = Exports::parse(json.as_bytes()).unwrap();
    let compiled = artifacts::compile(
        &exports,
        &domain,
        &NetworkChoice::default(),
        &Default::default(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = camino::Utf8Path::from_path(tmp.path())
        .unwrap()
        .join("zone");
    artifacts::write(&out, &compiled, &exports)
        .unwrap()
        .commit()
        .unwrap();
    [artifacts::CONF, artifacts::DB, artifacts::MANIFEST]
        .iter()
        .map(|name| std::fs::read(out.join(name)).unwrap())
        .collect()
}

/// The built-in service's rule: every scope, every host ending in `.<domain>`, one line.
fn built_in_rule(clan: &[ScopeSpec]) -> BTreeSet<String> {
    clan.iter()
        .flat_map(|spec| {
            spec.2
                .iter()
                .filter(|h| h.ends_with(".clan"))
                .map(|h| format!("local-data: \"{h}. CNAME {}.clan.\"", MACHINES[spec.1]))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn same_input_same_bytes(clan in clan(), seed in any::<u64>()) {
        let original = build(&raw_json(&clan));
        prop_assert_eq!(&original, &build(&rewritten_json(&clan, seed)));
        prop_assert_eq!(&original, &build(&rewritten_json(&clan, seed ^ 0xdead_beef)));
    }

    #[test]
    fn cnames_match_the_built_in_rule(clan in clan()) {
        let conf = String::from_utf8(build(&raw_json(&clan)).remove(0)).unwrap();
        let ours: BTreeSet<String> = conf.lines().skip(1).map(str::to_owned).collect();
        prop_assert_eq!(conf.lines().next(), Some("local-zone: \"clan.\" transparent"));
        prop_assert_eq!(ours, built_in_rule(&clan));
    }
}

/// Peer addresses: (machine index, network index, address picks). Network 0
/// has the higher priority.
type PeerSpec = (usize, usize, Vec<u8>);
const NETWORKS: [(&str, i64); 2] = [
    ("clan-core/yggdrasil:ygg", 2000),
    ("clan-core/mycelium:myc", 800),
];

fn peers() -> impl Strategy<Value = Vec<PeerSpec>> {
    prop::collection::vec(
        (
            0usize..MACHINES.len(),
            0usize..NETWORKS.len(),
            prop::collection::vec(0u8..6, 1..4),
        ),
        0..10,
    )
}

/// Address `pick` of `machine` in `network`: IPv4 for even picks, IPv6 for
/// odd ones; `expanded` writes IPv6 in a non-canonical long form.
fn address(machine: usize, network: usize, pick: u8, expanded: bool) -> String {
    match (pick % 2, expanded) {
        (0, _) => format!("10.{network}.{machine}.{pick}"),
        (_, false) => format!("200:{network}::{machine}:{pick}"),
        (_, true) => format!("0200:{network}:0:0:0:0:{machine}:{pick}"),
    }
}

/// Raw exports in clan-core's shapes, one scope per (machine, network).
fn peers_raw_json(peers: &[PeerSpec]) -> String {
    let mut map = serde_json::Map::new();
    for (network, priority) in NETWORKS {
        map.insert(
            format!("{network}::"),
            serde_json::json!({ "networking": { "priority": priority, "module": "direct" } }),
        );
    }
    let mut merged: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (machine, network, picks) in peers {
        merged
            .entry(format!(
                "{}:peer:{}",
                NETWORKS[*network].0, MACHINES[*machine]
            ))
            .or_default()
            .extend(picks.iter().map(|p| address(*machine, *network, *p, false)));
    }
    for (key, addresses) in merged {
        let hosts: Vec<_> = addresses
            .iter()
            .map(|a| serde_json::json!({ "plain": a }))
            .collect();
        map.insert(
            key,
            serde_json::json!({ "peer": { "hosts": hosts, "port": 22 } }),
        );
    }
    serde_json::to_string(&map).unwrap()
}

/// The same in the projected form: scopes repeated, addresses reversed,
/// duplicated, written long and with the newline a var file ends in.
fn peers_projected_json(peers: &[PeerSpec]) -> String {
    let mut parts: Vec<String> = NETWORKS
        .iter()
        .rev()
        .map(|(network, priority)| {
            format!("{:?}: {{\"priority\": {priority}}}", format!("{network}::"))
        })
        .collect();
    for (machine, network, picks) in peers.iter().rev() {
        let values: Vec<String> = picks
            .iter()
            .rev()
            .flat_map(|p| {
                [
                    address(*machine, *network, *p, true),
                    format!("{}\n", address(*machine, *network, *p, false)),
                ]
            })
            .collect();
        parts.push(format!(
            "{:?}: {{\"hosts\": [], \"peers\": {}}}",
            format!("{}:peer:{}", NETWORKS[*network].0, MACHINES[*machine]),
            serde_json::to_string(&values).unwrap()
        ));
    }
    format!("{{{}}}", parts.join(", "))
}

/// Per machine: the addresses of the highest-priority network it has.
fn address_rule(peers: &[PeerSpec]) -> BTreeSet<String> {
    let mut best: std::collections::BTreeMap<usize, usize> = Default::default();
    for (machine, network, _) in peers {
        let entry = best.entry(*machine).or_insert(*network);
        *entry = (*entry).min(*network);
    }
    peers
        .iter()
        .filter(|(machine, network, _)| best[machine] == *network)
        .flat_map(|(machine, network, picks)| {
            picks.iter().map(move |p| {
                let text: std::net::IpAddr =
                    address(*machine, *network, *p, false).parse().unwrap();
                let family = if p % 2 == 0 { "A" } else { "AAAA" };
                format!(
                    "local-data: \"{}.clan. {family} {text}\"",
                    MACHINES[*machine]
                )
            })
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn addresses_same_input_same_bytes_and_the_priority_rule(peers in peers()) {
        let original = build(&peers_raw_json(&peers));
        prop_assert_eq!(&original, &build(&peers_projected_json(&peers)));
        let conf = String::from_utf8(original[0].clone()).unwrap();
        let ours: BTreeSet<String> = conf.lines().skip(1).map(str::to_owned).collect();
        prop_assert_eq!(ours, address_rule(&peers));
    }
}
