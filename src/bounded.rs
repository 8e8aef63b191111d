//! Bounded waits: every wait on the host (a command, netlink, a read of
//! `/proc` or the mount table, a driver step) goes through [`bounded`],
//! [`bounded_blocking`] or [`poll_until`], so that a hung backend becomes
//! an ETIMEDOUT naming what was being done, to what, and the bound —
//! never a service held forever — and every wait leaves a debug line with
//! its duration.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// `30s`, `0.1s`: a bound as messages show it.
pub fn seconds(limit: Duration) -> String {
    format!("{}s", limit.as_secs_f32())
}

/// The error of a bound that was hit: `<target>: <what> did not finish
/// within <limit>`.
pub fn timed_out(what: &str, target: &str, limit: Duration) -> Error {
    Error::timed_out(format!(
        "{target}: {what} did not finish within {}",
        seconds(limit)
    ))
}

/// Run `fut` for at most `limit`: `what` is the operation (`vgs -o ...`,
/// `start`), `target` the thing it is about (a rid, a device, a program).
/// Past the bound the future is dropped (cancelled) and the result is
/// ETIMEDOUT.
pub async fn bounded<T>(
    what: &str,
    target: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = tokio::time::timeout(limit, fut).await;
    let elapsed = started.elapsed();
    match result {
        Ok(result) => {
            tracing::debug!(what, target, ?elapsed, ok = result.is_ok(), "bounded");
            result
        }
        Err(_) => {
            tracing::debug!(what, target, ?elapsed, "bounded: timed out");
            Err(timed_out(what, target, limit))
        }
    }
}

/// Run blocking host inspection (the mount table, `/proc`, path
/// resolution) on the blocking pool, bounded: a hung filesystem or a
/// process stuck in the kernel makes it ETIMEDOUT instead of freezing the
/// action that holds the service's lock. (The thread itself cannot be
/// cancelled; the pool is small and bounded, see `daemon.rs`.)
pub async fn bounded_blocking<T: Send + 'static>(
    what: &str,
    target: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    bounded(what, target, limit, async {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::backend(format!("{target}: {what} failed: {e}")))
    })
    .await
}

/// Call `check` every `interval` until it answers `Some`, fails, or
/// `limit` passes (ETIMEDOUT naming `what` and `target`). The first check
/// is immediate; a check still running at the bound is cancelled.
pub async fn poll_until<T, F, Fut>(
    what: &str,
    target: &str,
    limit: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    bounded(what, target, limit, async {
        loop {
            if let Some(value) = check().await? {
                return Ok(value);
            }
            tokio::time::sleep(interval).await;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_hang_becomes_etimedout_naming_what_target_and_limit() {
        let e = bounded(
            "vgchange -ay vgapp",
            "vg#1",
            Duration::from_millis(20),
            std::future::pending::<Result<()>>(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.errno(), libc::ETIMEDOUT);
        assert_eq!(
            e.message(),
            "vg#1: vgchange -ay vgapp did not finish within 0.02s"
        );
    }

    #[tokio::test]
    async fn an_answer_within_the_bound_is_kept() {
        let v = bounded("x", "y", Duration::from_secs(5), async { Ok(3) }).await;
        assert_eq!(v, Ok(3));
        let e = bounded::<()>("x", "y", Duration::from_secs(5), async {
            Err(Error::busy("held"))
        })
        .await
        .unwrap_err();
        assert_eq!(e.errno(), libc::EBUSY);
    }

    #[tokio::test]
    async fn blocking_work_is_bounded() {
        let v = bounded_blocking("add", "t", Duration::from_secs(5), || 1 + 1).await;
        assert_eq!(v, Ok(2));
        let e = bounded_blocking("sleep", "t", Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_millis(300))
        })
        .await
        .unwrap_err();
        assert_eq!(e.errno(), libc::ETIMEDOUT);
    }

    #[tokio::test]
    async fn poll_until_returns_the_first_answer() {
        let calls = AtomicU32::new(0);
        let v = poll_until(
            "wait",
            "t",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                Ok((n == 3).then_some(n))
            },
        )
        .await;
        assert_eq!(v, Ok(3));
    }

    #[tokio::test]
    async fn poll_until_stops_at_an_error_or_the_bound() {
        let e = poll_until::<(), _, _>(
            "wait for the daemon",
            "dockerd",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || async { Err(Error::backend("it ended")) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.message(), "it ended");
        let e = poll_until::<(), _, _>(
            "wait for the daemon",
            "dockerd",
            Duration::from_millis(30),
            Duration::from_millis(1),
            || async { Ok(None) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.errno(), libc::ETIMEDOUT);
        assert!(
            e.message().starts_with("dockerd: wait for the daemon"),
            "{e}"
        );
    }
}
