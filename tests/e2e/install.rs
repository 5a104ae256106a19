//! keygen -> zone -> sign -> verify -> install into a real unbound, queried
//! with real dig; refused updates and interrupted installs never cost answers.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{Unbound, dm_dns, run, stderr, stdout};
use crate::node::{
    HOSTS, MUSIC_ON_ALPHA, MUSIC_ON_BETA, Node, build_zone, control_wrapper, exports, install_cmd,
    install_mesh_cmd, keygen, served_serial,
};
use dm_dns::sys::digest::sha256;

#[test]
fn signed_updates_change_answers_without_restarting_unbound() {
    let (_tmp, node) = Node::start();
    assert_eq!(
        node.unbound.dig("alpha.clan", "A").answers(),
        vec!["alpha.clan. A 10.0.0.1"]
    );
    assert_eq!(node.unbound.dig("music.clan", "A").status(), "NXDOMAIN");

    let first = node.signed_zone(&exports("alpha", ""), 1_000, "first");
    let verify = run(dm_dns()
        .arg("verify")
        .arg("--trusted-key")
        .arg(node.dir.join("signing.pub"))
        .args(["--domain", "clan"])
        .arg(&first));
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(stdout(&verify).contains("domain clan, serial 1000, 2 CNAMEs, 0 address records"));
    let other = node.dir.join("other.pub");
    assert!(
        run(&mut keygen(&node.dir.join("other.key"), &other))
            .status
            .success()
    );
    let signing_pub = node.dir.join("signing.pub");
    for (key, domain, reason) in [
        (&other, "clan", "not a trusted key"),
        (&signing_pub, "example.com", "this node serves"),
    ] {
        let refused = run(dm_dns()
            .arg("verify")
            .arg("--trusted-key")
            .arg(key)
            .args(["--domain", domain])
            .arg(&first));
        assert_eq!(refused.status.code(), Some(2));
        assert!(stderr(&refused).contains(reason), "{}", stderr(&refused));
    }

    let out = node.deliver(&first);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
    let answer = node.unbound.dig("git.clan", "A");
    assert_eq!(
        answer.answers(),
        vec!["git.clan. CNAME beta.clan.", "beta.clan. A 10.0.0.2"]
    );
    assert_eq!(node.unbound.dig("unknown.clan", "A").status(), "NXDOMAIN");
    let check = run(Command::new("named-checkzone")
        .arg("clan.")
        .arg(node.dir.join("clan.zone")));
    assert!(check.status.success(), "{}", stdout(&check));

    // The same file again changes nothing.
    let again = node.install();
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("already installed"),
        "{}",
        stderr(&again)
    );

    let pid = node.unbound.pid();
    let first_zone = node.zone_bytes();
    let second = node.signed_zone(&exports("beta", ""), 2_000, "second");
    let out = node.deliver(&second);
    assert!(out.status.success(), "{}", stderr(&out));
    // One line for the journal says what changed.
    assert!(
        stderr(&out)
            .trim_end()
            .ends_with(": 1 retargeted (music.clan); zone reloaded"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.music(), MUSIC_ON_BETA);
    assert_eq!(node.unbound.pid(), pid, "unbound was restarted");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(node.dir.join("state/installed.clan.json")).unwrap())
            .unwrap();
    assert_eq!(state["serial"], 2_000);
    // The previous zone is kept whole (a hard link to the file replaced).
    let last_good = std::fs::read(node.dir.join("state/last-good.clan.zone")).unwrap();
    assert_eq!(last_good, first_zone);
    assert_ne!(node.zone_bytes(), first_zone);
}

