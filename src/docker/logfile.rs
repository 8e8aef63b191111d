//! The files in which docker keeps a container's output, read without a
//! docker call: where they are (from the container's inspect data), their
//! two formats, the last records of a file, the records appended since a
//! given offset, and the lines rebuilt from records.
//!
//! - `json-file` (docker's default): one JSON object per record,
//!   `{"log":"line 0\r\n","stream":"stdout","time":"…"}`, in the file
//!   inspect's `LogPath` names.
//! - `local`: `<size><LogEntry protobuf><size>`, sizes as 32-bit big
//!   endian, in `<container dir>/local-logs/container.log`; the same
//!   format holds the "dual logging" cache that docker keeps for the
//!   other drivers (`<container dir>/container-cached.log`), unless the
//!   cache is disabled.
//!
//! A record is a chunk of one stream: docker cuts lines longer than 16
//! KiB into several records, and a TTY's output comes as it was written
//! (`line\r\n`), so lines are rebuilt per stream by [`Lines`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::clock::parse_rfc3339_nanos;

/// The layout of a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    JsonFile,
    /// Size-framed protobuf entries.
    Local,
}

/// A file docker writes a container's output to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its layout.
    pub format: Format,
}

impl LogFile {
    /// The file of a container whose log driver is `driver`, from its
    /// inspect data: `LogPath` (json-file only) and its directory (the
    /// directory of `HostnamePath`). `None` for a driver that leaves no
    /// file svcfs can read (`none`, or a remote driver with the cache
    /// disabled: `cache_disabled`).
    pub fn of(
        driver: &str,
        log_path: &str,
        container_dir: Option<&Path>,
        cache_disabled: bool,
    ) -> Option<LogFile> {
        let in_dir = |name: &str| container_dir.map(|d| d.join(name));
        let (path, format) = match driver {
            "json-file" if !log_path.is_empty() => (PathBuf::from(log_path), Format::JsonFile),
            "json-file" => return None,
            "local" => (in_dir("local-logs/container.log")?, Format::Local),
            "none" | "" => return None,
            _ if cache_disabled => return None,
            _ => (in_dir("container-cached.log")?, Format::Local),
        };
        Some(LogFile { path, format })
    }
}

/// One chunk of output as docker recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// From stderr (else stdout).
    pub stderr: bool,
    /// When docker read it, nanoseconds since the epoch.
    pub time: i64,
    /// The bytes, without the newline that ends a line.
    pub text: Vec<u8>,
    /// Whether a line ends here (else the next record of the stream
    /// continues it).
    pub ends_line: bool,
}

#[derive(Deserialize)]
struct JsonRecord {
    log: String,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    time: String,
}

/// One json-file line (without its newline) as a record; `None` when it
/// is not one (a line cut by a crash of docker).
fn json_record(line: &[u8]) -> Option<Record> {
    let record: JsonRecord = serde_json::from_slice(line).ok()?;
    let mut text = record.log.into_bytes();
    let ends_line = text.last() == Some(&b'\n');
    if ends_line {
        text.pop();
    }
    Some(Record {
        stderr: record.stream == "stderr",
        time: parse_rfc3339_nanos(&record.time).unwrap_or(0),
        text,
        ends_line,
    })
}

/// A protobuf varint at the start of `buf`: its value and length.
fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The fields of one protobuf message: (number, varint value, bytes).
fn fields(mut buf: &[u8]) -> Option<Vec<(u64, u64, &[u8])>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (key, n) = varint(buf)?;
        buf = &buf[n..];
        let (number, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let (value, n) = varint(buf)?;
                buf = &buf[n..];
                out.push((number, value, &[][..]));
            }
            1 => buf = buf.get(8..)?,
            2 => {
                let (len, n) = varint(buf)?;
                let end = n.checked_add(usize::try_from(len).ok()?)?;
                out.push((number, 0, buf.get(n..end)?));
                buf = &buf[end..];
            }
            5 => buf = buf.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

/// One `local` entry (docker's `logdriver.LogEntry`: source = 1,
/// time_nano = 2, line = 3, partial = 4, partial_log_metadata = 5 whose
/// `last` = 1) as a record.
fn local_record(entry: &[u8]) -> Option<Record> {
    let mut record = Record {
        stderr: false,
        time: 0,
        text: Vec::new(),
        ends_line: true,
    };
    let mut partial = false;
    let mut last = false;
    for (number, value, bytes) in fields(entry)? {
        match number {
            1 => record.stderr = bytes == b"stderr",
            2 => record.time = value as i64,
            3 => record.text = bytes.to_vec(),
            4 => partial = value != 0,
            5 => last = fields(bytes)?.iter().any(|(n, v, _)| *n == 1 && *v != 0),
            _ => {}
        }
    }
    // The last piece of a cut line is marked partial too, and `last`.
    record.ends_line = !partial || last;
    Some(record)
}

/// The records of `buf`, which starts at a record boundary, and how many
/// bytes they took (an incomplete record at the end is left).
pub fn parse(format: Format, buf: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut used = 0;
    match format {
        Format::JsonFile => {
            while let Some(end) = buf[used..].iter().position(|b| *b == b'\n') {
                records.extend(json_record(&buf[used..used + end]));
                used += end + 1;
            }
        }
        Format::Local => {
            while let Some(size) = buf
                .get(used..used + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            {
                let Some(entry) = buf.get(used + 4..used + 4 + size) else {
                    break;
                };
                if buf.get(used + 4 + size..used + 8 + size).is_none() {
                    break;
                }
                records.extend(local_record(entry));
                used += size + 8;
            }
        }
    }
    (records, used)
}

/// The last records of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail {
    /// Oldest first.
    pub records: Vec<Record>,
    /// Whether they begin at the start of the file.
    pub from_start: bool,
    /// The file's size when it was read: where following it goes on.
    pub end: u64,
}

