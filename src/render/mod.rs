//! Pure renderings of a service snapshot: the tutorial's "print status"
//! tree, `status.json`, and every file of the service as bytes.

mod json;
mod overview;
pub mod tree;

pub use json::status_json;
pub use overview::overview;
pub use tree::{service_tree, FileKind, FileNode, ResourceDir, ServiceTree};
