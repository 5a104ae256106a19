//! The `zone` and `diff` commands end to end: every bad input is exit 2 with
//! a message naming scope and host, and leaves no files behind.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::common::{dm_dns, listing, repo_path, run, stderr, stdout};

fn zone_with(exports: &str, domain: &str, out: &Path) -> std::process::Output {
    let mut child = dm_dns()
        .args(["zone", "--exports", "-", "--domain", domain, "--out"])
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // dm-dns may refuse a bad --domain before reading stdin: a broken pipe
    // here is not the test's business, the exit code and message are.
    let written = child.stdin.take().unwrap().write_all(exports.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// (exports, what the message must name, why)
const BAD_INPUTS: &[(&str, &[&str])] = &[
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["we\"b.clan"]}}}"#,
        &["web:site:server:alpha", "we\\\"b.clan", "forbidden"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["a b.clan"]}}}"#,
        &["web:site:server:alpha", "a b.clan", "forbidden"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["web.clan\"\nforward-zone:"]}}}"#,
        &["web:site:server:alpha", "forbidden"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["a\\b.clan"]}}}"#,
        &["web:site:server:alpha", "forbidden"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["a;b.clan"]}}}"#,
        &["web:site:server:alpha", "a;b.clan", "forbidden"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["bücher.clan"]}}}"#,
        &["web:site:server:alpha", "bücher.clan", "punycode"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":[""]}}}"#,
        &["web:site:server:alpha", "host \"\"", "empty"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["*.clan"]}}}"#,
        &["web:site:server:alpha", "*.clan", "wildcard"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["-web.clan"]}}}"#,
        &["web:site:server:alpha", "-web.clan", "'-'"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["under_score.clan"]}}}"#,
        &["web:site:server:alpha", "under_score.clan", "letters a-z"],
    ),
    (
        r#"{"web:site:alpha":{"endpoints":{"hosts":["web.clan"]}}}"#,
        &["web:site:alpha", "four"],
    ),
    (
        r#"{"web:::":{"endpoints":{"hosts":["web.clan"]}}}"#,
        &["web:::", "web.clan", "names no machine"],
    ),
    (
        r#"{"web:site:server:Alpha_1":{"endpoints":{"hosts":["web.clan"]}}}"#,
        &["web:site:server:Alpha_1", "web.clan", "machine name"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["clan"]}}}"#,
        &["web:site:server:alpha", "host \"clan\"", "domain itself"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["web.clan"]}},
            "blog:site:server:beta":{"endpoints":{"hosts":["Web.clan."]}}}"#,
        &[
            "web:site:server:alpha",
            "blog:site:server:beta",
            "web.clan",
            "claimed",
        ],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":["beta.clan"]}},
            "dm:dns:default:beta":{"dataMesher":null}}"#,
        &["web:site:server:alpha", "beta.clan", "shadow"],
    ),
    (
        r#"{"web:site:server:alpha":{"endpoints":{"hosts":[42]}}}"#,
        &["web:site:server:alpha", "builtins.toJSON"],
    ),
    (r#"[ "not", "an", "object" ]"#, &["builtins.toJSON"]),
    (r#"{"web:site:server:alpha": {"#, &["builtins.toJSON"]),
];

#[test]
fn bad_input_is_exit_2_naming_scope_and_host_and_writes_nothing() {
    for (exports, needles) in BAD_INPUTS {
        let tmp = tempfile::tempdir().unwrap();
        // An existing, empty output directory gains no files ...
        let existing = tmp.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        let out = zone_with(exports, "clan", &existing);
        assert_eq!(out.status.code(), Some(2), "{exports}: {}", stderr(&out));
        let message = stderr(&out);
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{exports}: {needle:?} not in {message}"
            );
        }
        assert!(message.contains("hint"), "{exports}: no hint in {message}");
        assert!(
            listing(&existing).is_empty(),
            "{exports}: {:?}",
            listing(&existing)
        );
        // ... and a missing one is not created.
        let missing = tmp.path().join("missing");
        let out = zone_with(exports, "clan", &missing);
        assert_eq!(out.status.code(), Some(2));
        assert!(!missing.exists(), "{exports}: output directory created");
        assert_eq!(listing(tmp.path()), vec!["existing"]);
    }
}

