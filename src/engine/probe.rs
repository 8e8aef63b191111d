//! Probes of docker daemons that stopped answering. A status check that
//! timed out (or was cut short) shows `warn`, "did not answer"; nothing
//! else would look at the resource again while the daemon keeps its event
//! stream open without sending (a SIGSTOPped dockerd, one swapping or
//! stuck on a lock), until the rare safety net of the reconcile. So the
//! daemon itself is probed, with one cheap call (a ping) per daemon, not
//! one check per resource, at a short backoff, until it answers; then
//! every resource it concerns is checked again, and so converges within
//! moments of the daemon answering.
//!
//! A daemon that answers pings but keeps failing checks is probed at the
//! longest interval: a new probe that starts soon after the last ended
//! goes on from the last's backoff.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::refresher::concerned_by_connection;
use super::Engine;
use crate::sync::lock;

/// The first wait before a ping.
pub const PROBE_DELAY: Duration = Duration::from_millis(250);
/// The longest interval between two pings: once the daemon answers
/// again, its resources are checked again within this and a ping.
pub const PROBE_DELAY_MAX: Duration = Duration::from_secs(4);
/// Bound on one ping (a hung daemon does not answer at all).
const PING_LIMIT: Duration = Duration::from_secs(2);
/// How long after a probe ended a new one goes on from its backoff.
const BACKOFF_MEMORY: Duration = Duration::from_secs(30);

/// The probe of one daemon.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProbeState {
    /// A probe task runs.
    running: bool,
    /// The interval the last ping was sent at.
    delay: Duration,
    /// When the last probe ended.
    ended: Option<Instant>,
}

/// The interval after `delay`.
fn next_delay(delay: Duration) -> Duration {
    (delay * 2).min(PROBE_DELAY_MAX)
}

impl Engine {
    /// A check of a resource of the daemon at `host` got no answer:
    /// probe the daemon until it answers, unless a probe runs already.
    pub fn daemon_unanswered(self: &Arc<Self>, host: &str) {
        let delay = {
            let mut probes = lock(&self.probes);
            let probe = probes.entry(host.to_string()).or_insert(ProbeState {
                running: false,
                delay: PROBE_DELAY,
                ended: None,
            });
            if probe.running {
                return;
            }
            probe.running = true;
            match probe.ended {
                Some(ended) if ended.elapsed() < BACKOFF_MEMORY => next_delay(probe.delay),
                _ => PROBE_DELAY,
            }
        };
        tracing::info!(
            host,
            "docker daemon did not answer a status check: probing it"
        );
        let engine = Arc::downgrade(self);
        let host = host.to_string();
        tokio::spawn(async move { probe(engine, host, delay).await });
    }

    /// Whether a resource of the daemon at `host` still shows a check
    /// that got no answer.
    fn unanswered_on(&self, host: &str) -> bool {
        self.any_concerned_on(host, |state| state.unanswered)
    }

    fn probe_ended(&self, host: &str, delay: Duration) {
        if let Some(probe) = lock(&self.probes).get_mut(host) {
            *probe = ProbeState {
                running: false,
                delay,
                ended: Some(Instant::now()),
            };
        }
    }
}

/// Ping the daemon at `host` every `delay` (doubled up to
/// [`PROBE_DELAY_MAX`]) until it answers, then check again what it
/// concerns. Ends early when nothing shows "no answer" any more (the
/// event stream broke and the resources read down, or an event
/// refreshed them).
async fn probe(engine: Weak<Engine>, host: String, first: Duration) {
    let started = Instant::now();
    let mut interval = first;
    // Pings go out at a steady interval from their sending: one that
    // waited out its bound does not push the next one further.
    let mut next = Instant::now() + interval;
    let mut pings = 0u32;
    loop {
        tokio::time::sleep_until(next).await;
        let Some(strong) = engine.upgrade() else {
            return;
        };
        if !strong.unanswered_on(&host) {
            strong.probe_ended(&host, interval);
            return;
        }
        let Some(endpoint) = strong.endpoint_of(&host) else {
            strong.probe_ended(&host, interval);
            return;
        };
        drop(strong);
        let sent = Instant::now();
        pings += 1;
        let answered = matches!(
            tokio::time::timeout(PING_LIMIT, endpoint.ping()).await,
            Ok(Ok(()))
        );
        let Some(strong) = engine.upgrade() else {
            return;
        };
        if answered {
            tracing::info!(
                host,
                pings,
                "docker daemon answers again after {:.1}s: checking its resources again",
                started.elapsed().as_secs_f32()
            );
            strong.probe_ended(&host, interval);
            strong.refresh_on_host_soon(&host, concerned_by_connection);
            return;
        }
        interval = next_delay(interval);
        next = sent + interval;
    }
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
