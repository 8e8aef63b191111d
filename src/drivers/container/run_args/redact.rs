//! `run_args` as everyone may read it: the value of every environment
//! variable set by `-e`/`--env` replaced by `<redacted>`, read with the
//! same option grammar the parser applies, so that every spelling the
//! parser takes is caught. `--env-file` names a file and shows nothing of
//! its content; `-e NAME` (taken from the environment) shows no value.

use super::options::{find_long, find_short, OptSpec, Takes};
use crate::host::quote_if_needed;

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";

/// `run_args` with the value of every variable it sets replaced by
/// [`REDACTED`] (`-e DB_PASSWORD=<redacted>`), as shell words an operator
/// can read. Words that cannot be split are not shown at all.
pub fn redact_env(run_args: &str) -> String {
    let Ok(words) = crate::config::words::split(run_args) else {
        return REDACTED.to_string();
    };
    let mut out: Vec<String> = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "--" {
            out.push(word);
            out.extend(words.by_ref().map(|w| quote_if_needed(&w)));
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, inline)) => (name, Some(inline)),
                None => (long, None),
            };
            match (find_long(name), inline) {
                (Some(spec), Some(value)) if is_env(spec) => {
                    out.push(format!("--{}={}", quote_if_needed(name), variable(value)));
                }
                (Some(spec), None) if takes_value(spec) => {
                    out.push(quote_if_needed(&word));
                    if let Some(value) = words.next() {
                        out.push(shown(spec, &value));
                    }
                }
                _ => out.push(quote_if_needed(&word)),
            }
        } else if word.len() > 1 && word.starts_with('-') {
            out.extend(short_cluster(&word, &mut words));
        } else {
            out.push(quote_if_needed(&word));
        }
    }
    out.join(" ")
}

/// `-itd`, `-eA=1`, `-e=A=1`, `-ite A=1`: pflag's rules, where the first
/// letter taking a value swallows the rest of the word (or the next word).
/// An unknown letter is read as a flag, so that what follows is still
/// looked at.
fn short_cluster(word: &str, rest: &mut impl Iterator<Item = String>) -> Vec<String> {
    let cluster = &word[1..];
    for (at, letter) in cluster.char_indices() {
        let after = &cluster[at + letter.len_utf8()..];
        let Some(spec) = find_short(letter).filter(|s| takes_value(s)) else {
            continue;
        };
        let head = &word[..1 + at + letter.len_utf8()];
        if after.is_empty() {
            let mut out = vec![quote_if_needed(word)];
            out.extend(rest.next().map(|value| shown(spec, &value)));
            return out;
        }
        if !is_env(spec) {
            return vec![quote_if_needed(word)];
        }
        return vec![match after.strip_prefix('=').filter(|v| !v.is_empty()) {
            Some(value) => format!("{}={}", quote_if_needed(head), variable(value)),
            None => format!("{}{}", quote_if_needed(head), variable(after)),
        }];
    }
    vec![quote_if_needed(word)]
}

fn is_env(spec: &OptSpec) -> bool {
    spec.names.contains(&"env")
}

fn takes_value(spec: &OptSpec) -> bool {
    matches!(spec.takes, Takes::Value(_))
}

/// The value word of `spec` as shown.
fn shown(spec: &OptSpec, value: &str) -> String {
    if is_env(spec) {
        variable(value)
    } else {
        quote_if_needed(value)
    }
}

/// `NAME=value` → `NAME=<redacted>`; a bare `NAME` is shown as it is.
pub(super) fn variable(value: &str) -> String {
    match value.split_once('=') {
        Some(("", _)) => format!("={REDACTED}"),
        Some((name, _)) => format!("{}={REDACTED}", quote_if_needed(name)),
        None => quote_if_needed(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_environment_value_is_redacted() {
        for (args, shown) in [
            ("-e DB_PASSWORD=hunter2", "-e DB_PASSWORD=<redacted>"),
            ("-eDB_PASSWORD=hunter2", "-eDB_PASSWORD=<redacted>"),
            ("-e=DB_PASSWORD=hunter2", "-e=DB_PASSWORD=<redacted>"),
            ("--env DB_PASSWORD=hunter2", "--env DB_PASSWORD=<redacted>"),
            ("--env=DB_PASSWORD=hunter2", "--env=DB_PASSWORD=<redacted>"),
            // Clustered behind flags, as pflag reads them.
            ("-ite DB_PASSWORD=hunter2", "-ite DB_PASSWORD=<redacted>"),
            ("-tieDB_PASSWORD=hunter2", "-tieDB_PASSWORD=<redacted>"),
            // Quoted values, empty values, values holding `=`.
            (r#"-e "GREETING=hello world""#, "-e GREETING=<redacted>"),
            ("-e EMPTY=", "-e EMPTY=<redacted>"),
            ("-e A=b=c", "-e A=<redacted>"),
        ] {
            let redacted = redact_env(args);
            assert_eq!(redacted, shown, "{args}");
            assert!(!redacted.contains("hunter2"), "{args}");
        }
    }

    #[test]
    fn names_without_values_and_other_options_are_left_as_they_are() {
        for args in [
            "-e HOME",
            "--env HOME",
            "--env=HOME",
            "-eHOME",
            "--env-file /etc/app/env.list",
            "-v /a:/b -p 8080:80 --name=x -t",
            "-l env=prod",
            "--label=e=x",
            "-it",
            "",
        ] {
            assert_eq!(redact_env(args), args, "{args}");
        }
    }

    #[test]
    fn a_value_of_another_option_is_not_taken_for_an_option() {
        // `-l` takes `-e` as its value: the next word is no env value.
        assert_eq!(redact_env("-l -e A=1"), "-l -e A=1");
        assert_eq!(
            redact_env("-v /a:/b -e A=1 -p 80:80 --env B=2"),
            "-v /a:/b -e A=<redacted> -p 80:80 --env B=<redacted>"
        );
        // An unknown letter does not hide what follows it.
        assert_eq!(redact_env("-Ze A=1"), "-Ze A=<redacted>");
        // After `--`, nothing is an option (the parser refuses it anyway).
        assert_eq!(redact_env("-e A=1 -- x"), "-e A=<redacted> -- x");
    }

    #[test]
    fn a_bad_environment_value_is_reported_without_its_value() {
        let error = super::super::parse("-e =hunter2").unwrap_err().to_string();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("the variable name is empty"), "{error}");
    }

    #[test]
    fn words_are_requoted_for_a_shell_and_unsplittable_input_hidden() {
        assert_eq!(
            redact_env(r#"-e A=1 --entrypoint "/bin/sh -c""#),
            "-e A=<redacted> --entrypoint '/bin/sh -c'"
        );
        assert_eq!(redact_env(r#"-e "A=unclosed"#), REDACTED);
    }
}
