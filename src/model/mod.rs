//! The domain vocabulary, pure and without I/O: resource ids, kinds, status
//! words with OpenSVC's aggregation rules, and the orders resources are
//! started, stopped and displayed in, and the snapshots reads are served
//! from.

pub mod actions;
pub mod command;
mod ledger;
pub mod live;
mod rid;
pub mod snapshot;
mod status;
pub mod usage;

pub use actions::{ActionStats, Outcome};
pub use command::{parse_resource_command, parse_service_command, Verb};
pub use ledger::{FailureLedger, Frozen, Healing, LastFailure};
pub use live::{LiveRef, LiveView};
pub use rid::{ResourceKind, Rid};
pub use snapshot::{
    build_snapshot, ClusterShown, KnownStates, LogLines, ResourceSnapshot, ServiceSnapshot,
};
pub use status::{aggregate, Flags, ResourceState, Status};