#[test]
fn bad_domain_and_bad_nix_are_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = zone_with("{}", "bad domain", &tmp.path().join("z"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--domain"));

    let nix = tmp.path().join("exports.nix");
    std::fs::write(
        &nix,
        "{\n  \"a:b:c:d\".endpoints.hosts = map (x: x) [ ];\n}\n",
    )
    .unwrap();
    let out = run(dm_dns()
        .args(["zone", "--domain", "clan", "--out"])
        .arg(tmp.path().join("z"))
        .arg("--exports")
        .arg(&nix));
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("exports.nix:2:"), "{message}");
    assert!(message.contains("builtins.toJSON"), "{message}");
    assert!(!tmp.path().join("z").exists());
}

/// Absurd sizes: a clear exit 2, never a crash (stack overflow, abort) and
/// never megabytes of message.
#[test]
fn deep_nesting_and_huge_names_are_exit_2_with_short_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let deep_nix = tmp.path().join("deep.nix");
    std::fs::write(
        &deep_nix,
        format!(
            "{{ a = {}{}; }}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )
    .unwrap();
    let deep_path = tmp.path().join("path.nix");
    std::fs::write(
        &deep_path,
        format!("{{ a{} = 1; }}\n", ".a".repeat(100_000)),
    )
    .unwrap();
    let deep_json = tmp.path().join("deep.json");
    std::fs::write(
        &deep_json,
        format!(
            r#"{{"a:b:c:alpha": {{"hosts": {}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )
    .unwrap();
    for (file, needle) in [
        (&deep_nix, "deep.nix:1:"),
        (&deep_path, "path.nix:1:"),
        (&deep_json, "scope \"a:b:c:alpha\""),
    ] {
        let out = run(dm_dns()
            .args(["zone", "--domain", "clan", "--out"])
            .arg(tmp.path().join("z"))
            .arg("--exports")
            .arg(file));
        assert_eq!(out.status.code(), Some(2), "{file:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
    let huge = "h".repeat(1 << 20);
    let hosts: Vec<String> = (0..20).map(|i| format!("\"{huge}{i}.clan\"")).collect();
    let exports = format!(
        r#"{{"web:a:server:alpha": {{"hosts": [{}]}}}}"#,
        hosts.join(",")
    );
    let out = zone_with(&exports, "clan", &tmp.path().join("z"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.len() < 20_000,
        "{} bytes of message",
        out.stderr.len()
    );
    assert!(stderr(&out).contains("web:a:server:alpha"));
    assert!(!tmp.path().join("z").exists());
}

#[test]
fn diff_reports_changes_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    let new = tmp.path().join("new");
    let example = std::fs::read_to_string(repo_path("examples/clan-exports.json")).unwrap();
    assert!(zone_with(&example, "clan", &old).status.success());
    let changed = example
        .replace("\"radio.clan\"", "\"stream.clan\"")
        .replace(
            r#""wiki:docs:server:alpha": {
    "endpoints": { "hosts": [ "wiki.clan", "music.clan" ] }"#,
            r#""wiki:docs:server:gamma": {
    "endpoints": { "hosts": [ "wiki.clan" ] }"#,
        );
    assert_ne!(changed, example);
    assert!(zone_with(&changed, "clan", &new).status.success());

    let same = run(dm_dns().arg("diff").arg(&old).arg(old.join("zone.db")));
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));

    let out = run(dm_dns().arg("diff").arg(&old).arg(new.join("zone.db")));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("1 added, 1 removed, 1 retargeted"), "{text}");
    assert!(
        text.contains("retargeted  wiki.clan: alpha.clan -> gamma.clan"),
        "{text}"
    );
    assert!(
        text.contains("+local-data: \"stream.clan. CNAME alpha.clan.\""),
        "{text}"
    );
    assert!(
        text.contains("-local-data: \"radio.clan. CNAME alpha.clan.\""),
        "{text}"
    );

    let json = run(dm_dns().arg("diff").arg("--json").arg(&old).arg(&new));
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(value["added"][0]["host"], "stream.clan");
    assert_eq!(value["removed"][0]["host"], "radio.clan");
    assert_eq!(value["retargeted"][0]["new"], "gamma.clan");

    let missing = run(dm_dns().arg("diff").arg(&old).arg(tmp.path().join("nope")));
    assert_eq!(missing.status.code(), Some(2));
    std::fs::write(tmp.path().join("junk"), "forward-zone:\n").unwrap();
    let junk = run(dm_dns().arg("diff").arg(&old).arg(tmp.path().join("junk")));
    assert_eq!(junk.status.code(), Some(2));
}

#[test]
fn help_teaches_every_subcommand() {
    let out = run(dm_dns().arg("--help"));
    let text = stdout(&out);
    for sub in [
        "zone", "diff", "keygen", "pubkey", "sign", "verify", "install", "status", "explain",
    ] {
        assert!(text.contains(sub), "{sub} missing from --help");
        let sub_help = run(dm_dns().args([sub, "--help"]));
        assert!(sub_help.status.success());
        assert!(stdout(&sub_help).contains("Usage: dm-dns"), "{sub}");
    }
}

/// The conventions every command follows (README, "CLI reference"): `-` is
/// stdin or stdout, errors speak of what the user gave, counts read well.
#[test]
fn dash_is_stdin_and_stdout_and_errors_use_the_users_words() {
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let piped = |cmd: &mut Command, input: &[u8]| {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let zone = dir.join("zone");
    let out = run(dm_dns()
        .args(["zone", "--domain", "clan", "--exports"])
        .arg(repo_path("examples/clan-exports.json"))
        .arg("--out")
        .arg(&zone));
    assert!(
        stderr(&out).contains("dm-dns: 7 records, 3 address records"),
        "{}",
        stderr(&out)
    );
    let (key, public) = (dir.join("k"), dir.join("k.pub"));
    assert!(
        run(crate::node::keygen(&key, &public).arg("--force"))
            .status
            .success()
    );

    // sign --out - and --zone DIR/zone.conf; verify -; pubkey -; diff - DIR.
    let signed = run(dm_dns()
        .args(["sign", "--serial", "7", "--out", "-", "--key"])
        .arg(&key)
        .arg("--zone")
        .arg(zone.join("zone.conf")));
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert!(signed.stdout.starts_with(b"# dm-dns signed zone\n"));
    assert!(!dir.join("-").exists(), "a file named -");
    let verified = piped(
        dm_dns().args(["verify", "-", "--trusted-key"]).arg(&public),
        &signed.stdout,
    );
    assert_eq!(
        stdout(&verified).split(", signer").next(),
        Some("ok: domain clan, serial 7, 7 CNAMEs, 3 address records")
    );
    let from_stdin = piped(
        dm_dns().args(["pubkey", "-"]),
        &std::fs::read(&public).unwrap(),
    );
    assert_eq!(
        stdout(&from_stdin),
        stdout(&run(dm_dns().arg("pubkey").arg(&public)))
    );
    let same = piped(dm_dns().args(["diff", "-"]).arg(&zone), &signed.stdout);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));

    // Errors about what was given.
    for (args, needle) in [
        (vec!["--domain", ""], "the domain is empty"),
        (vec!["--domain", "clan com"], "the domain contains"),
    ] {
        let out = run(dm_dns()
            .args(["zone", "--exports", "-", "--out"])
            .arg(dir.join("z"))
            .args(args));
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(needle) && stderr(&out).contains("meta.domain"),
            "{}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("endpoints.hosts"),
            "{}",
            stderr(&out)
        );
    }
    let not_a_zone = run(dm_dns()
        .arg("diff")
        .arg(&zone)
        .arg(repo_path("examples/clan-exports.json")));
    assert_eq!(not_a_zone.status.code(), Some(2));
    assert!(
        stderr(&not_a_zone).contains("is not a zone"),
        "{}",
        stderr(&not_a_zone)
    );
    let deep = run(dm_dns()
        .args(["zone", "--domain", "clan", "--exports"])
        .arg(repo_path("examples/clan-exports.json"))
        .arg("--out")
        .arg(dir.join("no/such/parent")));
    assert!(
        stderr(&deep).contains("not its parents"),
        "{}",
        stderr(&deep)
    );
    let shape = dir.join("shape.nix");
    std::fs::write(&shape, "{ \"a:b:c:d\" = 1; }\n").unwrap();
    let out = run(dm_dns()
        .args(["zone", "--domain", "clan", "--out"])
        .arg(dir.join("z"))
        .arg("--exports")
        .arg(&shape));
    let message = stderr(&out);
    assert!(
        message.contains("scope \"a:b:c:d\"") && message.contains("endpoints.hosts"),
        "{message}"
    );
    assert!(
        !message.contains("toJSON")
            && !message.contains("ScopeValue")
            && !message.contains("column"),
        "{message}"
    );

    // A wrong --domain warns.
    let out = run(dm_dns()
        .args(["zone", "--domain", "example.com", "--exports"])
        .arg(repo_path("examples/clan-exports.json"))
        .arg("--out")
        .arg(dir.join("wrong-domain")));
    assert!(out.status.success());
    assert!(
        stderr(&out).starts_with("warning: every exported host is outside"),
        "{}",
        stderr(&out)
    );

    // diff --report to a place that cannot be written: nothing printed.
    let out = run(dm_dns()
        .arg("diff")
        .arg(&zone)
        .arg(dir.join("wrong-domain"))
        .arg("--report")
        .arg(dir.join("no/such/dir/report")));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
}

