//! `dm-dns status` against a real unbound: current, stale, refused, pending
//! and never installed, with exit codes and `--json` fields.

use std::process::Output;

use crate::common::{dm_dns, run, stderr, stdout};
use crate::node::{Node, exports};

fn status(node: &Node, extra: &[&str]) -> (Output, serde_json::Value) {
    let out = run(dm_dns()
        .arg("status")
        .arg("--config")
        .arg(node.write_config())
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
    assert_eq!(report["format"], 1);
    // The text form, for people; the domain is the one the state holds.
    let text = run(dm_dns()
        .args(["status", "--state-dir"])
        .arg(node.dir.join("state")));
    assert!(
        stdout(&text).contains("domain:        clan\nhealth:        current"),
        "{}{}",
        stdout(&text),
        stderr(&text)
    );
}

#[test]
fn a_wrong_domain_or_state_dir_says_what_is_there() {
    let (_tmp, node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"))
            .status
            .success()
    );
    let (out, report) = status(&node, &["--domain", "example.com"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["health"], "never-installed");
    let problem = report["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("which holds zones of clan (hint: wrong --domain?)"),
        "{problem}"
    );
    let (_, report) = status(&node, &["--state-dir", "/nonexistent/dm-dns"]);
    let problem = report["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("/nonexistent/dm-dns does not exist (hint: wrong --state-dir?"),
        "{problem}"
    );
}

#[test]
fn an_unreachable_unbound_is_reported_with_the_rest() {
    let (_tmp, mut node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"))
            .status
            .success()
    );
    let config = node.write_config();
    node.unbound.stop();
    let (out, report) = status(&node, &[]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["health"], "unbound-unreachable");
    assert_eq!(report["installed"]["serial"], 10, "{report}");
    let text = run(dm_dns().arg("status").arg("--config").arg(&config));
    assert_eq!(text.status.code(), Some(1));
    assert!(
        stdout(&text).contains("health:        unbound-unreachable")
            && stdout(&text).contains("serial:        10"),
        "{}",
        stdout(&text)
    );
    // install keeps the two failures apart: unbound down is "not applied",
    // recorded as such, and the previous zone stays.
    std::fs::copy(
        node.signed_zone(&exports("beta", ""), 11, "b"),
        node.dir.join("cnames"),
    )
    .unwrap();
    let out = run(dm_dns().arg("install").arg("--config").arg(&config));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: not applied: ")
            && stderr(&out).contains("the previous zone stays"),
        "{}",
        stderr(&out)
    );
    let (_, report) = status(&node, &["--no-unbound"]);
    assert_eq!(report["health"], "not-applied", "{report}");
    assert!(report["last_refused"].is_null(), "{report}");
    assert_eq!(report["last_not_applied"]["serial"], 11, "{report}");
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
    assert_eq!(report["last_refused"]["kind"], "not-newer");
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
