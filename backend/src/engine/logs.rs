//! Writing and reading logs. Output is gathered into chunks (at most `CHUNK_LINES` lines or
//! `CHUNK_BYTES` bytes, or whatever arrived within a flush interval), compressed with zstd
//! and stored with one database write per chunk, never one per line. Readers decompress
//! only the chunks that hold the lines they want.

use bytes::Bytes;
use futures::Stream;

use super::EngineError;
use crate::db::logs::Missing;
use crate::db::{self, Db, DbError, DbResult};
use crate::model::{Channel, LogId, LogInfo, LogLine};

/// Lines per chunk at most.
pub const CHUNK_LINES: usize = 1000;
/// Raw bytes per chunk at most (about).
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Longest stored line; longer output is split into several lines.
pub const MAX_LINE: usize = 64 * 1024;

/// Collects a log's output into whole lines and encoded chunks.
#[derive(Debug)]
pub struct LogBuffer {
    /// Number of the next line to be stored.
    next_line: i64,
    /// Encoded complete lines not yet stored.
    encoded: Vec<u8>,
    lines: usize,
    /// Incomplete last line of each channel.
    partial: [String; 3],
}

/// A chunk ready to store.
#[derive(Debug)]
pub struct PendingChunk {
    /// First line number.
    pub first: i64,
    /// Last line number.
    pub last: i64,
    /// Encoded, uncompressed lines.
    pub raw: Vec<u8>,
}

fn slot(channel: Channel) -> usize {
    match channel {
        Channel::Stdout => 0,
        Channel::Stderr => 1,
        Channel::Header => 2,
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new()
    }
}

impl LogBuffer {
    /// An empty log.
    pub fn new() -> LogBuffer {
        LogBuffer { next_line: 0, encoded: Vec::new(), lines: 0, partial: Default::default() }
    }

    /// Adds output; complete lines are encoded, the rest waits for its newline.
    pub fn push(&mut self, channel: Channel, data: &str) {
        let mut rest = data;
        while let Some(pos) = rest.find('\n') {
            let mut line = std::mem::take(&mut self.partial[slot(channel)]);
            line.push_str(&rest[..pos]);
            // Trimmed after joining: a `\r\n` can arrive split between two reads.
            line.truncate(line.trim_end_matches('\r').len());
            self.encode(channel, &line);
            rest = &rest[pos + 1..];
        }
        self.partial[slot(channel)].push_str(rest);
        // A line without a newline (a progress bar) must not grow without bound. One of
        // exactly `MAX_LINE` bytes waits for its newline, which would otherwise make an empty
        // line, and so do carriage returns after it that may turn out to end it (`\r\n`), up
        // to as many again.
        while too_long(&self.partial[slot(channel)]) {
            let partial = &mut self.partial[slot(channel)];
            let cut = floor_char_boundary(partial, MAX_LINE);
            let head: String = partial.drain(..cut).collect();
            self.encode(channel, &head);
        }
    }

    /// Ends every incomplete line (the step finished).
    pub fn close(&mut self) {
        for channel in [Channel::Stdout, Channel::Stderr, Channel::Header] {
            let line = std::mem::take(&mut self.partial[slot(channel)]);
            if !line.is_empty() {
                self.encode(channel, &line);
            }
        }
    }

    fn encode(&mut self, channel: Channel, line: &str) {
        let mut line = line;
        loop {
            let cut = floor_char_boundary(line, MAX_LINE);
            self.encoded.push(channel.code() as u8);
            self.encoded.extend_from_slice(&line.as_bytes()[..cut]);
            self.encoded.push(b'\n');
            self.lines += 1;
            line = &line[cut..];
            if line.is_empty() {
                break;
            }
        }
    }

    /// Whether enough has gathered to store a chunk now.
    pub fn is_full(&self) -> bool {
        self.lines >= CHUNK_LINES || self.encoded.len() >= CHUNK_BYTES
    }

    /// Takes the gathered lines as a chunk, if there are any.
    pub fn take_chunk(&mut self) -> Option<PendingChunk> {
        if self.lines == 0 {
            return None;
        }
        let first = self.next_line;
        let last = first + self.lines as i64 - 1;
        self.next_line = last + 1;
        self.lines = 0;
        Some(PendingChunk { first, last, raw: std::mem::take(&mut self.encoded) })
    }
}

