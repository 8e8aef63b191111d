//! Pure renderings of a service snapshot: the tutorial's "print status"
//! tree, `status.json`, every file of the service as bytes, and the
//! root's `metrics`.

mod json;
pub mod metrics;
mod overview;
pub mod tree;

pub use json::status_json;
pub use metrics::{metrics_text, ServiceMetrics};
pub use overview::overview;
pub use tree::{service_tree, FileKind, FileNode, ResourceDir, ServiceTree};
