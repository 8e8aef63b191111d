//! The programs a service asks svcfs to run on its behalf (an app's
//! scripts, a task's command): how a command is written in a service
//! file, where its program is found, whether it may be trusted, and the
//! child it becomes — its environment, directory, user and group.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::children::ChildSpec;
use crate::config::{judge_program, PROGRAM_FIX};
use crate::error::{Error, Result};

/// A command as written: a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program: an absolute path; a relative one, in
    /// `<config-dir>/<svc>.d/`; or a name found in `PATH` (the script's
    /// name is in `<svc>.d/` too).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// It is an app's `script`: a bare name is in `<svc>.d/`, not in
    /// `PATH`.
    pub is_script: bool,
}

impl Command {
    /// A command line split into words like a shell would (no shell runs
    /// it: `sh -c '…'` where one is wanted).
    pub fn parse(line: &str) -> std::result::Result<Command, String> {
        let mut words = shell_words::split(line)
            .map_err(|e| format!("cannot split {line:?} into words: {e}"))?
            .into_iter();
        let program = words
            .next()
            .map(PathBuf::from)
            .ok_or_else(|| "an empty command".to_string())?;
        Ok(Command {
            program,
            args: words.collect(),
            is_script: false,
        })
    }
}

/// How a service's programs run: the keywords `environment`, `cwd`,
/// `user` and `group` of its section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunAs {
    /// KEY=VALUE variables.
    pub environment: Vec<(String, String)>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// User to run as.
    pub user: Option<String>,
    /// Group to run as.
    pub group: Option<String>,
}

/// Where one service's programs are found, and the children they become.
pub struct Programs {
    service: String,
    /// `<config-dir>/<svc>.d/`: where scripts and relative programs are.
    scripts_dir: PathBuf,
}

impl Programs {
    /// The programs of `service`, whose scripts are in
    /// `<config_dir>/<service>.d/`.
    pub fn new(config_dir: &Path, service: &str) -> Self {
        Programs {
            service: service.to_string(),
            scripts_dir: config_dir.join(format!("{service}.d")),
        }
    }

    /// Where `command`'s program is: absolute as written; relative, or the
    /// script's bare name, in `<svc>.d/`; else a name for `PATH`.
    pub fn program(&self, command: &Command) -> PathBuf {
        let program = &command.program;
        let bare = program.components().count() == 1 && !program.is_absolute();
        if program.is_absolute() || (bare && !command.is_script) {
            program.clone()
        } else {
            self.scripts_dir.join(program)
        }
    }

    /// The child `command` becomes for `action` of `rid`, checked: a
    /// program anyone but root could change is refused (EACCES), as a
    /// service file would be.
    pub fn child(
        &self,
        rid: &str,
        command: &Command,
        action: &str,
        run_as: &RunAs,
        timeout: Duration,
    ) -> Result<ChildSpec> {
        let program = self.program(command);
        trust(&program)?;
        let mut env = vec![
            ("SVCFS_SERVICE".to_string(), self.service.clone()),
            ("SVCFS_RID".to_string(), rid.to_string()),
            ("SVCFS_ACTION".to_string(), action.to_string()),
            // What OpenSVC's agent gives its scripts, for those written
            // for it.
            ("OPENSVC_SVCNAME".to_string(), self.service.clone()),
            ("OPENSVC_RID".to_string(), rid.to_string()),
        ];
        env.extend(run_as.environment.iter().cloned());
        Ok(ChildSpec {
            program,
            args: command.args.clone(),
            env,
            cwd: run_as.cwd.clone(),
            user: run_as.user.clone(),
            group: run_as.group.clone(),
            timeout,
        })
    }
}

/// Refuse a program that anyone but root could change (EACCES).
fn trust(program: &Path) -> Result<()> {
    let found = if program.is_absolute() {
        Some(program.to_path_buf())
    } else {
        in_path(program)
    };
    match found.as_deref().and_then(judge_program) {
        None => Ok(()),
        Some(refusal) => Err(Error::access(format!(
            "{} is not trusted: {refusal}; {PROGRAM_FIX}",
            program.display()
        ))),
    }
}

/// A program name as `PATH` finds it.
fn in_path(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `KEY=VALUE` words, each name a shell variable name (`environment`).
pub fn environment(words: &[String]) -> std::result::Result<Vec<(String, String)>, String> {
    words
        .iter()
        .map(|word| {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("{word:?} is not KEY=VALUE"))?;
            let valid = key
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!("{key:?} is not a variable name"));
            }
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// The keywords `environment`, `cwd`, `user` and `group` of a section,
/// each bad value kept against its keyword (see `Values::take`).
pub fn run_as(values: &crate::config::Values<'_>) -> RunAs {
    let cwd = values.text("cwd").map(PathBuf::from);
    if let Some(cwd) = &cwd {
        if !cwd.is_absolute() {
            values.take::<()>(
                "cwd",
                Err(format!("{} is not an absolute path", cwd.display())),
            );
        }
    }
    let environment = values
        .take("environment", values.words("environment"))
        .and_then(|words| values.take("environment", environment(&words)));
    RunAs {
        environment: environment.unwrap_or_default(),
        cwd,
        user: values.text("user"),
        group: values.text("group"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_is_split_like_a_shell_would_without_one() {
        let c = Command::parse("/bin/sh -c 'pg_dump db | gzip > /tmp/x'").unwrap();
        assert_eq!(c.program, PathBuf::from("/bin/sh"));
        assert_eq!(c.args, ["-c", "pg_dump db | gzip > /tmp/x"]);
        assert!(Command::parse("").unwrap_err().contains("empty"));
        assert!(Command::parse("echo 'x")
            .unwrap_err()
            .contains("cannot split"));
    }

    #[test]
    fn programs_are_found_where_the_service_keeps_them() {
        let p = Programs::new(Path::new("/etc/svcfs"), "svc");
        let at = |program: &str, is_script: bool| {
            p.program(&Command {
                program: program.into(),
                args: Vec::new(),
                is_script,
            })
        };
        assert_eq!(at("/bin/true", false), PathBuf::from("/bin/true"));
        assert_eq!(at("true", false), PathBuf::from("true"));
        assert_eq!(at("ctl.sh", true), PathBuf::from("/etc/svcfs/svc.d/ctl.sh"));
        assert_eq!(
            at("bin/dump", false),
            PathBuf::from("/etc/svcfs/svc.d/bin/dump")
        );
    }

    #[test]
    fn environment_words_are_variables() {
        assert_eq!(
            environment(&["A=1".into(), "_B=x=y".into()]).unwrap(),
            [("A".into(), "1".into()), ("_B".into(), "x=y".into())]
        );
        assert!(environment(&["1A=x".into()]).is_err());
        assert!(environment(&["A".into()]).is_err());
    }
}
