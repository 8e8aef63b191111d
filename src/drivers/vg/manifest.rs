//! The `vg#N` kind: an LVM volume group, tagged with the node that holds it.

use std::sync::Arc;
use std::time::Duration;

use super::VgDriver;
use crate::config::{kw, Keyword, KindSchema, Spec, Values};
use crate::drivers::manifest::{spec_of, spec_with_deadline, Manifest};

/// `vg#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("vg", KEYWORDS, build)
        .ranks(20, 30)
        .labelled_by("vgname"),
    driver: |ctx, rid, spec| {
        Arc::new(VgDriver::new(
            ctx,
            rid.clone(),
            spec_of::<VgSpec>(spec).clone(),
        ))
    },
    sweep: None,
};

use crate::config::ValueKind::Text;

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("vgname", Text, true, None, "LVM volume group name."),
];

/// A volume group: up to five LVM commands of 30 s each.
const DEADLINE: Duration = Duration::from_secs(150);

/// `vg#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgSpec {
    /// Volume group name.
    pub vgname: String,
}

spec_with_deadline!(VgSpec, DEADLINE);

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    Ok(Arc::new(VgSpec {
        vgname: values.required("vgname")?,
    }))
}
