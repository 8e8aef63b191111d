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

/// The text the INI parser gets: without a leading BOM, each line it would
/// misread replaced by an empty one, and a problem for each of those.
pub fn parsable(path: &Path, text: &str) -> (String, Vec<Problem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Vec::new();
    let mut section: Option<String> = None;
    let mut kept = String::with_capacity(text.len());
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim();
        let header = line
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .map(str::trim);
        if let Some(name) = header {
            section = Some(name.to_string());
        }
        let understood = line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            // An unclosed `[section` is the parser's to report, by line.
            || line.starts_with('[')
            || line.contains('=')
            || line.contains(':');
        if understood {
            kept.push_str(raw);
            continue;
        }
        problems.push(Problem {
            severity: Severity::Error,
            file: path.to_path_buf(),
            section: section.clone(),
            keyword: None,
            line: Some(index + 1),
            message: format!(
                "{:?} is neither `keyword = value`, a [section] nor a comment; line ignored",
                shorten(line)
            ),
        });
        if raw.ends_with('\n') {
            kept.push('\n');
        }
    }
    (kept, problems)
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
        let (text, problems) = parsable(Path::new("/x.env"), "\u{feff}[DEFAULT]\nnodes = a\n");
        assert_eq!(text, "[DEFAULT]\nnodes = a\n");
        assert!(problems.is_empty());
    }

    #[test]
    fn a_line_without_a_value_is_reported_and_blanked_keeping_line_numbers() {
        let input = "[container#1]\nrun_image busybox\nrun_command = /bin/sh\r\n# c\n; c\n\n[x\n";
        let (text, problems) = parsable(Path::new("/x.env"), input);
        assert_eq!(
            text,
            "[container#1]\n\nrun_command = /bin/sh\r\n# c\n; c\n\n[x\n"
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].section.as_deref(), Some("container#1"));
        assert_eq!(
            problems[0].to_string(),
            "error: /x.env:2: [container#1] \"run_image busybox\" is neither `keyword = value`, a [section] nor a comment; line ignored"
        );
        let (_, problems) = parsable(Path::new("/x.env"), &"y".repeat(100));
        assert!(problems[0]
            .message
            .contains(&format!("\"{}...\"", "y".repeat(60))));
    }
}
