//! Docker's log files: records of both formats as docker writes them
//! (the `local` bytes are those dockerd 20.10 wrote on this project's
//! machine for `echo hello; echo world` in a TTY), the tail of a file,
//! following it through appends, truncation and rotation, and lines
//! rebuilt from records.

use super::*;
use crate::drivers::mounts::tests::TempDir;

/// Docker's local file for a TTY container that printed hello and world.
const LOCAL_HELLO_WORLD: [u8; 68] = [
    0x00, 0x00, 0x00, 0x1a, 0x0a, 0x06, 0x73, 0x74, 0x64, 0x6f, 0x75, 0x74, 0x10, 0xc0, 0xdb, 0xea,
    0xe8, 0xfd, 0xdb, 0xbc, 0xf7, 0x18, 0x1a, 0x06, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0d, 0x00, 0x00,
    0x00, 0x1a, 0x00, 0x00, 0x00, 0x1a, 0x0a, 0x06, 0x73, 0x74, 0x64, 0x6f, 0x75, 0x74, 0x10, 0x8f,
    0xf2, 0xeb, 0xe8, 0xfd, 0xdb, 0xbc, 0xf7, 0x18, 0x1a, 0x06, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x0d,
    0x00, 0x00, 0x00, 0x1a,
];

fn json(text: &str, stream: &str, time: &str) -> String {
    format!(
        "{}\n",
        serde_json::json!({"log": text, "stream": stream, "time": time})
    )
}

/// A `local` entry as docker frames it.
fn local(text: &[u8], stderr: bool, time: u64, partial: Option<bool>) -> Vec<u8> {
    let mut entry = Vec::new();
    let source: &[u8] = if stderr { b"stderr" } else { b"stdout" };
    entry.extend([0x0a, source.len() as u8]);
    entry.extend(source);
    entry.push(0x10);
    let mut t = time;
    loop {
        let byte = (t & 0x7f) as u8;
        t >>= 7;
        if t == 0 {
            entry.push(byte);
            break;
        }
        entry.push(byte | 0x80);
    }
    entry.extend([0x1a, text.len() as u8]);
    entry.extend(text);
    if let Some(last) = partial {
        entry.extend([0x20, 1, 0x2a, 2, 0x08, u8::from(last)]);
    }
    let size = (entry.len() as u32).to_be_bytes();
    [&size[..], &entry, &size[..]].concat()
}

fn texts(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.text).into_owned())
        .collect()
}

#[test]
fn where_docker_keeps_the_output_of_each_driver() {
    let dir = Path::new("/var/lib/docker/containers/abc");
    let of =
        |driver, cache_disabled| LogFile::of(driver, "/x/abc-json.log", Some(dir), cache_disabled);
    assert_eq!(
        of("json-file", false),
        Some(LogFile {
            path: "/x/abc-json.log".into(),
            format: Format::JsonFile
        })
    );
    assert_eq!(
        of("local", false).unwrap().path,
        dir.join("local-logs/container.log")
    );
    let cached = of("syslog", false).unwrap();
    assert_eq!(
        (cached.path, cached.format),
        (dir.join("container-cached.log"), Format::Local)
    );
    assert_eq!(of("syslog", true), None);
    assert_eq!(of("none", false), None);
    assert_eq!(LogFile::of("json-file", "", Some(dir), false), None);
    assert_eq!(LogFile::of("local", "", None, false), None);
}

#[test]
fn json_records_parse_with_their_stream_time_and_line_end() {
    let text = json("line 0\r\n", "stdout", "2026-12-07T10:40:18.165026886Z")
        + "{\"log\":\"cut by a cra\n"
        + &json("a long line's first part", "stderr", "2026-12-07T10:40:19Z");
    // The last one is not complete: no newline yet.
    let unfinished = "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2026-12-07T10:40:20Z\"}";
    let buf = format!("{text}{unfinished}");
    let (records, used) = parse(Format::JsonFile, buf.as_bytes());
    assert_eq!(used, text.len());
    assert_eq!(texts(&records), ["line 0\r", "a long line's first part"]);
    assert!(records[0].ends_line && !records[0].stderr);
    assert!(!records[1].ends_line && records[1].stderr);
    assert_eq!(
        records[0].time,
        crate::clock::parse_rfc3339_nanos("2026-12-07T10:40:18.165026886Z").unwrap()
    );
}

#[test]
fn local_records_parse_as_dockerd_wrote_them() {
    let (records, used) = parse(Format::Local, &LOCAL_HELLO_WORLD);
    assert_eq!(used, LOCAL_HELLO_WORLD.len());
    assert_eq!(texts(&records), ["hello\r", "world\r"]);
    assert!(records.iter().all(|r| r.ends_line && !r.stderr));
    assert!(records[0].time > 1_700_000_000_000_000_000 && records[1].time > records[0].time);
    // Cut anywhere: the whole entries before the cut.
    for cut in 0..LOCAL_HELLO_WORLD.len() {
        let (records, used) = parse(Format::Local, &LOCAL_HELLO_WORLD[..cut]);
        let expected = if cut < 34 { 0 } else { 1 };
        assert_eq!(
            (records.len(), used),
            (expected, expected * 34),
            "cut at {cut}"
        );
    }
    // A line cut in pieces: partial, then partial and last.
    let pieces = [
        local(b"ab", true, 5, Some(false)),
        local(b"cd", true, 6, Some(true)),
    ]
    .concat();
    let (records, _) = parse(Format::Local, &pieces);
    assert_eq!(
        records
            .iter()
            .map(|r| (r.stderr, r.ends_line))
            .collect::<Vec<_>>(),
        [(true, false), (true, true)]
    );
}

