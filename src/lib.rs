//! dm-dns: distributed DNS for clan networks.
//!
//! The modules follow the pipeline; each stage uses only the stages above it
//! (`tests/e2e/layout.rs` holds them to it; docs/architecture.md has the
//! map):
//!
//! - [`dns`]: the vocabulary: names, problems with their codes.
//! - [`error`]: the one error type.
//! - [`sys`]: files written crash-safely, work split over two cores,
//!   digests, the clock.
//! - [`exports`]: reading the clan's exports into their canonical form.
//! - [`compile`]: canonical exports -> the validated zone (CNAMEs, address
//!   records).
//! - [`artifacts`]: the zone -> zone.conf, zone.db, manifest.json, and
//!   reading and comparing them again.
//! - [`sign`]: keys and the signed mesh file.
//! - [`node`]: on every node: the node configuration, install, its state,
//!   unbound control, status.
//! - [`tools`]: for operators: explain, plan, DNS queries.
//!
//! The CLI (`src/cli/`) only converts arguments and calls these.

pub mod dns;
pub mod error;
pub mod sys;

pub mod exports;

pub mod compile;

pub mod artifacts;

pub mod sign;

pub mod node;

pub mod tools;