#[test]
fn refused_updates_keep_the_old_answers() {
    let (_tmp, node) = Node::start();
    let good = node.signed_zone(&exports("alpha", ""), 5_000, "good");
    assert!(node.deliver(&good).status.success());
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
    let served = node.zone_bytes();
    let newer = std::fs::read(node.signed_zone(&exports("beta", ""), 6_000, "newer")).unwrap();

    let mut tampered = newer.clone();
    let at = tampered.len() - 5;
    tampered[at] ^= 0x01;
    let truncated = newer[..newer.len() - 10].to_vec();
    let older = std::fs::read(node.signed_zone(&exports("beta", ""), 4_000, "older")).unwrap();

    // A correctly signed body that smuggles in an unbound directive.
    let key_text = std::fs::read_to_string(node.dir.join("signing.key")).unwrap();
    let key = dm_dns::sign::keys::parse_private(&key_text).unwrap();
    let domain = dm_dns::dns::name::Domain::parse("clan").unwrap();
    let injected_body = b"local-zone: \"clan.\" transparent\n\
        local-data: \"music.clan. CNAME beta.clan.\"\n\
        forward-zone:\n  name: \".\"\n  forward-addr: 192.0.2.1\n";
    let injected =
        dm_dns::sign::signed::sign(&key, &domain, 7_000, injected_body, &sha256(injected_body));

    let other_key = dm_dns::sign::keys::generate().unwrap();
    let body = std::fs::read(node.dir.join("newer-zone/zone.conf")).unwrap();
    let wrong_key = dm_dns::sign::signed::sign(&other_key, &domain, 8_000, &body, &sha256(&body));

    let same_serial = std::fs::read(node.signed_zone(&exports("beta", ""), 5_000, "same")).unwrap();

    let cases: [(&str, Vec<u8>, &str); 7] = [
        ("tampered", tampered, "changed after signing"),
        ("truncated", truncated, ""),
        ("older serial", older.clone(), "not newer"),
        ("same serial, other zone", same_serial, "not newer"),
        ("injected directive", injected, "only `local-data"),
        ("wrong key", wrong_key, "not a trusted key"),
        (
            "garbage",
            b"\x00\xffhello".to_vec(),
            "not a dm-dns signed zone",
        ),
    ];
    for (what, bytes, reason) in cases {
        let path = node.dir.join("candidate");
        std::fs::write(&path, &bytes).unwrap();
        let out = node.deliver(&path);
        assert_eq!(out.status.code(), Some(2), "{what} was accepted");
        assert!(stderr(&out).contains(reason), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("previous zone stays"),
            "{what}: {}",
            stderr(&out)
        );
        assert_eq!(node.zone_bytes(), served, "{what} changed the zone file");
        assert_eq!(node.music(), MUSIC_ON_ALPHA, "{what} changed the answer");
    }

    // An older zone goes in only when asked for on purpose.
    std::fs::write(node.dir.join("cnames"), &older).unwrap();
    let out = run(install_cmd(&node.dir, Some(&node.unbound)).arg("--allow-rollback"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_BETA);
}

/// After migrating from the built-in service its unsigned `dns/cnames` is
/// still on disk, or no key is trusted yet: unbound must still get a zone.
#[test]
fn a_refused_mesh_file_with_no_zone_yet_writes_the_nodes_own_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(
        run(&mut keygen(
            &dir.join("signing.key"),
            &dir.join("signing.pub")
        ))
        .status
        .success()
    );
    std::fs::write(dir.join("hosts"), HOSTS).unwrap();
    std::fs::write(
        dir.join("cnames"),
        "local-zone: \"clan.\" transparent\nlocal-data: \"music.clan. CNAME alpha.clan.\"",
    )
    .unwrap();
    let out = install_cmd(dir, None).arg("--no-reload").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a dm-dns signed zone"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("own records was written"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("previous zone stays"),
        "{}",
        stderr(&out)
    );
    let zone = std::fs::read_to_string(dir.join("clan.zone")).unwrap();
    assert!(zone.contains("alpha.clan. IN A 10.0.0.1"), "{zone}");
    assert!(!zone.contains("music"), "{zone}");

    // No trusted key: refused too, and the zone in place stays as it is.
    std::fs::write(dir.join("clan.zone"), "kept").unwrap();
    let out = dm_dns()
        .args(["install", "--no-reload", "--domain", "clan", "--mesh-file"])
        .arg(dir.join("cnames"))
        .arg("--zone-file")
        .arg(dir.join("clan.zone"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no trusted keys"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("previous zone stays"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(dir.join("clan.zone")).unwrap(), b"kept");
}

#[test]
fn a_failed_reload_puts_the_previous_zone_back() {
    let (_tmp, node) = Node::start();
    let good = node.signed_zone(&exports("alpha", ""), 1, "good");
    assert!(node.deliver(&good).status.success());
    let served = node.zone_bytes();
    let state = std::fs::read(node.dir.join("state/installed.clan.json")).unwrap();

    let newer = node.signed_zone(&exports("beta", ""), 2, "newer");
    std::fs::copy(&newer, node.dir.join("cnames")).unwrap();
    let mut cmd = install_cmd(&node.dir, None);
    let out = run(cmd.args(["--unbound-control", "false"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("auth_zone_reload"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.zone_bytes(), served, "the zone file was not put back");
    assert_eq!(
        std::fs::read(node.dir.join("state/installed.clan.json")).unwrap(),
        state
    );
    assert_eq!(node.music(), MUSIC_ON_ALPHA);

    // Once unbound can be reached again, the same file installs.
    assert!(node.install().status.success());
    assert_eq!(node.music(), MUSIC_ON_BETA);
}

#[test]
fn interrupted_installs_leave_a_whole_zone_and_answers() {
    let (_tmp, node) = Node::start();
    let first = node.signed_zone(&exports("alpha", ""), 10_000, "first");
    assert!(node.deliver(&first).status.success());
    let mut killed = 0;
    for round in 0..40u64 {
        // Each round signs a newer serial so every install has work to do.
        let serial = 20_000 + round;
        let machine = if round % 2 == 0 { "beta" } else { "alpha" };
        let file = node.signed_zone(&exports(machine, ""), serial, &format!("r{round}"));
        std::fs::copy(&file, node.dir.join("cnames")).unwrap();
        let mut child = install_cmd(&node.dir, Some(&node.unbound))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(round * 250));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let text = String::from_utf8(node.zone_bytes()).unwrap();
        let zone = dm_dns::artifacts::zonefile::parse_db(&text)
            .unwrap_or_else(|e| panic!("round {round}: torn zone file: {e}\n{text}"));
        assert!(
            text.ends_with('\n'),
            "round {round}: unterminated zone file"
        );
        assert_eq!(zone.target("git.clan"), Some("beta"), "round {round}");
        let target = zone.target("music.clan").unwrap_or_default();
        assert!(
            target == "alpha" || target == "beta",
            "round {round}: {target}"
        );
        let answers = node.music();
        assert!(
            answers == MUSIC_ON_ALPHA || answers == MUSIC_ON_BETA,
            "round {round}: {answers:?}"
        );
    }
    assert!(
        killed > 0,
        "no install was interrupted; the test proved nothing"
    );
    // After all the interruptions a normal install still goes through.
    let last = node.signed_zone(&exports("alpha", ""), 99_999, "last");
    let out = node.deliver(&last);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
}

#[test]
fn signed_file_stays_a_valid_unbound_include() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(
        run(&mut keygen(&dir.join("k"), &dir.join("k.pub")))
            .status
            .success()
    );
    let zone = build_zone(dir, &exports("alpha", ""), "e");
    let mut sign = dm_dns();
    sign.args(["sign", "--key", "-", "--zone"])
        .arg(&zone)
        .arg("--out")
        .arg(dir.join("cnames"))
        .stdin(std::fs::File::open(dir.join("k")).unwrap());
    let out = run(&mut sign);
    assert!(out.status.success(), "{}", stderr(&out));
    let key_text = std::fs::read_to_string(dir.join("k")).unwrap();
    let key_body = key_text.lines().nth(1).unwrap();
    assert!(!stderr(&out).contains(key_body) && !stdout(&out).contains(key_body));

    // A node still on the built-in service includes the file as before.
    let include = format!("  include: \"{}\"", dir.join("cnames").display());
    let unbound = Unbound::start(dir, &include, "");
    assert!(
        unbound
            .dig("music.clan", "A")
            .answers()
            .contains(&"music.clan. CNAME alpha.clan.".to_string())
    );
}

#[test]
fn sign_refuses_a_zone_that_does_not_match_its_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let zone = build_zone(dir, &exports("alpha", ""), "e");
    let conf = zone.join("zone.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("alpha.clan.", "beta.clan.")).unwrap();
    let key = dm_dns::sign::keys::private_pem(&dm_dns::sign::keys::generate().unwrap());
    std::fs::write(dir.join("k"), key).unwrap();
    let out = run(dm_dns()
        .arg("sign")
        .arg("--key")
        .arg(dir.join("k"))
        .arg("--zone")
        .arg(&zone)
        .arg("--out")
        .arg(dir.join("cnames")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("manifest"), "{}", stderr(&out));
    assert!(!dir.join("cnames").exists());
}

#[test]
fn keygen_and_pubkey_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (private, public) = (
        tmp.path().join("signing.key"),
        tmp.path().join("signing.pub"),
    );
    assert!(run(&mut keygen(&private, &public)).status.success());
    let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&private)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    let from_private = stdout(&run(dm_dns().arg("pubkey").arg(&private)));
    let from_public = stdout(&run(dm_dns().arg("pubkey").arg(&public)));
    assert_eq!(from_private, from_public);
    assert_eq!(from_private.trim().len(), 44);
    let b64 = tmp.path().join("b64");
    std::fs::write(&b64, &from_private).unwrap();
    assert_eq!(stdout(&run(dm_dns().arg("pubkey").arg(&b64))), from_private);

    let before = std::fs::read(&private).unwrap();
    let again = run(&mut keygen(&private, &public));
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"));
    assert_eq!(std::fs::read(&private).unwrap(), before);
    assert!(
        run(keygen(&private, &public).arg("--force"))
            .status
            .success()
    );
    assert_ne!(std::fs::read(&private).unwrap(), before);
}

/// Killed between the swap and the reload: the next run reloads.
#[test]
fn a_run_killed_before_the_reload_is_completed_by_the_next() {
    let (_tmp, node) = Node::start();
    let out = node.kill_an_install_before_its_reload();
    assert_eq!(
        out.status.code(),
        None,
        "install was not killed: {}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&node.zone_bytes()).contains("beta.clan"));
    assert_eq!(node.music(), MUSIC_ON_ALPHA, "unbound reloaded anyway");

    let out = node.install();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        node.music(),
        MUSIC_ON_BETA,
        "the next run left unbound stale"
    );
    assert_eq!(served_serial(&node), Some(11));
    let out = node.install();
    assert!(
        stderr(&out).contains("already installed"),
        "{}",
        stderr(&out)
    );
}

/// The path unit and a manual run at once: one waits for the other, the
/// newer serial wins, and the zone file, the state and unbound agree.
#[test]
fn concurrent_installs_serialise_and_the_newer_serial_wins() {
    let (_tmp, node) = Node::start();
    let slow = control_wrapper(&node, "slow-control", "sleep 0.3");
    let older = node.signed_zone(&exports("alpha", ""), 20, "older");
    let newer = node.signed_zone(&exports("beta", ""), 21, "newer");
    for round in 0..3 {
        let (first, second) = if round % 2 == 0 {
            (&older, &newer)
        } else {
            (&newer, &older)
        };
        let mesh = |file: &Path, name: &str| {
            let path = node.dir.join(name);
            std::fs::copy(file, &path).unwrap();
            let mut cmd = install_mesh_cmd(&node.dir, &path, None);
            // The refusal of the older one is expected: not for the log.
            cmd.args(["--unbound-control", &slow])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            cmd
        };
        let mut a = mesh(first, "mesh-a").spawn().unwrap();
        let mut b = mesh(second, "mesh-b").spawn().unwrap();
        let a = a.wait().unwrap();
        let b = b.wait().unwrap();
        // The older one, if it ran second, is refused as a rollback (exit 2).
        assert!(a.success() || b.success(), "round {round}: both failed");
        let zone = String::from_utf8(node.zone_bytes()).unwrap();
        assert!(
            zone.contains("music.clan. IN CNAME beta.clan."),
            "round {round}: {zone}"
        );
        let state = std::fs::read_to_string(node.dir.join("state/installed.clan.json")).unwrap();
        assert!(state.contains("\"serial\": 21"), "round {round}: {state}");
        assert_eq!(served_serial(&node), Some(21), "round {round}");
        assert_eq!(node.music(), MUSIC_ON_BETA);
    }
}

/// A stopped unbound: install gives up after --control-timeout and puts the
/// previous zone file back.
#[test]
fn a_hung_unbound_does_not_hang_install() {
    let (_tmp, node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 30, "a"))
            .status
            .success()
    );
    let served = node.zone_bytes();
    std::fs::copy(
        node.signed_zone(&exports("beta", ""), 31, "b"),
        node.dir.join("cnames"),
    )
    .unwrap();
    let pid = node.unbound.pid().to_string();
    assert!(
        run(Command::new("kill").args(["-STOP", &pid]))
            .status
            .success()
    );
    let started = std::time::Instant::now();
    let out = run(install_cmd(&node.dir, Some(&node.unbound)).args(["--control-timeout", "1"]));
    let took = started.elapsed();
    assert!(
        run(Command::new("kill").args(["-CONT", &pid]))
            .status
            .success()
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no answer within 1 s"),
        "{}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(30), "install waited {took:?}");
    assert_eq!(
        node.zone_bytes(),
        served,
        "the previous zone file was not put back"
    );
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
    assert!(node.install().status.success());
    assert_eq!(node.music(), MUSIC_ON_BETA);
}

