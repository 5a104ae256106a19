//! What runs on every node: its configuration, `install` (verify, render,
//! swap, reload), the state it keeps, unbound control, the node's own
//! address records, and `status`.

pub mod config;
pub mod control;
pub mod hosts;
pub mod install;
pub mod status;
