//! For operators: why a name resolves the way it does, what a push would
//! change, a minimal DNS client to ask a server, and zones read from any of
//! their forms.

pub mod explain;
pub mod plan;
pub mod query;
pub mod zones;
