//! Compose file → service file: the converter behind `svcfs import` and
//! behind a config directory's Compose projects (a sub-directory holding
//! `compose.yaml`). Pure: its only I/O is reading the files it is given
//! through [`Input::read`] (the project's `.env`, its `env_file`s), so the
//! same text and files always give the same service file.
//!
//! It follows the Compose specification's meaning of each key: the
//! project name as Compose picks it (`COMPOSE_PROJECT_NAME`, `name:`, the
//! directory) names the networks and volumes (`<project>_<name>`), so that
//! a migrated project reuses its volumes; each service becomes a
//! `container#N` and each network one of its services uses a `network#N`,
//! its containers resolving each other by service name; `depends_on`
//! orders the containers; variables are interpolated from the environment
//! and the project's `.env`. What it cannot carry is a [`Note`] naming the
//! file, line and key: an error when leaving it out would change what
//! runs (`build:`), a warning when it is safely ignored.

mod dotenv;
mod emit;
mod interpolate;
mod links;
mod project;
mod service;
mod storage;
#[cfg(test)]
mod tests;
mod yaml;

use std::path::{Path, PathBuf};

pub use yaml::YamlError;

use super::problem::{Problem, Severity};

/// The names under which Compose finds a project's file in its directory,
/// in its order of preference.
pub const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The override files `docker compose` applies on top of the project's
/// file when it finds that file in its directory.
pub const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// Who made the service file, for its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeBy {
    /// `svcfs import`.
    Import,
    /// The daemon (and `svcfs check`), from a project of the config
    /// directory.
    ConfigDir,
}

/// What the converter is given.
pub struct Input<'a> {
    /// The Compose file, as messages name it.
    pub file: &'a Path,
    /// Its text.
    pub text: &'a str,
    /// The project directory: where relative paths start (the file's
    /// directory, absolute), whose name is the default project name.
    pub project_dir: &'a Path,
    /// The svcfs service the file becomes.
    pub service: &'a str,
    /// The environment's variables (they win over the `.env` file's, as
    /// for Compose).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Reads a file the project names: the converter's only I/O.
    pub read: &'a dyn Fn(&Path) -> std::io::Result<String>,
    /// Who asks, for the header.
    pub made_by: MadeBy,
}

/// A key the converter could not carry as written, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The file it is about (the Compose file, or an env file it read).
    pub file: PathBuf,
    /// The line (1-based; 0: the whole file).
    pub line: usize,
    /// The key, as a dotted path (`services.web.build`).
    pub key: String,
    /// Error: leaving it out would change what runs. Warning: safely
    /// ignored, or carried with a difference worth knowing.
    pub severity: Severity,
    /// Why, and what to do.
    pub why: String,
}

impl Note {
    /// `file:LINE: key: why`.
    pub fn located(&self) -> String {
        let line = if self.line > 0 {
            format!("{}:", self.line)
        } else {
            String::new()
        };
        format!("{}:{line} {}: {}", self.file.display(), self.key, self.why)
    }

    /// The same as a problem of the service's configuration.
    pub fn problem(&self) -> Problem {
        Problem {
            severity: self.severity,
            file: self.file.clone(),
            section: None,
            keyword: Some(self.key.clone()),
            line: (self.line > 0).then_some(self.line),
            message: self.why.clone(),
        }
    }
}

/// Where a section of the service file comes from in the Compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The section (`container#2`).
    pub section: String,
    /// The key it comes from (`services.web`, `networks.back`).
    pub key: String,
    /// Its line.
    pub line: usize,
}

/// What the converter gives.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    /// The service file (empty when the file could not be read at all).
    pub text: String,
    /// The Compose project name.
    pub project: String,
    /// Everything not carried as written, in the file's order.
    pub notes: Vec<Note>,
    /// Where each section comes from.
    pub origins: Vec<Origin>,
    /// The files read besides the Compose file (those that exist).
    pub read: Vec<PathBuf>,
}

impl Converted {
    /// Whether a note is an error (the meaning would change).
    pub fn has_errors(&self) -> bool {
        self.notes.iter().any(|n| n.severity == Severity::Error)
    }

    /// A problem of the generated file (`[container#2] run_args: …`),
    /// moved to the Compose line its section comes from.
    pub fn relocate(&self, file: &Path, problem: &Problem) -> Problem {
        let origin = problem
            .section
            .as_deref()
            .and_then(|section| self.origins.iter().find(|o| o.section == section));
        let mut moved = problem.clone();
        moved.file = file.to_path_buf();
        match origin {
            Some(origin) => {
                let what = match &problem.keyword {
                    Some(keyword) => format!("[{}] {keyword}: ", origin.section),
                    None => format!("[{}] ", origin.section),
                };
                moved.section = None;
                moved.keyword = Some(origin.key.clone());
                moved.line = Some(origin.line);
                moved.message = format!("{what}{}", problem.message);
            }
            None => moved.line = None,
        }
        moved
    }
}

/// Convert a Compose file.
pub fn convert(input: &Input<'_>) -> Converted {
    let mut ctx = Ctx::new(input);
    let root = match yaml::parse(input.text) {
        Ok(root) => root,
        Err(e) => {
            ctx.error(e.line, "(yaml)", format!("not YAML: {}", e.message));
            return ctx.finish(String::new());
        }
    };
    let mut root = root;
    ctx.load_dotenv();
    ctx.refuse_override();
    ctx.interpolate(&mut root, "");
    let Some(project) = project::read(&mut ctx, &root) else {
        return ctx.finish(String::new());
    };
    let text = emit::service_file(&ctx, &project);
    let mut converted = ctx.finish(text);
    converted.project = project.name.clone();
    converted.origins = project.origins();
    converted
}

