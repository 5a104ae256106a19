//! Install under attack, many times over, against a real unbound (and
//! again against a real Knot behind it): runs
//! killed at random moments, then one normal run; and pairs of runs racing
//! each other, with nothing after. Then the node must be consistent. Counted per round:
//! - stale: the server serves another serial than the state records;
//! - empty: the zone file is empty, or the clan names do not resolve;
//! - diverged: the zone file is not the one the state records, or the state
//!   does not record the newest serial delivered;
//! - reverse: the reverse zone's file does not name the newest zone's
//!   declared address (the zones alternate between two), or names the other.
//!
//! After the killed runs, one more update must leave no staged file behind.
//!
//! `DM_DNS_CAMPAIGN_ROUNDS` (default 100, about 10 s) sets the rounds of
//! each kind.

use std::process::Child;
use std::time::Duration;

use crate::common::{dm_dns, run, stderr};
use crate::node::{
    HOSTS, Node, build_zone_with, control_wrapper, exports, install_mesh_cmd, served_serial,
};

/// The reverse domain every campaign node answers; the two zones declare
/// printer.clan at .20 and at .21 in it.
const REVERSE: &str = "1.168.192.in-addr.arpa";

#[derive(Debug, Default, PartialEq)]
struct Tally {
    stale: usize,
    empty: usize,
    diverged: usize,
    reverse: usize,
}

/// Staged files anywhere under `dir`.
fn staged_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries
        .flat_map(|entry| {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                staged_files(&path)
            } else if entry.file_name().to_string_lossy().ends_with(".dm-dns-tmp") {
                vec![path]
            } else {
                vec![]
            }
        })
        .collect()
}

/// A small deterministic generator: the same seed replays the same schedule.
struct Schedule(u64);

