//! Rendering on one thread while another hashes and writes: a large zone's
//! files go through SHA-256 as well as to disk, about as much work as
//! rendering them, so the renderer hands over its output in chunks of half
//! a megabyte and goes on. Chunks come back to be filled again, so a few
//! megabytes are in flight whatever the size of the files. A chunk stays
//! below the size from which `sys::alloc` asks for a 2 MiB page, which it
//! would fill only half of.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::sys::small_copy;

const CHUNK: usize = 512 << 10;
/// Chunks waiting for the writer: enough to ride out a slow write.
const IN_FLIGHT: usize = 4;

enum Piece {
    Chunk(Vec<u8>),
    /// The end of one file: the writer moves on to the next.
    EndOfFile,
}

/// The rendering end: a `Write` whose output reaches a `ChunkReader`.
pub struct ChunkWriter {
    chunk: Vec<u8>,
    full: SyncSender<Piece>,
    empty: Receiver<Vec<u8>>,
}

/// The writing end: takes one file's chunks at a time, in order.
pub struct ChunkReader {
    full: Receiver<Piece>,
    empty: SyncSender<Vec<u8>>,
}

pub fn channel() -> (ChunkWriter, ChunkReader) {
    let (full, full_rx) = sync_channel(IN_FLIGHT);
    // Room for every chunk there can be, so returning one never blocks.
    let (empty_tx, empty) = sync_channel(IN_FLIGHT + 2);
    let writer = ChunkWriter {
        chunk: Vec::with_capacity(CHUNK),
        full,
        empty,
    };
    let reader = ChunkReader {
        full: full_rx,
        empty: empty_tx,
    };
    (writer, reader)
}

fn reader_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the file writer stopped")
}

impl ChunkWriter {
    fn send(&mut self, piece: Piece) -> io::Result<()> {
        self.full.send(piece).map_err(|_| reader_gone())
    }

    #[cold]
    fn pass_on(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.chunk, next);
        self.send(Piece::Chunk(full))
    }

    /// Ends the current file; what is written next begins the next one.
    pub fn end_file(&mut self) -> io::Result<()> {
        self.pass_on()?;
        self.send(Piece::EndOfFile)
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    // Inlined into the renderings' loops, a call per piece of a record
    // cost as much as the copying.
    #[inline(always)]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.chunk.len() + buf.len() > CHUNK {
            self.pass_on()?;
        }
        small_copy::append(&mut self.chunk, buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChunkReader {
    /// Writes the chunks of the next file to `out`, up to its end. A renderer
    /// that stops before it is an error: the file would be cut short.
    pub fn copy_file(&self, out: &mut impl Write) -> io::Result<()> {
        loop {
            match self.full.recv() {
                Ok(Piece::Chunk(mut chunk)) => {
                    out.write_all(&chunk)?;
                    chunk.clear();
                    let _ = self.empty.try_send(chunk);
                }
                Ok(Piece::EndOfFile) => return Ok(()),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the renderer stopped before the end of the file",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_arrive_whole_and_in_order() {
        let (mut writer, reader) = channel();
        let first: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let second = b"second file".to_vec();
        let received = std::thread::scope(|s| {
            let copier = s.spawn(move || {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                reader.copy_file(&mut a)?;
                reader.copy_file(&mut b)?;
                io::Result::Ok((a, b))
            });
            // Pieces of every size, some larger than a chunk.
            for piece in first.chunks(CHUNK / 3 + 5) {
                writer.write_all(piece).unwrap();
            }
            writer.end_file().unwrap();
            writer.write_all(&second).unwrap();
            writer.end_file().unwrap();
            copier.join().unwrap().unwrap()
        });
        assert_eq!(received, (first, second));
    }

    #[test]
    fn a_renderer_that_stops_early_is_an_error() {
        let (mut writer, reader) = channel();
        writer.write_all(b"half a file").unwrap();
        writer.pass_on().unwrap();
        drop(writer);
        let mut out = Vec::new();
        let error = reader.copy_file(&mut out).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_writer_that_stops_is_an_error_for_the_renderer() {
        let (mut writer, reader) = channel();
        drop(reader);
        let error = writer.end_file().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }
}
