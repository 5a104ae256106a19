//! Crash-safe writing: a file is staged beside its final name, synced, and
//! renamed over it, so readers see the old bytes or the new ones, whole.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::Error;
use crate::sys::halves;
use crate::sys::small_copy;

/// A file being written under a temporary name; `commit` puts it in place,
/// dropping it uncommitted removes it.
pub struct StagedFile {
    target: Utf8PathBuf,
    temp: Utf8PathBuf,
    writer: Option<StagedWriter>,
}

impl StagedFile {
    pub fn create(target: &Utf8Path) -> Result<StagedFile, Error> {
        Self::create_with_mode(target, 0o644)
    }

    /// Stages with the given permission bits, set before any byte is written
    /// (a private key is never readable by others, not even while staged).
    /// The temporary file gets a name no one can predict and is created with
    /// O_EXCL, which never follows a symlink: a file or link planted beside
    /// the target is never written through.
    pub fn create_with_mode(target: &Utf8Path, mode: u32) -> Result<StagedFile, Error> {
        remove_stale_temps(target);
        let mut attempts = 0;
        let (temp, file) = loop {
            let temp = temp_beside(target);
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&temp)
            {
                Ok(file) => break (temp, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 16 => {
                    attempts += 1;
                }
                Err(e) => {
                    return Err(Error::io(
                        format!("creating a temporary file next to {target}"),
                        e,
                    ));
                }
            }
        };
        // The umask may have cleared bits of `mode`.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("setting the mode of the new {target}"), e))?;
        Ok(StagedFile {
            target: target.to_owned(),
            temp,
            writer: Some(StagedWriter::new(file)),
        })
    }

    pub fn writer(&mut self) -> &mut StagedWriter {
        self.writer.as_mut().expect("writer lives until commit")
    }

    fn flush(&mut self, sync: bool) -> Result<(), Error> {
        let target = &self.target;
        let mut writer = self.writer.take().expect("writer lives until commit");
        writer
            .flush()
            .and_then(|()| if sync { writer.file.sync_all() } else { Ok(()) })
            .map_err(|e| Error::io(format!("writing {target}"), e))
    }

    fn rename(&mut self) -> Result<(), Error> {
        fs::rename(&self.temp, &self.target)
            .map_err(|e| Error::io(format!("putting {} in place", self.target), e))?;
        // The temporary name is gone; nothing is left for Drop to remove.
        self.temp = Utf8PathBuf::new();
        Ok(())
    }

    /// Durable replace: sync the file, rename it over the target, sync the
    /// directory. After a crash the target holds the old bytes or the new ones.
    pub fn commit(self) -> Result<(), Error> {
        commit_together(vec![self])
    }
}

/// Commits files that belong together: every one is written and synced before
/// the first is renamed, so a write error leaves all targets as they were.
pub fn commit_together(mut files: Vec<StagedFile>) -> Result<(), Error> {
    for file in &mut files {
        file.flush(true)?;
    }
    for file in &mut files {
        file.rename()?;
    }
    for file in &files {
        sync_dir(parent_dir(&file.target))?;
    }
    Ok(())
}

/// Whether two paths name the same directory entry (after resolving their
/// directories), so writing one would replace the other.
pub fn same_place(a: &Utf8Path, b: &Utf8Path) -> Result<bool, Error> {
    let place = |path: &Utf8Path| {
        let dir = parent_dir(path);
        fs::canonicalize(dir)
            .map(|d| (d, path.file_name().map(str::to_owned)))
            .map_err(|e| Error::io(format!("resolving the directory of {path}"), e))
    };
    Ok(place(a)? == place(b)?)
}

/// The most a single write(2) hands the kernel, and the staged writer's
/// buffer. Larger writes let the page cache take large folios, which on a
/// VM that hands freed memory back to its host can cost far more to fill
/// (README.md, "Benchmarks", has the figures).
const WRITE_MAX: usize = 256 << 10;

/// What a staged file is written through: renderings write it a few bytes
/// at a time, gathered here (`small_copy`, without a call to `memcpy` for
/// each) and handed to the kernel `WRITE_MAX` bytes at most at a time.
/// Pieces that big or bigger go to the file as they are.
pub struct StagedWriter {
    file: File,
    buffer: Vec<u8>,
}

