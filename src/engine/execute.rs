//! The steps of an action's plan, executed: one after the other, in the
//! plan's order, stopping at the first failure of a resource that is not
//! optional — except the members of a parallel subset (`[subset#NAME]
//! parallel = true`), which come together in their kind's turn and run
//! side by side, at most [`SIDE_BY_SIDE`] at a time. A member that fails
//! fails the action only once its siblings ended, so that none is left
//! half started unreported: the log says which failed and which made it.
//! Each step is bounded by the engine's deadline, then its resource is
//! checked again; a start waits for what its driver prepared ahead
//! (`ahead.rs`).

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;

use super::{LoadedService, Origin, ServiceRuntime};
use crate::actionlog::Level;
use crate::bounded::bounded;
use crate::engine::ahead::Ahead;
use crate::error::{Error, Result};
use crate::model::Step;

/// Members of a parallel subset acting at once, at most: enough for the
/// services people write, few enough that a large subset does not fork a
/// storm of docker calls on a small host.
pub const SIDE_BY_SIDE: usize = 8;

/// How one step ended.
struct Ended {
    result: Result<()>,
    /// The engine's deadline cut it (its error names the rid already).
    overdue: bool,
}

impl ServiceRuntime {
    pub(super) async fn execute_steps(
        &self,
        loaded: &LoadedService,
        plan: &[(usize, Step)],
        limit: Duration,
        origin: Origin,
        ahead: &mut Ahead,
    ) -> Result<()> {
        let mut step = 0;
        while step < plan.len() {
            let end = side_by_side_until(loaded, plan, step);
            let (index, op) = plan[step];
            let outcome = if end > step + 1 {
                self.side_by_side(loaded, plan, step..end, limit, origin, ahead)
                    .await
            } else {
                let resource = &loaded.resources[index];
                if resource.config.common.disable {
                    self.log
                        .resource(resource.config.rid.as_str())
                        .info("disabled, skipped");
                    step += 1;
                    continue;
                }
                ahead.reached(loaded, plan, step, &self.log);
                let ready = async {
                    if op == Step::Start {
                        ahead.ready(index).await;
                    }
                };
                let ended = self.one_step(loaded, index, op, limit, origin, ready).await;
                self.failed_one(loaded, index, op, ended)
            };
            if let Err(e) = outcome {
                if end < plan.len() {
                    let log = self
                        .log
                        .resource(loaded.resources[plan[end - 1].0].config.rid.as_str());
                    log.error(match op {
                        Step::Stop => "stop interrupted here: the resources after this one were not stopped",
                        _ => "start interrupted here: resources already started stay up; the rest were not started",
                    });
                }
                return Err(e);
            }
            step = end;
        }
        Ok(())
    }

    /// One step on resource `index`, once `ready` (what its start waits
    /// for) completed, within the engine's deadline; the resource is
    /// checked again after it.
    async fn one_step(
        &self,
        loaded: &LoadedService,
        index: usize,
        op: Step,
        limit: Duration,
        origin: Origin,
        ready: impl Future<Output = ()>,
    ) -> Ended {
        let resource = &loaded.resources[index];
        let rid = resource.config.rid.to_string();
        let log = self.log.resource(&rid);
        let verb_word = op.word();
        if origin == Origin::User {
            self.user_step_begins(&rid, op);
        }
        let act = async {
            ready.await;
            match op {
                Step::Start => resource.driver.start(&log).await,
                Step::Stop => resource.driver.stop(&log).await,
                Step::Verb(verb) => resource.driver.run_verb(verb, &log).await,
            }
        };
        // A driver that misses its own bounds is cancelled here: the
        // service and its lock are not held past the deadline.
        let deadline = (self.deadline)(&resource.config, op);
        let (result, overdue) =
            match bounded(verb_word, &rid, deadline, async { Ok(act.await) }).await {
                Ok(result) => (result, false),
                Err(e) => (
                    Err(Error::timed_out(format!(
                        "{} (the engine's deadline on this step: the driver missed its own bounds)",
                        e.message()
                    ))),
                    true,
                ),
            };
        self.step_ended(&rid, op, origin, verb_word, &result);
        self.refresh_resource(resource, limit).await;
        Ended { result, overdue }
    }