/// Whether a line still without its newline is stored in pieces now.
fn too_long(partial: &str) -> bool {
    partial.trim_end_matches('\r').len() > MAX_LINE || partial.len() > 2 * MAX_LINE
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A log addressed the way URLs address it (`step` is the step's number or its name); when it
/// does not exist, the error names the part of the address that names nothing.
pub async fn find(db: &Db, builder: &str, build: i64, step: &str, slug: &str) -> Result<LogInfo, EngineError> {
    let mut conn = db.acquire().await?;
    match db::logs::get(conn.conn(), builder, build, step, slug).await {
        Err(DbError::NotFound) => {}
        other => return Ok(other?),
    }
    let message = match db::logs::missing(conn.conn(), builder, build, step).await? {
        Missing::Builder => format!("no builder `{builder}`"),
        Missing::Build => format!("builder `{builder}` has no build {build}"),
        Missing::Step => format!("build {build} of builder `{builder}` has no step `{step}`"),
        Missing::Log => format!("step `{step}` of build {build} of builder `{builder}` has no log `{slug}`"),
    };
    Err(EngineError::NotFound(message))
}

/// A chunk ready to be stored: its lines compressed.
pub struct CompressedChunk {
    first: i64,
    last: i64,
    raw_len: i64,
    compressed: Vec<u8>,
}

impl CompressedChunk {
    /// The number of the chunk's last line.
    pub fn last(&self) -> i64 {
        self.last
    }
}

/// Chunks this small are compressed where they are: a step's few lines cost less to
/// compress than a hand-over to the blocking pool.
const COMPRESS_INLINE: usize = 16 * 1024;

/// Compresses a chunk, on the blocking pool unless it is small.
pub async fn compress(chunk: PendingChunk) -> DbResult<CompressedChunk> {
    let PendingChunk { first, last, raw } = chunk;
    let raw_len = raw.len() as i64;
    let compress = move || zstd::bulk::compress(&raw, 3);
    let compressed = if raw_len as usize <= COMPRESS_INLINE {
        compress()
    } else {
        tokio::task::spawn_blocking(compress)
            .await
            .map_err(|e| DbError::Unavailable(format!("compression task failed: {e}")))?
    };
    let compressed = compressed.map_err(|e| DbError::Unavailable(format!("compression failed: {e}")))?;
    Ok(CompressedChunk { first, last, raw_len, compressed })
}

/// Stores a compressed chunk of `log` inside the caller's transaction.
pub async fn append(conn: db::Conn<'_>, log: LogId, chunk: &CompressedChunk) -> DbResult<()> {
    db::logs::append(conn, log, chunk.first, chunk.last, &chunk.compressed, chunk.raw_len).await
}

/// Compresses and stores one chunk, in a transaction of its own.
pub async fn store_chunk(db: &Db, log: LogId, chunk: PendingChunk) -> DbResult<()> {
    let chunk = compress(chunk).await?;
    let mut tx = db.begin().await?;
    append(tx.conn(), log, &chunk).await?;
    tx.commit().await
}

pub(super) fn decompress(content: &[u8]) -> DbResult<Vec<u8>> {
    zstd::stream::decode_all(content).map_err(|e| DbError::Unavailable(format!("corrupt log chunk: {e}")))
}

/// Splits a decompressed chunk into its lines.
fn decode_lines(first_line: i64, raw: &[u8]) -> impl Iterator<Item = LogLine> + '_ {
    raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate().map(move |(i, l)| LogLine {
        number: first_line + i as i64,
        channel: Channel::from_code(l[0]),
        text: String::from_utf8_lossy(&l[1..]).into_owned(),
    })
}

/// Lines `offset..offset+limit` of a log.
pub async fn read_lines(db: &Db, log: LogId, offset: i64, limit: i64) -> DbResult<Vec<LogLine>> {
    let end = offset.saturating_add(limit);
    let chunks = {
        let mut conn = db.acquire().await?;
        db::logs::chunks_overlapping(conn.conn(), log, offset, end).await?
    };
    let lines = tokio::task::spawn_blocking(move || -> DbResult<Vec<LogLine>> {
        let mut out = Vec::new();
        for chunk in chunks {
            let raw = decompress(&chunk.content)?;
            out.extend(decode_lines(chunk.first_line, &raw).filter(|l| l.number >= offset && l.number < end));
        }
        Ok(out)
    })
    .await
    .map_err(|e| DbError::Unavailable(format!("decompression task failed: {e}")))??;
    Ok(lines)
}

/// The whole log as plain text (stdout and stderr; header lines left out), one chunk at a
/// time, so memory stays flat however large the log is.
pub fn stream_text(db: Db, log: LogId) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    async_stream::try_stream! {
        let mut next = 0i64;
        loop {
            let chunk = {
                let mut conn = db.acquire().await.map_err(std::io::Error::other)?;
                db::logs::next_chunk(conn.conn(), log, next).await.map_err(std::io::Error::other)?
            };
            let Some(chunk) = chunk else { break };
            next = chunk.last_line + 1;
            let text = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, std::io::Error> {
                let raw = decompress(&chunk.content).map_err(std::io::Error::other)?;
                let mut text = Vec::with_capacity(raw.len());
                for line in raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    if line[0] != b'h' {
                        text.extend_from_slice(&line[1..]);
                        text.push(b'\n');
                    }
                }
                Ok(text)
            })
            .await
            .map_err(std::io::Error::other)??;
            yield Bytes::from(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunk: &PendingChunk) -> Vec<LogLine> {
        decode_lines(chunk.first, &chunk.raw).collect()
    }

    #[test]
    fn partial_lines_wait_for_their_newline_per_channel() {
        let mut buf = LogBuffer::new();
        buf.push(Channel::Stdout, "hel");
        buf.push(Channel::Stderr, "oops\n");
        buf.push(Channel::Stdout, "lo\r\nworld");
        buf.close();
        let chunk = buf.take_chunk().unwrap();
        let lines = lines_of(&chunk);
        let texts: Vec<_> = lines.iter().map(|l| (l.channel, l.text.as_str())).collect();
        assert_eq!(texts, vec![(Channel::Stderr, "oops"), (Channel::Stdout, "hello"), (Channel::Stdout, "world")]);
        assert_eq!((chunk.first, chunk.last), (0, 2));
        assert!(buf.take_chunk().is_none());
    }

    #[test]
    fn line_numbers_continue_across_chunks() {
        let mut buf = LogBuffer::new();
        buf.push(Channel::Stdout, "a\nb\n");
        let first = buf.take_chunk().unwrap();
        buf.push(Channel::Stdout, "c\n");
        let second = buf.take_chunk().unwrap();
        assert_eq!((first.first, first.last), (0, 1));
        assert_eq!((second.first, second.last), (2, 2));
        assert_eq!(lines_of(&second)[0].number, 2);
    }

    #[test]
    fn a_huge_line_without_newline_is_split_not_buffered() {
        let mut buf = LogBuffer::new();
        let big = "x".repeat(MAX_LINE * 2 + 10);
        buf.push(Channel::Stdout, &big);
        // Two full pieces are already encoded before any newline arrives.
        let chunk = buf.take_chunk().unwrap();
        assert_eq!(chunk.last - chunk.first + 1, 2);
        assert!(lines_of(&chunk).iter().all(|l| l.text.len() == MAX_LINE));
        buf.close();
        assert_eq!(lines_of(&buf.take_chunk().unwrap())[0].text.len(), 10);
    }

    fn texts_of(buf: &mut LogBuffer) -> Vec<String> {
        buf.close();
        buf.take_chunk().map(|c| lines_of(&c).into_iter().map(|l| l.text).collect()).unwrap_or_default()
    }

    #[test]
    fn a_crlf_split_between_two_reads_ends_the_line_like_one_read() {
        // The `\r` used to stay in the line, and the log viewer, which shows what follows a
        // line's last `\r`, showed it empty. (`fuzz/`'s `log_chunker` checks any reads.)
        let mut buf = LogBuffer::new();
        buf.push(Channel::Stdout, "first\r");
        buf.push(Channel::Stdout, "\nsecond\r\n");
        assert_eq!(texts_of(&mut buf), ["first", "second"]);
    }

    #[test]
    fn a_line_of_exactly_max_line_bytes_read_before_its_newline_stays_one_line() {
        // It used to be stored at once, and its newline then made an empty line after it.
        let mut buf = LogBuffer::new();
        let line = "x".repeat(MAX_LINE);
        buf.push(Channel::Stdout, &line);
        buf.push(Channel::Stdout, "\nnext\n");
        assert_eq!(texts_of(&mut buf), [line.as_str(), "next"]);
    }

    #[test]
    fn a_line_of_exactly_max_line_bytes_with_its_crlf_split_between_reads_stays_one_line() {
        let mut buf = LogBuffer::new();
        let line = "x".repeat(MAX_LINE);
        buf.push(Channel::Stdout, &format!("{line}\r"));
        buf.push(Channel::Stdout, "\nnext\n");
        assert_eq!(texts_of(&mut buf), [line.as_str(), "next"]);
    }

    #[test]
    fn is_full_after_chunk_lines() {
        let mut buf = LogBuffer::new();
        for _ in 0..CHUNK_LINES - 1 {
            buf.push(Channel::Stdout, "l\n");
        }
        assert!(!buf.is_full());
        buf.push(Channel::Stdout, "l\n");
        assert!(buf.is_full());
    }
}
