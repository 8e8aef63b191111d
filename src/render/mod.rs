//! Pure renderings of a service snapshot: the tutorial's "print status"
//! tree and `status.json`.

mod json;
mod overview;

pub use json::status_json;
pub use overview::overview;
