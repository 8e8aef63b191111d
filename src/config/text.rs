//! What a service file's bytes must be before the INI parser sees them:
//! UTF-8 without NUL bytes (an error naming the byte offset, never decoded
//! with replacement characters), an optional BOM (dropped: editors write
//! one), and only lines the parser understands — a line that is neither
//! `keyword = value`, a `[section]` nor a comment would otherwise be glued
//! to the next line's keyword. Such a line is reported and blanked, so the
//! lines after it keep their numbers and their meaning.

use super::problem::{Problem, Severity};
use std::path::Path;

/// A file's bytes as a service file's text, or why they cannot be one.
pub fn service_text(bytes: &[u8]) -> Result<&str, String> {
    let line_of = |offset: usize| bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        format!(
            "invalid UTF-8 at byte offset {offset} (line {}): service files are UTF-8 text",
            line_of(offset)
        )
    })?;
    match bytes.iter().position(|&b| b == 0) {
        Some(offset) => Err(format!(
            "NUL byte at byte offset {offset} (line {}): service files are text",
            line_of(offset)
        )),
        None => Ok(text),
    }
}

/// The longest line a service file may have: no keyword needs more, and
/// the value of a longer one would be kept, logged and served whole.
pub const MAX_LINE: usize = 64 * 1024;

/// The text the INI parser gets: without a leading BOM, each line it would
/// misread replaced by an empty one, and a problem for each of those; or,
/// for a section header without its `]`, the error that makes the file
/// unusable (the lines after it belong to no known section).
pub fn parsable(path: &Path, text: &str) -> Result<(String, Vec<Problem>), Problem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Vec::new();
    let mut section: Option<String> = None;
    let mut kept = String::with_capacity(text.len());
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim();
        let header = section_header(raw);
        if let Some(name) = header {
            section = Some(name.to_string());
        }
        let problem = |message: String| Problem {
            severity: Severity::Error,
            file: path.to_path_buf(),
            section: section.clone(),
            keyword: None,
            line: Some(index + 1),
            message,
        };
        if line.starts_with('[') && header.is_none() {
            return Err(problem(format!(
                "section header {:?} is missing its closing ']'",
                shorten(line)
            )));
        }
        let comment = line.starts_with('#') || line.starts_with(';');
        if raw.len() > MAX_LINE && !comment {
            problems.push(problem(format!(
                "line of {} bytes, longer than the {MAX_LINE} a line may have; line ignored",
                raw.len()
            )));
        } else if header.is_some()
            || line.is_empty()
            || comment
            || line.contains('=')
            || line.contains(':')
        {
            kept.push_str(raw);
            continue;
        } else {
            problems.push(problem(format!(
                "{:?} is neither `keyword = value`, a [section] nor a comment; line ignored",
                shorten(line)
            )));
        }
        if raw.ends_with('\n') {
            kept.push('\n');
        }
    }
    Ok((kept, problems))
}

/// The section a `[name]` line opens, its name trimmed.
pub fn section_header(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix('[')?
        .strip_suffix(']')
        .map(str::trim)
}

/// The lines (1-based) of the headers of `section`, in file order.
pub fn header_lines(text: &str, section: &str) -> Vec<usize> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .filter(|(_, raw)| section_header(raw) == Some(section))
        .map(|(index, _)| index + 1)
        .collect()
}

/// At most 60 characters of a line, for a message.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_and_nul_bytes_are_named_by_offset_and_line() {
        assert_eq!(
            service_text(b"[DEFAULT]\nnodes = a\n"),
            Ok("[DEFAULT]\nnodes = a\n")
        );
        assert_eq!(
            service_text(b"[DEFAULT]\nnodes = \xff\n").unwrap_err(),
            "invalid UTF-8 at byte offset 18 (line 2): service files are UTF-8 text"
        );
        assert_eq!(
            service_text(b"[a#1]\n\nx = 1\0\n").unwrap_err(),
            "NUL byte at byte offset 12 (line 3): service files are text"
        );
        assert_eq!(service_text(b""), Ok(""));
    }

    #[test]
    fn a_bom_is_dropped() {
        let (text, problems) =
            parsable(Path::new("/x.env"), "\u{feff}[DEFAULT]\nnodes = a\n").unwrap();
        assert_eq!(text, "[DEFAULT]\nnodes = a\n");
        assert!(problems.is_empty());
    }

    #[test]
    fn a_line_without_a_value_is_reported_and_blanked_keeping_line_numbers() {
        let input = "[container#1]\nrun_image busybox\nrun_command = /bin/sh\r\n# c\n; c\n\n";
        let (text, problems) = parsable(Path::new("/x.env"), input).unwrap();
        assert_eq!(
            text,
            "[container#1]\n\nrun_command = /bin/sh\r\n# c\n; c\n\n"
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].section.as_deref(), Some("container#1"));
        assert_eq!(
            problems[0].to_string(),
            "error: /x.env:2: [container#1] \"run_image busybox\" is neither `keyword = value`, a [section] nor a comment; line ignored"
        );
        let (_, problems) = parsable(Path::new("/x.env"), &"y".repeat(100)).unwrap();
        assert!(problems[0]
            .message
            .contains(&format!("\"{}...\"", "y".repeat(60))));
    }

    #[test]
    fn an_unclosed_header_is_fatal_at_its_line() {
        let e = parsable(
            Path::new("/x.env"),
            "[DEFAULT]\n\n[container#1\nrun_image = a\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "error: /x.env:3: [DEFAULT] section header \"[container#1\" is missing its closing ']'"
        );
    }

    #[test]
    fn overlong_lines_are_ignored_but_long_comments_are_not_errors() {
        let long = format!("run_command = {}\n", "a".repeat(MAX_LINE));
        let comment = format!("# {}\n", "c".repeat(MAX_LINE));
        let input = format!("[container#1]\n{long}{comment}run_image = b\n");
        let (text, problems) = parsable(Path::new("/x.env"), &input).unwrap();
        assert_eq!(text, format!("[container#1]\n\n{comment}run_image = b\n"));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(2));
        assert!(
            problems[0].message.starts_with("line of 65551 bytes"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn header_lines_are_found_in_order() {
        let text = "\u{feff}[a#1]\nx = 1\n [a#1] \n[b#1]\n";
        assert_eq!(header_lines(text, "a#1"), [1, 3]);
        assert_eq!(header_lines(text, "c#1"), Vec::<usize>::new());
    }
}