/// What a conversion keeps as it goes.
pub(crate) struct Ctx<'a> {
    input: &'a Input<'a>,
    notes: Vec<Note>,
    /// The project's `.env` variables.
    dotenv: Vec<(String, String)>,
    read: Vec<PathBuf>,
    /// Variables already reported as unset.
    unset: Vec<String>,
}

impl<'a> Ctx<'a> {
    fn new(input: &'a Input<'a>) -> Self {
        Ctx {
            input,
            notes: Vec::new(),
            dotenv: Vec::new(),
            read: Vec::new(),
            unset: Vec::new(),
        }
    }

    fn finish(mut self, text: String) -> Converted {
        self.notes
            .sort_by_key(|n| (n.file != self.input.file, n.line));
        Converted {
            text,
            project: String::new(),
            notes: self.notes,
            origins: Vec::new(),
            read: self.read,
        }
    }

    fn note(&mut self, severity: Severity, line: usize, key: &str, why: impl Into<String>) {
        self.notes.push(Note {
            file: self.input.file.to_path_buf(),
            line,
            key: key.to_string(),
            severity,
            why: why.into(),
        });
    }

    /// Leaving `key` out would change what runs.
    pub(crate) fn error(&mut self, line: usize, key: &str, why: impl Into<String>) {
        self.note(Severity::Error, line, key, why);
    }

    /// `key` is safely ignored, or carried with a difference.
    pub(crate) fn warn(&mut self, line: usize, key: &str, why: impl Into<String>) {
        self.note(Severity::Warning, line, key, why);
    }

    /// A variable, as Compose resolves it: the environment, then `.env`.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        (self.input.env)(name).or_else(|| {
            self.dotenv
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// A variable of the project's `.env` only.
    pub(crate) fn dotenv_var(&self, name: &str) -> Option<String> {
        self.dotenv
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// A path of the project, absolute (`./data` → `<dir>/data`,
    /// `~/x` → `$HOME/x`).
    pub(crate) fn path(&self, written: &str) -> PathBuf {
        if let Some(rest) = written.strip_prefix('~') {
            if rest.is_empty() || rest.starts_with('/') {
                let home = self.var("HOME").unwrap_or_else(|| "/root".to_string());
                return normalize(&PathBuf::from(format!("{home}{rest}")));
            }
        }
        normalize(&self.input.project_dir.join(written))
    }

    /// Read a file the project names, remembering it.
    pub(crate) fn read_file(&mut self, path: &Path) -> std::io::Result<String> {
        let text = (self.input.read)(path)?;
        if !self.read.iter().any(|p| p == path) {
            self.read.push(path.to_path_buf());
        }
        Ok(text)
    }

    fn load_dotenv(&mut self) {
        let path = self.input.project_dir.join(".env");
        let text = match self.read_file(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.error(0, ".env", format!("cannot read {}: {e}", path.display()));
                return;
            }
        };
        let env = self.input.env;
        match dotenv::parse(&text, &|name| env(name)) {
            Ok(vars) => self.dotenv = vars.into_iter().map(|v| (v.name, v.value)).collect(),
            Err((line, why)) => self.notes.push(Note {
                file: path,
                line,
                key: ".env".into(),
                severity: Severity::Error,
                why,
            }),
        }
    }

    /// An override file beside the project's file is what `docker
    /// compose up` runs in that directory, merged by rules of its own that
    /// svcfs does not apply: running without it would change what runs.
    fn refuse_override(&mut self) {
        for name in OVERRIDE_FILES {
            let path = self.input.project_dir.join(name);
            if path == self.input.file || self.read_file(&path).is_err() {
                continue;
            }
            self.notes.push(Note {
                file: path.clone(),
                line: 0,
                key: "override".to_string(),
                severity: Severity::Error,
                why: format!(
                    "docker compose up in {} also applies this override, which svcfs does not merge: \
                     write the merged project with `docker compose config > compose.merged.yaml` and \
                     import that (or rename the override if it is not meant to run)",
                    self.input.project_dir.display()
                ),
            });
        }
    }

    /// Interpolate every value of the tree (keys stay as written).
    fn interpolate(&mut self, node: &mut yaml::Node, key: &str) {
        let line = node.line;
        match &mut node.value {
            yaml::Value::Scalar { text, .. } => {
                if !text.contains('$') {
                    return;
                }
                let lookup = |name: &str| self.var(name);
                match interpolate::interpolate(text, &lookup) {
                    Ok(done) => {
                        *text = done.text;
                        for name in done.unset {
                            if !self.unset.contains(&name) {
                                self.unset.push(name.clone());
                                self.warn(
                                    line,
                                    key,
                                    format!("variable {name} is not set: read as an empty string, as Compose does (set it in the environment or in .env)"),
                                );
                            }
                        }
                    }
                    Err(why) => self.error(line, key, why),
                }
            }
            yaml::Value::Seq(items) => {
                for item in items {
                    self.interpolate(item, key);
                }
            }
            yaml::Value::Map(entries) => {
                for entry in entries {
                    let path = if key.is_empty() {
                        entry.key.clone()
                    } else {
                        format!("{key}.{}", entry.key)
                    };
                    self.interpolate(&mut entry.value, &path);
                }
            }
            yaml::Value::Null => {}
        }
    }
}

/// `a/./b/../c` → `a/c`, without looking at the filesystem.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Compose's project name from a directory's name: lower case, only
/// letters, digits, `_` and `-`.
pub fn normalize_project_name(name: &str) -> String {
    name.to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}
