//! Verbs outside the action lock (`KindVerb::outside_lock`: a task's
//! `run` and `kill`): they run beside whatever action holds the service,
//! and leave it free while they go on, so that a dump that lasts an hour
//! never makes `stop` busy. They act on one resource, refused as any
//! action is (an unusable file, a node not in `nodes`); their begin and
//! end are `events` lines and `log` lines, counted in `metrics`; the
//! driver's step is bounded by the engine's deadline like any step, and
//! runs in a task of its own, so that a writer that goes away does not
//! cut a run short. A run that lasts more than a moment has its resource
//! checked at once, so that reads show it going on.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{check_node, describe, plan, usable, ServiceRuntime};
use crate::actionlog::Level;
use crate::clock::local_hms;
use crate::error::{Error, Result};
use crate::model::{KindVerb, Outcome, Verb};

/// How long a run goes on before reads are told it does.
const SHOW_RUNNING_AFTER: Duration = Duration::from_millis(50);

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A write to `ctl`.
    Ctl,
    /// The resource's schedule, at this slot.
    Slot(SystemTime),
}

impl ServiceRuntime {
    /// Run `verb` on the one resource of `rids`, outside the action lock.
    pub(super) async fn run_apart(
        &self,
        verb: &'static KindVerb,
        rids: &[String],
        nodename: &str,
        limit: Duration,
        trigger: Trigger,
    ) -> Result<()> {
        let loaded = self.loaded();
        let what = match trigger {
            Trigger::Ctl => describe(Verb::Kind(verb), rids),
            Trigger::Slot(slot) => format!(
                "scheduled {} of {} --rid {}",
                verb.word,
                local_hms(slot),
                rids.join(",")
            ),
        };
        let admitted = usable(&loaded.config)
            .and_then(|()| plan(&loaded, Verb::Kind(verb), rids))
            .and_then(|plan| check_node(&loaded.config, nodename).map(|()| plan));
        let plan = admitted.inspect_err(|e| {
            self.count_action(Verb::Kind(verb), Outcome::Refused, None);
            self.log.service_line(Level::Error, &format!("{what}: {e}"));
        })?;
        let Some(&(index, step)) = plan.first() else {
            return Ok(());
        };
        let resource = &loaded.resources[index];
        let rid = resource.config.rid.to_string();
        let log = self.log.resource(&rid);
        if resource.config.common.disable {
            log.info("disabled, skipped");
            return Ok(());
        }
        let changes = self.observers.changes();
        changes.action_began(&self.name, Some(&rid), &what);
        let since = self.log.seq();
        let began = SystemTime::now();
        let started = Instant::now();
        let deadline = (self.deadline)(&resource.config, step);
        let mut run = tokio::spawn({
            let driver = Arc::clone(&resource.driver);
            let log = log.clone();
            async move { driver.run_verb(verb, &log).await }
        });
        let mut ended = tokio::time::timeout(SHOW_RUNNING_AFTER, &mut run).await;
        if ended.is_err() {
            self.refresh_resource(resource, limit).await;
            let left = deadline.saturating_sub(started.elapsed());
            ended = tokio::time::timeout(left, &mut run).await;
        }
        let result = match ended {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(Error::backend(format!(
                "{} ended abnormally: {e}",
                verb.word
            ))),
            Err(_) => {
                run.abort();
                Err(Error::timed_out(format!(
                    "{rid}: {} did not finish within {} (the engine's deadline on this step: the driver missed its own bounds)",
                    verb.word,
                    crate::bounded::seconds(deadline)
                )))
            }
        };
        // The line logged below publishes the new state with it: one
        // generation per run, not two.
        let unanswered = self.check_resource(resource, limit).await;
        let took = started.elapsed();
        let outcome = match &result {
            Ok(()) => Outcome::Ok,
            Err(e) if e.errno() == libc::EBUSY => Outcome::Refused,
            Err(_) => Outcome::Failed,
        };
        self.count_action(Verb::Kind(verb), outcome, Some(took));
        let seconds = took.as_secs_f32();
        match (&result, trigger) {
            // Its successes in a row take one line (the log is memory).
            (Ok(()), Trigger::Slot(slot)) => self.log.fold(
                &rid,
                since,
                began,
                &format!("{} done in {seconds:.1}s", verb.word),
                |count, first| {
                    format!(
                        "scheduled {} of {} done in {seconds:.1}s: {count} in a row since {}",
                        verb.word,
                        local_hms(slot),
                        local_hms(first)
                    )
                },
            ),
            (Ok(()), Trigger::Ctl) => log.info(format!("{} done in {seconds:.1}s", verb.word)),
            (Err(e), Trigger::Slot(slot)) if e.errno() == libc::EBUSY => log.info(format!(
                "scheduled {} of {} skipped: {}",
                verb.word,
                local_hms(slot),
                e.message()
            )),
            (Err(e), _) if e.errno() == libc::EBUSY => {
                log.error(format!("{} refused: {}", verb.word, e.message()))
            }
            (Err(e), _) => log.error(format!(
                "{} failed after {seconds:.1}s: {}",
                verb.word,
                e.message()
            )),
        }
        if unanswered {
            self.observers.unanswered(&loaded.docker_host);
        }
        let error = result.as_ref().err().map(|e| e.message().to_string());
        changes.action_ended(&self.name, Some(&rid), &what, error.as_deref());
        result.map_err(|e| e.context(&rid))
    }
}
