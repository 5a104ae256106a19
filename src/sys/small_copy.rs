//! Appending a few bytes at a time to a buffer that has room for them.
//! Renderings write each record in pieces of a few to a few dozen bytes
//! (a name, ". CNAME ", another name); a million records are millions of
//! such pieces, and a call into `memcpy` for each, with its own dispatch on
//! the length, cost more than the copying. Here a piece of up to 32 bytes is
//! copied inline, as two loads and two stores that overlap in the middle.

use std::ptr;

/// Appends `bytes` to `buffer`: inline when it has room for them, as the
/// writers' buffers do; otherwise it grows as `extend_from_slice` would.
#[inline(always)]
pub fn append(buffer: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if buffer.capacity() - buffer.len() < len {
        return grow_and_append(buffer, bytes);
    }
    let src = bytes.as_ptr();
    // SAFETY: `buffer` has room for `len` more bytes (checked above), and
    // every load below is within `bytes` (each pair covers `0..len` from
    // both ends), every store within the room; the two never overlap, as a
    // `&[u8]` and a `&mut Vec<u8>` cannot.
    unsafe {
        let dst = buffer.as_mut_ptr().add(buffer.len());
        match len {
            16..=32 => {
                let (first, last) = (read::<16>(src, 0), read::<16>(src, len - 16));
                write(dst, 0, first);
                write(dst, len - 16, last);
            }
            8..=15 => {
                let (first, last) = (read::<8>(src, 0), read::<8>(src, len - 8));
                write(dst, 0, first);
                write(dst, len - 8, last);
            }
            4..=7 => {
                let (first, last) = (read::<4>(src, 0), read::<4>(src, len - 4));
                write(dst, 0, first);
                write(dst, len - 4, last);
            }
            1..=3 => {
                // First, middle and last byte: all of one to three.
                *dst = *src;
                *dst.add(len / 2) = *src.add(len / 2);
                *dst.add(len - 1) = *src.add(len - 1);
            }
            _ => ptr::copy_nonoverlapping(src, dst, len),
        }
        buffer.set_len(buffer.len() + len);
    }
}

#[cold]
fn grow_and_append(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.extend_from_slice(bytes);
}

/// `N` bytes from `src + at`, unaligned.
///
/// # Safety
/// The bytes must be readable.
#[inline(always)]
unsafe fn read<const N: usize>(src: *const u8, at: usize) -> [u8; N] {
    // SAFETY: the caller's.
    unsafe { ptr::read_unaligned(src.add(at).cast::<[u8; N]>()) }
}

/// Stores `N` bytes at `dst + at`, unaligned.
///
/// # Safety
/// The bytes must be writable.
#[inline(always)]
unsafe fn write<const N: usize>(dst: *mut u8, at: usize, bytes: [u8; N]) {
    // SAFETY: the caller's.
    unsafe { ptr::write_unaligned(dst.add(at).cast::<[u8; N]>(), bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_every_length_arrive_whole_after_what_was_there() {
        let source: Vec<u8> = (0..100u8).map(|b| b.wrapping_mul(37)).collect();
        for before in [0, 1, 7, 31] {
            for len in 0..=70 {
                for room in [len, len + 40] {
                    let mut buffer = Vec::with_capacity(before + room);
                    buffer.extend(std::iter::repeat_n(0xAA, before));
                    append(&mut buffer, &source[3..3 + len]);
                    let mut expected = vec![0xAA; before];
                    expected.extend_from_slice(&source[3..3 + len]);
                    assert_eq!(buffer, expected, "{before} bytes, then {len}");
                }
            }
        }
    }

    #[test]
    fn a_buffer_without_room_grows() {
        let mut buffer = Vec::with_capacity(4);
        buffer.extend_from_slice(b"abc");
        append(&mut buffer, b"defghijklmnopqrstu");
        assert_eq!(buffer, b"abcdefghijklmnopqrstu");
    }
}
