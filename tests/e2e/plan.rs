//! `dm-dns plan` against every kind of live file a push meets: none yet,
//! the built-in service's unsigned `zone.conf` (migration), a file signed by
//! the key before a rotation, and one signed by the trusted key. Only the
//! last is a zone to compare with; the others are reported and replaced.

use std::path::Path;

use crate::common::{dm_dns, run, stderr, stdout};
use crate::node::{build_zone, exports, keygen};

fn plan(dir: &Path, zone: &Path, extra: &[&str]) -> (i32, String) {
    let out = run(dm_dns()
        .arg("plan")
        .arg("--zone")
        .arg(zone)
        .arg("--mesh-file")
        .arg(dir.join("live"))
        .arg("--trusted-key")
        .arg(dir.join("new.pub"))
        .args(extra));
    (
        out.status.code().unwrap_or(-1),
        stdout(&out) + &stderr(&out),
    )
}

fn sign(dir: &Path, key: &str, zone: &Path, serial: u64) {
    let out = run(dm_dns()
        .args(["sign", "--key"])
        .arg(dir.join(key))
        .arg("--zone")
        .arg(zone)
        .args(["--serial", &serial.to_string(), "--out"])
        .arg(dir.join("live")));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn every_live_file_is_a_state_to_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for name in ["old", "new"] {
        let out = run(&mut keygen(
            &dir.join(format!("{name}.key")),
            &dir.join(format!("{name}.pub")),
        ));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let zone = build_zone(dir, &exports("alpha", ""), "a");

    // First push: no live file.
    let (code, text) = plan(dir, &zone, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.starts_with(&format!(
            "live zone: no live file at {}: first push",
            dir.join("live").display()
        )),
        "{text}"
    );
    assert!(
        text.contains("+ music.clan CNAME alpha.clan.  (from navidrome:music:server:alpha)"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "summary: 2 to add, 0 to retarget, 0 to remove; address records: 0 to add, 0 to remove\n"
        ),
        "{text}"
    );

    // Migration: the built-in service's unsigned zone.conf is live.
    std::fs::write(
        dir.join("live"),
        "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.clan.\"\n",
    )
    .unwrap();
    let (code, text) = plan(dir, &zone, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("cannot be verified (unsigned: the built-in service's zone?) and will be replaced; every name below is listed as new"),
        "{text}"
    );
    assert!(text.contains("+ git.clan CNAME beta.clan."), "{text}");
    assert!(text.contains("+ music.clan CNAME alpha.clan."), "{text}");

    // Rotation: the live file is signed by the key before.
    sign(dir, "old.key", &zone, 7);
    let old_key = stdout(&run(dm_dns().arg("pubkey").arg(dir.join("old.pub"))));
    let (code, text) = plan(dir, &zone, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!(
            "(signed by {}, not a trusted key: the key before a rotation?)",
            old_key.trim()
        )),
        "{text}"
    );
    let (_, json) = plan(dir, &zone, &["--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["format"], 1);
    assert_eq!(json["live"]["state"], "unverifiable");
    assert_eq!(json["live"]["kind"], "untrusted-signer");
    assert_eq!(json["live"]["signer"], old_key.trim());
    assert_eq!(json["summary"]["added"], 2);

    // Signed by the trusted key: compared record by record.
    sign(dir, "new.key", &zone, 8);
    let (code, text) = plan(dir, &zone, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with("live zone: serial 8, signed 1970-01-01T00:00:08Z by "),
        "{text}"
    );
    let moved = build_zone(dir, &exports("beta", ""), "b");
    let (code, text) = plan(dir, &moved, &["--json"]);
    assert_eq!(code, 1, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["changes"],
        serde_json::json!([{
            "op": "retarget", "name": "music.clan", "type": "CNAME",
            "old": "alpha.clan", "new": "beta.clan",
            "scopes": ["navidrome:music:server:beta"], "skipped": null
        }])
    );
}

#[test]
fn plan_needs_a_trusted_key_and_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let zone = build_zone(dir, &exports("alpha", ""), "a");
    let out = run(dm_dns()
        .arg("plan")
        .arg("--zone")
        .arg(&zone)
        .arg("--mesh-file")
        .arg(dir.join("live")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("pass --trusted-key"),
        "{}",
        stderr(&out)
    );
    let out = run(dm_dns().arg("plan").arg("--zone").arg(&zone).args([
        "--mesh-file",
        "-",
        "--trusted-key",
        "x",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("- (stdin or stdout) is not one here"),
        "{}",
        stderr(&out)
    );
}