impl Schedule {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn rounds() -> u64 {
    std::env::var("DM_DNS_CAMPAIGN_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
}

struct Campaign {
    node: Node,
    zones: [std::path::PathBuf; 2],
    slow_controls: Vec<String>,
    schedule: Schedule,
}

impl Campaign {
    fn new(seed: u64, knot: bool) -> (tempfile::TempDir, Campaign) {
        let (tmp, node) = if knot {
            Node::start_knot_with_reverse(&[REVERSE])
        } else {
            Node::start_auth_zones(HOSTS, &[REVERSE])
        };
        let printer = |at: u8| format!(r#"{{"printer.clan": {{"A": ["192.168.1.{at}"]}}}}"#);
        let zones = [
            build_zone_with(
                &node.dir,
                &exports("alpha", ""),
                Some(&printer(20)),
                "alpha",
            ),
            build_zone_with(&node.dir, &exports("beta", ""), Some(&printer(21)), "beta"),
        ];
        // Stand-ins that delay the control program, so kills land between the
        // swap and the reload as often as elsewhere.
        let slow_controls = [0, 5, 20, 50]
            .iter()
            .map(|ms| control_wrapper(&node, &format!("control-{ms}"), &format!("sleep 0.{ms:03}")))
            .collect();
        let campaign = Campaign {
            node,
            zones,
            slow_controls,
            schedule: Schedule(seed),
        };
        (tmp, campaign)
    }

    /// The signed file of serial `serial` (zone alternating by serial).
    fn signed(&self, serial: u64, name: &str) -> std::path::PathBuf {
        let out = self.node.dir.join(name);
        let sign = run(dm_dns()
            .args(["sign", "--key"])
            .arg(self.node.dir.join("signing.key"))
            .arg("--zone")
            .arg(&self.zones[(serial % 2) as usize])
            .args(["--serial", &serial.to_string(), "--out"])
            .arg(&out));
        assert!(sign.status.success(), "{}", stderr(&sign));
        out
    }

    fn spawn(&mut self, mesh: &std::path::Path) -> Child {
        let control = self.slow_controls[self.schedule.below(4) as usize].clone();
        install_mesh_cmd(&self.node.dir, mesh, None)
            .args([&self.node.control()[0], &control])
            .args(Node::reverse_args(&self.node.reverse))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// One normal run over `mesh`, as the path unit's next start would do.
    fn settle(&self, mesh: &std::path::Path) {
        let settle = run(install_mesh_cmd(&self.node.dir, mesh, None)
            .args(self.node.control())
            .args(Node::reverse_args(&self.node.reverse)));
        assert!(settle.status.success(), "{}", stderr(&settle));
    }

    /// What the node serves against what the state says and what was
    /// delivered last.
    fn check(&self, newest: u64, tally: &mut Tally) {
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.node.dir.join("state/installed.clan.json")).unwrap(),
        )
        .unwrap();
        let zone = self.node.zone_bytes();
        if served_serial(&self.node) != state["serial"].as_u64() {
            tally.stale += 1;
        }
        let machine = ["alpha", "beta"][(newest % 2) as usize];
        let answer = self.node.unbound.dig("music.clan", "A");
        if zone.is_empty()
            || answer.status() != "NOERROR"
            || answer.answers().first() != Some(&format!("music.clan. CNAME {machine}.clan."))
        {
            // What was served instead, for the failure's reader.
            eprintln!(
                "serial {newest}: zone file of {} bytes, music.clan A {} {:?}",
                zone.len(),
                answer.status(),
                answer.answers()
            );
            tally.empty += 1;
        }
        let zone_sha = dm_dns::sys::digest::hex(&dm_dns::sys::digest::sha256(&zone));
        if state["zone_sha256"] != zone_sha.as_str() || state["serial"] != newest {
            tally.diverged += 1;
        }
        let reverse = std::fs::read_to_string(self.node.dir.join(format!("{REVERSE}.zone")))
            .unwrap_or_default();
        let (now, before) = if newest.is_multiple_of(2) {
            (20, 21)
        } else {
            (21, 20)
        };
        let ptr = |at| format!("{at}.1.168.192.in-addr.arpa. IN PTR printer.clan.");
        if !reverse.contains(&ptr(now)) || reverse.contains(&ptr(before)) {
            tally.reverse += 1;
        }
    }
}

/// Kills `child`; whether it was still running then.
fn kill(child: &mut Child) -> bool {
    let running = child.try_wait().unwrap().is_none();
    // SIGKILL; an error only says it had exited already.
    let _ = child.kill();
    let _ = child.wait();
    running
}

#[test]
fn random_kills_then_one_normal_run_converge() {
    random_kills(false);
}

#[test]
fn random_kills_then_one_normal_run_converge_with_knot() {
    random_kills(true);
}

fn random_kills(knot: bool) {
    let (_tmp, mut campaign) = Campaign::new(0x5eed_0001, knot);
    let mut tally = Tally::default();
    let first = campaign.signed(1_000, "mesh");
    campaign.settle(&first);
    campaign.check(1_000, &mut tally);
    let mut killed_running = 0;
    for round in 1..=rounds() {
        let serial = 1_000 + round;
        let mesh = campaign.signed(serial, "mesh");
        let delay = campaign.schedule.below(60);
        let mut child = campaign.spawn(&mesh);
        std::thread::sleep(Duration::from_millis(delay));
        killed_running += usize::from(kill(&mut child));
        campaign.settle(&mesh);
        campaign.check(serial, &mut tally);
    }
    eprintln!(
        "random kills: {} rounds, {killed_running} killed while running, {tally:?}",
        rounds()
    );
    assert_eq!(tally, Tally::default());
    // What killed runs staged is removed by the next update that writes the
    // same files (a run killed after its swap leaves its last-good copy's
    // staged link until then).
    let next = campaign.signed(1_000 + rounds() + 1, "mesh");
    campaign.settle(&next);
    let left = staged_files(&campaign.node.dir);
    assert!(left.is_empty(), "staged files left behind: {left:?}");
}

#[test]
fn racing_pairs_converge_on_the_newer_serial() {
    racing_pairs(false);
}

#[test]
fn racing_pairs_converge_on_the_newer_serial_with_knot() {
    racing_pairs(true);
}

fn racing_pairs(knot: bool) {
    let (_tmp, mut campaign) = Campaign::new(0x5eed_0002, knot);
    let mut tally = Tally::default();
    for round in 1..=rounds() {
        let (older, newer) = (2_000 + 2 * round, 2_001 + 2 * round);
        let older_mesh = campaign.signed(older, "mesh-older");
        let newer_mesh = campaign.signed(newer, "mesh-newer");
        let newer_first = campaign.schedule.below(2) == 0;
        let (a, b) = if newer_first {
            (&newer_mesh, &older_mesh)
        } else {
            (&older_mesh, &newer_mesh)
        };
        let mut first = campaign.spawn(a);
        let mut second = campaign.spawn(b);
        let (first, second) = (first.wait().unwrap(), second.wait().unwrap());
        assert!(
            first.success() || second.success(),
            "round {round}: both failed"
        );
        // Neither run was killed: no settling run, both together must
        // already have left the newer zone served.
        campaign.check(newer, &mut tally);
    }
    eprintln!("racing pairs: {} rounds, {tally:?}", rounds());
    assert_eq!(tally, Tally::default());
}