/// Machine names resolve from the zone's own address records: a node that
/// knows no other machine answers CNAME and address in one response.
#[test]
fn machine_addresses_come_from_the_zone() {
    let (_tmp, node) = Node::start_with_hosts("");
    let example =
        std::fs::read_to_string(crate::common::repo_path("examples/clan-exports.json")).unwrap();
    let signed = node.signed_zone(&example, 40, "example");
    let out = node.deliver(&signed);
    assert!(out.status.success(), "{}", stderr(&out));
    let music = node.unbound.dig("music.clan", "AAAA");
    assert_eq!(
        music.answers(),
        [
            "music.clan. CNAME alpha.clan.",
            "alpha.clan. AAAA 200:1111:2222:3333::1"
        ],
        "{}",
        music.0
    );
    assert_eq!(
        node.unbound.dig("gamma.clan", "AAAA").answers(),
        ["gamma.clan. AAAA 4ab:1:2:3::3"]
    );
    // internet's public address is not an internal one.
    assert!(node.unbound.dig("beta.clan", "A").answers().is_empty());
    assert_eq!(
        node.unbound.dig("nothing.clan", "AAAA").status(),
        "NXDOMAIN"
    );
    let check = run(Command::new("named-checkzone")
        .arg("clan.")
        .arg(node.dir.join("clan.zone")));
    assert!(check.status.success(), "{}", stdout(&check));

    // The node's own records win for the names they give.
    std::fs::write(node.dir.join("hosts"), "10.9.9.9 alpha.clan\n").unwrap();
    let out = node.install();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        node.unbound.dig("alpha.clan", "A").answers(),
        ["alpha.clan. A 10.9.9.9"]
    );
    assert!(node.unbound.dig("alpha.clan", "AAAA").answers().is_empty());
}

