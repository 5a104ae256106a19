//! What the stages need from the system: files written crash-safely and
//! read without following links (large inputs mapped), work split over two
//! cores, a pipe from a renderer to a writer, digests, the clock.

pub mod alloc;
pub mod clock;
pub mod digest;
pub mod files;
pub mod halves;
pub mod mapped;
pub mod pipe;
pub mod small_copy;
