//! Clean-up of what no service declares any more, for the kinds whose
//! resources outlive a service's stop (a network svcfs created: see the
//! network kind's `sweep`). Runs in the background after the first load
//! and after every change of the config directory that added, changed or
//! removed a service, one pass at a time, each kind's sweep given every
//! docker daemon in use (and the shared one) with the settings of the
//! resources of its kind declared there. Every docker call is bounded by
//! the docker client; a daemon that does not answer is skipped.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::Engine;
use crate::config::Spec;
use crate::docker::normalize_host;
use crate::drivers::registry::KINDS;
use crate::sync::lock;

impl Engine {
    /// Sweep in the background now, or once the pass under way ends.
    pub(super) fn sweep_soon(self: &Arc<Self>) {
        self.sweep_due.store(true, Ordering::SeqCst);
        if self.sweeping.swap(true, Ordering::SeqCst) {
            return;
        }
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            while engine.sweep_due.swap(false, Ordering::SeqCst) {
                engine.sweep_pass().await;
            }
            engine.sweeping.store(false, Ordering::SeqCst);
            // A request that came between the last look and the release.
            if engine.sweep_due.load(Ordering::SeqCst) {
                engine.sweep_soon();
            }
        });
    }

    /// One pass of every kind's sweep over every daemon.
    async fn sweep_pass(&self) {
        for manifest in KINDS.manifests() {
            let Some(sweep) = manifest.sweep else {
                continue;
            };
            let mut by_host: BTreeMap<String, Vec<Arc<dyn Spec>>> = BTreeMap::new();
            by_host.insert(normalize_host(&self.options.docker_host), Vec::new());
            for runtime in self.services() {
                let loaded = runtime.loaded();
                let declared = by_host.entry(loaded.docker_host.clone()).or_default();
                for resource in &loaded.config.resources {
                    let ours = resource
                        .kind
                        .is_some_and(|k| k.type_name == manifest.schema.type_name);
                    if let (true, Ok(spec)) = (ours, &resource.spec) {
                        declared.push(Arc::clone(spec));
                    }
                }
            }
            for (host, declared) in by_host {
                let docker = lock(&self.endpoints)
                    .get(&host)
                    .cloned()
                    .unwrap_or_else(|| (self.backends.docker)(&host));
                for line in sweep(docker, declared, self.options.var_dir.clone()).await {
                    tracing::info!(host = %host, "{line}");
                }
            }
        }
    }
}