/// Completions and the manual page come from the same definitions as
/// `--help`: every command is in them.
#[test]
fn completions_and_manual_page_list_every_command() {
    let bash = stdout(&run(dm_dns().args(["completions", "bash"])));
    let man = stdout(&run(dm_dns().arg("man")));
    assert!(
        man.starts_with(".ie") && man.contains(".TH dm-dns 1"),
        "{man}"
    );
    for command in [
        "zone", "diff", "sign", "verify", "install", "status", "explain",
    ] {
        assert!(
            bash.contains(command),
            "{command} missing from bash completions"
        );
        assert!(
            man.contains(command),
            "{command} missing from the manual page"
        );
    }
    assert_eq!(
        run(dm_dns().args(["completions", "nosuchshell"]))
            .status
            .code(),
        Some(2)
    );
}

/// The README's CLI reference and `--help` name the same options: each
/// `### \`dm-dns <command> ...\`` section mentions every option of the
/// command, and every option it mentions exists.
#[test]
fn readme_cli_reference_matches_the_help() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let reference = readme
        .split("## CLI reference")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let flags = |text: &str| -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_owned)
            .collect()
    };
    let mut checked = 0;
    for section in reference.split("\n### `dm-dns ").skip(1) {
        let command = section.split([' ', '`']).next().unwrap();
        let help = stdout(&run(dm_dns().args([command, "--help"])));
        // Code spans of other programs (`dm-send-dns --dry-run`) are theirs.
        // (The heading's opening backtick was split off with "### `dm-dns ".)
        let own_text: String = format!("`{section}")
            .split('`')
            .enumerate()
            .filter(|(i, span)| i % 2 == 0 || !span.starts_with("dm-send-dns"))
            .map(|(_, span)| span)
            .collect::<Vec<_>>()
            .join("`");
        let mut documented = flags(&own_text);
        // Options are the help lines that start with one.
        let available: std::collections::BTreeSet<String> = help
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with('-'))
            .flat_map(|line| flags(line.split("  ").next().unwrap_or_default()))
            .collect();
        documented.remove("--help");
        for flag in &documented {
            assert!(
                available.contains(flag),
                "README documents {command} {flag}, --help has no such option"
            );
        }
        for flag in available.iter().filter(|f| *f != "--help") {
            assert!(
                documented.contains(flag),
                "README's `dm-dns {command}` section does not mention {flag}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} command sections found");
}

