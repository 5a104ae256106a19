//! The vocabulary every stage speaks: DNS names and their rules, and the
//! problems input can have, each with its code. Depends on nothing.

pub mod name;
pub mod problem;
