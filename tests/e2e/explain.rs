//! `dm-dns explain` on the example clan: exported, skipped, machine,
//! conflicting and unknown names, from a zone output, an installed zone file
//! and raw exports.

use std::process::Output;

use crate::common::{dm_dns, repo_path, run, stderr, stdout};

fn explain(name: &str, source: &[&str]) -> (Output, serde_json::Value) {
    let out = run(dm_dns().args(["explain", name, "--json"]).args(source));
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out, json)
}

fn kinds(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn names_of_the_example_clan() {
    let tmp = tempfile::tempdir().unwrap();
    let zone = tmp.path().join("zone");
    let exports = repo_path("examples/clan-exports.json");
    assert!(
        run(dm_dns()
            .args(["zone", "--domain", "clan", "--exports"])
            .arg(&exports)
            .arg("--out")
            .arg(&zone))
        .status
        .success()
    );
    let zone = zone.to_str().unwrap();

    let (out, json) = explain("Music.Clan.", &["--zone", zone]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json["name"], "music.clan");
    assert_eq!(json["findings"][0]["text"], "music.clan. CNAME alpha.clan.");
    assert_eq!(
        json["findings"][0]["scopes"],
        serde_json::json!(["navidrome:music:server:alpha", "wiki:docs:server:alpha"])
    );

    // A machine: the CNAMEs pointing to it, its addresses, what was left out.
    let (out, json) = explain("beta.clan", &["--zone", zone]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        kinds(&json),
        ["target", "skipped", "address", "skipped-address"]
    );
    let text = json.to_string();
    assert!(
        text.contains("own-machine-name") && text.contains("outside-network"),
        "{text}"
    );

    let (out, json) = explain("code.example.org", &["--zone", zone]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(kinds(&json), ["outside-domain", "skipped"]);

    let (out, json) = explain("nothing.clan", &["--zone", zone]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(kinds(&json), ["unknown"]);

    // Records alone from a zone file, as installed on a node.
    let db = format!("{zone}/zone.db");
    let (out, json) = explain("alpha.clan", &["--zone", &db]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json["findings"][0]["text"],
        "alpha.clan. AAAA 200:1111:2222:3333::1"
    );

    // The same answers from the exports, compiled on the spot.
    let (_, from_exports) = explain(
        "beta.clan",
        &["--exports", exports.to_str().unwrap(), "--domain", "clan"],
    );
    assert_eq!(
        kinds(&from_exports),
        ["target", "skipped", "address", "skipped-address"]
    );
}

#[test]
fn a_conflicting_name_is_explained_from_the_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports.json");
    std::fs::write(
        &exports,
        r#"{"a:b:server:alpha": {"hosts": ["music.clan"]}, "c:d:server:beta": {"hosts": ["music.clan", "wiki.clan"]}}"#,
    )
    .unwrap();
    let source = ["--exports", exports.to_str().unwrap(), "--domain", "clan"];
    let (out, json) = explain("music.clan", &source);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(kinds(&json), ["problem"]);
    let text = json["findings"][0]["text"].as_str().unwrap();
    assert!(
        text.ends_with("[claimed-twice]") && text.contains("\"alpha\""),
        "{text}"
    );
    let (_, json) = explain("wiki.clan", &source);
    assert!(
        json["findings"][0]["text"]
            .as_str()
            .unwrap()
            .contains("1 problem, none about wiki.clan")
    );
    // Text output, as people read it.
    let out = run(dm_dns().args(["explain", "music.clan"]).args(source));
    assert!(
        stdout(&out).contains("from c:d:server:beta"),
        "{}",
        stdout(&out)
    );
}

/// On a node: what unbound answers now, beside what the zone says.
#[test]
fn on_a_node_explain_asks_unbound() {
    let (_tmp, node) = crate::node::Node::start();
    let signed = node.signed_zone(&crate::node::exports("alpha", ""), 10, "a");
    assert!(node.deliver(&signed).status.success());
    let server = format!("127.0.0.1:{}", node.unbound.port);
    let zone = node.dir.join("clan.zone");
    let (out, json) = explain(
        "music.clan",
        &["--zone", zone.to_str().unwrap(), "--server", &server],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(kinds(&json), ["cname", "answer"]);
    assert_eq!(
        json["findings"][1]["text"],
        format!("{server} answers now: music.clan. CNAME alpha.clan.; alpha.clan. A 10.0.0.1")
    );
    let (out, json) = explain(
        "nothing.clan",
        &["--zone", zone.to_str().unwrap(), "--server", &server],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json["findings"][1]["text"],
        format!("{server} answers now: NXDOMAIN, no records")
    );
}

#[test]
fn with_a_node_configuration_explain_needs_only_the_name() {
    let (_tmp, node) = crate::node::Node::start();
    let signed = node.signed_zone(&crate::node::exports("alpha", ""), 10, "a");
    assert!(node.deliver(&signed).status.success());
    let config = node.write_config();
    let (out, json) = explain("music.clan", &["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["format"], 1);
    assert_eq!(kinds(&json), ["cname", "answer"]);
    let (out, json) = explain(
        "music.clan",
        &["--config", config.to_str().unwrap(), "--no-server"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(kinds(&json), ["cname"]);
    let out = run(dm_dns().args(["explain", "music.clan", "--zone", "-"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("- (stdin or stdout) is not one here"),
        "{}",
        stderr(&out)
    );
}
