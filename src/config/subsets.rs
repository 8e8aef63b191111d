//! Subsets: resources of one kind grouped by `subset = NAME`, which start
//! after the resources of their kind outside any subset, subsets in name
//! order (om3's resource sets); a `[subset#NAME]` section (om3) or
//! `[subset#KIND:NAME]` (OpenSVC 2, that kind's subset only) with
//! `parallel = true` makes its members start and stop side by side.

use super::kinds::Catalog;
use super::ResourceConfig;

/// One `[subset#…]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsetConfig {
    /// The kind of `[subset#KIND:NAME]`; `None` for `[subset#NAME]`,
    /// which applies to the subset of that name of every kind.
    pub kind: Option<&'static str>,
    /// The subset's name.
    pub name: String,
    /// Its members start and stop side by side.
    pub parallel: bool,
}

/// The prefix of a subset section's name.
pub const SUBSET_PREFIX: &str = "subset#";

/// The kind and name of a subset section (`section` without
/// [`SUBSET_PREFIX`]), or why it is not one.
pub fn parse_subset_name(
    kinds: &dyn Catalog,
    rest: &str,
) -> Result<(Option<&'static str>, String), String> {
    let (kind, name) = match rest.split_once(':') {
        Some((kind, name)) => {
            let Some(schema) = kinds.kind(kind.trim()) else {
                let known: Vec<&str> = kinds
                    .kinds()
                    .iter()
                    .filter(|k| k.implicit.is_none())
                    .map(|k| k.type_name)
                    .collect();
                return Err(format!(
                    "unknown kind {:?} in a subset section (use [subset#NAME], or [subset#KIND:NAME] with KIND one of {})",
                    kind.trim(),
                    known.join(", ")
                ));
            };
            (Some(schema.type_name), name.trim())
        }
        None => (None, rest.trim()),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!(
            "invalid subset name {name:?}: a word, as resources give it with subset = NAME"
        ));
    }
    Ok((kind, name.to_string()))
}

/// Whether `resource`'s subset runs side by side: its kind's own section
/// wins over the section of every kind; no section, one at a time.
pub fn is_parallel(subsets: &[SubsetConfig], resource: &ResourceConfig) -> bool {
    let Some(name) = resource.common.subset.as_deref() else {
        return false;
    };
    let kind = resource.rid.type_name();
    let own = subsets
        .iter()
        .find(|s| s.kind == Some(kind) && s.name == name);
    let every = subsets.iter().find(|s| s.kind.is_none() && s.name == name);
    own.or(every).is_some_and(|s| s.parallel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_service, ServiceConfig, Severity};
    use std::path::Path;

    fn parse(text: &str) -> ServiceConfig {
        parse_service(
            &crate::drivers::registry::KINDS,
            "svc",
            Path::new("/etc/svcfs/svc.env"),
            text,
        )
    }

    fn parallel(config: &ServiceConfig, rid: &str) -> bool {
        config.is_parallel(config.resource(rid).unwrap())
    }

    #[test]
    fn both_section_syntaxes_say_which_subsets_go_side_by_side() {
        let config = parse(
            "[container#1]\nrun_image = a\nsubset = web\n\
             [container#2]\nrun_image = a\nsubset = db\n\
             [app#1]\nstart = /bin/true\nsubset = web\n\
             [container#3]\nrun_image = a\n\
             [subset#web]\nparallel = true\n\
             [subset#container:db]\nparallel = yes\n\
             [subset#app:web]\nparallel = false\n",
        );
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        assert!(parallel(&config, "container#1"));
        assert!(parallel(&config, "container#2"));
        // The kind's own section wins over the section of every kind.
        assert!(!parallel(&config, "app#1"));
        assert!(!parallel(&config, "container#3"));
        assert_eq!(
            config.subsets[1],
            SubsetConfig {
                kind: Some("container"),
                name: "db".into(),
                parallel: true
            }
        );
    }

    #[test]
    fn subsets_start_after_the_rest_of_their_kind_in_name_order() {
        let config = parse(
            "[container#1]\nrun_image = a\nsubset = web\n\
             [container#2]\nrun_image = a\n\
             [container#3]\nrun_image = a\nsubset = db\n\
             [container#4]\nrun_image = a\nsubset = web\n\
             [ip#1]\nipname = a\nipdev = lo\n",
        );
        let rids: Vec<&str> = config.resources.iter().map(|r| r.rid.as_str()).collect();
        assert_eq!(
            rids,
            [
                "ip#1",
                "container#2",
                "container#3",
                "container#1",
                "container#4"
            ]
        );
    }

    #[test]
    fn bad_subset_sections_are_reported() {
        let config = parse(
            "[container#1]\nrun_image = a\nsubset = web\n\
             [subset#volume:web]\nparallel = true\n\
             [subset#web]\nparallel = maybe\nparalel = true\n\
             [subset#container]\nparallel = true\n\
             [subset#]\n",
        );
        let problems: Vec<(Severity, String)> = config
            .problems
            .iter()
            .map(|p| (p.severity, p.to_string()))
            .collect();
        let has = |severity: Severity, text: &str| {
            problems
                .iter()
                .any(|(s, p)| *s == severity && p.contains(text))
        };
        assert!(
            has(
                Severity::Error,
                "[subset#volume:web] unknown kind \"volume\""
            ),
            "{problems:#?}"
        );
        assert!(
            has(Severity::Error, "[subset#web] parallel: invalid boolean"),
            "{problems:#?}"
        );
        assert!(
            has(
                Severity::Warning,
                "[subset#web] paralel: unknown keyword, ignored (did you mean parallel?)"
            ),
            "{problems:#?}"
        );
        assert!(
            has(
                Severity::Warning,
                "[subset#container] no resource has subset = container"
            ) && has(Severity::Warning, "write [subset#container:NAME]"),
            "{problems:#?}"
        );
        assert!(
            has(Severity::Error, "invalid subset name \"\""),
            "{problems:#?}"
        );
        // A bad value leaves the subset one at a time.
        assert!(!parallel(&config, "container#1"));
    }
}
