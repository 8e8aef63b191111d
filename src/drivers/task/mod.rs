//! The `task#N` driver: a job that belongs to the service (see
//! [`manifest`]). The service's actions neither start nor stop it and it
//! does not count in `avail`; it runs on its schedule (the engine's
//! scheduler, `engine::schedule`, asks [`Scheduled`]) and through its
//! `ctl` (`run`, `kill`), outside the service's action lock, so that a
//! long dump never makes `stop` busy.
//!
//! Its status is `n/a` until it has run, then `up` after a successful
//! last run and `warn` after a failed one, with the reason in its
//! messages. Its files: `last_run` (`<RFC 3339 start> <seconds> <exit
//! code or word>`), `next_run` (RFC 3339, or empty) and `output` (the
//! last run's output, its last [`crate::children::OUTPUT_LIMIT`] bytes).
//!
//! A host run is a child (`crate::children`): its own process group,
//! killed whole at `timeout` or by `kill`, always reaped; its program is
//! refused when anyone but root could change it. A container run is a
//! one-shot container of the service's docker daemon, removed when it
//! ends (`container.rs`).

mod book;
mod container;
mod manifest;
pub mod schedule;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::actionlog::ResourceLog;
use crate::bounded::seconds;
use crate::children::ChildRunner;
use crate::clock::rfc3339_utc;
use crate::docker::DockerApi;
use crate::drivers::programs::Programs;
use crate::drivers::{Driver, DriverContext, Scheduled};
use crate::error::{Error, Result};
use crate::model::{KindVerb, ResourceState, Rid, Status};

use book::{Book, Ending};
pub use manifest::{Job, TaskSpec, KILL, MANIFEST, RUN};

/// How a run ended, as [`TaskDriver::run`] reports it.
struct Outcome {
    ending: Ending,
    /// What it printed (with a note when cut).
    output: String,
    /// Its last non-empty line.
    said: String,
}

/// Drives one `task#N`.
pub struct TaskDriver {
    service: String,
    rid: Rid,
    spec: TaskSpec,
    book: Arc<Book>,
    programs: Programs,
    children: Arc<dyn ChildRunner>,
    docker: Arc<dyn DockerApi>,
    /// Whether the runs a previous daemon left going were looked for.
    adopted: AtomicBool,
    /// Itself, for the adoption it spawns.
    me: std::sync::Weak<TaskDriver>,
}

impl TaskDriver {
    /// The driver of `rid` of the service of `ctx`.
    pub fn build(ctx: &DriverContext, rid: &Rid, spec: TaskSpec) -> Arc<dyn Driver> {
        Arc::new_cyclic(|me| TaskDriver {
            service: ctx.service.clone(),
            book: Book::open(&ctx.carried, &ctx.var_dir, &ctx.service, rid.as_str()),
            rid: rid.clone(),
            spec,
            programs: Programs::new(&ctx.config_dir, &ctx.service),
            children: Arc::clone(&ctx.children),
            docker: Arc::clone(&ctx.docker),
            adopted: AtomicBool::new(false),
            me: me.clone(),
        })
    }

    /// One run, to its end: the write's result.
    async fn run(&self, log: &ResourceLog) -> Result<()> {
        let container = |seq| match &self.spec.job {
            Job::Host(_) => None,
            Job::Container { .. } => Some(container::name(&self.service, &self.rid, seq)),
        };
        let ticket = self.book.begin(self.spec.max_parallel, container)?;
        let outcome = match &self.spec.job {
            Job::Host(command) => {
                let program = self.programs.program(command);
                let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
                log.info(crate::host::command_line(&program.to_string_lossy(), &args));
                self.run_on_host(command, ticket.kill).await
            }
            Job::Container {
                image,
                command,
                run_args,
            } => {
                let name = container::name(&self.service, &self.rid, ticket.seq);
                let run = container::OneShot {
                    docker: self.docker.as_ref(),
                    service: &self.service,
                    rid: &self.rid,
                    name: &name,
                    image,
                    command,
                    run_args,
                    run_as: &self.spec.run_as,
                    timeout: self.spec.timeout,
                };
                log.info(run.equivalent_command());
                run.run(ticket.kill).await
            }
        };
        self.book.end(
            ticket.seq,
            ticket.started,
            outcome.ending.clone(),
            &outcome.output,
            &outcome.said,
        );
        self.result_of(&outcome)
    }

    async fn run_on_host(
        &self,
        command: &crate::drivers::programs::Command,
        kill: crate::children::KillSignal,
    ) -> Outcome {
        let child = self.programs.child(
            self.rid.as_str(),
            command,
            "run",
            &self.spec.run_as,
            self.spec.timeout,
        );
        let output = match child {
            Ok(child) => self.children.run_until(&child, kill).await,
            Err(e) => Err(e),
        };
        match output {
            Err(e) => Outcome {
                ending: Ending::NotStarted(e.message().to_string()),
                output: String::new(),
                said: String::new(),
            },
            Ok(output) => Outcome {
                ending: match (output.timed_out, output.killed, output.code) {
                    (true, _, _) => Ending::TimedOut,
                    (_, true, _) => Ending::Killed,
                    (_, _, Some(code)) => Ending::Exit(i64::from(code)),
                    (_, _, None) => Ending::Signal,
                },
                said: output.last_line().to_string(),
                output: output.output_with_note(),
            },
        }
    }

