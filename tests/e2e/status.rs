//! `dm-dns status` against a real unbound: current, stale, refused, pending
//! and never installed, with exit codes and `--json` fields.

use std::process::Output;

use crate::common::{dm_dns, run, stderr, stdout};
use crate::node::{Node, exports};

fn status(node: &Node, extra: &[&str]) -> (Output, serde_json::Value) {
    let out = run(dm_dns()
        .arg("status")
        .env("DM_DNS_STATE_DIR", node.dir.join("state"))
        .env("DM_DNS_DOMAIN", "clan")
        .env("DM_DNS_MESH_FILE", node.dir.join("cnames"))
        .env("DM_DNS_ZONE_FILE", node.dir.join("clan.zone"))
        .env("DM_DNS_UNBOUND_CONTROL", node.unbound.control_command())
        .args(extra)
        .arg("--json"));
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out, report)
}

#[test]
fn never_installed_then_current() {
    let (_tmp, node) = Node::start();
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["health"], "never-installed");
    assert!(report["installed"].is_null());

    let signed = node.signed_zone(&exports("alpha", ""), 1_790_000_000, "a");
    assert!(node.deliver(&signed).status.success());
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["health"], "current");
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["installed"]["serial"], 1_790_000_000u64);
    assert_eq!(report["installed"]["signed_at"], "2026-09-21T14:13:20Z");
    assert_eq!(report["installed"]["cnames"], 2);
    assert_eq!(report["served_serial"], 1_790_000_000u64);
    let public = stdout(&run(dm_dns()
        .arg("pubkey")
        .arg(node.dir.join("signing.pub"))));
    assert_eq!(report["installed"]["signer"], public.trim());
    // The text form, for people.
    let text = run(dm_dns()
        .args(["status", "--domain", "clan", "--state-dir"])
        .arg(node.dir.join("state")));
    assert!(
        stdout(&text).contains("status:        current"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn refused_and_pending_updates() {
    let (_tmp, node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"))
            .status
            .success()
    );
    // An older serial arrives: refused, recorded.
    assert_eq!(
        node.deliver(&node.signed_zone(&exports("beta", ""), 5, "old"))
            .status
            .code(),
        Some(2)
    );
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["health"], "refused");
    assert!(
        report["last_refused"]["reason"]
            .as_str()
            .unwrap()
            .contains("not newer"),
        "{report}"
    );
    assert_eq!(report["last_refused"]["serial"], 5);
    assert_eq!(report["installed"]["serial"], 10);
    // A new file that install has not seen yet.
    std::fs::copy(
        node.signed_zone(&exports("beta", ""), 11, "b"),
        node.dir.join("cnames"),
    )
    .unwrap();
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["health"], "pending", "{report}");
    // Installed: current again, the refusal forgotten.
    assert!(node.install().status.success());
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report["last_refused"].is_null());
}

#[test]
fn stale_when_unbound_serves_another_serial() {
    let (_tmp, node) = Node::start();
    // Killed between the swap and the reload: the file is new, unbound old.
    let killed = node.kill_an_install_before_its_reload();
    assert_eq!(killed.status.code(), None);
    // The zone file holds the new zone; the state and unbound the old one.
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["health"], "stale", "{report}");
    assert_eq!(report["served_serial"], 10);
    assert!(node.install().status.success());
    assert_eq!(status(&node, &[]).0.status.code(), Some(0));
}
