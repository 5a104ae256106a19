//! A large input file mapped into memory instead of read: reading copies
//! every byte into fresh memory, which the kernel fills page by page, and at
//! a million endpoints that was a tenth of `zone`'s time. A mapping shares
//! the page cache's pages.
//!
//! A mapped file that someone rewrites in place while it is mapped changes
//! under the reader (and one cut short ends the process with SIGBUS). Inputs
//! in the Nix store never change; for others, `unchanged` tells whether the
//! file was modified since it was mapped, so that nothing made from a torn
//! input is ever written.

use std::fs::File;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use camino::Utf8Path;

use crate::sys::files::{self, Limit};

/// From this size on, a regular file is mapped rather than read.
const MAP_FROM: u64 = 4 << 20;

/// A whole input file's bytes, read or mapped.
pub enum FileBytes {
    Read(Vec<u8>),
    Mapped(Mapping),
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Read(bytes) => bytes,
            FileBytes::Mapped(mapping) => mapping.bytes(),
        }
    }
}

impl FileBytes {
    /// Whether the file still holds what was mapped: the same inode, size,
    /// modification and change times. Bytes read into memory cannot change.
    pub fn unchanged(&self) -> std::io::Result<bool> {
        match self {
            FileBytes::Read(_) => Ok(true),
            FileBytes::Mapped(mapping) => Ok(Stamp::of(&mapping.file)? == mapping.stamp),
        }
    }
}

/// What changes when a file is written to.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    inode: (u64, u64),
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    fn of(file: &File) -> std::io::Result<Stamp> {
        let meta = file.metadata()?;
        Ok(Stamp {
            inode: (meta.dev(), meta.ino()),
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// A read-only private mapping of a whole regular file.
pub struct Mapping {
    start: *const u8,
    len: usize,
    file: File,
    stamp: Stamp,
}

// The mapping is never written through, and lives until dropped.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `start` maps `len` readable bytes until `drop`; the file
        // changing under them is the caveat the module names.
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `read_or_map` mapped, once.
        unsafe { libc::munmap(self.start as *mut libc::c_void, self.len) };
    }
}

/// A regular file of at most `limit`'s size: mapped when it is large (and
/// the mapping succeeds), read otherwise.
pub fn read_or_map(path: &Utf8Path, limit: Limit) -> std::io::Result<FileBytes> {
    let file = files::open_regular(path, true)?;
    let stamp = Stamp::of(&file)?;
    if stamp.size < MAP_FROM || stamp.size > limit.bytes() {
        return files::read_open(file, limit).map(FileBytes::Read);
    }
    let len = usize::try_from(stamp.size).map_err(std::io::Error::other)?;
    // SAFETY: a fresh read-only private mapping of an open file; the
    // kernel picks the address. MAP_POPULATE maps every page now, in one
    // call, rather than one fault per page later.
    let start = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_POPULATE,
            file.as_raw_fd(),
            0,
        )
    };
    if start == libc::MAP_FAILED {
        // A file system that cannot map files is read as any other.
        return files::read_open(file, limit).map(FileBytes::Read);
    }
    Ok(FileBytes::Mapped(Mapping {
        start: start as *const u8,
        len,
        file,
        stamp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn large_files_are_mapped_whole_and_small_ones_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(tmp.path()).unwrap();
        for len in [0, 1, MAP_FROM as usize - 1, MAP_FROM as usize + 3] {
            let path = dir.join(format!("{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            let got = read_or_map(&path, Limit::Exports).unwrap();
            assert_eq!(matches!(got, FileBytes::Mapped(_)), len as u64 >= MAP_FROM);
            assert!(*got == bytes[..], "{len} bytes");
            assert!(got.unchanged().unwrap());
        }
    }

    #[test]
    fn a_mapped_file_written_to_is_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(tmp.path())
            .unwrap()
            .join("exports.json");
        std::fs::write(&path, vec![b' '; MAP_FROM as usize]).unwrap();
        let mapped = read_or_map(&path, Limit::Exports).unwrap();
        assert!(mapped.unchanged().unwrap());
        // Appending changes the size whatever the clock's granularity.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{}").unwrap();
        assert!(!mapped.unchanged().unwrap());
    }

    #[test]
    fn files_over_the_limit_are_refused_unread() {
        let tmp = tempfile::tempdir().unwrap();
        let path = Utf8Path::from_path(tmp.path()).unwrap().join("large");
        let file = File::create(&path).unwrap();
        file.set_len(Limit::Exports.bytes() + 1).unwrap();
        let error = read_or_map(&path, Limit::Exports).err().unwrap();
        assert!(
            error.to_string().contains("larger than the limit"),
            "{error}"
        );
    }
}
