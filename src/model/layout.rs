//! The names the mount root reserves beside the service directories: the
//! tree serves them (render, fs) and the config directory refuses service
//! files that would clash with them (config), so both take them from here.

/// Files of the mount root, before the service directories.
pub const ROOT_FILES: [&str; 2] = ["events", "metrics"];

/// The root directory of the cluster (`svcfs mount --cluster`), reserved
/// without `--cluster` too: the same config directory must mount both ways.
pub const CLUSTER_DIR: &str = "cluster";
