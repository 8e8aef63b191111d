//! The registry: every kind of resource svcfs drives, listed once. A new
//! kind is a module (`drivers/<kind>/`) with its `MANIFEST`, declared and
//! listed here.

use super::manifest::Manifest;
use crate::config::{Catalog, KindSchema};

#[path = "app/mod.rs"]
pub mod app;
#[path = "container/mod.rs"]
pub mod container;
#[path = "dockerd/mod.rs"]
pub mod dockerd;
#[path = "fs/mod.rs"]
pub mod fs;
#[path = "ip/mod.rs"]
pub mod ip;
#[path = "network/mod.rs"]
pub mod network;
#[path = "task/mod.rs"]
pub mod task;
#[path = "vg/mod.rs"]
pub mod vg;

/// The kinds, in any order (each manifest carries its ranks).
pub static KINDS: Registry = Registry(&[
    &ip::MANIFEST,
    &vg::MANIFEST,
    &fs::MANIFEST,
    &dockerd::MANIFEST,
    &network::MANIFEST,
    &container::MANIFEST,
    &app::MANIFEST,
    &task::MANIFEST,
]);

/// A list of kinds.
pub struct Registry(&'static [&'static Manifest]);

impl Registry {
    /// The manifest of a section type.
    pub fn manifest(&self, type_name: &str) -> Option<&'static Manifest> {
        self.0
            .iter()
            .copied()
            .find(|m| m.schema.type_name == type_name)
    }

    /// Every manifest, in start order.
    pub fn manifests(&self) -> Vec<&'static Manifest> {
        let mut all = self.0.to_vec();
        all.sort_by_key(|m| m.schema.start_rank);
        all
    }
}

impl Catalog for Registry {
    fn kind(&self, type_name: &str) -> Option<&'static KindSchema> {
        self.manifest(type_name).map(|m| &m.schema)
    }

    fn kinds(&self) -> Vec<&'static KindSchema> {
        self.manifests().into_iter().map(|m| &m.schema).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_service, DEFAULT_KEYWORDS, RESOURCE_KEYWORDS, SUBSET_KEYWORDS};
    use std::path::Path;

    /// The rids of a file listing `sections` (their keywords left out: an
    /// invalid resource sorts like a valid one), in start or display order.
    fn ordered(sections: &[&str], display: bool) -> Vec<String> {
        let text: String = sections.iter().map(|s| format!("[{s}]\n")).collect();
        let text = if sections.contains(&"dockerd") {
            format!(
                "[DEFAULT]\ndocker_data_dir = /d\n{}",
                text.replace("[dockerd]\n", "")
            )
        } else {
            text
        };
        let mut resources = parse_service(&KINDS, "svc", Path::new("/x/svc.env"), &text).resources;
        if display {
            resources.sort_by(|a, b| a.cmp_display(b));
        }
        resources.iter().map(|r| r.rid.to_string()).collect()
    }

    #[test]
    fn start_order_is_kind_then_numeric_index() {
        assert_eq!(
            ordered(
                &[
                    "container#10",
                    "container#2",
                    "fs#2",
                    "ip#1",
                    "dockerd",
                    "vg#1",
                    "fs#1",
                    "container#1",
                ],
                false
            ),
            [
                "ip#1",
                "vg#1",
                "fs#1",
                "fs#2",
                "dockerd",
                "container#1",
                "container#2",
                "container#10"
            ]
        );
    }

    #[test]
    fn display_order_follows_the_tutorial() {
        assert_eq!(
            ordered(
                &[
                    "ip#1",
                    "fs#2",
                    "vg#1",
                    "fs#1",
                    "container#3",
                    "container#1",
                    "dockerd"
                ],
                true
            ),
            [
                "container#1",
                "container#3",
                "dockerd",
                "vg#1",
                "fs#1",
                "fs#2",
                "ip#1"
            ]
        );
    }

    #[test]
    fn unknown_kinds_sort_last() {
        assert_eq!(
            ordered(&["zzz#1", "ip#1", "sync#2"], false),
            ["ip#1", "sync#2", "zzz#1"]
        );
    }

    #[test]
    fn type_names_and_ranks_are_unique() {
        let kinds = KINDS.kinds();
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                assert_ne!(a.type_name, b.type_name);
                assert_ne!(
                    a.start_rank, b.start_rank,
                    "{} and {}",
                    a.type_name, b.type_name
                );
                assert_ne!(
                    a.display_rank, b.display_rank,
                    "{} and {}",
                    a.type_name, b.type_name
                );
            }
        }
    }

    #[test]
    fn a_kind_s_keywords_are_unique_and_not_those_of_every_resource() {
        for kind in KINDS.kinds() {
            for (i, a) in kind.keywords.iter().enumerate() {
                assert!(
                    !kind.keywords[i + 1..].iter().any(|b| b.name == a.name),
                    "{}: {} twice",
                    kind.type_name,
                    a.name
                );
                assert!(
                    !RESOURCE_KEYWORDS.iter().any(|b| b.name == a.name),
                    "{}: {} is already every resource's",
                    kind.type_name,
                    a.name
                );
            }
        }
    }

    #[test]
    fn every_keyword_is_documented_here_and_in_the_man_page() {
        let page = include_str!("../../man/svcfs.conf.5");
        let all = KINDS
            .kinds()
            .into_iter()
            .flat_map(|k| k.keywords.iter())
            .chain(DEFAULT_KEYWORDS)
            .chain(RESOURCE_KEYWORDS)
            .chain(SUBSET_KEYWORDS);
        for k in all {
            assert!(k.doc.len() > 10, "{} lacks documentation", k.name);
            let entry = format!("\n.B {}\n", k.name);
            assert!(
                page.contains(&entry),
                "svcfs.conf(5) does not document {}",
                k.name
            );
        }
    }

    #[test]
    fn every_kind_has_its_section_in_the_man_page() {
        let page = include_str!("../../man/svcfs.conf.5");
        for kind in KINDS.kinds() {
            assert!(
                page.contains(kind.type_name),
                "svcfs.conf(5) does not name the {} kind",
                kind.type_name
            );
        }
    }
}
