//! A recording driver for the engine's tests: every start and stop is
//! written to a journal shared by the resources of a test, in call order;
//! status answers what the last action left (down at first); a scripted
//! failure or a gate (a status check that waits to be released) reproduce
//! the cases the engine must get right.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::Driver;
use crate::actionlog::ResourceLog;
use crate::error::{Error, Result};
use crate::model::{ResourceState, Status};
use crate::sync::lock;

/// The calls of every fake of a test, as `"start rid"` / `"stop rid"`.
pub type Journal = Arc<Mutex<Vec<String>>>;

/// One resource's recording driver.
pub struct FakeDriver {
    rid: String,
    journal: Journal,
    status: Mutex<Status>,
    unhealthy: Mutex<bool>,
    message: Mutex<String>,
    fail: Mutex<Option<Error>>,
    gate: Mutex<Option<Arc<Notify>>>,
    prepares: Mutex<Option<Option<Arc<Notify>>>>,
    meets: Mutex<Option<Arc<tokio::sync::Barrier>>>,
}

impl FakeDriver {
    /// A driver of `rid` recording into `journal`, down until started.
    pub fn new(rid: &str, journal: &Journal) -> Arc<Self> {
        Arc::new(FakeDriver {
            rid: rid.to_string(),
            journal: Arc::clone(journal),
            status: Mutex::new(Status::Down),
            unhealthy: Mutex::new(false),
            message: Mutex::new(String::new()),
            fail: Mutex::new(None),
            gate: Mutex::new(None),
            prepares: Mutex::new(None),
            meets: Mutex::new(None),
        })
    }

    /// Its starts and stops wait at `barrier` until as many as it counts
    /// wait there: they can only end when run side by side.
    pub fn meet_at(&self, barrier: &Arc<tokio::sync::Barrier>) {
        *lock(&self.meets) = Some(Arc::clone(barrier));
    }

    /// It goes down (or up) behind the engine's back.
    pub fn set_status(&self, status: Status) {
        *lock(&self.status) = status;
    }

    /// It runs but its health check fails (`warn`, unhealthy), until its
    /// next start or stop.
    pub fn turn_unhealthy(&self) {
        *lock(&self.status) = Status::Warn;
        *lock(&self.unhealthy) = true;
    }

    /// Its status checks say `message` (none when empty).
    pub fn say(&self, message: &str) {
        *lock(&self.message) = message.to_string();
    }

    /// Its next start or stop fails with `error`.
    pub fn fail_next(&self, error: Error) {
        *lock(&self.fail) = Some(error);
    }

    /// Its next status check reads the state, then waits until `gate` is
    /// notified before answering it: a slow check racing what comes after.
    pub fn hold_next_status(&self, gate: &Arc<Notify>) {
        *lock(&self.gate) = Some(Arc::clone(gate));
    }

    /// It prepares its starts (journal: `"prepare rid"`), the preparation
    /// waiting for `gate` when there is one.
    pub fn prepare_with(&self, gate: Option<&Arc<Notify>>) {
        *lock(&self.prepares) = Some(gate.cloned());
    }

    async fn meet(&self) {
        let barrier = lock(&self.meets).clone();
        if let Some(barrier) = barrier {
            barrier.wait().await;
        }
    }

    fn act(&self, verb: &str, after: Status, log: &ResourceLog) -> Result<()> {
        lock(&self.journal).push(format!("{verb} {}", self.rid));
        if let Some(error) = lock(&self.fail).take() {
            return Err(error);
        }
        log.info(format!("{verb}ed"));
        *lock(&self.status) = after;
        *lock(&self.unhealthy) = false;
        Ok(())
    }
}

#[async_trait]
impl Driver for FakeDriver {
    async fn status(&self) -> ResourceState {
        let mut state = ResourceState::new(*lock(&self.status), "fake");
        let message = lock(&self.message).clone();
        if !message.is_empty() {
            state.messages.push(message);
        }
        if *lock(&self.unhealthy) {
            state.unhealthy = true;
            state
                .messages
                .push("container is unhealthy: probe failed".into());
        }
        let gate = lock(&self.gate).take();
        if let Some(gate) = gate {
            gate.notified().await;
        }
        state
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        self.meet().await;
        self.act("start", Status::Up, log)
    }

    fn prepares_start(&self) -> bool {
        lock(&self.prepares).is_some()
    }

    async fn prepare_start(&self) {
        let gate = lock(&self.prepares).clone().flatten();
        if let Some(gate) = gate {
            gate.notified().await;
        }
        lock(&self.journal).push(format!("prepare {}", self.rid));
    }

    fn prepared_unused(&self, _log: &ResourceLog) {
        lock(&self.journal).push(format!("unused {}", self.rid));
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        self.meet().await;
        self.act("stop", Status::Down, log)
    }
}