    /// What a step's failure does to the action: logged; nothing more for
    /// an optional resource; otherwise the action fails with it.
    fn failed_one(
        &self,
        loaded: &LoadedService,
        index: usize,
        _op: Step,
        ended: Ended,
    ) -> Result<()> {
        let Err(e) = ended.result else {
            return Ok(());
        };
        let resource = &loaded.resources[index];
        let rid = resource.config.rid.to_string();
        let log = self.log.resource(&rid);
        log.error(e.message());
        if resource.config.common.optional {
            log.warn("optional resource: its failure does not fail the service, continuing");
            return Ok(());
        }
        if ended.overdue {
            return Err(e);
        }
        Err(e.context(&rid))
    }

    /// The members `range` of `plan`, one parallel subset's, side by side;
    /// the action fails once they all ended if any that is not optional
    /// failed.
    async fn side_by_side(
        &self,
        loaded: &LoadedService,
        plan: &[(usize, Step)],
        range: std::ops::Range<usize>,
        limit: Duration,
        origin: Origin,
        ahead: &mut Ahead,
    ) -> Result<()> {
        let (first, op) = plan[range.start];
        let subset = loaded.resources[first]
            .config
            .common
            .subset
            .clone()
            .unwrap_or_default();
        let members: Vec<usize> = plan[range.clone()]
            .iter()
            .map(|&(index, _)| index)
            .filter(|&index| {
                let resource = &loaded.resources[index];
                if resource.config.common.disable {
                    self.log
                        .resource(resource.config.rid.as_str())
                        .info("disabled, skipped");
                }
                !resource.config.common.disable
            })
            .collect();
        let rids = |indexes: &[usize]| {
            indexes
                .iter()
                .map(|&i| loaded.resources[i].config.rid.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.log.service_line(
            Level::Info,
            &format!(
                "subset {subset}: {} {} side by side (parallel = true)",
                op.word(),
                rids(&members)
            ),
        );
        // The members' preparations (container creates) go on together;
        // each member starts once its own ended.
        if op == Step::Start {
            ahead.reached(loaded, plan, range.start, &self.log);
        }
        let readiness: Vec<_> = members.iter().map(|&index| ahead.ended(index)).collect();
        let ended: Vec<(usize, Ended)> =
            futures_util::stream::iter(members.iter().copied().zip(readiness))
                .map(|(index, ready)| async move {
                    let ended = self.one_step(loaded, index, op, limit, origin, ready).await;
                    (index, ended)
                })
                .buffer_unordered(SIDE_BY_SIDE)
                .collect()
                .await;
        for &index in &members {
            // Ended already: this only takes them out of the `Ahead`.
            ahead.ready(index).await;
        }
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        let mut errors = Vec::new();
        for (index, ended) in ended {
            match self.failed_one(loaded, index, op, ended) {
                Ok(()) => ok.push(index),
                Err(e) => {
                    failed.push(index);
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        ok.sort_unstable();
        failed.sort_unstable();
        let done = match op {
            Step::Stop => "stopped",
            _ => "started",
        };
        let others = if ok.is_empty() {
            format!("none {done}")
        } else {
            format!("{} {done}", rids(&ok))
        };
        self.log.service_line(
            Level::Error,
            &format!(
                "subset {subset}: {} failed to {}; {others}",
                rids(&failed),
                op.word()
            ),
        );
        let errno = errors[0].errno();
        let message: Vec<String> = errors.iter().map(|e| e.message().to_string()).collect();
        Err(Error::new(
            errno,
            format!("subset {subset}: {} ({others})", message.join("; ")),
        ))
    }
}

/// Where the run of steps that goes together with step `step` ends: after
/// the consecutive starts (or stops) of the members of one parallel
/// subset of one kind; after `step` itself otherwise.
fn side_by_side_until(loaded: &LoadedService, plan: &[(usize, Step)], step: usize) -> usize {
    let (index, op) = plan[step];
    let config = &loaded.resources[index].config;
    if !matches!(op, Step::Start | Step::Stop) || !loaded.config.is_parallel(config) {
        return step + 1;
    }
    let together = |other: usize| {
        let (i, o) = plan[other];
        let c = &loaded.resources[i].config;
        o == op
            && c.rid.type_name() == config.rid.type_name()
            && c.common.subset == config.common.subset
    };
    let mut end = step + 1;
    while end < plan.len() && together(end) {
        end += 1;
    }
    end
}
