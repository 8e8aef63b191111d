//! The domain vocabulary, pure and without I/O: resource ids, kinds, status
//! words with OpenSVC's aggregation rules, and the orders resources are
//! started, stopped and displayed in.

mod rid;
mod status;

pub use rid::{ResourceKind, Rid};
pub use status::{aggregate, Flags, ResourceState, Status};
