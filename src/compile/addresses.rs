//! Address records for machine names: which of the addresses that the clan's
//! network services export (`peer.hosts`) each `<machine>.<domain>` gets.
//!
//! Internal endpoints listen on a machine's internal addresses, so by default
//! networks meant for reaching machines from outside (clan-core's `internet`
//! and `tor`) are left out before anything is compared; of the rest, only IP
//! literals count, and per machine the network with the highest
//! `networking.priority` wins with all its addresses. A `--networks` list
//! replaces that: listed networks only, earlier ones first. Whatever is left
//! out is kept with its reason for the manifest.

use std::net::IpAddr;

use crate::dns::codes::codes;
use crate::dns::name::Domain;
use crate::dns::problem::{ProblemKind, Problems};
use crate::exports::Peer;
use crate::exports::canonical::Exports;

/// clan-core's default `networking.priority`.
const DEFAULT_PRIORITY: i64 = 1000;
/// Networks whose addresses reach a machine from outside the clan.
const OUTSIDE_NETWORKS: [&str; 2] = ["internet", "tor"];

/// Which networks give machine names their addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkChoice {
    /// Every network except `internet` and `tor`, highest priority first.
    #[default]
    ByPriority,
    /// Only these services (full name such as `clan-core/yggdrasil`, or the
    /// part after the last `/`), earlier ones first.
    Ordered(Vec<String>),
}

/// `<machine>.<domain>. A/AAAA <address>`, from one network's peer export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AddressRecord<'e> {
    pub machine: &'e str,
    pub address: IpAddr,
    pub scope: &'e str,
    /// The scope's index in `Exports::scopes` (the manifest's table).
    pub scope_index: u32,
    pub network: &'e str,
}

impl AddressRecord<'_> {
    pub fn family(&self) -> &'static str {
        if self.address.is_ipv4() { "A" } else { "AAAA" }
    }
}

/// Why an exported peer value is not an address record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressSkip {
    /// A network for reaching machines from outside (`internet`, `tor`).
    OutsideNetwork,
    /// Not in the `--networks` list.
    NotSelected,
    /// A name, not an IP literal.
    NotAnAddress,
    /// A link-local address with a zone index (`fe80::1%eth0`).
    ZoneIndex,
    /// A var reference that could not be read (not generated yet).
    Unavailable,
    /// Another network of the machine ranks higher.
    LowerPriority,
    /// The scope names no machine.
    NoMachine,
}

codes!(AddressSkip {
    OutsideNetwork => "outside-network",
    NotSelected => "not-selected",
    NotAnAddress => "not-an-address",
    ZoneIndex => "zone-index",
    Unavailable => "unavailable",
    LowerPriority => "lower-priority",
    NoMachine => "no-machine",
});

impl AddressSkip {
    /// What it means, for people (`explain`).
    pub fn meaning(self) -> &'static str {
        match self {
            AddressSkip::OutsideNetwork => {
                "a network for reaching machines from outside, such as internet or tor"
            }
            AddressSkip::NotSelected => "not in the service's networks setting",
            AddressSkip::NotAnAddress => "a name, not an IP address",
            AddressSkip::ZoneIndex => "a link-local address with a zone index",
            AddressSkip::Unavailable => "its value could not be read; is the var generated?",
            AddressSkip::LowerPriority => "another network of the machine has a higher priority",
            AddressSkip::NoMachine => "the scope names no machine",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SkippedAddress<'e> {
    pub machine: &'e str,
    pub value: &'e str,
    pub scope: &'e str,
    /// The scope's index in `Exports::scopes` (the manifest's table).
    pub scope_index: u32,
    pub network: &'e str,
    pub reason: AddressSkip,
}

/// The chosen records, sorted by machine, A before AAAA, then address; and
/// what was left out.
#[derive(Debug, Default)]
pub struct Addresses<'e> {
    pub records: Vec<AddressRecord<'e>>,
    pub skipped: Vec<SkippedAddress<'e>>,
}

/// A usable address of one machine in one network, with the network's rank
/// (lower ranks first).
struct Candidate<'e> {
    machine: &'e str,
    rank: i64,
    network: &'e str,
    address: IpAddr,
    scope: &'e str,
    scope_index: u32,
    value: &'e str,
}

