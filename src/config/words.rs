//! Values made of words (`run_command`, `run_args`): shell words, as the
//! tutorial writes them, or a JSON array of strings, as a Dockerfile's exec
//! form is written. One line of a service file cannot hold a newline; a
//! JSON string can (`"echo a\nexec b"`), which is what `svcfs import`
//! writes for a Compose script written on several lines.

/// The words of `text`: a JSON array of strings when it is one, else
/// shell words. A value starting with `[` that is not such an array is
/// read as shell words (`[ -f /x ]` is the `test` program).
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('[') {
        if let Ok(words) = serde_json::from_str::<Vec<String>>(trimmed) {
            return Ok(words);
        }
    }
    shell_words::split(text).map_err(|e| e.to_string())
}

/// Words as a value of a service file: shell words, quoted where needed,
/// or a JSON array when a word holds a character one line cannot (a
/// newline, a carriage return, another control character).
pub fn join(words: &[String]) -> String {
    let needs_json = words.iter().any(|w| w.chars().any(char::is_control));
    if needs_json {
        serde_json::to_string(words).unwrap_or_default()
    } else {
        words
            .iter()
            .map(|w| crate::host::quote_if_needed(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn shell_words_and_json_arrays_both_read() {
        assert_eq!(
            split("-p 80:80 -e 'A=b c'").unwrap(),
            owned(&["-p", "80:80", "-e", "A=b c"])
        );
        assert_eq!(
            split(r#" ["sh", "-c", "echo a\nexec b"] "#).unwrap(),
            owned(&["sh", "-c", "echo a\nexec b"])
        );
        assert_eq!(split("[ -f /x ]").unwrap(), owned(&["[", "-f", "/x", "]"]));
        assert!(split("'open").is_err());
    }

    #[test]
    fn join_round_trips_through_split() {
        for words in [
            owned(&["sh", "-c", "echo $HOME; exit 0"]),
            owned(&["a b", "", "it's", "#x", ";y"]),
            owned(&["sh", "-c", "echo a\nexec b\r\tc"]),
        ] {
            let line = join(&words);
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(split(&line).unwrap(), words, "{line}");
        }
    }
}
