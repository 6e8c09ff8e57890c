//! The build context as a tar stream: the files the .dockerignore keeps, owned by root like the
//! docker CLI sends them, written on a blocking thread and streamed to the daemon as it is produced.

use super::dockerignore::context_files;
use super::ImageError;
use bytes::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// Chunks handed to the HTTP body; a few in flight keep the disk and the socket both busy.
const CHUNK: usize = 256 * 1024;

/// The files of the context (after .dockerignore) and a stream of the tar that holds them.
pub struct ContextStream {
    pub files: usize,
    pub stream: tokio_stream_like::ReceiverStream,
    pub writer: tokio::task::JoinHandle<Result<u64, std::io::Error>>,
}

/// Lists the context and starts writing its tar.
pub fn stream_context(context: &Path, dockerfile: &Path) -> Result<ContextStream, ImageError> {
    let files = context_files(context, dockerfile).map_err(|e| ImageError::Context(e.to_string()))?;
    let count = files.len();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let root = context.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || {
        let mut sink = ChunkWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK), written: 0 };
        let result =
            write_tar(&root, &files, &mut sink).and_then(|_| sink.flush_chunk()).map(|_| sink.written);
        if let Err(e) = &result {
            let _ = tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
        }
        result
    });
    Ok(ContextStream { files: count, stream: tokio_stream_like::ReceiverStream(rx), writer })
}

fn write_tar(root: &Path, files: &[PathBuf], out: &mut impl Write) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    for rel in files {
        let full = root.join(rel);
        let meta = std::fs::symlink_metadata(&full)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        // The docker CLI sends the context owned by root; the daemon applies the Dockerfile's own ownership.
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("")?;
        header.set_groupname("")?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full)?;
            tar.append_link(&mut header, rel, target)?;
        } else if meta.is_dir() {
            header.set_size(0);
            tar.append_data(&mut header, rel, std::io::empty())?;
        } else {
            tar.append_data(&mut header, rel, std::fs::File::open(&full)?)?;
        }
    }
    tar.finish()
}

struct ChunkWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
    written: u64,
}

impl ChunkWriter {
    fn flush_chunk(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.written += chunk.len() as u64;
        // The receiver is gone when the build was cancelled or failed early: stop writing.
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the daemon stopped reading the context")
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush_chunk()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A tiny `Stream` over an mpsc receiver (what tokio-stream's ReceiverStream does), to avoid a crate for six lines.
pub mod tokio_stream_like {
    use bytes::Bytes;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Yields what the tar writer sends.
    pub struct ReceiverStream(pub tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

    impl futures_util::Stream for ReceiverStream {
        type Item = Result<Bytes, std::io::Error>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
}
