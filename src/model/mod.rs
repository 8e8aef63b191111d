//! The domain vocabulary, pure and without I/O: resource ids, status words
//! with OpenSVC's aggregation rules, the ctl grammar and the steps of an
//! action, and the snapshots reads are served from. What a kind of
//! resource is, and the orders kinds start and show in, is the kind
//! registry's (`drivers::registry`).

pub mod actions;
pub mod command;
pub mod layout;
mod ledger;
pub mod live;
mod rid;
pub mod snapshot;
mod status;
pub mod usage;

pub use actions::{ActionStats, Outcome};
pub use command::{parse_resource_command, parse_service_command, KindVerb, Step, Verb};
pub use ledger::{FailureLedger, Frozen, Healing, LastFailure};
pub use live::{LiveRef, LiveView};
pub use rid::Rid;
pub use snapshot::{ClusterShown, LogLines, ResourceSnapshot, ServiceSnapshot};
pub use status::{aggregate, Flags, ResourceState, Status};
