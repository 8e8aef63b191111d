//! Latency samples and their percentiles (nearest rank), plus the timing
//! loops every row uses.

use std::path::Path;
use std::time::{Duration, Instant};

/// A set of latency samples, kept sorted.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Samples {
        samples.sort();
        Samples { sorted: samples }
    }

    pub fn n(&self) -> usize {
        self.sorted.len()
    }

    /// The `q` quantile (0..=1) by nearest rank; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    pub fn min(&self) -> Duration {
        self.sorted.first().copied().unwrap_or_default()
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    pub fn mean(&self) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        self.sorted.iter().sum::<Duration>() / self.sorted.len() as u32
    }
}

/// Run `f` `n` times (or until `cap` has passed, whichever comes first)
/// after `warmup` untimed runs; one sample per run.
pub fn time_loop(warmup: usize, n: usize, cap: Duration, mut f: impl FnMut()) -> Samples {
    for _ in 0..warmup {
        f();
    }
    let deadline = Instant::now() + cap;
    let mut samples = Vec::with_capacity(n);
    while samples.len() < n && (samples.is_empty() || Instant::now() < deadline) {
        let started = Instant::now();
        f();
        samples.push(started.elapsed());
    }
    Samples::new(samples)
}

/// open+read+close of each of `paths`, `n` times each after a warm-up, in
/// alternating blocks of `BLOCK`: whatever else the machine does at the
/// time falls on all of them alike, so their ratios hold within one run.
pub fn interleaved_read_loops(
    paths: &[&Path],
    warmup: usize,
    n: usize,
    cap: Duration,
) -> Vec<Samples> {
    const BLOCK: usize = 100;
    let read = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        std::hint::black_box(bytes);
    };
    for path in paths {
        for _ in 0..warmup {
            read(path);
        }
    }
    let deadline = Instant::now() + cap;
    let mut samples: Vec<Vec<Duration>> = paths.iter().map(|_| Vec::with_capacity(n)).collect();
    while samples[0].len() < n && (samples[0].is_empty() || Instant::now() < deadline) {
        for (path, out) in paths.iter().zip(samples.iter_mut()) {
            for _ in 0..BLOCK.min(n.saturating_sub(out.len())).max(1) {
                let started = Instant::now();
                read(path);
                out.push(started.elapsed());
            }
        }
    }
    samples.into_iter().map(Samples::new).collect()
}

/// open+read+close of `path` in this process, `n` times after a warm-up.
pub fn read_loop(path: &Path, warmup: usize, n: usize, cap: Duration) -> Samples {
    time_loop(warmup, n, cap, || {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        std::hint::black_box(bytes);
    })
}

/// A duration for people: 3.6 µs, 183 µs, 1.4 ms, 5.0 s.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 10_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e6 {
        format!("{:.0} µs", ns / 1e3)
    } else if ns < 1e7 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}