impl StagedWriter {
    fn new(file: File) -> StagedWriter {
        StagedWriter {
            file,
            buffer: Vec::with_capacity(WRITE_MAX),
        }
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        self.file.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    /// Writes out the buffer, then `buf`: buffered, or as it is if it
    /// would fill the buffer.
    #[cold]
    fn write_out_then(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.write_out()?;
        if buf.len() >= WRITE_MAX {
            return buf
                .chunks(WRITE_MAX)
                .try_for_each(|piece| self.file.write_all(piece));
        }
        small_copy::append(&mut self.buffer, buf);
        Ok(())
    }
}

impl Write for StagedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    // Inlined into the renderings' loops (see `pipe::ChunkWriter`).
    #[inline(always)]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.buffer.len() + buf.len() > WRITE_MAX {
            return self.write_out_then(buf);
        }
        small_copy::append(&mut self.buffer, buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.file.flush()
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.temp.as_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Process id, a per-process counter and the clock's nanoseconds: unique
/// among concurrent writers, unknown in advance to anyone else.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{nanos:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the temporary files that writers of `target` which no longer run
/// left beside it: a writer killed or cut off by a power loss cannot remove
/// its own, and a node that installs for years would gather them. Each
/// name carries its writer's process id (`unique_suffix`); a file whose
/// writer is alive, or any other file, is left alone. Best effort: nothing
/// here fails the write.
fn remove_stale_temps(target: &Utf8Path) {
    let Some(name) = target.file_name() else {
        return;
    };
    // Without /proc no writer can be told alive: leave everything.
    if !Utf8Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(parent_dir(target)) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let writer = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".dm-dns-tmp"))
            .and_then(writer_of);
        let is_file = entry.file_type().is_ok_and(|t| !t.is_dir());
        if let Some(pid) = writer
            && is_file
            && pid != std::process::id()
            && !Utf8Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The process id in a `unique_suffix`, if `suffix` is one.
fn writer_of(suffix: &str) -> Option<u32> {
    let mut parts = suffix.split('-');
    let pid = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    let nanos = parts.next()?;
    let hex = !nanos.is_empty() && nanos.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && parts.next().is_none()).then_some(pid)
}

/// A temporary name in `target`'s directory that no one can predict.
fn temp_beside(target: &Utf8Path) -> Utf8PathBuf {
    let name = target.file_name().unwrap_or("out");
    parent_dir(target).join(format!(".{name}.{}.dm-dns-tmp", unique_suffix()))
}

fn parent_dir(path: &Utf8Path) -> &Utf8Path {
    match path.parent() {
        Some(p) if !p.as_str().is_empty() => p,
        _ => Utf8Path::new("."),
    }
}

fn sync_dir(dir: &Utf8Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing directory {dir}"), e))
}

/// The most each kind of input may hold: a larger one is refused before it
/// is read (`read_file`), with its kind and limit named. (Mesh files have
/// their own, configurable limit, `--max-mesh-size`.)
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// Exports, raw or projected (5M endpoints take about 220 MB).
    Exports,
    /// A zone file, `zone.conf` or `manifest.json` read back.
    ZoneFile,
    /// A state record of the state directory.
    Record,
    /// A key file, a hosts file, a node configuration.
    Small,
}

impl Limit {
    pub fn bytes(self) -> u64 {
        match self {
            Limit::Exports => 1 << 30,
            Limit::ZoneFile => 2 << 30,
            Limit::Record => 1 << 20,
            Limit::Small => 16 << 20,
        }
    }

    fn exceeded(self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "larger than the limit of {} bytes for {}",
                self.bytes(),
                self.what()
            ),
        )
    }

    fn what(self) -> &'static str {
        match self {
            Limit::Exports => "exports",
            Limit::ZoneFile => "a zone file or manifest",
            Limit::Record => "a state record",
            Limit::Small => "a key, hosts or configuration file",
        }
    }
}

/// Opens a file for reading only if it is a regular file: a FIFO or a
/// device at the path is refused at once instead of blocking (O_NONBLOCK
/// makes even the open of a FIFO return). With `follow` false a symbolic
/// link is refused too (see `is_symlink_refusal`).
pub fn open_regular(path: &Utf8Path, follow: bool) -> std::io::Result<File> {
    let flags = libc::O_NONBLOCK | if follow { 0 } else { libc::O_NOFOLLOW };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory is never read)",
        ));
    }
    Ok(file)
}

