//! The log chunker: a command's raw output, read in arbitrary pieces from several streams,
//! decoded as the worker decodes it and gathered by `LogBuffer` into stored chunks; then the
//! log viewer's scanning of each stored line (escape sequences, carriage returns, section
//! markers).
//!
//! The input is a list of reads, each `control, length, bytes`: the control byte's low two
//! bits pick the stream, bit 2 stores a chunk after the read (a flush interval passed), and
//! when bit 3 is set its high nibble repeats the bytes (up to 3,841 times), so a small input
//! can make lines far longer than `MAX_LINE`; reads past `OUTPUT_BYTES` in all are ignored.
//!
//! What must hold: chunks number their lines without gaps; every stored line is valid UTF-8
//! of at most `MAX_LINE` bytes; the lines stored do not depend on how the output was cut
//! into reads, so they equal what one read of the whole output gives; and the viewer's
//! scanning leaves no escape sequence or control character behind.
#![no_main]

use cascade::engine::log_scan;
use cascade::engine::logs::{LogBuffer, MAX_LINE};
use cascade::model::Channel;
use cascade::worker::executor::utf8_boundary;
use libfuzzer_sys::fuzz_target;

const CHANNELS: [Channel; 3] = [Channel::Stdout, Channel::Stderr, Channel::Header];

/// Output fed per input at most, so that each run stays fast.
const OUTPUT_BYTES: usize = 256 * 1024;

/// Stored lines passed to the log viewer's scanning at most, so that each run stays fast.
const SCANNED_LINES: usize = 4096;

/// One stored line: its channel's code and its text.
type Line<'a> = (u8, &'a str);

fuzz_target!(|data: &[u8]| {
    let mut buffer = LogBuffer::new();
    let mut stored = Vec::new();
    // Per stream: bytes read but not yet decoded (an incomplete UTF-8 sequence), and
    // everything read, for the reference.
    let mut pending: [Vec<u8>; 3] = Default::default();
    let mut whole: [Vec<u8>; 3] = Default::default();
    let mut rest = data;
    let mut budget = OUTPUT_BYTES;
    while let [control, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        let stream = usize::from(control & 3) % 3;
        let repeat = if control & 8 != 0 { 1 + usize::from(control >> 4) * 256 } else { 1 };
        let Some(left) = budget.checked_sub(bytes.len() * repeat) else { break };
        budget = left;
        let read = bytes.repeat(repeat);
        whole[stream].extend_from_slice(&read);
        // As the worker's executor does with each read.
        pending[stream].extend_from_slice(&read);
        let cut = utf8_boundary(&pending[stream]);
        let text = String::from_utf8_lossy(&pending[stream][..cut]).into_owned();
        pending[stream].drain(..cut);
        buffer.push(CHANNELS[stream], &text);
        if control & 4 != 0 || buffer.is_full() {
            stored.extend(buffer.take_chunk());
        }
    }
    for (stream, left) in pending.iter().enumerate() {
        if !left.is_empty() {
            buffer.push(CHANNELS[stream], &String::from_utf8_lossy(left));
        }
    }
    buffer.close();
    stored.extend(buffer.take_chunk());

    let mut next = 0;
    let mut lines: Vec<Line> = Vec::new();
    for chunk in &stored {
        assert_eq!(chunk.first, next, "chunks must number their lines without gaps");
        assert!(chunk.last >= chunk.first, "a stored chunk holds a line at least");
        let records: Vec<&[u8]> = chunk.raw.split(|b| *b == b'\n').filter(|r| !r.is_empty()).collect();
        assert_eq!(chunk.raw.last(), Some(&b'\n'));
        assert_eq!(records.len() as i64, chunk.last - chunk.first + 1, "line count of chunk {}", chunk.first);
        for record in records {
            let text = std::str::from_utf8(&record[1..]).expect("a stored line is UTF-8");
            assert!(text.len() <= MAX_LINE, "a stored line is {} bytes long", text.len());
            lines.push((record[0], text));
        }
        next = chunk.last + 1;
    }

    // The same output, read at once.
    let mut reference = LogBuffer::new();
    for (stream, bytes) in whole.iter().enumerate() {
        reference.push(CHANNELS[stream], &String::from_utf8_lossy(bytes));
    }
    reference.close();
    let mut expected: [Vec<&str>; 3] = Default::default();
    let chunk = reference.take_chunk();
    let raw = chunk.as_ref().map_or(&[][..], |c| &c.raw[..]);
    for record in raw.split(|b| *b == b'\n').filter(|r| !r.is_empty()) {
        let stream = CHANNELS.iter().position(|c| c.code() as u8 == record[0]).expect("a known channel");
        expected[stream].push(std::str::from_utf8(&record[1..]).expect("UTF-8"));
    }
    for (stream, channel) in CHANNELS.iter().enumerate() {
        let got: Vec<&str> = lines.iter().filter(|(code, _)| *code == channel.code() as u8).map(|(_, t)| *t).collect();
        // A line longer than `MAX_LINE` is cut where the reads fall, before its end is known,
        // so carriage returns that turn out to end it may be kept in a piece: of such output
        // only the text is compared, carriage returns aside.
        let long = String::from_utf8_lossy(&whole[stream]).split('\n').any(|l| l.len() > MAX_LINE);
        if long {
            let text = |lines: &[&str]| lines.concat().replace('\r', "");
            assert_eq!(text(&got), text(&expected[stream]), "{channel:?} output was lost or changed");
        } else {
            assert_eq!(got, expected[stream], "the {channel:?} lines depend on how the output was read");
        }
    }

    let mut scanned: Vec<&str> = lines.iter().map(|(_, t)| *t).collect();
    scanned.sort_unstable();
    scanned.dedup();
    for text in scanned.into_iter().take(SCANNED_LINES) {
        // What the SPA's ANSI parser drops: escape sequences, C0 controls but tab and
        // carriage return, and DEL.
        let plain = log_scan::strip_escapes(text);
        assert!(
            !plain.chars().any(|c| (c < ' ' && c != '\t' && c != '\r') || c == '\x7f'),
            "an escape sequence or control character survived in {plain:?}"
        );
        // A control character that is dropped anyway must not change how the rest reads.
        assert_eq!(log_scan::strip_escapes(&format!("\x01{text}")), plain, "stripping {text:?}");
        assert!(!log_scan::display_text(text).contains('\r'));
        let _ = log_scan::marker(text);
    }
});
