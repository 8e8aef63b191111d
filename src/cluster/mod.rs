//! Several svcfs nodes, one etcd cluster: which node runs each service,
//! failover when a node is lost, and self-fencing when etcd cannot be
//! reached (design: docs/cluster.md). Nothing here runs without
//! `svcfs mount --cluster`.

pub mod agent;
pub mod etcd;
pub mod fake;
pub mod node;
pub mod options;
pub mod placement;
pub mod store;
pub mod tls_check;
pub mod watchdog;

pub use etcd::Etcd;
pub use node::{Host, Node, ServiceInfo};
pub use options::{EtcdArgs, EtcdOptions};
pub use placement::{InstanceState, Timings};
pub use store::{Health, Store};
