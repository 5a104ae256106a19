//! Canonical exports -> the validated zone: every internal host a CNAME to
//! its machine, every machine name its address records, every problem
//! found in one run.

pub mod addresses;
pub mod declared;
pub mod host_sort;
pub mod zone;
