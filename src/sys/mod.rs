//! What the stages need from the system: files written crash-safely and
//! read without following links (large inputs mapped), work split over two
//! cores, a pipe from a renderer to a writer and the small copies that fill
//! its buffers, digests, the clock, and the allocator for large blocks.

pub mod alloc;
pub mod clock;
pub mod digest;
pub mod files;
pub mod halves;
pub mod mapped;
pub mod pipe;
pub mod small_copy;
