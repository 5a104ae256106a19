//! The zone compiler's outputs in a real unbound, queried with real dig.

use crate::common::{Unbound, dm_dns, repo_path, run, stderr};

fn build_example(out: &std::path::Path) {
    let result = run(dm_dns()
        .args(["zone", "--domain", "clan", "--out"])
        .arg(out)
        .arg("--exports")
        .arg(repo_path("examples/clan-exports.json")));
    assert!(result.status.success(), "{}", stderr(&result));
}

#[test]
fn zone_conf_is_a_valid_include_answered_as_local_data() {
    let tmp = tempfile::tempdir().unwrap();
    let zone = tmp.path().join("zone");
    build_example(&zone);
    let include = format!("  include: \"{}\"", zone.join("zone.conf").display());
    // Unbound::start runs unbound-checkconf on the config with the include.
    let unbound = Unbound::start(tmp.path(), &include, "");
    let answer = unbound.dig("music.clan", "A");
    assert!(
        answer
            .answers()
            .contains(&"music.clan. CNAME alpha.clan.".to_string()),
        "{}",
        answer.0
    );
    let answer = unbound.dig("files.cloud.clan", "CNAME");
    assert_eq!(
        answer.answers(),
        vec!["files.cloud.clan. CNAME gamma.clan."]
    );
}

#[test]
fn zone_db_loads_in_another_authoritative_server() {
    let tmp = tempfile::tempdir().unwrap();
    let zone = tmp.path().join("zone");
    build_example(&zone);
    // BIND's zone checker: the master file is not unbound-specific.
    let check = run(std::process::Command::new("named-checkzone")
        .arg("clan.")
        .arg(zone.join("zone.db")));
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "named-checkzone (bind9-utils): {report}"
    );
    assert!(
        report.contains("loaded serial") && report.trim_end().ends_with("OK"),
        "{report}"
    );
}

#[test]
fn zone_db_as_auth_zone_answers_cname_and_address_together() {
    let tmp = tempfile::tempdir().unwrap();
    let zone = tmp.path().join("zone");
    build_example(&zone);
    // The build output plus one machine's address, as a node would serve it.
    let mut db = std::fs::read_to_string(zone.join("zone.db")).unwrap();
    db.push_str("alpha.clan. IN A 10.0.0.1\n");
    let served = tmp.path().join("clan.zone");
    std::fs::write(&served, db).unwrap();
    let auth = format!(
        "auth-zone:\n  name: \"clan.\"\n  zonefile: \"{}\"\n  for-downstream: yes\n  \
         for-upstream: yes\n  fallback-enabled: no",
        served.display()
    );
    let unbound = Unbound::start(tmp.path(), "  domain-insecure: \"clan.\"", &auth);

    let answer = unbound.dig("music.clan", "A");
    assert_eq!(answer.status(), "NOERROR", "{}", answer.0);
    assert_eq!(
        answer.answers(),
        vec!["music.clan. CNAME alpha.clan.", "alpha.clan. A 10.0.0.1"],
        "{}",
        answer.0
    );
    let unknown = unbound.dig("nothing-here.clan", "A");
    assert_eq!(unknown.status(), "NXDOMAIN", "{}", unknown.0);
    assert!(unknown.answers().is_empty());
}

/// The longest names `zone` accepts load in unbound and BIND; one character
/// more is refused by `zone` itself, before any server could choke on it.
#[test]
fn longest_accepted_names_load_and_longer_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let domain = vec!["d".repeat(63); 3].join(".");
    let host = format!("{}.{domain}", "h".repeat(61));
    assert_eq!((domain.len(), host.len()), (191, 253));
    let build = |machine: &str, out: &str| {
        let exports = tmp.path().join(format!("{out}.json"));
        let json = format!(r#"{{"web:a:server:{machine}": {{"hosts": ["{host}"]}}}}"#);
        std::fs::write(&exports, json).unwrap();
        run(dm_dns()
            .args(["zone", "--domain", &domain, "--out"])
            .arg(tmp.path().join(out))
            .arg("--exports")
            .arg(&exports))
    };
    let machine = "m".repeat(61);
    let ok = build(&machine, "fits");
    assert!(ok.status.success(), "{}", stderr(&ok));
    let zone = tmp.path().join("fits");
    let check = run(std::process::Command::new("named-checkzone")
        .arg(format!("{domain}."))
        .arg(zone.join("zone.db")));
    assert!(
        check.status.success(),
        "named-checkzone: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let include = format!("  include: \"{}\"", zone.join("zone.conf").display());
    let unbound = Unbound::start(tmp.path(), &include, "");
    assert_eq!(
        unbound.dig(&host, "CNAME").answers(),
        vec![format!("{host}. CNAME {machine}.{domain}.")]
    );

    let too_long = build(&"m".repeat(62), "too-long");
    assert_eq!(too_long.status.code(), Some(2));
    let message = stderr(&too_long);
    assert!(
        message.contains("254 characters") && message.contains("web:a:server:"),
        "{message}"
    );
    assert!(!tmp.path().join("too-long").exists());
}