/// Reads a whole regular file of at most `limit`'s size; a large one in two
/// halves on two cores (`read_whole`).
pub fn read_file(path: &Utf8Path, limit: Limit) -> std::io::Result<Vec<u8>> {
    read_open(open_regular(path, true)?, limit)
}

/// `read_file` without following a symbolic link.
pub fn read_no_follow(path: &Utf8Path, limit: Limit) -> std::io::Result<Vec<u8>> {
    read_open(open_regular(path, false)?, limit)
}

/// Reads an opened regular file, as `read_file` does.
pub fn read_open(file: File, limit: Limit) -> std::io::Result<Vec<u8>> {
    read_file_within(file, limit.bytes())?.map_err(|_| limit.exceeded())
}

/// Standard input, at most `limit`'s size: an endless stream is refused
/// once it passes the limit.
pub fn read_stdin(limit: Limit) -> std::io::Result<Vec<u8>> {
    read_stream_within(std::io::stdin(), limit.bytes())?.map_err(|_| limit.exceeded())
}

/// An input found larger than the bytes allowed: its size when the file
/// said so before it was read, `None` when it grew while it was read (or is
/// a stream), so only the byte past the limit was seen.
#[derive(Debug)]
pub struct TooLarge {
    pub size: Option<u64>,
}

/// A whole file of at most `max_bytes`, refused by its size before it is
/// read and, should it grow meanwhile, at the byte past the limit.
pub fn read_file_within(file: File, max_bytes: u64) -> std::io::Result<Result<Vec<u8>, TooLarge>> {
    let size = file.metadata()?.len();
    if size > max_bytes {
        return Ok(Err(TooLarge { size: Some(size) }));
    }
    let bytes = read_whole(file, max_bytes.saturating_add(1))?;
    Ok(within(bytes, max_bytes))
}

/// At most `max_bytes` of a stream: one that holds more is refused at the
/// byte past the limit, never read to its end.
pub fn read_stream_within(
    source: impl Read,
    max_bytes: u64,
) -> std::io::Result<Result<Vec<u8>, TooLarge>> {
    let mut bytes = Vec::new();
    source
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(within(bytes, max_bytes))
}

fn within(bytes: Vec<u8>, max_bytes: u64) -> Result<Vec<u8>, TooLarge> {
    if bytes.len() as u64 > max_bytes {
        return Err(TooLarge { size: None });
    }
    Ok(bytes)
}

/// From this size on, a file's bytes are read in two halves on two cores.
const READ_IN_HALVES_FROM: u64 = 4 << 20;