#[test]
fn a_run_that_finds_the_zone_in_place_keeps_when_it_was_installed() {
    let (_tmp, node) = crate::node::Node::start();
    let signed = node.signed_zone(&exports("alpha", ""), 10, "a");
    assert!(node.deliver(&signed).status.success());
    let state_file = node.dir.join("state/installed.clan.json");
    let before = std::fs::read(&state_file).unwrap();
    // installed_at has a resolution of one second.
    std::thread::sleep(Duration::from_millis(1100));
    let again = node.install();
    assert!(stderr(&again).contains("serial 10 is already installed"));
    assert_eq!(std::fs::read(&state_file).unwrap(), before);
}

/// A reload that outlasts the control timeout (unbound loading a large
/// zone: its control socket answers nothing until it is done) is not a
/// failure to undo: install asks what unbound serves, and records the new
/// serial once unbound serves it.
#[test]
fn a_reload_outlasting_the_timeout_still_converges() {
    let (_tmp, node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 40, "a"))
            .status
            .success()
    );
    let loading = node.dir.join("loading");
    // The reload itself takes 1.5 s (in the background: killing the client
    // does not stop unbound); meanwhile list_auth_zones waits, as unbound's
    // zone lock makes it.
    let slow = control_wrapper(
        &node,
        "loading-control",
        &format!(
            "case \"$*\" in\n\
             *auth_zone_reload*) touch '{0}'; (sleep 1.5; unbound-control \"$@\" >/dev/null; rm -f '{0}') & sleep 30;;\n\
             *list_auth_zones*) while [ -e '{0}' ]; do sleep 0.05; done;;\n\
             esac",
            loading.display()
        ),
    );
    std::fs::copy(
        node.signed_zone(&exports("beta", ""), 41, "b"),
        node.dir.join("cnames"),
    )
    .unwrap();
    let out = run(install_cmd(&node.dir, None).args([
        "--unbound-control",
        &slow,
        "--control-timeout",
        "1",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("installed serial 41"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.music(), MUSIC_ON_BETA);
    let state = std::fs::read_to_string(node.dir.join("state/installed.clan.json")).unwrap();
    assert!(state.contains("\"serial\": 41"), "{state}");
    assert_eq!(served_serial(&node), Some(41));
    assert!(
        String::from_utf8(node.zone_bytes())
            .unwrap()
            .contains("music.clan. IN CNAME beta.clan.")
    );
}

/// One odd `--hosts` line never leaves a node without a zone: it is left
/// out with a warning, and the bootstrap zone is written with the rest.
#[test]
fn an_unusable_hosts_entry_still_gets_a_bootstrap_zone() {
    let (_tmp, node) = Node::start_with_hosts("fe80::1%wg0 alpha.clan\n10.0.0.2 beta.clan\n");
    let zone = String::from_utf8(node.zone_bytes()).unwrap();
    assert!(zone.contains("beta.clan. IN A 10.0.0.2"), "{zone}");
    assert!(!zone.contains("fe80"), "{zone}");
    let out = node.install();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("left out: \"fe80::1%wg0\" (for \"alpha.clan\") is not an IP address"),
        "{}",
        stderr(&out)
    );
}
