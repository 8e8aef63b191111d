//! The plan of an action: which resources, in which order, for which
//! verb — the dependency order of the service file, reversed for stops.

use super::{LoadedResource, LoadedService};
use crate::error::{Error, Result};
use crate::model::{Step, Verb};

/// The ordered (resource index, operation) pairs of an action.
pub(in crate::engine) fn plan(
    loaded: &LoadedService,
    verb: Verb,
    rids: &[String],
) -> Result<Vec<(usize, Step)>> {
    for rid in rids {
        if !loaded
            .resources
            .iter()
            .any(|r| r.config.rid.as_str() == rid)
        {
            let known: Vec<&str> = loaded
                .resources
                .iter()
                .map(|r| r.config.rid.as_str())
                .collect();
            return Err(Error::invalid(format!(
                "no resource {rid} in {} (resources: {})",
                loaded.config.name,
                known.join(", ")
            )));
        }
    }
    let selected =
        |r: &LoadedResource| rids.is_empty() || rids.iter().any(|x| x == r.config.rid.as_str());
    let outside = |r: &LoadedResource| r.config.kind.is_some_and(|k| k.outside_actions);
    let lifecycle = matches!(
        verb,
        Verb::Start | Verb::Stop | Verb::Restart | Verb::StartContainer | Verb::StopContainer
    );
    if lifecycle {
        if let Some(apart) = loaded
            .resources
            .iter()
            .find(|r| outside(r) && rids.iter().any(|x| x == r.config.rid.as_str()))
        {
            let verbs: Vec<&str> = apart
                .config
                .kind
                .map_or(&[][..], |k| k.verbs)
                .iter()
                .map(|v| v.word)
                .collect();
            return Err(Error::unsupported(format!(
                "{} does not apply to {}: the service's actions neither start nor stop it (its ctl takes {})",
                verb.as_str(),
                apart.config.rid,
                verbs.join(", ")
            )));
        }
    }
    let selected = |r: &LoadedResource| selected(r) && !(lifecycle && outside(r));
    let container_side = |r: &LoadedResource| r.config.kind.is_some_and(|k| k.with_containers);
    if matches!(verb, Verb::StartContainer | Verb::StopContainer) {
        if let Some(other) = loaded
            .resources
            .iter()
            .find(|r| !container_side(r) && rids.iter().any(|x| x == r.config.rid.as_str()))
        {
            return Err(Error::unsupported(format!(
                "{} acts on containers and the private docker daemon, not on {}",
                verb.as_str(),
                other.config.rid
            )));
        }
    }
    let in_order = |filter: &dyn Fn(&LoadedResource) -> bool| -> Vec<usize> {
        (0..loaded.resources.len())
            .filter(|&i| filter(&loaded.resources[i]))
            .collect()
    };
    let starts = |indexes: Vec<usize>| {
        indexes
            .into_iter()
            .map(|i| (i, Step::Start))
            .collect::<Vec<_>>()
    };
    let stops = |indexes: Vec<usize>| {
        indexes
            .into_iter()
            .rev()
            .map(|i| (i, Step::Stop))
            .collect::<Vec<_>>()
    };
    Ok(match verb {
        Verb::Start => starts(in_order(&selected)),
        Verb::Stop => stops(in_order(&selected)),
        Verb::Restart => {
            let mut steps = stops(in_order(&selected));
            steps.extend(starts(in_order(&selected)));
            steps
        }
        Verb::StartContainer => starts(in_order(&|r| selected(r) && container_side(r))),
        Verb::StopContainer => stops(in_order(&|r| selected(r) && container_side(r))),
        Verb::Kind(verb) => {
            let indexes = in_order(&selected);
            if rids.len() != 1 {
                return Err(Error::invalid(format!(
                    "{} acts on one resource",
                    verb.word
                )));
            }
            indexes.into_iter().map(|i| (i, Step::Verb(verb))).collect()
        }
        Verb::Clear
        | Verb::Freeze
        | Verb::Thaw
        | Verb::Switch
        | Verb::Takeover
        | Verb::Giveback => {
            return Err(Error::invalid(format!(
                "{} acts on no resource",
                verb.as_str()
            )))
        }
    })
}
