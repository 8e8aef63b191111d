//! What the configuration knows of a kind of resource, and how a kind
//! reads its section: each kind declares its [`KindSchema`] in its own
//! module (`drivers::<kind>`), the registry lists them, and the loader
//! reaches them through a [`Catalog`] it is given — so this module, like
//! the rest of `config`, names no kind.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use super::keywords::Keyword;
use super::service::ServiceDefaults;
use super::values::{parse_bool, parse_duration, parse_size};
use crate::model::{KindVerb, Step};

/// The typed settings of one resource, built by its kind from the
/// section's keywords. Only the kind's own module looks inside (through
/// [`Spec::as_any`]); the rest of svcfs asks it what it needs.
pub trait Spec: Any + Debug + Send + Sync {
    /// The longest a `step` on this resource can legitimately take by its
    /// driver's own bounds (the engine adds a margin and cancels a step
    /// past it: see `engine::deadline`).
    fn deadline(&self, step: Step) -> Duration;

    /// What stopping this resource may take at most, counted against the
    /// time a fencing cluster node has to stop its services
    /// (docs/cluster.md §5): its grace period, where it has one.
    fn stop_budget(&self) -> Duration {
        Duration::ZERO
    }

    /// For a resource of a kind outside the service's actions (a task),
    /// whether its `warn` makes the service warn (a task's `check =
    /// last_run`); it never counts in `avail`.
    fn warns_service(&self) -> bool {
        false
    }

    /// Host paths this resource provides while up (a filesystem's mount
    /// point): what a `svcfs check` advice may take as there at run time.
    fn provides(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// The settings as their concrete type, for the kind's own driver.
    fn as_any(&self) -> &dyn Any;
}

/// What `svcfs check` knows of the host and the service, for the advice a
/// kind gives on settings that parse but will not work as meant here.
pub struct Advice<'a> {
    /// The service's name.
    pub service: &'a str,
    /// The var dir the daemon will use (`--var-dir`).
    pub var_dir: &'a std::path::Path,
    /// The service has a private docker daemon (`docker_data_dir`).
    pub private_daemon: bool,
    /// Paths the service's other resources provide while up.
    pub provided: &'a [std::path::PathBuf],
}

/// A kind's advice on one resource's settings: warnings, by keyword.
pub type Adviser = fn(&dyn Spec, &Advice<'_>) -> Vec<(&'static str, String)>;

