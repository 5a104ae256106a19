//! The source tree follows the pipeline: a module of one stage uses only its
//! own stage and the stages before it (`src/lib.rs` lists them in order).
//! This fails on the first import that reaches forward.

use crate::common::repo_path;

/// The stages of `src/`, in pipeline order: each may use those before it.
const STAGES: [&str; 9] = [
    "dns",
    "error",
    "sys",
    "exports",
    "compile",
    "artifacts",
    "sign",
    "node",
    "tools",
];

fn rank(stage: &str) -> Option<usize> {
    STAGES.iter().position(|s| *s == stage)
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The stages a file names through `crate::<stage>`.
fn used_stages(text: &str) -> Vec<&str> {
    text.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &text[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn no_stage_uses_a_later_one() {
    let src = repo_path("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut forward = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let stage = first.to_str().unwrap().trim_end_matches(".rs");
        if matches!(stage, "cli" | "main" | "lib") {
            continue; // the binary and the map use every stage
        }
        let own = rank(stage)
            .unwrap_or_else(|| panic!("src/{stage} is no stage of STAGES; add it in order"));
        let text = std::fs::read_to_string(&file).unwrap();
        for used in used_stages(&text) {
            let used_rank = rank(used)
                .unwrap_or_else(|| panic!("{}: crate::{used} is no stage", file.display()));
            if used_rank > own {
                forward.push(format!("{}: {stage} uses {used}", relative.display()));
            }
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} files checked");
    assert!(
        forward.is_empty(),
        "imports from a later stage:\n{}",
        forward.join("\n")
    );
}

#[test]
fn the_check_sees_a_forward_import() {
    assert_eq!(
        used_stages("use crate::node::install;\nuse crate::dns::name::{self, Domain};"),
        ["node", "dns"]
    );
}
