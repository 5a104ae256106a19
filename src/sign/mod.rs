//! Signing at deploy time and verifying on every node: ED25519 keys in
//! data-mesher's formats and the signed mesh file.

pub mod keys;
pub mod signed;