/// Builds a resource's settings from its section, or says why it cannot
/// be used.
pub type SpecBuilder = fn(&Values<'_>) -> Result<Arc<dyn Spec>, String>;

/// A resource that exists from `[DEFAULT]` settings rather than a section
/// of its own (the private docker daemon, from `docker_data_dir`).
#[derive(Debug)]
pub struct Implicit {
    /// Why a section of this type is refused, and what to write instead.
    pub refusal: &'static str,
    /// The resource the defaults ask for, if any: its keyword files and
    /// its settings (or why they cannot be used).
    pub from_defaults: fn(&ServiceDefaults) -> Option<ImplicitResource>,
}

/// What [`Implicit::from_defaults`] gives.
pub struct ImplicitResource {
    /// The `[DEFAULT]` keywords it comes from, shown as its keyword files.
    pub keywords: Vec<(&'static str, String)>,
    /// Its settings, or why they cannot be used.
    pub spec: Result<Arc<dyn Spec>, String>,
}

/// A kind as the configuration sees it: the part of its manifest that
/// says how its sections read and where its resources stand.
#[derive(Debug)]
pub struct KindSchema {
    /// The section type (`container` in `[container#1]`).
    pub type_name: &'static str,
    /// Its keywords, beyond those of every resource section.
    pub keywords: &'static [Keyword],
    /// Rank in start order, lowest first; stop is the exact reverse.
    pub start_rank: u8,
    /// Rank in the overview and listings, lowest first.
    pub display_rank: u8,
    /// Its settings, from a section's values.
    pub spec: SpecBuilder,
    /// Set for a kind whose resource comes from `[DEFAULT]`.
    pub implicit: Option<Implicit>,
    /// The verbs it adds to its resources' `ctl`.
    pub verbs: &'static [KindVerb],
    /// The keyword that identifies a resource when its driver cannot say
    /// more (an invalid resource's label).
    pub label_keyword: Option<&'static str>,
    /// Whether `startcontainer` and `stopcontainer` act on it.
    pub with_containers: bool,
    /// The service's actions neither start nor stop it, and its status
    /// does not count in `avail` (a task, which runs by itself or through
    /// its own verbs); its `ctl` takes no start nor stop.
    pub outside_actions: bool,
    /// Its resources are not stopped with the service (a network, kept as
    /// `docker compose stop` keeps it): flagged `S` in the overview, their
    /// up or down does not count in avail (their warn does), as OpenSVC's
    /// standby resources.
    pub standby: bool,
    /// Its advice to `svcfs check`, if it has any.
    pub advise: Option<Adviser>,
}

impl KindSchema {
    /// A kind of section type `type_name` with these keywords and settings
    /// builder, ranked last, with no verbs, label keyword nor implicit
    /// resource: the methods below say more.
    pub const fn new(
        type_name: &'static str,
        keywords: &'static [Keyword],
        spec: SpecBuilder,
    ) -> Self {
        KindSchema {
            type_name,
            keywords,
            start_rank: u8::MAX,
            display_rank: u8::MAX,
            spec,
            implicit: None,
            verbs: &[],
            label_keyword: None,
            with_containers: false,
            outside_actions: false,
            standby: false,
            advise: None,
        }
    }

    /// The service's actions neither start nor stop it, and it does not
    /// count in `avail`.
    pub const fn outside_actions(mut self) -> Self {
        self.outside_actions = true;
        self
    }

    /// Its advice to `svcfs check`.
    pub const fn advised_by(mut self, advise: Adviser) -> Self {
        self.advise = Some(advise);
        self
    }

    /// Its ranks in start order and in the overview.
    pub const fn ranks(mut self, start: u8, display: u8) -> Self {
        self.start_rank = start;
        self.display_rank = display;
        self
    }

    /// The keyword that labels an invalid resource of it.
    pub const fn labelled_by(mut self, keyword: &'static str) -> Self {
        self.label_keyword = Some(keyword);
        self
    }

    /// The verbs it adds to its resources' `ctl`.
    pub const fn verbs(mut self, verbs: &'static [KindVerb]) -> Self {
        self.verbs = verbs;
        self
    }

    /// Its resource comes from `[DEFAULT]`.
    pub const fn implicit(mut self, implicit: Implicit) -> Self {
        self.implicit = Some(implicit);
        self
    }

    /// Its resources are not stopped with the service (see
    /// [`KindSchema::standby`]).
    pub const fn standby(mut self) -> Self {
        self.standby = true;
        self
    }

    /// `startcontainer` and `stopcontainer` act on it.
    pub const fn with_containers(mut self) -> Self {
        self.with_containers = true;
        self
    }

    /// The declaration of its keyword `name`, if it has one.
    pub fn keyword(&self, name: &str) -> Option<&'static Keyword> {
        self.keywords.iter().find(|k| k.name == name)
    }
}

/// The kinds a loader knows, by section type (the registry, in svcfs).
pub trait Catalog: Sync {
    /// The kind of a section type, if svcfs knows it.
    fn kind(&self, type_name: &str) -> Option<&'static KindSchema>;
    /// Every kind, in start order.
    fn kinds(&self) -> Vec<&'static KindSchema>;
    /// The words of every verb a kind adds to its resources' `ctl`.
    fn resource_verbs(&self) -> Vec<&'static str> {
        let mut words: Vec<&'static str> = self
            .kinds()
            .iter()
            .flat_map(|k| k.verbs.iter().map(|v| v.word))
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    }
}

