//! Starts prepared ahead of their turn: when an ordered start reaches a
//! run of consecutive resources whose drivers prepare (containers: the
//! create), all of them are prepared at once, concurrently with the starts
//! of that run. Everything before the run is up by then, which is all a
//! preparation may rely on; within the run, a preparation that needed an
//! earlier member (a `container:` network) fails and its start does the
//! work itself, so the order users configured still holds for every start.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::service::LoadedService;
use crate::actionlog::{ResourceLog, ServiceLog};
use crate::drivers::Driver;
use crate::model::Step;

/// The preparations of one action, by resource index.
#[derive(Default)]
pub struct Ahead {
    running: HashMap<usize, Preparation>,
}

struct Preparation {
    task: JoinHandle<()>,
    /// True once the preparation ended.
    done: tokio::sync::watch::Receiver<bool>,
    driver: Arc<dyn Driver>,
    log: ResourceLog,
}

impl Ahead {
    /// Before step `step` of `plan` runs: if it begins a run of starts
    /// whose drivers prepare, prepare every member of the run.
    pub fn reached(
        &mut self,
        loaded: &LoadedService,
        plan: &[(usize, Step)],
        step: usize,
        log: &ServiceLog,
    ) {
        let (index, _) = plan[step];
        if self.running.contains_key(&index) {
            return;
        }
        for &(index, op) in plan[step..].iter() {
            let resource = &loaded.resources[index];
            if op != Step::Start
                || resource.config.common.disable
                || !resource.driver.prepares_start()
            {
                break;
            }
            let driver = Arc::clone(&resource.driver);
            let (ended, done) = tokio::sync::watch::channel(false);
            let task = tokio::spawn({
                let driver = Arc::clone(&driver);
                async move {
                    driver.prepare_start().await;
                    let _ = ended.send(true);
                }
            });
            let log = log.resource(resource.config.rid.as_str());
            self.running.insert(
                index,
                Preparation {
                    task,
                    done,
                    driver,
                    log,
                },
            );
        }
    }

    /// Wait for the preparation of resource `index`, if it has one.
    pub async fn ready(&mut self, index: usize) {
        // Kept until it ends: an action interrupted while it waits here
        // still waits for it in `finish`, so no create outlives the action.
        if let Some(preparation) = self.running.get_mut(&index) {
            // A preparation that panicked prepared nothing: the start
            // does all the work, as without one.
            let _ = (&mut preparation.task).await;
            self.running.remove(&index);
        }
    }

    /// What completes once the preparation of resource `index` ended (at
    /// once without one), without holding the `Ahead`: the members of a
    /// parallel subset each wait for their own, side by side. The
    /// preparation stays in the `Ahead` ([`Ahead::ready`] or
    /// [`Ahead::finish`] end it).
    pub fn ended(&self, index: usize) -> impl std::future::Future<Output = ()> + Send + 'static {
        let done = self.running.get(&index).map(|p| p.done.clone());
        async move {
            if let Some(mut done) = done {
                // A preparation that panicked dropped its sender: ended.
                let _ = done.wait_for(|ended| *ended).await;
            }
        }
    }

    /// Wait for the preparations an interrupted action left, so that none
    /// of its work outlives it, and log what they left.
    pub async fn finish(self) {
        for preparation in self.running.into_values() {
            let _ = preparation.task.await;
            preparation.driver.prepared_unused(&preparation.log);
        }
    }
}
