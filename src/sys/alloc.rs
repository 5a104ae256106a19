//! The process's allocator: the system's, except that large blocks are
//! mapped on their own, and the largest asked to be backed by 2 MiB pages.
//!
//! At a million endpoints `zone` fills about 200 MB of fresh memory. With
//! 4 KiB pages that is some 50,000 page faults, each a trip into the kernel,
//! and about a tenth of the command's CPU time; 2 MiB pages take a fault
//! each. A list that grows is moved by the kernel, not copied. Exiting is
//! faster too: fewer pages to free. `MADV_HUGEPAGE` is only a request: where
//! the kernel has transparent huge pages off, the blocks are ordinary
//! mappings.
//!
//! Small blocks stay with the system allocator, which packs them; a block
//! is large by its size alone, so the size that frees a block (the same one
//! that allocated it, by `GlobalAlloc`'s contract) always names its owner.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

/// From this size on a block is mapped on its own. A mapping grows and
/// shrinks in place or is moved by the kernel, never copied, which is what
/// the lists the scanner fills need.
const LARGE: usize = 256 << 10;
/// The huge page size on x86-64 and the usual one on aarch64.
const HUGE_PAGE: usize = 2 << 20;
const PAGE: usize = 4 << 10;

/// The system allocator with large blocks mapped, and the largest of them
/// on huge pages.
pub struct HugeLarge;

fn is_large(layout: Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= PAGE
}

/// The mapped length of a large block of `size` bytes: whole huge pages from
/// half a huge page on, so that the kernel can back all of it by them (at
/// worst twice the memory asked for, while half as many pages), whole pages
/// below that.
fn mapped_len(size: usize) -> usize {
    let unit = if size >= HUGE_PAGE / 2 {
        HUGE_PAGE
    } else {
        PAGE
    };
    size.div_ceil(unit) * unit
}

/// Asks for huge pages where a mapping can hold them. The advice is a hint;
/// refusing it (no transparent huge pages) leaves ordinary pages, so its
/// result is not checked.
fn advise(start: *mut libc::c_void, len: usize) {
    if len >= HUGE_PAGE {
        // SAFETY: advice on a range the caller has mapped; it changes no
        // contents.
        unsafe { libc::madvise(start, len, libc::MADV_HUGEPAGE) };
    }
}

/// Maps `len` bytes (from `mapped_len`) of zeroed memory, or null. Linux
/// places anonymous mappings of whole huge pages on a huge page boundary, so
/// all of such a mapping can be backed by them.
unsafe fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory.
    let start = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        return ptr::null_mut();
    }
    advise(start, len);
    start.cast()
}

/// Unmaps a large block of `size` bytes mapped by `map`.
unsafe fn unmap(block: *mut u8, size: usize) {
    // SAFETY: the caller passes a block from `map` and its size; nothing
    // refers to it after deallocation.
    unsafe { libc::munmap(block.cast(), mapped_len(size)) };
}

// SAFETY: every block is either the system allocator's or a whole mapping of
// its own, told apart by `is_large` on the layout the caller must repeat, so
// each block goes back to whoever made it. Mappings are aligned to a page
// (4 KiB), and `is_large` leaves any stricter alignment to the system
// allocator.
unsafe impl GlobalAlloc for HugeLarge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            // SAFETY: see `map`.
            unsafe { map(mapped_len(layout.size())) }
        } else {
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            // SAFETY: see `map`; fresh anonymous memory reads as zeros.
            unsafe { map(mapped_len(layout.size())) }
        } else {
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if is_large(layout) {
            // SAFETY: a large layout's block came from `map`.
            unsafe { unmap(block, layout.size()) }
        } else {
            // SAFETY: a small layout's block came from the system allocator.
            unsafe { System.dealloc(block, layout) }
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `realloc`'s contract makes this a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_large(layout), is_large(new_layout)) {
            // SAFETY: a small block, staying small, with the caller's layout.
            (false, false) => unsafe { System.realloc(block, layout, new_size) },
            (true, true) => {
                let (old_len, new_len) = (mapped_len(layout.size()), mapped_len(new_size));
                if old_len == new_len {
                    return block;
                }
                // SAFETY: the block is a whole mapping of `old_len` bytes;
                // the kernel moves its pages rather than copying them.
                let moved =
                    unsafe { libc::mremap(block.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
                if moved == libc::MAP_FAILED {
                    return ptr::null_mut();
                }
                advise(moved, new_len);
                moved.cast()
            }
            // Crossing the threshold: a new block of the other kind.
            _ => {
                // SAFETY: the new layout is valid (above) and not zero-sized,
                // since the old or the new size is at least `LARGE`.
                let moved = unsafe { self.alloc(new_layout) };
                if !moved.is_null() {
                    // SAFETY: both blocks hold at least the smaller size, and
                    // two live blocks never overlap.
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_every_kind_keep_their_bytes_through_growth_and_shrinking() {
        let allocator = HugeLarge;
        // Small to small, small to large, large to larger (on pages, then
        // on huge pages), large to the same mapping, large to smaller, large
        // to small: every path of `realloc`.
        let sizes = [
            256,
            4096,
            LARGE - 1,
            LARGE,
            LARGE + 7,
            HUGE_PAGE / 2 + 1,
            HUGE_PAGE + 7,
            HUGE_PAGE + 9,
            3 * HUGE_PAGE,
            LARGE + 7,
            100,
            8,
        ];
        let layout = Layout::from_size_align(sizes[0], 8).unwrap();
        // SAFETY: each block is used within its current size and freed with
        // the layout it has at the end.
        unsafe {
            let mut block = allocator.alloc(layout);
            let mut size = sizes[0];
            for (i, byte) in (0..size).zip(0u8..) {
                *block.add(i) = byte;
            }
            for &new_size in &sizes[1..] {
                let kept = size.min(new_size);
                block =
                    allocator.realloc(block, Layout::from_size_align(size, 8).unwrap(), new_size);
                assert!(!block.is_null());
                for (i, byte) in (0..kept.min(256)).zip(0u8..) {
                    assert_eq!(*block.add(i), byte, "byte {i} after growing to {new_size}");
                }
                *block.add(new_size - 1) = 0xAB;
                size = new_size;
            }
            allocator.dealloc(block, Layout::from_size_align(size, 8).unwrap());
        }
    }

    #[test]
    fn large_zeroed_blocks_read_as_zeros_and_are_page_aligned() {
        let allocator = HugeLarge;
        let layout = Layout::from_size_align(LARGE + 1, 4096).unwrap();
        // SAFETY: the block is read within its size and freed with its layout.
        unsafe {
            let block = allocator.alloc_zeroed(layout);
            assert!(!block.is_null());
            assert_eq!(block as usize % 4096, 0);
            let bytes = std::slice::from_raw_parts(block, layout.size());
            assert!(bytes.iter().all(|&byte| byte == 0));
            allocator.dealloc(block, layout);
        }
    }
}