/// The values of one section, keyed by known keyword, the last one of a
/// name winning; absent keywords read as their declared default.
pub struct Values<'a> {
    section: &'a str,
    entries: Vec<(&'static Keyword, String)>,
    declared: Vec<&'static Keyword>,
    /// What [`Values::take`] found wrong, by keyword (none: the
    /// section's), in order.
    errors: std::cell::RefCell<Vec<(Option<&'static str>, String)>>,
}

impl<'a> Values<'a> {
    /// The values of `section`, whose keywords are `declared`.
    pub(super) fn new(section: &'a str, declared: Vec<&'static Keyword>) -> Self {
        Values {
            section,
            entries: Vec::new(),
            declared,
            errors: Default::default(),
        }
    }

    /// The errors [`Values::take`] kept, by keyword, in order.
    pub(super) fn take_errors(&self) -> Vec<(Option<&'static str>, String)> {
        std::mem::take(&mut *self.errors.borrow_mut())
    }

    /// The keywords this section accepts.
    pub(super) fn declared(&self) -> &[&'static Keyword] {
        &self.declared
    }

    /// Record a value as written.
    pub(super) fn push(&mut self, keyword: &'static Keyword, value: String) {
        self.entries.push((keyword, value));
    }

    /// The values as written, in file order.
    pub(super) fn entries(&self) -> &[(&'static Keyword, String)] {
        &self.entries
    }

    /// The section's name (`container#1`).
    pub fn section(&self) -> &str {
        self.section
    }

    /// The value of `result`, or `None` with its error kept against
    /// `keyword`: a builder takes every keyword this way and fails at the
    /// end, so that each bad value is reported at its own line, not only
    /// the first one.
    pub fn take<T>(&self, keyword: &'static str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|e| self.errors.borrow_mut().push((Some(keyword), e)))
            .ok()
    }

    /// A required keyword's non-empty value, or `None` with the section's
    /// error kept (see [`Values::take`]).
    pub fn require(&self, name: &str) -> Option<String> {
        self.required(name)
            .map_err(|e| self.errors.borrow_mut().push((None, e)))
            .ok()
    }

    /// Keep every one of `errors` against `keyword`.
    pub fn take_each(&self, keyword: &'static str, errors: impl IntoIterator<Item = String>) {
        self.errors
            .borrow_mut()
            .extend(errors.into_iter().map(|e| (Some(keyword), e)));
    }

    /// Why the resource cannot be used: the first error kept, as
    /// `keyword: message` (each one is reported at its line besides).
    pub fn first_taken(&self) -> Option<String> {
        self.errors
            .borrow()
            .first()
            .map(|(keyword, message)| match keyword {
                Some(keyword) => format!("{keyword}: {message}"),
                None => message.clone(),
            })
    }

    /// The value as written, if the section sets it.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value as written, else the keyword's declared default.
    pub fn raw_or_default(&self, name: &str) -> Option<&str> {
        self.raw(name).or_else(|| self.default_of(name))
    }

    /// A non-empty value.
    pub fn text(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// A non-empty value, or an error naming the keyword and the section.
    pub fn required(&self, name: &str) -> Result<String, String> {
        self.text(name)
            .ok_or_else(|| format!("missing required keyword {name} in [{}]", self.section))
    }

    /// Shell words, or a JSON array of strings (none when absent).
    pub fn words(&self, name: &str) -> Result<Vec<String>, String> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(v) => super::words::split(v)
                .map_err(|e| format!("{name}: cannot split {v:?} into words: {e}")),
        }
    }

    /// A boolean, its default when absent (false without one).
    pub fn bool(&self, name: &str) -> Result<bool, String> {
        parse_bool(self.raw_or_default(name).unwrap_or("false")).map_err(|e| format!("{name}: {e}"))
    }

    /// A duration, its default when absent (zero without one).
    pub fn duration(&self, name: &str) -> Result<Duration, String> {
        parse_duration(self.raw_or_default(name).unwrap_or("0")).map_err(|e| format!("{name}: {e}"))
    }

    /// A size in bytes, its default when absent (zero without one).
    pub fn size(&self, name: &str) -> Result<u64, String> {
        parse_size(self.raw_or_default(name).unwrap_or("0")).map_err(|e| format!("{name}: {e}"))
    }

    fn default_of(&self, name: &str) -> Option<&'static str> {
        self.declared
            .iter()
            .find(|k| k.name == name)
            .and_then(|k| k.default)
    }
}
