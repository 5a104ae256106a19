//! What a hostile user or an unlucky operator feeds `sign` and `install`:
//! wrong serials, huge files, planted links, another domain's state, a state
//! that cannot be written. Each is refused or recovered, with the previous
//! zone serving.

use std::os::unix::fs::PermissionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{dm_dns, run, stderr};
use crate::node::{
    MUSIC_ON_ALPHA, MUSIC_ON_BETA, Node, build_zone, control_wrapper, exports, install_cmd,
};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(node: &Node, zone_dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    run(dm_dns()
        .args(["sign", "--key"])
        .arg(node.dir.join("signing.key"))
        .arg("--zone")
        .arg(zone_dir)
        .arg("--out")
        .arg(node.dir.join("out.signed"))
        .args(extra))
}

#[test]
fn sign_refuses_serials_that_would_block_every_later_update() {
    let (_tmp, node) = Node::start();
    let zone = build_zone(&node.dir, &exports("alpha", ""), "z");
    let two_days = (now() + 2 * 86_400).to_string();
    for (serial, needle) in [
        ("4294967296", "does not fit"),
        ("99999999999", "does not fit"),
        (two_days.as_str(), "more than a day ahead"),
    ] {
        let out = sign(&node, &zone, &["--serial", serial]);
        assert_eq!(out.status.code(), Some(2), "{serial}");
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
        assert!(!node.dir.join("out.signed").exists());
    }
    let out = sign(
        &node,
        &zone,
        &["--serial", "4294967296", "--allow-future-serial"],
    );
    assert_eq!(out.status.code(), Some(2), "2^32 never fits");
}

