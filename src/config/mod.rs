//! Service files → typed [`ServiceConfig`]s. Owns the keyword table, value
//! parsing and validation; bad input becomes [`Problem`]s naming the file,
//! section and keyword, never a failure to load the other services.

mod keywords;
mod load;
mod problem;
#[cfg(test)]
mod props_tests;
pub mod run_args;
mod service;
mod text;
mod trust;
mod values;

pub use keywords::{keywords_for, Keyword, Scope, ValueKind, KEYWORDS};
pub use load::{load_dir, load_file, service_files, LoadedDir};
pub use problem::{Problem, Severity};
pub use service::{
    parse_service, CommonOptions, ContainerSpec, DockerdSpec, FsSpec, IpSpec, MonitorAction,
    ResourceConfig, ResourceSpec, ServiceConfig, ServiceDefaults, StopWait, VgSpec,
};
pub use values::{parse_bool, parse_duration, parse_list, parse_netmask};
