//! The option grammar: pflag's rules as the docker CLI 20.10 applies them
//! (`--opt value`, `--opt=value`, clustered short flags such as `-itd` or
//! `-p8080:80`, `--flag=false`, and `--` ending the options).

use super::draft::Draft;
use super::options::{find_long, find_short, OptSpec, Takes};
use super::values::go_bool;
use super::RunArgsError;

/// Applies the words of `run_args` to the draft, in order; the problems
/// found, each option's own. Past a bad option the next ones are read too
/// (an unknown one's value, which cannot be told from a stray word, is
/// skipped with it); a word that is not an option ends the reading, as
/// what follows would be the image and its command.
pub(super) fn apply_words(draft: &mut Draft, words: Vec<String>) -> Vec<RunArgsError> {
    let mut errors = Vec::new();
    let mut words = words.into_iter().peekable();
    while let Some(word) = words.next() {
        if word == "--" {
            // pflag stops reading options at `--`: what follows would be the image.
            if let Some(next) = words.next() {
                errors.push(RunArgsError::Positional(next));
            }
            break;
        }
        let applied = if let Some(long) = word.strip_prefix("--") {
            apply_long(draft, long, &mut words)
        } else if word.len() > 1 && word.starts_with('-') {
            apply_short_cluster(draft, &word[1..], &mut words)
        } else {
            errors.push(RunArgsError::Positional(word));
            break;
        };
        if let Err(e) = applied {
            // An unknown or refused option may take a value (`--name x`):
            // it goes with the option, not taken for a stray word.
            let value_unknown = matches!(
                e,
                RunArgsError::UnknownOption(_) | RunArgsError::Refused { .. }
            );
            if value_unknown && !word.contains('=') {
                while words.next_if(|next| !next.starts_with('-')).is_some() {}
            }
            errors.push(e);
        }
    }
    errors
}

fn apply_long(
    draft: &mut Draft,
    word: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Result<(), RunArgsError> {
    let (name, inline) = match word.split_once('=') {
        Some((name, inline)) => (name, Some(inline)),
        None => (word, None),
    };
    let written = format!("--{name}");
    let spec = find_long(name).ok_or_else(|| RunArgsError::UnknownOption(written.clone()))?;
    apply(draft, spec, &written, inline, rest)
}

/// `-itd`, `-itp 80:80`, `-p80:80`, `-p=80:80`, `-t=false`: pflag's rules,
/// where the first letter taking a value swallows the rest of the word.
fn apply_short_cluster(
    draft: &mut Draft,
    cluster: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Result<(), RunArgsError> {
    let mut remaining = cluster;
    while let Some(letter) = remaining.chars().next() {
        let after = &remaining[letter.len_utf8()..];
        let written = format!("-{letter}");
        let spec =
            find_short(letter).ok_or_else(|| RunArgsError::UnknownOption(written.clone()))?;
        if after.len() > 1 && after.starts_with('=') {
            return apply(draft, spec, &written, Some(&after[1..]), rest);
        }
        match spec.takes {
            Takes::Value(_) if !after.is_empty() => {
                return apply(draft, spec, &written, Some(after), rest)
            }
            Takes::Value(_) | Takes::Refused(_) => return apply(draft, spec, &written, None, rest),
            Takes::Flag(_) => apply(draft, spec, &written, None, rest)?,
        }
        remaining = after;
    }
    Ok(())
}

fn apply(
    draft: &mut Draft,
    spec: &OptSpec,
    written: &str,
    inline: Option<&str>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<(), RunArgsError> {
    match spec.takes {
        Takes::Refused(reason) => Err(RunArgsError::Refused {
            option: written.to_owned(),
            reason: reason.to_owned(),
        }),
        Takes::Flag(handler) => {
            let on = match inline {
                None => true,
                Some(text) => go_bool(text).map_err(|reason| bad_value(written, text, reason))?,
            };
            handler(draft, on);
            Ok(())
        }
        Takes::Value(handler) => {
            let value = match inline {
                Some(text) => text.to_owned(),
                // Like pflag, the next word is the value even if it starts with `-`
                // (`--memory-swap -1`).
                None => rest
                    .next()
                    .ok_or_else(|| RunArgsError::MissingValue(written.to_owned()))?,
            };
            handler(draft, &value).map_err(|reason| {
                // The error is shown to everyone (messages, log).
                let shown = if spec.names.contains(&"env") {
                    super::redact::variable(&value)
                } else {
                    value.clone()
                };
                bad_value(written, &shown, reason)
            })
        }
    }
}

pub(super) fn bad_value(option: &str, value: &str, reason: String) -> RunArgsError {
    RunArgsError::BadValue {
        option: option.to_owned(),
        value: value.to_owned(),
        reason,
    }
}