/// The newest records of `file` holding at least `want` bytes of output
/// (fewer when the file has fewer), read from its end.
pub fn tail(file: &LogFile, want: usize) -> std::io::Result<Tail> {
    let mut handle = File::open(&file.path)?;
    let size = handle.metadata()?.len();
    // JSON triples the bytes (more for escaped control characters):
    // start with four times as much, double until enough is found.
    let mut span = (want as u64).saturating_mul(4).max(64 * 1024);
    loop {
        let start = size.saturating_sub(span);
        handle.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((size - start) as usize);
        (&mut handle).take(size - start).read_to_end(&mut buf)?;
        let records = match file.format {
            Format::JsonFile => {
                let skip = match start {
                    0 => 0,
                    _ => buf
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(buf.len(), |i| i + 1),
                };
                parse(Format::JsonFile, &buf[skip..]).0
            }
            Format::Local => local_backwards(&buf),
        };
        let text: usize = records.iter().map(|r| r.text.len() + 1).sum();
        if start == 0 || text >= want {
            let mut kept = 0;
            let mut first = records.len();
            while first > 0 && kept < want {
                first -= 1;
                kept += records[first].text.len() + 1;
            }
            return Ok(Tail {
                from_start: start == 0 && first == 0,
                records: records[first..].to_vec(),
                end: size,
            });
        }
        span = span.saturating_mul(2);
    }
}

/// The whole `local` entries at the end of `buf`, found from the end
/// through each entry's trailing size.
fn local_backwards(buf: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut end = buf.len();
    while end >= 8 {
        let b = &buf[end - 4..end];
        let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let Some(start) = end.checked_sub(size + 8) else {
            break;
        };
        let head = &buf[start..start + 4];
        if u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize != size {
            break;
        }
        records.extend(local_record(&buf[start + 4..start + 4 + size]));
        end = start;
    }
    records.reverse();
    records
}

/// Follows one file from an offset: each [`Follower::read_new`] returns
/// the records appended since. A file that got shorter (truncated) or
/// was replaced (docker rotates json-file logs at `max-size`) is read
/// again from its start.
pub struct Follower {
    file: LogFile,
    handle: Option<File>,
    offset: u64,
    carry: Vec<u8>,
}

impl Follower {
    /// A follower of `file` from `offset` (its size when a reader opened
    /// the stream: what comes next).
    pub fn new(file: LogFile, offset: u64) -> Self {
        Follower {
            file,
            handle: None,
            offset,
            carry: Vec::new(),
        }
    }

    /// The file it follows.
    pub fn file(&self) -> &LogFile {
        &self.file
    }

    /// The records appended since the last call (none while the file
    /// does not exist).
    pub fn read_new(&mut self) -> Vec<Record> {
        use std::os::unix::fs::MetadataExt;
        let on_disk = std::fs::metadata(&self.file.path).ok();
        if let (Some(handle), Some(disk)) = (&self.handle, &on_disk) {
            let open = handle.metadata().ok();
            let replaced = open.is_none_or(|m| m.ino() != disk.ino() || m.dev() != disk.dev());
            if replaced || disk.len() < self.offset {
                // What the old file got before it went, then the new one
                // from its start.
                let mut records = self.read_open();
                self.handle = None;
                self.offset = 0;
                self.carry.clear();
                records.extend(self.read_new_open());
                return records;
            }
        }
        if on_disk.is_none() {
            return self.read_open();
        }
        self.read_new_open()
    }

    fn read_new_open(&mut self) -> Vec<Record> {
        if self.handle.is_none() {
            self.handle = File::open(&self.file.path).ok();
        }
        self.read_open()
    }

    /// Read the open handle from the offset to its end.
    fn read_open(&mut self) -> Vec<Record> {
        let Some(handle) = self.handle.as_mut() else {
            return Vec::new();
        };
        if handle.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = std::mem::take(&mut self.carry);
        let before = buf.len();
        if handle.read_to_end(&mut buf).is_err() {
            buf.truncate(before);
        }
        self.offset += (buf.len() - before) as u64;
        let (records, used) = parse(self.file.format, &buf);
        self.carry = buf.split_off(used);
        records
    }
}

/// Lines rebuilt from records, per stream: a record continues the line
/// its stream left open; a line's trailing `\r` (a TTY's `\r\n`) goes.
#[derive(Debug, Default)]
pub struct Lines {
    open: [Vec<u8>; 2],
}

impl Lines {
    /// The lines `record` completes: its own line's end, and any inside
    /// it (a chunk of raw output, as docker's API gives a TTY's).
    pub fn push(&mut self, record: &Record) -> Vec<String> {
        let open = &mut self.open[usize::from(record.stderr)];
        let mut lines = Vec::new();
        let mut pieces = record.text.split(|b| *b == b'\n').peekable();
        while let Some(piece) = pieces.next() {
            open.extend_from_slice(piece);
            if pieces.peek().is_some() || record.ends_line {
                lines.push(line_of(std::mem::take(open)));
            }
        }
        lines
    }

    /// The lines left open, ended (the instance they belong to ended).
    pub fn flush(&mut self) -> Vec<String> {
        self.open
            .iter_mut()
            .filter(|o| !o.is_empty())
            .map(|o| line_of(std::mem::take(o)))
            .collect()
    }
}

fn line_of(mut bytes: Vec<u8>) -> String {
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
#[path = "logfile_tests.rs"]
mod tests;