/// `--help` describes every argument and option of every command.
#[test]
fn help_describes_every_argument() {
    let commands = [
        "zone",
        "diff",
        "keygen",
        "pubkey",
        "sign",
        "verify",
        "install",
        "status",
        "explain",
        "plan",
        "completions",
        "man",
    ];
    for command in commands {
        let help = stdout(&run(dm_dns().args([command, "-h"])));
        let mut section = "";
        for line in help.lines() {
            if line.ends_with(':') && !line.starts_with(' ') {
                section = line;
                continue;
            }
            if matches!(section, "Arguments:" | "Options:") && line.starts_with("  ") {
                // `  --name <VALUE>  text`: the text after two spaces.
                let described = line.trim_start().split_once("  ").is_some_and(|(_, d)| {
                    let d = d.trim();
                    !d.is_empty() && !d.starts_with('[')
                });
                assert!(
                    described,
                    "dm-dns {command}: `{}` has no description",
                    line.trim()
                );
            }
        }
    }
}

/// Every path option either takes `-` (stdin or stdout) or refuses it by
/// name; none creates a file called `-`.
#[test]
fn dash_is_stdin_or_refused_never_a_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let refused: &[&[&str]] = &[
        &[
            "zone",
            "--exports",
            "x.json",
            "--domain",
            "clan",
            "--out",
            "-",
        ],
        &["diff", "a", "b", "--report", "-"],
        &["explain", "music.clan", "--zone", "-"],
        &[
            "plan",
            "--zone",
            "-",
            "--mesh-file",
            "m",
            "--trusted-key",
            "k",
        ],
        &[
            "plan",
            "--zone",
            "z",
            "--mesh-file",
            "-",
            "--trusted-key",
            "k",
        ],
        &["install", "--mesh-file", "-"],
        &["install", "--hosts", "-"],
        &["install", "--zone-file", "-"],
        &["install", "--state-dir", "-"],
        &["status", "--state-dir", "-"],
        &["status", "--mesh-file", "-"],
        &["status", "--zone-file", "-"],
        &["sign", "--key", "k", "--zone", "-", "--out", "o"],
        &["config", "--config", "-"],
        &["man", "--out-dir", "-"],
    ];
    for args in refused {
        let out = run(dm_dns().current_dir(tmp.path()).args(*args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("- (stdin or stdout) is not one here"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !tmp.path().join("-").exists(),
            "{args:?} created a file named -"
        );
    }
}

/// `dm-dns zone` of `exports` (JSON) into a fresh directory's `zone/`.
fn zone_of(exports: &str) -> (tempfile::TempDir, std::process::Output) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("exports.json");
    std::fs::write(&path, exports).unwrap();
    let out = run(dm_dns()
        .args(["zone", "--domain", "clan", "--exports"])
        .arg(&path)
        .arg("--out")
        .arg(tmp.path().join("zone")));
    (tmp, out)
}