/// A zone signed on purpose far ahead blocks later pushes; `--allow-rollback`
/// is the documented way back.
#[test]
fn a_future_serial_is_recovered_with_allow_rollback() {
    let (_tmp, node) = Node::start();
    let zone = build_zone(&node.dir, &exports("alpha", ""), "future");
    let far = (now() + 30 * 86_400).to_string();
    let out = sign(&node, &zone, &["--serial", &far, "--allow-future-serial"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(node.deliver(&node.dir.join("out.signed")).status.success());
    assert_eq!(node.music(), MUSIC_ON_ALPHA);

    let fixed = build_zone(&node.dir, &exports("beta", ""), "fixed");
    assert!(sign(&node, &fixed, &[]).status.success());
    let refused = node.deliver(&node.dir.join("out.signed"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("--allow-rollback"),
        "{}",
        stderr(&refused)
    );
    let out = run(install_cmd(&node.dir, Some(&node.unbound)).arg("--allow-rollback"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_BETA);
    // And from then on, normal pushes go in again.
    assert!(node.install().status.success());
}

#[test]
fn an_oversized_mesh_file_is_refused_before_it_is_read() {
    let (_tmp, node) = Node::start();
    let good = node.signed_zone(&exports("alpha", ""), 10, "good");
    assert!(node.deliver(&good).status.success());
    let served = node.zone_bytes();
    // A valid file, only larger than the limit given.
    let newer = node.signed_zone(&exports("beta", ""), 11, "newer");
    std::fs::copy(&newer, node.dir.join("cnames")).unwrap();
    let out = run(install_cmd(&node.dir, Some(&node.unbound)).args(["--max-mesh-size", "100"]));
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("more than the limit of 100 bytes")
            && message.contains("previous zone stays"),
        "{message}"
    );
    assert_eq!(node.zone_bytes(), served);
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
    let verify = run(dm_dns()
        .args(["verify", "--max-mesh-size", "1K", "--trusted-key"])
        .arg(node.dir.join("signing.pub"))
        .arg(&newer));
    let size = std::fs::metadata(&newer).unwrap().len();
    assert_eq!(verify.status.success(), size <= 1024, "{}", stderr(&verify));
    let bad_size = run(dm_dns().args([
        "verify",
        "--max-mesh-size",
        "12Q",
        "--trusted-key",
        "x",
        "f",
    ]));
    assert_eq!(bad_size.status.code(), Some(2));
    assert!(
        stderr(&bad_size).contains("unknown unit"),
        "{}",
        stderr(&bad_size)
    );
}

/// A zone file replaced by a link to a root-only file: never read, never
/// copied to last-good (which is world-readable).
#[test]
fn a_zone_file_that_is_a_symlink_is_never_read_through() {
    let (_tmp, node) = Node::start();
    let secret = node.dir.join("secret");
    std::fs::write(&secret, "root-only bytes\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(node.dir.join("clan.zone")).unwrap();
    std::os::unix::fs::symlink(&secret, node.dir.join("clan.zone")).unwrap();
    let out = node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    for entry in std::fs::read_dir(node.dir.join("state")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("root-only"),
            "{path:?}"
        );
    }
    assert_eq!(std::fs::read(&secret).unwrap(), b"root-only bytes\n");
}

/// The same state directory used for another domain before: its serial
/// does not count for this one.
#[test]
fn another_domains_state_does_not_block_installs() {
    let (_tmp, node) = Node::start();
    let other = node.dir.join("other.json");
    std::fs::write(&other, r#"{"a:b:c:alpha": {"hosts": ["music.other"]}}"#).unwrap();
    let zone = node.dir.join("other-zone");
    assert!(
        run(dm_dns()
            .args(["zone", "--domain", "other", "--exports"])
            .arg(&other)
            .arg("--out")
            .arg(&zone))
        .status
        .success()
    );
    let signed = node.dir.join("other.signed");
    assert!(
        run(dm_dns()
            .args(["sign", "--serial", "900000"])
            .arg("--key")
            .arg(node.dir.join("signing.key"))
            .arg("--zone")
            .arg(&zone)
            .arg("--out")
            .arg(&signed))
        .status
        .success()
    );
    let out = run(dm_dns()
        .args(["install", "--no-reload", "--domain", "other", "--mesh-file"])
        .arg(&signed)
        .arg("--trusted-key")
        .arg(node.dir.join("signing.pub"))
        .arg("--zone-file")
        .arg(node.dir.join("other.zone"))
        .arg("--state-dir")
        .arg(node.dir.join("state")));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(node.music(), MUSIC_ON_ALPHA);
}

/// The zone is live when the state write fails: the message must say so,
/// and the next run records it.
#[test]
fn a_failed_state_write_after_the_swap_says_the_zone_is_live() {
    let (_tmp, node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"))
            .status
            .success()
    );
    let state = node.dir.join("state/installed.clan.json");
    let blocker = control_wrapper(
        &node,
        "blocking-control",
        &format!(
            "case \"$*\" in *auth_zone_reload*) rm -f '{0}'; mkdir '{0}';; esac",
            state.display()
        ),
    );
    std::fs::copy(
        node.signed_zone(&exports("beta", ""), 11, "b"),
        node.dir.join("cnames"),
    )
    .unwrap();
    let out = run(install_cmd(&node.dir, None).args(["--unbound-control", &blocker]));
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("serial 11 is installed and served"),
        "{message}"
    );
    assert!(!message.contains("previous zone stays"), "{message}");
    assert_eq!(node.music(), MUSIC_ON_BETA);
    std::fs::remove_dir(&state).unwrap();
    let again = node.install();
    assert!(again.status.success(), "{}", stderr(&again));
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(recorded["serial"], 11);
}

/// A FIFO or a device where a file belongs never blocks a command: each is
/// refused at once as not a regular file (a oneshot unit would otherwise
/// hang for ever, and prepare runs before unbound).
#[test]
fn fifos_and_devices_are_refused_not_waited_on() {
    let (_tmp, node) = Node::start();
    let fifo = node.dir.join("fifo");
    assert!(
        run(std::process::Command::new("mkfifo").arg(&fifo))
            .status
            .success()
    );
    let timed = |cmd: &mut std::process::Command| {
        let started = std::time::Instant::now();
        let out = run(cmd);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "blocked"
        );
        out
    };
    // The mesh file: install refuses it (not applied) and keeps its zone.
    let out = timed(&mut crate::node::install_mesh_cmd(
        &node.dir,
        &fifo,
        Some(&node.unbound),
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    for args in [
        vec!["verify", "--trusted-key", "k", "FIFO"],
        vec![
            "zone",
            "--exports",
            "FIFO",
            "--domain",
            "clan",
            "--out",
            "z",
        ],
        vec!["diff", "FIFO", "FIFO2"],
        vec![
            "zone",
            "--exports",
            "/dev/zero",
            "--domain",
            "clan",
            "--out",
            "z",
        ],
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("FIFO", fifo.to_str().unwrap()))
            .collect();
        let out = timed(dm_dns().current_dir(&node.dir).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("not a regular file") || stderr(&out).contains("does not exist"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // status hashes the mesh file as it reads it: a FIFO is an error, not a hang.
    let out = timed(
        dm_dns()
            .args(["status", "--state-dir"])
            .arg(node.dir.join("state"))
            .arg("--mesh-file")
            .arg(&fifo),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// An endless or huge input is refused at its kind's limit, never read
/// into memory whole.
#[test]
fn endless_stdin_is_refused_at_its_limit() {
    let mut child = dm_dns()
        .args(["zone", "--exports", "-", "--domain", "clan", "--out"])
        .arg(std::env::temp_dir().join("dm-dns-never-written"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b' '; 1 << 20];
        // 1 GiB and a little more; stops when dm-dns closes the pipe.
        for _ in 0..1100 {
            if std::io::Write::write_all(&mut stdin, &chunk).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("larger than the limit of 1073741824 bytes for exports"),
        "{}",
        stderr(&out)
    );
}

/// A state directory every user may write is refused: anyone could reset
/// the serial there and replay an old zone.
#[test]
fn a_world_writable_state_directory_is_refused() {
    let (_tmp, node) = Node::start();
    let state = node.dir.join("state");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is writable by every user (mode 777)")
            && stderr(&out).contains("chmod o-w"),
        "{}",
        stderr(&out)
    );
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(node.install().status.success());
}

/// A state file that names another domain (copied from another node or
/// edited) is refused with the fix named, never compared with.
#[test]
fn a_state_file_of_another_domain_is_refused() {
    let (_tmp, node) = Node::start();
    assert!(
        node.deliver(&node.signed_zone(&exports("alpha", ""), 10, "a"))
            .status
            .success()
    );
    let path = node.dir.join("state/installed.clan.json");
    let state = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        state.replace("\"domain\": \"clan\"", "\"domain\": \"example.com\""),
    )
    .unwrap();
    let out = node.install();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("records domain \"example.com\", not \"clan\"")
            && stderr(&out).contains("remove it"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&path, "garbage").unwrap();
    let out = node.install();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is damaged"), "{}", stderr(&out));
}