pub fn select<'e>(
    exports: &'e Exports<'e>,
    domain: &Domain,
    choice: &NetworkChoice,
    problems: &mut Problems,
) -> Addresses<'e> {
    // Network instances (`service:instance::`) with a priority.
    let mut priorities: Vec<(&str, i64)> = exports
        .scopes
        .iter()
        .filter_map(|s| Some((s.key.strip_suffix("::")?, s.priority?)))
        .filter(|(network, _)| network.matches(':').count() == 1)
        .collect();
    priorities.sort_unstable();
    let priority_of = |network: &str| {
        priorities
            .binary_search_by(|(n, _)| n.cmp(&network))
            .map_or(DEFAULT_PRIORITY, |i| priorities[i].1)
    };
    let mut out = Addresses::default();
    let mut candidates = Vec::new();
    let with_peers = exports.scopes.iter().enumerate();
    for (index, scope) in with_peers.filter(|(_, s)| !s.peers.is_empty()) {
        let key: &'e str = &scope.key;
        let at = (key, index as u32);
        let (machine, network) = match (scope.machine(), scope.network()) {
            (Some(m), Some(n)) if !m.is_empty() => (m, n),
            _ => {
                for peer in &scope.peers {
                    out.skipped
                        .push(skip(at, "", "", peer, AddressSkip::NoMachine));
                }
                continue;
            }
        };
        let service = network.split(':').next().unwrap_or_default();
        let short = service.rsplit('/').next().unwrap_or_default();
        let rank = match choice {
            NetworkChoice::ByPriority if OUTSIDE_NETWORKS.contains(&short) => {
                Err(AddressSkip::OutsideNetwork)
            }
            NetworkChoice::ByPriority => Ok(-priority_of(network)),
            NetworkChoice::Ordered(list) => list
                .iter()
                .position(|n| n == service || n == short)
                .map(|i| i as i64)
                .ok_or(AddressSkip::NotSelected),
        };
        let rank = match rank {
            Ok(rank) => rank,
            Err(reason) => {
                for peer in &scope.peers {
                    out.skipped.push(skip(at, machine, network, peer, reason));
                }
                continue;
            }
        };
        if let Err(e) = domain.check_machine(machine) {
            problems.add(key, None, ProblemKind::MachineName(e));
            continue;
        }
        for peer in &scope.peers {
            match classify(peer) {
                Ok((address, value)) => candidates.push(Candidate {
                    machine,
                    rank,
                    network,
                    address,
                    scope: key,
                    scope_index: at.1,
                    value,
                }),
                Err(reason) => out.skipped.push(skip(at, machine, network, peer, reason)),
            }
        }
    }
    // Scopes come sorted by key, so each network's candidates (one key
    // prefix, the machine last) arrive sorted by machine already: a stable
    // sort finds those runs and merges them, where an unstable one would
    // compare machine names n log n times.
    candidates.sort_by(|a, b| {
        (a.machine, a.rank, a.network, a.address).cmp(&(b.machine, b.rank, b.network, b.address))
    });
    for group in candidates.chunk_by(|a, b| a.machine == b.machine) {
        let best = group[0].rank;
        let winners = || group.iter().filter(|c| c.rank == best);
        let first_network = group[0].network;
        let addresses_of = |network: &str| -> Vec<IpAddr> {
            winners()
                .filter(|c| c.network == network)
                .map(|c| c.address)
                .collect()
        };
        if let Some(other) = winners().find(|c| c.network != first_network)
            && addresses_of(other.network) != addresses_of(first_network)
        {
            problems.add(
                other.scope,
                None,
                ProblemKind::NetworksDisagree {
                    machine: other.machine.to_owned(),
                    other_scope: group[0].scope.to_owned(),
                },
            );
        }
        for c in group {
            if c.rank == best && c.network == first_network {
                out.records.push(AddressRecord {
                    machine: c.machine,
                    address: c.address,
                    scope: c.scope,
                    scope_index: c.scope_index,
                    network: c.network,
                });
            } else {
                out.skipped.push(SkippedAddress {
                    machine: c.machine,
                    value: c.value,
                    scope: c.scope,
                    scope_index: c.scope_index,
                    network: c.network,
                    reason: AddressSkip::LowerPriority,
                });
            }
        }
    }
    out.records
        .sort_unstable_by_key(|r| (r.machine, r.address.is_ipv6(), r.address));
    out.records
        .dedup_by(|a, b| (a.machine, a.address) == (b.machine, b.address));
    out.skipped.sort_unstable();
    out
}

fn skip<'e>(
    (scope, scope_index): (&'e str, u32),
    machine: &'e str,
    network: &'e str,
    peer: &'e Peer<'e>,
    reason: AddressSkip,
) -> SkippedAddress<'e> {
    SkippedAddress {
        machine,
        value: peer.text(),
        scope,
        scope_index,
        network,
        reason,
    }
}

