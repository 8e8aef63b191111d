//! The `fs#N` kind: a filesystem mounted from a device or an image file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::FsDriver;
use crate::config::{kw, Keyword, KindSchema, Spec, Values};
use crate::drivers::manifest::{spec_of, Manifest};
use crate::model::Step;

/// `fs#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("fs", KEYWORDS, build)
        .ranks(30, 40)
        .labelled_by("dev"),
    driver: |ctx, rid, spec| {
        Arc::new(FsDriver::new(
            ctx,
            rid.clone(),
            spec_of::<FsSpec>(spec).clone(),
        ))
    },
    sweep: None,
};

use crate::config::ValueKind::{Bool, Text};

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("dev", Text, true, None,
       "Block device, or a regular file attached to a loop device."),
    kw("mnt", Text, true, None, "Mount point, created when missing."),
    kw("type", Text, false, None, "Filesystem type (ext4, xfs, ...); mount guesses when absent."),
    kw("mnt_opt", Text, false, None, "Mount options (-o)."),
    kw("fsck", Bool, false, Some("true"),
       "Run `fsck -p` before mounting ext2/3/4 filesystems."),
    kw("kill_procs", Bool, false, Some("false"),
       "On stop, kill the processes that keep the filesystem busy instead of failing with EBUSY."),
];

/// A filesystem: `fsck -p` (600 s) and `mount` (120 s); or up to five
/// `umount` of 120 s with the processes' grace period in between.
const DEADLINE: Duration = Duration::from_secs(720);

/// `fs#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsSpec {
    /// Device or image file.
    pub dev: PathBuf,
    /// Mount point.
    pub mnt: PathBuf,
    /// Filesystem type.
    pub fs_type: Option<String>,
    /// Mount options.
    pub mnt_opt: Option<String>,
    /// Run fsck -p before mounting ext filesystems.
    pub fsck: bool,
    /// Kill processes holding the filesystem on stop.
    pub kill_procs: bool,
}

impl Spec for FsSpec {
    fn deadline(&self, _step: Step) -> Duration {
        DEADLINE
    }

    /// Its mount point, and what is below it, while it is mounted.
    fn provides(&self) -> Vec<PathBuf> {
        vec![self.mnt.clone()]
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    let dev = values.require("dev");
    let mnt = values.require("mnt");
    let fsck = values.take("fsck", values.bool("fsck"));
    let kill_procs = values.take("kill_procs", values.bool("kill_procs"));
    if let Some(reason) = values.first_taken() {
        return Err(reason);
    }
    Ok(Arc::new(FsSpec {
        dev: PathBuf::from(dev.unwrap_or_default()),
        mnt: PathBuf::from(mnt.unwrap_or_default()),
        fs_type: values.text("type"),
        mnt_opt: values.text("mnt_opt"),
        fsck: fsck.unwrap_or_default(),
        kill_procs: kill_procs.unwrap_or_default(),
    }))
}
