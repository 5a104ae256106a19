//! dm-dns: distributed DNS for clan networks.
//!
//! The data flows exports -> [`zone::Zone`] -> renderings; each stage lives in
//! its own module and the CLI (`src/cli/`) only wires them together
//! (docs/architecture.md).

pub mod addresses;
pub mod artifacts;
pub mod chunks;
pub mod control;
pub mod diff;
pub mod error;
pub mod explain;
pub mod exports;
pub mod host_sort;
pub mod hosts;
pub mod install;
pub mod keys;
pub mod manifest;
pub mod name;
pub mod node_config;
pub mod output;
pub mod plan;
pub mod problem;
pub mod query;
pub mod render;
pub mod signed;
pub mod status;
pub mod two_cores;
pub mod zone;
pub mod zonefile;