/// An IP literal (canonicalisation parsed it), or why not.
fn classify<'e>(peer: &'e Peer<'e>) -> Result<(IpAddr, &'e str), AddressSkip> {
    match peer {
        Peer::Address(address, text) => Ok((*address, text)),
        Peer::Unavailable(_) => Err(AddressSkip::Unavailable),
        Peer::Value(v) if v.contains('%') => Err(AddressSkip::ZoneIndex),
        Peer::Value(_) => Err(AddressSkip::NotAnAddress),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::exports::ScopeHosts;

    fn scope(
        key: &'static str,
        peers: &[&'static str],
        priority: Option<i64>,
    ) -> ScopeHosts<'static> {
        ScopeHosts {
            key: Cow::Borrowed(key),
            peers: peers
                .iter()
                .map(|p| match p.strip_prefix("missing:") {
                    Some(why) => Peer::Unavailable(Cow::Borrowed(why)),
                    None => Peer::Value(Cow::Borrowed(*p)),
                })
                .collect(),
            priority,
            ..ScopeHosts::default()
        }
    }

    fn clan() -> Vec<ScopeHosts<'static>> {
        vec![
            scope("clan-core/yggdrasil:ygg::", &[], Some(2000)),
            scope(
                "clan-core/yggdrasil:ygg:default:alpha",
                &["200:0:0::1"],
                None,
            ),
            scope(
                "clan-core/yggdrasil:ygg:default:beta",
                &["missing:var beta/yggdrasil/address"],
                None,
            ),
            scope("mycelium:myc::", &[], Some(800)),
            scope("mycelium:myc:peer:alpha", &["4ab::1"], None),
            scope("mycelium:myc:peer:beta", &["4ab::2", "10.1.0.2"], None),
            scope("clan-core/internet:pub::", &[], Some(2000)),
            scope(
                "clan-core/internet:pub:default:alpha",
                &["203.0.113.5"],
                None,
            ),
            scope("wireguard:wg::", &[], Some(1000)),
            scope(
                "wireguard:wg:peer:beta",
                &["beta.wg.example", "fe80::1%wg0"],
                None,
            ),
        ]
    }

    fn chosen(
        raw: Vec<ScopeHosts<'static>>,
        choice: &NetworkChoice,
    ) -> (Vec<String>, Vec<String>, Problems) {
        let exports = Box::leak(Box::new(Exports::canonicalize(raw).unwrap()));
        let mut problems = Problems::default();
        let selected = select(
            exports,
            &Domain::parse("clan").unwrap(),
            choice,
            &mut problems,
        );
        let records = selected
            .records
            .iter()
            .map(|r| format!("{} {} {} {}", r.machine, r.family(), r.address, r.network))
            .collect();
        let skipped = selected
            .skipped
            .iter()
            .map(|s| format!("{} {} {}", s.machine, s.value, s.reason.code()))
            .collect();
        (records, skipped, problems)
    }

    #[test]
    fn highest_priority_internal_network_wins() {
        let (records, skipped, problems) = chosen(clan(), &NetworkChoice::ByPriority);
        assert!(problems.is_empty());
        assert_eq!(
            records,
            [
                "alpha AAAA 200::1 clan-core/yggdrasil:ygg",
                "beta A 10.1.0.2 mycelium:myc",
                "beta AAAA 4ab::2 mycelium:myc",
            ]
        );
        assert_eq!(
            skipped,
            [
                "alpha 203.0.113.5 outside-network",
                "alpha 4ab::1 lower-priority",
                "beta beta.wg.example not-an-address",
                "beta fe80::1%wg0 zone-index",
                "beta var beta/yggdrasil/address unavailable",
            ]
        );
    }

    #[test]
    fn an_ordered_list_replaces_priorities() {
        let choice = NetworkChoice::Ordered(vec!["mycelium".into(), "clan-core/internet".into()]);
        let (records, skipped, _) = chosen(clan(), &choice);
        assert_eq!(
            records,
            [
                "alpha AAAA 4ab::1 mycelium:myc",
                "beta A 10.1.0.2 mycelium:myc",
                "beta AAAA 4ab::2 mycelium:myc",
            ]
        );
        assert!(skipped.contains(&"alpha 203.0.113.5 lower-priority".to_string()));
        assert!(skipped.contains(&"alpha 200::1 not-selected".to_string()));
    }

    #[test]
    fn networks_of_equal_rank_must_agree() {
        let mut raw = clan();
        raw.push(scope("other:net::", &[], Some(2000)));
        raw.push(scope("other:net:peer:alpha", &["200::9"], None));
        let (_, _, problems) = chosen(raw.clone(), &NetworkChoice::ByPriority);
        let problems = problems.into_sorted();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind.code(), "networks-disagree");
        // Agreeing networks are fine.
        raw.pop();
        raw.push(scope("other:net:peer:alpha", &["200::1"], None));
        assert!(chosen(raw, &NetworkChoice::ByPriority).2.is_empty());
    }
}
