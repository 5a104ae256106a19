//! End-to-end tests, one binary: the real `dm-dns` binary, a real unbound
//! answering real `dig` queries, real `named-checkzone`. Missing tools fail
//! the tests; `scripts/setup.sh` installs them.

#[path = "e2e/common.rs"]
mod common;
#[path = "e2e/node.rs"]
mod node;

#[path = "e2e/campaign.rs"]
mod campaign;
#[path = "e2e/cli.rs"]
mod cli;
#[path = "e2e/explain.rs"]
mod explain;
#[path = "e2e/golden.rs"]
mod golden;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/install.rs"]
mod install;
#[path = "e2e/keys.rs"]
mod keys;
#[path = "e2e/knot.rs"]
mod knot;
#[path = "e2e/layout.rs"]
mod layout;
#[path = "e2e/names.rs"]
mod names;
#[path = "e2e/plan.rs"]
mod plan;
#[path = "e2e/properties.rs"]
mod properties;
#[path = "e2e/status.rs"]
mod status;
#[path = "e2e/unbound.rs"]
mod unbound;