/// Reads `file` from its start to its end, as `read_to_end` does, but at
/// most `limit` bytes. A large file's bytes (as many as it holds when
/// opened) are read in two halves on two cores: most of the cost of reading
/// it is the kernel filling fresh memory, page by page.
pub fn read_whole(mut file: File, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let size = file.metadata()?.len().min(limit);
    let mut bytes = Vec::new();
    if size >= READ_IN_HALVES_FROM {
        let size = usize::try_from(size).map_err(std::io::Error::other)?;
        bytes = vec![0; size];
        let middle = size / 2;
        let (front, back) = bytes.split_at_mut(middle);
        let (front_read, back_read) = halves::join(
            || read_at_most(&file, front, 0),
            || read_at_most(&file, back, middle as u64),
        );
        let (front_read, back_read) = (front_read?, back_read?);
        // A file that shrank meanwhile ends where its reading first stopped.
        let read = if front_read < middle {
            front_read
        } else {
            middle + back_read
        };
        bytes.truncate(read);
        file.seek(SeekFrom::Start(read as u64))?;
    }
    // The rest: all of a small file, and what a large one grew by.
    let rest = limit - bytes.len() as u64;
    file.take(rest).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Fills `buffer` from `offset` on, or as much of it as the file holds.
fn read_at_most(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Opens (creating if needed) a file for writing without following a
/// symbolic link and without truncating it: lock files.
pub fn open_no_follow(path: &Utf8Path) -> std::io::Result<File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// O_NOFOLLOW on a symbolic link fails with ELOOP.
pub fn is_symlink_refusal(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(libc::ELOOP)
}

/// Makes `target` hold what the file at `source` holds (`bytes`, already
/// read): as a hard link where both are on one file system, so a large zone
/// is not written a second time, else as a copy. Replaces `target`
/// atomically either way.
pub fn keep_copy(source: &Utf8Path, bytes: &[u8], target: &Utf8Path) -> Result<(), Error> {
    remove_stale_temps(target);
    let temp = temp_beside(target);
    // link() does not follow a symlink at `source`: a link found there, or
    // a file whose length is not what was read, is not kept; the copy is.
    let linked = fs::hard_link(source, &temp).is_ok()
        && fs::symlink_metadata(&temp).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        && fs::rename(&temp, target).is_ok();
    // A rename between two links of one file does nothing (POSIX), and
    // leaves the temporary name behind: it goes here in every case.
    let _ = fs::remove_file(&temp);
    if !linked {
        return write_file(target, bytes, 0o644);
    }
    sync_dir(parent_dir(target))
}

/// Writes a whole file atomically.
pub fn write_file(target: &Utf8Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    write_file_parts(target, &[bytes], mode)
}

/// `write_file` of `parts` one after the other (a header and a large body,
/// never joined in memory).
pub fn write_file_parts(target: &Utf8Path, parts: &[&[u8]], mode: u32) -> Result<(), Error> {
    let mut staged = StagedFile::create_with_mode(target, mode)?;
    let writer = staged.writer();
    parts
        .iter()
        .try_for_each(|part| writer.write_all(part))
        .map_err(|e| Error::io(format!("writing {target}"), e))?;
    staged.commit()
}

/// An output directory filled all at once: files are staged, then renamed into
/// place only when every one of them was written. A directory created here is
/// removed again if the output fails. Build outputs are not fsynced: they are
/// reproducible, and the Nix store owns their durability.
pub struct OutputDir {
    dir: Utf8PathBuf,
    created: bool,
}

impl OutputDir {
    pub fn open(dir: &Utf8Path) -> Result<OutputDir, Error> {
        let created = match fs::metadata(dir) {
            Ok(m) if m.is_dir() => false,
            Ok(_) => {
                return Err(Error::input(format!(
                    "--out {dir} exists and is not a directory (hint: pass a directory path)"
                )));
            }
            Err(_) => {
                fs::create_dir(dir).map_err(|e| {
                    Error::io(
                        format!(
                            "creating {dir} (hint: --out creates the directory, not its parents; \
                             create {} first)",
                            parent_dir(dir)
                        ),
                        e,
                    )
                })?;
                true
            }
        };
        Ok(OutputDir {
            dir: dir.to_owned(),
            created,
        })
    }

    /// Stages `name` inside the directory and fills it with `fill`.
    pub fn stage<T>(
        &self,
        name: &str,
        fill: impl FnOnce(&mut StagedWriter) -> std::io::Result<T>,
    ) -> Result<(StagedFile, T), Error> {
        let path = self.dir.join(name);
        let mut staged = StagedFile::create(&path)?;
        let value = fill(staged.writer()).map_err(|e| Error::io(format!("writing {path}"), e))?;
        Ok((staged, value))
    }

    /// Moves every staged file into place.
    pub fn commit(mut self, files: Vec<StagedFile>) -> Result<(), Error> {
        for mut staged in files {
            staged.flush(false)?;
            staged.rename()?;
        }
        self.created = false;
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.created {
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a killed writer left is removed when the file is next written;
    /// a live writer's file, another file's and anything else stay.
    #[test]
    fn stale_temporary_files_are_removed_when_their_writer_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(tmp.path()).unwrap();
        let target = dir.join("zone.conf");
        let gone = dir.join(".zone.conf.4000000000-3-00c0ffee.dm-dns-tmp");
        let kept = [
            // Alive: init, and this process.
            dir.join(".zone.conf.1-0-0abc.dm-dns-tmp"),
            dir.join(format!(
                ".zone.conf.{}-9-0abc.dm-dns-tmp",
                std::process::id()
            )),
            // Another target's, and names not of this form.
            dir.join(".zone.db.4000000000-3-00c0ffee.dm-dns-tmp"),
            dir.join(".zone.conf.4000000000-x-00c0ffee.dm-dns-tmp"),
            dir.join(".zone.conf.4000000000-3-00c0ffee.tmp"),
            dir.join("zone.conf.4000000000-3-00c0ffee.dm-dns-tmp"),
        ];
        for path in kept.iter().chain([&gone]) {
            fs::write(path, b"x").unwrap();
        }
        let mut staged = StagedFile::create(&target).unwrap();
        staged.writer().write_all(b"new\n").unwrap();
        commit_together(vec![staged]).unwrap();
        assert!(!gone.exists());
        assert!(kept.iter().all(|p| p.exists()));
        assert_eq!(fs::read(&target).unwrap(), b"new\n");
    }

    #[test]
    fn files_read_whole_at_any_size_up_to_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(tmp.path()).unwrap();
        let large = READ_IN_HALVES_FROM as usize + 3;
        for len in [0, 1, large] {
            let path = dir.join(format!("{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            fs::write(&path, &bytes).unwrap();
            let read = |limit| read_whole(File::open(&path).unwrap(), limit).unwrap();
            assert!(read(u64::MAX) == bytes, "{len} bytes read back");
            assert!(
                read(len as u64 / 2) == bytes[..len / 2],
                "{len} bytes, limited"
            );
        }
    }

    #[test]
    fn files_larger_than_one_write_arrive_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let target = Utf8Path::from_path(tmp.path()).unwrap().join("large");
        let bytes: Vec<u8> = (0..3 * WRITE_MAX + 7).map(|i| (i % 251) as u8).collect();
        write_file(&target, &bytes, 0o644).unwrap();
        assert_eq!(fs::read(&target).unwrap(), bytes);
        // Pieces of a few bytes, of about the buffer's size and of several
        // times it, in every order.
        let sizes = [
            3,
            WRITE_MAX - 1,
            17,
            2 * WRITE_MAX + 5,
            WRITE_MAX,
            1,
            WRITE_MAX + 1,
        ];
        let mut at = 0;
        let pieces: Vec<&[u8]> = sizes
            .iter()
            .cycle()
            .take(20)
            .map(|size| {
                let end = (at + size) % bytes.len();
                let piece = &bytes[at.min(end)..end.max(at)];
                at = end;
                piece
            })
            .collect();
        let mut staged = StagedFile::create(&target).unwrap();
        for piece in &pieces {
            staged.writer().write_all(piece).unwrap();
        }
        staged.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), pieces.concat());
    }

    #[test]
    fn keep_copy_links_or_copies_and_never_keeps_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(tmp.path()).unwrap();
        let (zone, kept) = (dir.join("zone"), dir.join("kept"));
        fs::write(&zone, b"old zone\n").unwrap();
        keep_copy(&zone, b"old zone\n", &kept).unwrap();
        assert_eq!(fs::read(&kept).unwrap(), b"old zone\n");
        write_file(&zone, b"new zone\n", 0o644).unwrap();
        assert_eq!(
            fs::read(&kept).unwrap(),
            b"old zone\n",
            "replacing the zone left it"
        );
        // A symlink where the zone was: the bytes read are kept, not the link.
        fs::remove_file(&zone).unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), &zone).unwrap();
        keep_copy(&zone, b"read before\n", &kept).unwrap();
        assert!(!fs::symlink_metadata(&kept).unwrap().is_symlink());
        assert_eq!(fs::read(&kept).unwrap(), b"read before\n");
        assert_eq!(
            fs::read_dir(dir).unwrap().count(),
            2,
            "no temporary file is left"
        );
    }

    /// Keeping the same file twice: the rename between two links of one
    /// file does nothing, and the temporary name must not stay.
    #[test]
    fn keeping_the_same_file_twice_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(tmp.path()).unwrap();
        let (zone, kept) = (dir.join("zone"), dir.join("kept"));
        fs::write(&zone, b"zone\n").unwrap();
        keep_copy(&zone, b"zone\n", &kept).unwrap();
        keep_copy(&zone, b"zone\n", &kept).unwrap();
        let names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn planted_links_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, "root's file").unwrap();
        // The fixed temporary name earlier versions used, and the target itself.
        std::os::unix::fs::symlink(&victim, dir.join(".zone.dm-dns-tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("zone")).unwrap();
        write_file(&dir.join("zone"), b"new", 0o600).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"root's file");
        assert_eq!(fs::read(dir.join("zone")).unwrap(), b"new");
        assert!(!fs::symlink_metadata(dir.join("zone")).unwrap().is_symlink());
        let mode = fs::metadata(dir.join("zone")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn concurrent_writers_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let a = StagedFile::create(&dir.join("zone")).unwrap();
        let b = StagedFile::create(&dir.join("zone")).unwrap();
        assert_ne!(a.temp, b.temp);
        drop((a, b));
        assert!(fs::read_dir(dir).unwrap().next().is_none(), "leftovers");
    }
}
