//! The vocabulary every stage speaks: DNS names and their rules, the
//! problems input can have, each with its code, and enums that own their
//! codes. Depends on nothing.

pub mod codes;
pub mod ip_text;
pub mod name;
pub mod problem;
pub mod rdata;