    /// A run's outcome as the write's result: exit 0 succeeds; a timeout
    /// is ETIMEDOUT; a program refused is EACCES; any other end is EIO
    /// with the last line the run printed.
    fn result_of(&self, outcome: &Outcome) -> Result<()> {
        let said = match outcome.said.as_str() {
            "" => String::new(),
            line => format!(": {line}"),
        };
        match &outcome.ending {
            ending if ending.ok() => Ok(()),
            Ending::TimedOut => Err(Error::timed_out(format!(
                "run timed out after {}{}: killed",
                seconds(self.spec.timeout),
                said
            ))),
            Ending::NotStarted(why) if why.contains("is not trusted") => {
                Err(Error::access(why.clone()))
            }
            ending => Err(Error::backend(format!(
                "run failed ({}){said}",
                ending.describe()
            ))),
        }
    }

    /// `kill`: every run going on ends.
    fn kill(&self, log: &ResourceLog) -> Result<()> {
        match self.book.kill_all() {
            0 => log.info("no run is going on: nothing to kill"),
            n => log.info(format!("killing {n} run(s)")),
        }
        Ok(())
    }

    /// Look once for the containers of runs a previous daemon left going,
    /// and follow each to its end in the background.
    fn adopt_orphans(&self) {
        if self.adopted.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let orphans = self.book.take_orphans();
        if orphans.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for orphan in orphans {
            let driver = Arc::clone(&me);
            runtime.spawn(async move {
                let Some(name) = orphan.container.clone() else {
                    return;
                };
                let kill = driver.book.kill_signal();
                let outcome =
                    container::adopt(driver.docker.as_ref(), &name, driver.spec.timeout, kill)
                        .await;
                let started = book::from_ms(orphan.started_ms);
                driver.book.end(
                    orphan.seq,
                    started,
                    outcome.ending.clone(),
                    &outcome.output,
                    &outcome.said,
                );
            });
        }
    }

    fn state(&self) -> ResourceState {
        let view = self.book.view();
        let label = self.spec.label.clone();
        let mut state = match &view.last {
            None => ResourceState::new(Status::NotApplicable, label),
            Some(last) if last.ending.ok() => ResourceState::new(Status::Up, label),
            Some(last) => {
                let said = match last.said.as_str() {
                    "" => String::new(),
                    line => format!(": {line}"),
                };
                ResourceState::new(Status::Warn, label).with_message(format!(
                    "last run at {} failed ({}){said}",
                    rfc3339_utc(last.started()),
                    last.ending.describe()
                ))
            }
        };
        if let Some(first) = view.running.iter().min_by_key(|r| r.started_ms) {
            let since = crate::clock::local_hms(book::from_ms(first.started_ms));
            state.messages.push(match view.running.len() {
                1 => format!("running since {since}"),
                n => format!("{n} runs going on, the first since {since}"),
            });
        }
        let last_run = view.last.as_ref().map_or(String::new(), |last| {
            format!(
                "{} {:.3} {}\n",
                rfc3339_utc(last.started()),
                last.took_ms as f64 / 1000.0,
                last.ending.code_word()
            )
        });
        let next_run = view
            .next
            .map_or(String::new(), |next| format!("{}\n", rfc3339_utc(next)));
        state.files = vec![
            ("last_run", last_run.into()),
            ("next_run", next_run.into()),
            ("output", view.output),
        ];
        state
    }
}

#[async_trait]
impl Driver for TaskDriver {
    async fn status(&self) -> ResourceState {
        self.adopt_orphans();
        self.state()
    }

    async fn start(&self, _log: &ResourceLog) -> Result<()> {
        Err(Error::unsupported(
            "a task is not started: it runs (write run to its ctl)",
        ))
    }

    async fn stop(&self, _log: &ResourceLog) -> Result<()> {
        Err(Error::unsupported(
            "a task is not stopped: kill ends its run (write kill to its ctl)",
        ))
    }

    async fn run_verb(&self, verb: &'static KindVerb, log: &ResourceLog) -> Result<()> {
        match verb.word {
            word if word == RUN.word => self.run(log).await,
            word if word == KILL.word => self.kill(log),
            word => Err(Error::unsupported(format!(
                "{word} does not apply to a task"
            ))),
        }
    }

    fn scheduled(&self) -> Option<&dyn Scheduled> {
        self.spec.schedule.as_ref().map(|_| self as &dyn Scheduled)
    }

    fn followed_by_events(&self) -> bool {
        // Its state changes only through its own runs, which refresh it.
        true
    }

    fn follows_docker_connection(&self) -> bool {
        false
    }
}

impl Scheduled for TaskDriver {
    fn next_slot(&self, after: SystemTime) -> Option<SystemTime> {
        self.spec.schedule.as_ref()?.next_after(after)
    }

    fn last_slot(&self) -> Option<SystemTime> {
        self.book.last_slot()
    }

    fn claim(&self, slot: SystemTime) -> bool {
        self.book.claim(slot)
    }

    fn persistent(&self) -> bool {
        self.spec.persistent
    }

    fn show_next(&self, next: Option<SystemTime>) {
        self.book.show_next(next);
    }

    fn first_follow(&self) -> bool {
        self.book.first_follow()
    }

    fn verb(&self) -> &'static KindVerb {
        &RUN
    }
}
