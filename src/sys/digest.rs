//! SHA-256, of whole buffers or of everything written through a writer, and
//! its hex form: the hashes the manifest, the signed file's body and the
//! node's state record.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use crate::sys::small_copy;

/// A writer that hashes what passes through it. Renderings write each record
/// in small pieces; they are gathered here and hashed and passed on in
/// chunks at least as large as the file writer's buffer, which passes such
/// writes through without copying them again.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    chunk: Vec<u8>,
}

const HASHED_CHUNK: usize = 512 << 10;

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            chunk: Vec::with_capacity(HASHED_CHUNK),
        }
    }

    fn pass_on(&mut self) -> io::Result<()> {
        self.hasher.update(&self.chunk);
        self.inner.write_all(&self.chunk)?;
        self.chunk.clear();
        Ok(())
    }

    /// Passes on what is gathered, then `buf`: gathered, or hashed and
    /// passed on as it is when large enough (uncopied).
    #[cold]
    fn pass_on_then(&mut self, buf: &[u8]) -> io::Result<()> {
        self.pass_on()?;
        if buf.len() >= HASHED_CHUNK / 2 {
            self.hasher.update(buf);
            return self.inner.write_all(buf);
        }
        small_copy::append(&mut self.chunk, buf);
        Ok(())
    }

    /// Passes on what is gathered: the writer and the hash of all written.
    pub fn finish(mut self) -> io::Result<(W, [u8; 32])> {
        self.pass_on()?;
        Ok((self.inner, self.hasher.finalize().into()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    // Renderings call this for every piece of every record; the default
    // loops over `write`.
    #[inline(always)]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.chunk.len() + buf.len() > HASHED_CHUNK || buf.len() >= HASHED_CHUNK / 2 {
            return self.pass_on_then(buf);
        }
        small_copy::append(&mut self.chunk, buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pass_on()?;
        self.inner.flush()
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