/// One run reports every problem of its input: a malformed host does not
/// hide the conflicts the compile finds.
#[test]
fn every_problem_of_a_run_is_reported_together() {
    let (tmp, out) = zone_of(
        r#"{"a:b:server:alpha": {"hosts": ["s3_bucket.clan", "*.clan", "m.clan"]},
            "e:f:server:beta": {"hosts": ["m.clan", "alpha.clan"]},
            "web:::": {"hosts": ["x.clan"]}}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    for code in [
        "[host-name]",
        "[wildcard-at-apex]",
        "[shadows-machine]",
        "[claimed-twice]",
        "[no-machine]",
    ] {
        assert!(stderr(&out).contains(code), "{code}: {}", stderr(&out));
    }
    assert!(!tmp.path().join("zone").exists());
}

/// Nothing hostile reaches a terminal: a scope key with control characters
/// is refused, and the message shows it escaped.
#[test]
fn control_characters_in_scope_keys_are_refused_and_escaped() {
    let (_tmp, out) =
        zone_of("{\"we\\u001b[31mb\\nX:main:server:alpha\": {\"hosts\": [\"x.clan\"]}}");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[scope-key]"), "{}", stderr(&out));
    assert!(
        !out.stderr.contains(&0x1b) && stderr(&out).contains("\\u{1b}"),
        "{}",
        stderr(&out)
    );
}

/// explain and plan never show a record the zone does not hold: a
/// manifest edited after the build is refused.
#[test]
fn a_hand_edited_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let zone = tmp.path().join("zone");
    let out = run(dm_dns()
        .args(["zone", "--domain", "clan", "--exports"])
        .arg(repo_path("examples/clan-exports.json"))
        .arg("--out")
        .arg(&zone));
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(zone.join("manifest.json")).unwrap();
    let edited = manifest.replacen("[\"music.clan\",[", "[\"evil.clan\",[", 1);
    assert_ne!(manifest, edited);
    std::fs::write(zone.join("manifest.json"), edited).unwrap();
    let out = run(dm_dns()
        .args(["explain", "music.clan", "--zone"])
        .arg(&zone));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("manifest.json does not list the records of zone.conf"),
        "{}",
        stderr(&out)
    );
}

/// A large exports file is mapped, not copied: one written to while `zone`
/// reads it gives no zone at all, never one made from a torn input.
#[test]
fn exports_written_to_while_read_give_no_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports.json");
    // 100,000 machines, 300,000 hosts: 10 MB, a few tenths of a second.
    let scopes: Vec<String> = (0..100_000)
        .map(|m| {
            format!(
                "\"web:main:server:m{m:06}\":{{\"endpoints\":{{\"hosts\":\
                 [\"a{m}.clan\",\"b{m}.clan\",\"c{m}.clan\"]}}}}"
            )
        })
        .collect();
    std::fs::write(&exports, format!("{{{}}}", scopes.join(","))).unwrap();
    let out = tmp.path().join("zone");
    let mut child = dm_dns()
        .args(["zone", "--domain", "clan", "--exports"])
        .arg(&exports)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Appended to until it ends: at least once after it opened the file.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&exports)
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        file.write_all(b" ").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(2), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("changed while it was read"),
        "{}",
        stderr(&result)
    );
    assert!(!out.exists(), "{:?}", listing(&out));
}
