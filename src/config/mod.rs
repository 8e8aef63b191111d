//! Service files → typed [`ServiceConfig`]s. Owns the generic keyword
//! machinery (declarations, value shapes, a section's values), parsing and
//! validation; each kind declares its own keywords and builds its own
//! settings ([`kinds`]), reached through the [`Catalog`] a loader is given.
//! Bad input becomes [`Problem`]s naming the file, section and keyword,
//! never a failure to load the other services.

pub mod check;
pub mod compose;
mod keywords;
pub mod kinds;
mod load;
mod problem;
#[cfg(test)]
mod props_tests;
mod service;
mod subsets;
mod text;
mod trust;
mod values;
pub mod words;

pub use keywords::{kw, Keyword, ValueKind, DEFAULT_KEYWORDS, RESOURCE_KEYWORDS, SUBSET_KEYWORDS};
pub use kinds::{
    Advice, Adviser, Catalog, Implicit, ImplicitResource, KindSchema, Spec, SpecBuilder, Values,
};
pub use load::{
    from_converted, is_compose_file, is_valid_service_name, load_dir, load_file, service_files,
    LoadedDir,
};
pub use problem::{Problem, Severity};
pub use service::{
    parse_service, CommonOptions, MonitorAction, ResourceConfig, ServiceConfig, ServiceDefaults,
    DEFAULT_RESTART_DELAY,
};
pub use subsets::{is_parallel, SubsetConfig};
pub use trust::{judge_program, PROGRAM_FIX};
pub use values::{parse_bool, parse_duration, parse_list, parse_netmask, parse_size};
