//! Crash-safe writing: a file is staged beside its final name, synced, and
//! renamed over it, so readers see the old bytes or the new ones, whole.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::Error;

/// A file being written under a temporary name; `commit` puts it in place,
/// dropping it uncommitted removes it.
pub struct StagedFile {
    target: Utf8PathBuf,
    temp: Utf8PathBuf,
    writer: Option<BufWriter<File>>,
}

impl StagedFile {
    pub fn create(target: &Utf8Path) -> Result<StagedFile, Error> {
        Self::create_with_mode(target, 0o644)
    }

    /// Stages with the given permission bits, set before any byte is written
    /// (a private key is never readable by others, not even while staged).
    pub fn create_with_mode(target: &Utf8Path, mode: u32) -> Result<StagedFile, Error> {
        let dir = parent_dir(target);
        let name = target.file_name().unwrap_or("out");
        let temp = dir.join(format!(".{name}.dm-dns-tmp"));
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)
            .map_err(|e| Error::io(format!("creating {temp}"), e))?;
        // An earlier crash may have left the temporary file with other bits.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("setting the mode of {temp}"), e))?;
        Ok(StagedFile {
            target: target.to_owned(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("writer lives until commit")
    }

    fn flush(&mut self, sync: bool) -> Result<(), Error> {
        let temp = &self.temp;
        let mut writer = self.writer.take().expect("writer lives until commit");
        writer
            .flush()
            .and_then(|()| {
                if sync {
                    writer.get_ref().sync_all()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| Error::io(format!("writing {temp}"), e))
    }

    fn rename(&mut self) -> Result<(), Error> {
        fs::rename(&self.temp, &self.target)
            .map_err(|e| Error::io(format!("renaming {} to {}", self.temp, self.target), e))?;
        // The temporary name is gone; nothing is left for Drop to remove.
        self.temp = Utf8PathBuf::new();
        Ok(())
    }

    /// Durable replace: sync the file, rename it over the target, sync the
    /// directory. After a crash the target holds the old bytes or the new ones.
    pub fn commit(mut self) -> Result<(), Error> {
        self.flush(true)?;
        self.rename()?;
        sync_dir(parent_dir(&self.target))
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.temp.as_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
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

/// Writes a whole file atomically.
pub fn write_file(target: &Utf8Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let mut staged = StagedFile::create_with_mode(target, mode)?;
    staged
        .writer()
        .write_all(bytes)
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
                fs::create_dir(dir).map_err(|e| Error::io(format!("creating {dir}"), e))?;
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
        fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<T>,
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
