//! The filesystem: a core that answers tree operations from the engine's
//! published trees without knowing FUSE ([`core`]), a thin fuser adapter
//! over it ([`fuse`]), and the invalidation of the kernel's caches when a
//! publication changes bytes the kernel may hold, with the wake-ups of
//! pollers and blocked readers ([`notify`], [`waiting`]).

pub mod core;
pub mod fuse;
mod inodes;
pub mod notify;
mod signals;
pub mod waiting;

use std::sync::Arc;
use std::time::SystemTime;

use futures_util::future::BoxFuture;

use crate::engine::Engine;
use crate::render::ServiceTree;

pub use self::core::{Core, CtlTarget, TreeSource, Written};
pub use self::fuse::{CtlAccess, SvcFs};
pub use self::inodes::NodePath;
pub use self::notify::KernelCache;

impl TreeSource for Engine {
    fn service_names(&self) -> Vec<Arc<str>> {
        self.services().iter().map(|s| s.name().into()).collect()
    }

    fn service_tree(&self, name: &str) -> Option<Arc<ServiceTree>> {
        self.service(name).map(|s| s.tree())
    }

    fn listing_changed(&self) -> SystemTime {
        Engine::listing_changed(self)
    }

    fn cluster_tree(&self) -> Option<Arc<crate::render::tree::ClusterTree>> {
        self.cluster_tree()
    }

    fn hold_opened(&self, service: &str, fh: u64, pid: u32) {
        if let Some(runtime) = self.service(service) {
            runtime.hold_opened(fh, pid);
        }
    }

    fn hold_released(&self, service: &str, fh: u64) {
        if let Some(runtime) = self.service(service) {
            runtime.hold_released(fh);
        }
    }

    fn changes(&self) -> &crate::engine::ChangeBus {
        self.observers().changes()
    }

    fn command(
        self: Arc<Self>,
        target: CtlTarget,
        data: Vec<u8>,
    ) -> BoxFuture<'static, crate::error::Result<()>> {
        Box::pin(async move {
            match &target.rid {
                None => self.service_command(&target.service, &data).await,
                Some(rid) => self.resource_command(&target.service, rid, &data).await,
            }
        })
    }
}