#[test]
fn lines_are_rebuilt_per_stream_without_the_tty_carriage_return() {
    let rec = |text: &str, stderr, ends_line| Record {
        stderr,
        time: 0,
        text: text.as_bytes().to_vec(),
        ends_line,
    };
    let mut lines = Lines::default();
    assert!(lines.push(&rec("a long ", false, false)).is_empty());
    assert_eq!(lines.push(&rec("error\r", true, true)), ["error"]);
    assert_eq!(lines.push(&rec("line\r", false, true)), ["a long line"]);
    // A raw TTY chunk, as the API gives it: several lines, one left open.
    assert_eq!(
        lines.push(&rec("one\r\ntwo\r\nthr", false, false)),
        ["one", "two"]
    );
    assert_eq!(lines.push(&rec("", false, true)), ["thr"]);
    assert_eq!(lines.push(&rec("", false, true)), [""]);
    assert!(lines
        .push(&rec("progress 10%\rprogress", false, false))
        .is_empty());
    assert_eq!(lines.flush(), ["progress 10%\rprogress"]);
    assert!(lines.flush().is_empty());
    assert_eq!(
        lines.push(&rec("\u{fffd}ok\r", false, true)),
        ["\u{fffd}ok"]
    );
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn json_lines(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| json(&format!("line {i}\r\n"), "stdout", "2026-12-07T10:40:18Z"))
        .collect()
}

#[test]
fn the_tail_of_a_json_file_holds_what_was_asked_and_says_where_it_began() {
    let tmp = TempDir::new("logtail");
    let file = LogFile {
        path: tmp.path().join("c-json.log"),
        format: Format::JsonFile,
    };
    write(&file.path, json_lines(0..10_000).as_bytes());
    let got = super::tail(&file, 100).unwrap();
    let lines = texts(&got.records);
    // "line 9999\r" and its newline: 11 bytes a line, 100 wanted.
    assert_eq!(lines.len(), 10);
    assert_eq!(lines.last().unwrap(), "line 9999\r");
    assert!(!got.from_start);
    assert_eq!(got.end, std::fs::metadata(&file.path).unwrap().len());
    // More than the file has: all of it, from its start.
    write(&file.path, json_lines(0..3).as_bytes());
    let got = super::tail(&file, 1 << 20).unwrap();
    assert_eq!(texts(&got.records), ["line 0\r", "line 1\r", "line 2\r"]);
    assert!(got.from_start);
    // More than the first span reads: it reads further back.
    write(&file.path, json_lines(0..100_000).as_bytes());
    let got = super::tail(&file, 500_000).unwrap();
    assert!(got.records.len() >= 500_000 / 12, "{}", got.records.len());
    assert!(std::fs::File::open(tmp.path().join("missing")).is_err());
    assert!(super::tail(
        &LogFile {
            path: tmp.path().join("missing"),
            format: Format::JsonFile
        },
        10
    )
    .is_err());
}

#[test]
fn the_tail_of_a_local_file_is_found_from_its_end() {
    let tmp = TempDir::new("logtail-local");
    let file = LogFile {
        path: tmp.path().join("container.log"),
        format: Format::Local,
    };
    let entries: Vec<u8> = (0..5000u64)
        .flat_map(|i| local(format!("entry {i:04}").as_bytes(), i % 2 == 1, i, None))
        .collect();
    write(&file.path, &entries);
    let got = super::tail(&file, 22).unwrap();
    assert_eq!(texts(&got.records), ["entry 4998", "entry 4999"]);
    assert_eq!(got.records[1].time, 4999);
    assert!(got.records[1].stderr);
    write(&file.path, &LOCAL_HELLO_WORLD);
    let got = super::tail(&file, 1000).unwrap();
    assert_eq!(texts(&got.records), ["hello\r", "world\r"]);
    assert!(got.from_start);
}

#[test]
fn a_follower_reads_appends_and_survives_truncation_and_rotation() {
    let tmp = TempDir::new("logfollow");
    let file = LogFile {
        path: tmp.path().join("c-json.log"),
        format: Format::JsonFile,
    };
    write(&file.path, json_lines(0..2).as_bytes());
    let size = std::fs::metadata(&file.path).unwrap().len();
    let mut follower = Follower::new(file.clone(), size);
    assert!(follower.read_new().is_empty());
    // A record written in two pieces: read once whole.
    let third = json_lines(2..3);
    append(&file.path, &third.as_bytes()[..10]);
    assert!(follower.read_new().is_empty());
    append(&file.path, &third.as_bytes()[10..]);
    assert_eq!(texts(&follower.read_new()), ["line 2\r"]);
    // Rotated: renamed away, a new file in its place.
    append(&file.path, json_lines(3..4).as_bytes());
    std::fs::rename(&file.path, tmp.path().join("c-json.log.1")).unwrap();
    write(&file.path, json_lines(4..5).as_bytes());
    assert_eq!(texts(&follower.read_new()), ["line 3\r", "line 4\r"]);
    // Truncated in place (by hand: docker rotates), to fewer bytes.
    write(
        &file.path,
        json("5\n", "stdout", "2026-12-07T10:40:18Z").as_bytes(),
    );
    assert_eq!(texts(&follower.read_new()), ["5"]);
    // Gone: nothing, then back.
    std::fs::remove_file(&file.path).unwrap();
    assert!(follower.read_new().is_empty());
    write(&file.path, json_lines(6..7).as_bytes());
    assert_eq!(texts(&follower.read_new()), ["line 6\r"]);
    assert_eq!(follower.file(), &file);
}
