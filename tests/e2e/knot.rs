//! The zone held by a real Knot DNS behind a real unbound (the NixOS
//! module's set-up): small changes go in as one transaction of only the
//! changed records, large ones as a reload Knot does beside the served zone;
//! either way the file, the state and what Knot serves agree, and answers
//! come through unbound.

use std::time::Duration;

use crate::common::{dm_dns, run, stderr};
use crate::node::{
    MUSIC_ON_ALPHA, MUSIC_ON_BETA, Node, control_wrapper, exports, install_cmd, served_serial,
};

/// What Knot serves is what the file holds: a reload from the file changes
/// no answer.
fn assert_file_matches_served(node: &Node, names: &[&str]) {
    let before: Vec<_> = names
        .iter()
        .map(|n| node.unbound.dig(n, "A").answers())
        .collect();
    let knot = node.knot.as_ref().unwrap();
    let reload = knot.control(&["-b", "zone-reload", "clan."]);
    assert!(reload.status.success(), "{}", stderr(&reload));
    for (name, before) in names.iter().zip(before) {
        assert_eq!(node.unbound.dig(name, "A").answers(), before, "{name}");
    }
}

#[test]
fn small_changes_are_a_transaction_and_answers_follow() {
    let (_tmp, node) = Node::start_knot();
    assert_eq!(
        node.unbound.dig("alpha.clan", "A").answers(),
        vec!["alpha.clan. A 10.0.0.1"]
    );
    let first = node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"));
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("applied as a transaction of"),
        "{}",
        stderr(&first)
    );
    assert_eq!(node.music(), MUSIC_ON_ALPHA);

    let moved = node.deliver(&node.signed_zone(&exports("beta", r#","new.clan""#), 11, "b"));
    assert!(moved.status.success(), "{}", stderr(&moved));
    // music retargeted (unset + set), new added (and the SOA).
    assert!(
        stderr(&moved).contains("applied as a transaction of 3 edits"),
        "{}",
        stderr(&moved)
    );
    assert_eq!(node.music(), MUSIC_ON_BETA);
    assert_eq!(
        node.unbound.dig("new.clan", "A").answers(),
        ["new.clan. CNAME beta.clan.", "beta.clan. A 10.0.0.2"]
    );
    assert_eq!(served_serial(&node), Some(11));
    assert_file_matches_served(&node, &["music.clan", "new.clan", "git.clan"]);

    let removed = node.deliver(&node.signed_zone(&exports("beta", ""), 12, "c"));
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(node.unbound.dig("new.clan", "A").status(), "NXDOMAIN");
    assert_file_matches_served(&node, &["music.clan", "new.clan"]);
}

#[test]
fn a_large_change_is_a_reload() {
    let (_tmp, node) = Node::start_knot();
    let many = |machine: &str| {
        let hosts: String = (0..1_500).map(|i| format!(r#","h{i}.clan""#)).collect();
        exports(machine, &hosts)
    };
    assert!(
        node.deliver(&node.signed_zone(&many("alpha"), 20, "a"))
            .status
            .success()
    );
    // 1,501 names retargeted: 3,002 edits, more than one transaction takes.
    let out = node.deliver(&node.signed_zone(&many("beta"), 21, "b"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("zone reloaded"), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_BETA);
    assert_eq!(
        node.unbound.dig("h1499.clan", "A").answers(),
        ["h1499.clan. CNAME beta.clan.", "beta.clan. A 10.0.0.2"]
    );
    assert_eq!(served_serial(&node), Some(21));
}

/// Knot serving something else than the previous file (an operator's own
/// `knotc zone-set`) is no base for a transaction: install reloads.
#[test]
fn a_zone_changed_behind_installs_back_is_reloaded() {
    let (_tmp, node) = Node::start_knot();
    node.installed("alpha", 30);
    let knot = node.knot.as_ref().unwrap();
    for args in [
        &["zone-begin", "clan."][..],
        &["zone-set", "clan.", "stray.clan.", "300", "A", "10.9.9.9"],
        &[
            "zone-set",
            "clan.",
            "clan.",
            "300",
            "SOA",
            "localhost.",
            "nobody.invalid.",
            "31",
            "3600",
            "600",
            "86400",
            "300",
        ],
        &["zone-commit", "clan."],
    ] {
        assert!(knot.control(args).status.success(), "{args:?}");
    }
    assert_eq!(node.unbound.dig("stray.clan", "A").status(), "NOERROR");
    let out = node.deliver(&node.signed_zone(&exports("beta", ""), 32, "b"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("zone reloaded"), "{}", stderr(&out));
    assert_eq!(node.unbound.dig("stray.clan", "A").status(), "NXDOMAIN");
    assert_eq!(node.music(), MUSIC_ON_BETA);
}

/// A transaction Knot refuses midway (here: a stand-in that fails every
/// edit after the first) commits nothing, and the reload puts the file in.
#[test]
fn a_refused_transaction_commits_nothing_and_reloads() {
    let (_tmp, node) = Node::start_knot();
    node.installed("alpha", 40);
    let knot = node.knot.as_ref().unwrap();
    let refusing = control_wrapper(
        &node,
        "refusing-control",
        &format!(
            "if [ $# -eq 2 ]; then head -n 2 | knotc -s {} ; echo 'error: (refused)'; exit 0; fi",
            knot.socket.display()
        ),
    );
    node.arrives("beta", 41);
    let out = run(install_cmd(&node.dir, None).args(["--knot-control", &refusing]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("zone reloaded"), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_BETA);
    assert_eq!(served_serial(&node), Some(41));
    // No transaction left open: the next one goes through.
    let next = node.deliver(&node.signed_zone(&exports("alpha", ""), 42, "c"));
    assert!(
        stderr(&next).contains("applied as a transaction"),
        "{}",
        stderr(&next)
    );
}

/// A reload that outlasts the control timeout (Knot loading a large zone
/// serves the old one until the new one is in) is not a failure to undo:
/// install asks what Knot serves until it serves the new serial.
#[test]
fn a_reload_outlasting_the_timeout_still_converges() {
    let (_tmp, node) = Node::start_knot();
    node.installed("alpha", 50);
    // No transactions (standard input refused), and a reload that takes
    // 1.5 s in the background while the client hangs.
    let slow = control_wrapper(
        &node,
        "loading-control",
        "case \"$*\" in\n\
         *zone-reload*) (sleep 1.5; knotc \"$@\" >/dev/null) & sleep 30;;\n\
         *zone-abort*|*zone-read*) ;;\n\
         *) exit 1;;\n\
         esac",
    );
    node.arrives("beta", 51);
    let out =
        run(install_cmd(&node.dir, None).args(["--knot-control", &slow, "--control-timeout", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("installed serial 51"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.music(), MUSIC_ON_BETA);
    assert_eq!(served_serial(&node), Some(51));
    let state = std::fs::read_to_string(node.dir.join("state/installed.clan.json")).unwrap();
    assert!(state.contains("\"serial\": 51"), "{state}");
}

/// A file Knot cannot load (a stand-in that reports the load failed) puts
/// the previous file back: a Knot restart then loads what it serves.
#[test]
fn a_failed_reload_puts_the_previous_zone_back() {
    let (_tmp, node) = Node::start_knot();
    node.installed("alpha", 60);
    let served = node.zone_bytes();
    let failing = control_wrapper(
        &node,
        "failing-control",
        "case \"$*\" in\n\
         *zone-reload*) echo 'error: [clan.] (failed)' >&2; exit 1;;\n\
         *zone-abort*|*zone-read*) ;;\n\
         *) exit 1;;\n\
         esac",
    );
    node.arrives("beta", 61);
    let out = run(install_cmd(&node.dir, None).args(["--knot-control", &failing]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("systemctl status dm-dns-knot"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.zone_bytes(), served, "the zone file was not put back");
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
    assert!(node.install().status.success());
    assert_eq!(node.music(), MUSIC_ON_BETA);
}

/// Killed between writing the file and Knot taking it: the next run sees
/// Knot serve the old serial and reloads.
#[test]
fn a_run_killed_before_knot_takes_the_zone_is_completed_by_the_next() {
    let (_tmp, node) = Node::start_knot();
    let killed = node.kill_an_install_before_its_reload();
    assert!(!killed.status.success(), "{}", stderr(&killed));
    assert_eq!(served_serial(&node), Some(10));
    let out = node.install();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(served_serial(&node), Some(11));
    assert_eq!(node.music(), MUSIC_ON_BETA);
    std::thread::sleep(Duration::from_millis(10));
}

/// The way back from a serial signed too far ahead: a lower serial with
/// --allow-rollback is what Knot serves afterwards.
#[test]
fn a_rollback_on_purpose_is_served() {
    let (_tmp, node) = Node::start_knot();
    node.installed("alpha", 70);
    node.arrives("beta", 69);
    let refused = node.install();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let out = run(install_cmd(&node.dir, None)
        .args(node.control())
        .arg("--allow-rollback"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(served_serial(&node), Some(69));
    assert_eq!(node.music(), MUSIC_ON_BETA);
}

/// Knot down: the update is not applied, the file stays the one Knot will
/// load when it starts, and `status` says which unit to look at.
#[test]
fn a_stopped_knot_keeps_the_file_and_status_says_so() {
    let (_tmp, mut node) = Node::start_knot();
    node.installed("alpha", 80);
    let served = node.zone_bytes();
    node.knot.as_mut().unwrap().stop();
    node.arrives("beta", 81);
    let out = node.install();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error: not applied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.zone_bytes(), served, "the zone file was not put back");
    let config = node.write_config();
    let status = run(dm_dns().args(["status", "--json", "--config"]).arg(&config));
    assert_eq!(status.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["health"], "unbound-unreachable", "{report}");
    assert_eq!(report["served_by"], "knot", "{report}");
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("systemctl status dm-dns-knot")),
        "{report}"
    );
}
