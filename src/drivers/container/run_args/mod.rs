//! The `run_args` keyword of a container resource: `docker run` options,
//! parsed into a typed [`RunArgs`] that becomes the Engine API create body.
//!
//! [`parse`] is pure: it applies the option grammar (pflag rules as the
//! docker CLI 20.10 applies them, in `grammar`) and the option table
//! (`options`), and checks every value as strictly as the CLI does
//! (`values`), so that a bad value is a configuration error rather than a
//! failed create. What the CLI takes from its host when it runs — the files
//! named by `--env-file` and `--security-opt seccomp=`, and the value of a
//! bare `-e NAME` — is kept in the [`RunArgs`] as a path or a name and only
//! resolved by [`RunArgs::into_body`], which the container driver calls when
//! it creates the container (the files may live on a filesystem the same
//! start mounts). Nothing here knows about services: the image, the
//! command, the container name and svcfs' own labels are merged by the
//! caller on top of the body.

mod draft;
mod grammar;
mod options;
mod redact;
mod values;

#[cfg(test)]
mod tests;

pub use draft::RunArgs;
pub use redact::{redact_env, REDACTED};
pub use values::go_duration;

/// Why `run_args` could not be parsed or resolved. Each names the option
/// (and the value, or the file) as written; the caller adds the resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunArgsError {
    #[error("cannot split run_args into words: {0}")]
    Words(String),
    #[error("unknown docker run option {0}")]
    UnknownOption(String),
    #[error("option {option} is not allowed: {reason}")]
    Refused { option: String, reason: String },
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("option {option}: invalid value {value:?}: {reason}")]
    BadValue {
        option: String,
        value: String,
        reason: String,
    },
    #[error(
        "unexpected argument {0:?}: run_args takes only options; put the command in run_command"
    )]
    Positional(String),
    #[error("--env-file {path}: {reason}")]
    EnvFile { path: String, reason: String },
}

/// Parses `run_args` without touching the filesystem or the environment;
/// the first problem, when there is one (see [`parse_all`]).
pub fn parse(run_args: &str) -> Result<RunArgs, RunArgsError> {
    parse_all(run_args).map_err(|mut errors| errors.remove(0))
}

/// Parses `run_args`, finding every problem it has, in the order written
/// (`svcfs check` reports each): past a bad option the next ones are read
/// too. Never an empty list of errors.
pub fn parse_all(run_args: &str) -> Result<RunArgs, Vec<RunArgsError>> {
    let words = crate::config::words::split(run_args).map_err(|e| vec![RunArgsError::Words(e)])?;
    let mut draft = draft::Draft::default();
    let mut errors = grammar::apply_words(&mut draft, words);
    match draft.finish() {
        Ok(parsed) if errors.is_empty() => Ok(parsed),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.push(e);
            Err(errors)
        }
    }
}
