//! The LVM volume group driver (`vg#N`): a VG is up on this node when it
//! carries this node's host tag (`vgchange --addtag @<nodename>`, stored by
//! LVM without the `@`) and all its logical volumes are active. Start adds
//! the tag and activates; stop deactivates and removes the tag. Every LVM
//! command goes through the injected [`CommandRunner`], bounded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::drivers::shared::HostReads;
use crate::drivers::{Driver, DriverContext};

mod manifest;
use crate::actionlog::ResourceLog;
use crate::error::{Error, Result};
use crate::host::{command_failure, command_line, CommandOutput, CommandRunner};
use crate::model::{ResourceState, Rid, Status};
pub use manifest::{VgSpec, MANIFEST};

/// Bound on each LVM command. Activation of many LVs on slow storage takes
/// seconds, not minutes; a command stuck longer waits on a lock or a dead
/// device, and the operator is better told.
const LVM_TIMEOUT: Duration = Duration::from_secs(30);

/// One logical volume, from `lvs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvInfo {
    /// LV name.
    pub name: String,
    /// Whether it is active (5th character of `lv_attr` is `a`).
    pub active: bool,
}

/// What LVM says about the volume group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VgObservation {
    /// `vgs` does not know it.
    NotFound,
    /// It exists.
    Found {
        /// Whether it carries this node's host tag.
        tagged: bool,
        /// Its logical volumes.
        lvs: Vec<LvInfo>,
    },
}

/// One volume group in the listing of them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VgSeen {
    /// Its tags (host tags without their `@`).
    pub tags: Vec<String>,
    /// Its logical volumes.
    pub lvs: Vec<LvInfo>,
}

/// Every volume group of the host, by name: one `vgs` and one `lvs` for
/// all the VG resources of a refresh pass.
pub type VgListing = HashMap<String, VgSeen>;

const VGS_ALL_ARGS: [&str; 5] = ["--noheadings", "--separator", ";", "-o", "vg_name,vg_tags"];
const LVS_ALL_ARGS: [&str; 5] = [
    "--noheadings",
    "--separator",
    ";",
    "-o",
    "vg_name,lv_name,lv_attr",
];

/// The tags of a `vg_tags` column (comma separated, maybe empty).
fn parse_tags(column: &str) -> Vec<String> {
    column
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Parse the listing of every VG (`vgs ... -o vg_name,vg_tags`) and of
/// every LV (`lvs ... -o vg_name,lv_name,lv_attr`).
pub fn parse_listing(vgs: &str, lvs: &str) -> std::result::Result<VgListing, String> {
    let mut listing = VgListing::new();
    for line in vgs.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, tags)) = line.split_once(';') else {
            return Err(format!("unexpected vgs output: {line:?}"));
        };
        let tags = parse_tags(tags);
        listing.insert(
            name.to_string(),
            VgSeen {
                tags,
                lvs: Vec::new(),
            },
        );
    }
    for line in lvs.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let unexpected = || format!("unexpected lvs output: {line:?}");
        let (vg, lv) = line.split_once(';').ok_or_else(unexpected)?;
        let lv = parse_lvs(lv).map_err(|_| unexpected())?;
        listing.get_mut(vg).ok_or_else(unexpected)?.lvs.extend(lv);
    }
    Ok(listing)
}

/// List every VG and LV: `None` when LVM exits non-zero (a VG with a
/// missing device, say), so that each VG asks about itself and gets its
/// own answer.
async fn read_listing(runner: &dyn CommandRunner) -> Result<Option<Arc<VgListing>>> {
    let vgs = runner.run("vgs", &VGS_ALL_ARGS, LVM_TIMEOUT).await?;
    if !vgs.success() {
        return Ok(None);
    }
    let lvs = runner.run("lvs", &LVS_ALL_ARGS, LVM_TIMEOUT).await?;
    if !lvs.success() {
        return Ok(None);
    }
    parse_listing(&vgs.stdout, &lvs.stdout)
        .map(|listing| Some(Arc::new(listing)))
        .map_err(Error::backend)
}

/// Parse `vgs --noheadings --separator ';' -o vg_name,vg_tags,lv_count`
/// for one VG: its tags and LV count.
pub fn parse_vgs(output: &str, vgname: &str) -> std::result::Result<(Vec<String>, u32), String> {
    let line = output
        .lines()
        .map(str::trim)
        .find(|l| l.split(';').next() == Some(vgname))
        .ok_or_else(|| format!("vgs did not list {vgname}: {:?}", output.trim()))?;
    let fields: Vec<&str> = line.split(';').collect();
    let [_, tags, lv_count] = fields[..] else {
        return Err(format!("unexpected vgs output: {line:?}"));
    };
    let tags = parse_tags(tags);
    let lv_count = lv_count
        .trim()
        .parse()
        .map_err(|_| format!("unexpected lv_count in vgs output: {line:?}"))?;
    Ok((tags, lv_count))
}

/// Parse `lvs --noheadings --separator ';' -o lv_name,lv_attr`.
pub fn parse_lvs(output: &str) -> std::result::Result<Vec<LvInfo>, String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(';') {
            Some((name, attr)) if attr.len() >= 5 => Ok(LvInfo {
                name: name.to_string(),
                active: attr.as_bytes()[4] == b'a',
            }),
            _ => Err(format!("unexpected lvs output: {line:?}")),
        })
        .collect()
}

/// The state shown for the VG: pure, so every case is unit-tested.
pub fn vg_state(vgname: &str, nodename: &str, observed: &VgObservation) -> ResourceState {
    let VgObservation::Found { tagged, lvs } = observed else {
        return ResourceState::new(Status::Down, vgname)
            .with_message(format!("vg {vgname} not found"));
    };
    let inactive = lvs.iter().filter(|lv| !lv.active).count();
    let any_active = inactive < lvs.len();
    let mut state = ResourceState::new(
        match (*tagged, inactive == 0, any_active) {
            (true, true, _) => Status::Up,
            (false, _, false) => Status::Down,
            _ => Status::Warn,
        },
        vgname,
    );
    if state.status == Status::Warn {
        if !tagged {
            state
                .messages
                .push(format!("not tagged for this node (@{nodename})"));
        }
        if inactive > 0 {
            state.messages.push(not_activated(inactive, lvs.len()));
        }
    }
    state
}

fn not_activated(inactive: usize, total: usize) -> String {
    format!("{inactive} of {total} volumes are not activated")
}

/// Whether a failed LVM command says the VG does not exist.
fn says_not_found(output: &CommandOutput, vgname: &str) -> bool {
    output
        .stderr
        .contains(&format!("Volume group \"{vgname}\" not found"))
}

/// Drives one `vg#N` resource.
pub struct VgDriver {
    vgname: String,
    nodename: String,
    runner: Arc<dyn CommandRunner>,
    reads: Arc<HostReads>,
    /// Other nodes whose host tags a start removes (`--cluster`).
    peers: Vec<String>,
}

impl VgDriver {
    /// A driver for the VG of `spec`. The rid is not kept: the engine names
    /// the resource in logs and errors.
    pub fn new(ctx: &DriverContext, _rid: Rid, spec: VgSpec) -> Self {
        VgDriver {
            vgname: spec.vgname,
            nodename: ctx.nodename.clone(),
            runner: ctx.runner.clone(),
            reads: ctx.reads.clone(),
            peers: ctx.peers.clone(),
        }
    }

    /// With `--cluster`, the VG is taken over: the host tags of the
    /// service's other nodes go (the cluster made this node the owner;
    /// their tags would let them activate it too).
    async fn take_over(&self, log: &ResourceLog) -> Result<()> {
        if self.peers.is_empty() {
            return Ok(());
        }
        let vg = self.vgname.as_str();
        let args = [
            "--noheadings",
            "--separator",
            ";",
            "-o",
            "vg_name,vg_tags,lv_count",
            vg,
        ];
        let out = self.runner.run("vgs", &args, LVM_TIMEOUT).await?;
        if !out.success() {
            return Err(command_failure("vgs", &args, &out));
        }
        let (tags, _) = parse_vgs(&out.stdout, vg).map_err(Error::backend)?;
        for peer in tags.iter().filter(|t| self.peers.contains(t)) {
            log.info(format!("taking {vg} over from {peer}"));
            self.vgchange(&["--deltag", &format!("@{peer}")], false, log)
                .await?;
        }
        Ok(())
    }

    fn host_tag(&self) -> String {
        format!("@{}", self.nodename)
    }

    /// The VG for a status check, from the listing every VG of the pass
    /// shares; the VG's own commands when that listing failed.
    async fn observe_shared(&self) -> Result<VgObservation> {
        let listing = self
            .reads
            .volume_groups
            .get(|| read_listing(self.runner.as_ref()))
            .await?;
        let Some(listing) = listing else {
            return self.observe().await;
        };
        Ok(match listing.get(&self.vgname) {
            None => VgObservation::NotFound,
            Some(seen) => VgObservation::Found {
                tagged: seen.tags.contains(&self.nodename),
                lvs: seen.lvs.clone(),
            },
        })
    }

    /// The VG, asked about alone: what actions decide on.
    async fn observe(&self) -> Result<VgObservation> {
        let vg = self.vgname.as_str();
        let vgs_args = [
            "--noheadings",
            "--separator",
            ";",
            "-o",
            "vg_name,vg_tags,lv_count",
            vg,
        ];
        let out = self.runner.run("vgs", &vgs_args, LVM_TIMEOUT).await?;
        if !out.success() {
            if says_not_found(&out, vg) {
                return Ok(VgObservation::NotFound);
            }
            return Err(command_failure("vgs", &vgs_args, &out));
        }
        let (tags, lv_count) = parse_vgs(&out.stdout, vg).map_err(Error::backend)?;
        let tagged = tags.contains(&self.nodename);
        if lv_count == 0 {
            return Ok(VgObservation::Found {
                tagged,
                lvs: Vec::new(),
            });
        }
        let lvs_args = [
            "--noheadings",
            "--separator",
            ";",
            "-o",
            "lv_name,lv_attr",
            vg,
        ];
        let out = self.runner.run("lvs", &lvs_args, LVM_TIMEOUT).await?;
        if !out.success() {
            return Err(command_failure("lvs", &lvs_args, &out));
        }
        let lvs = parse_lvs(&out.stdout).map_err(Error::backend)?;
        Ok(VgObservation::Found { tagged, lvs })
    }

    /// Run `vgchange <args> <vg>`, logged as the operator would type it;
    /// `show_output` logs what LVM printed (how many LVs it (de)activated).
    async fn vgchange(&self, args: &[&str], show_output: bool, log: &ResourceLog) -> Result<()> {
        let mut full: Vec<&str> = args.to_vec();
        full.push(&self.vgname);
        log.info(command_line("vgchange", &full));
        let out = self.runner.run("vgchange", &full, LVM_TIMEOUT).await;
        self.reads.volume_groups.invalidate();
        let out = out?;
        if !out.success() {
            return Err(command_failure("vgchange", &full, &out));
        }
        if show_output && !out.stdout.trim().is_empty() {
            log.info(out.stdout.trim());
        }
        Ok(())
    }
}

#[async_trait]
impl Driver for VgDriver {
    async fn status(&self) -> ResourceState {
        match self.observe_shared().await {
            Ok(observed) => vg_state(&self.vgname, &self.nodename, &observed),
            Err(e) => {
                ResourceState::new(Status::Warn, self.vgname.clone()).with_message(e.message())
            }
        }
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        let vg = &self.vgname;
        let VgObservation::Found { tagged, lvs } = self.observe().await? else {
            return Err(Error::backend(format!("vg {vg} not found")));
        };
        if tagged && lvs.iter().all(|lv| lv.active) {
            log.info(format!("{vg} is already up"));
            return Ok(());
        }
        self.take_over(log).await?;
        if !tagged {
            self.vgchange(&["--addtag", &self.host_tag()], false, log)
                .await?;
        }
        self.vgchange(&["-ay"], true, log).await?;
        // vgchange -ay exits 0 when LVM's activation filters (volume_list,
        // host tags) skip volumes: check that they are all active.
        if let VgObservation::Found { lvs, .. } = self.observe().await? {
            let inactive: Vec<&str> = lvs
                .iter()
                .filter(|lv| !lv.active)
                .map(|lv| lv.name.as_str())
                .collect();
            if !inactive.is_empty() {
                return Err(Error::backend(format!(
                    "{} after vgchange -ay {vg}: {}; check LVM's activation/volume_list setting",
                    not_activated(inactive.len(), lvs.len()),
                    inactive.join(", ")
                )));
            }
        }
        Ok(())
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        let vg = &self.vgname;
        let VgObservation::Found { tagged, lvs } = self.observe().await? else {
            log.info(format!("{vg} is already down (vg {vg} not found)"));
            return Ok(());
        };
        if !tagged && !lvs.iter().any(|lv| lv.active) {
            log.info(format!("{vg} is already down"));
            return Ok(());
        }
        self.vgchange(&["-an"], true, log).await?;
        if tagged {
            self.vgchange(&["--deltag", &self.host_tag()], false, log)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actionlog::ServiceLog;
    use crate::docker::fake::FakeDocker;
    use crate::host::FakeRunner;

    const VGS: &str = "vgs --noheadings --separator ';' -o vg_name,vg_tags,lv_count vgapp";
    const LVS: &str = "lvs --noheadings --separator ';' -o lv_name,lv_attr vgapp";
    const VGS_ALL: &str = "vgs --noheadings --separator ';' -o vg_name,vg_tags";
    const LVS_ALL: &str = "lvs --noheadings --separator ';' -o vg_name,lv_name,lv_attr";

    fn driver(fake: &Arc<FakeRunner>) -> VgDriver {
        driver_of(fake, "vgapp", &Arc::default())
    }

    /// A driver for `vgname` sharing `reads`, as the engine's drivers do.
    fn driver_of(fake: &Arc<FakeRunner>, vgname: &str, reads: &Arc<HostReads>) -> VgDriver {
        let ctx = DriverContext {
            carried: Default::default(),
            service: "app.opensvc.com".into(),
            var_dir: "/nonexistent".into(),
            config_dir: "/nonexistent".into(),
            nodename: "deb1.opensvc.com".into(),
            docker: Arc::new(FakeDocker::new("unix:///nonexistent.sock")),
            runner: fake.clone(),
            children: Arc::new(crate::children::FakeChildren::default()),
            reads: reads.clone(),
            peers: Vec::new(),
        };
        VgDriver::new(
            &ctx,
            Rid::parse("vg#1").unwrap(),
            VgSpec {
                vgname: vgname.into(),
            },
        )
    }

    fn lv(name: &str, active: bool) -> LvInfo {
        LvInfo {
            name: name.into(),
            active,
        }
    }

    fn found(tagged: bool, lvs: &[(&str, bool)]) -> VgObservation {
        VgObservation::Found {
            tagged,
            lvs: lvs.iter().map(|(n, a)| lv(n, *a)).collect(),
        }
    }

    fn vgs_says(tags: &str, lv_count: u32) -> CommandOutput {
        CommandOutput::ok(&format!("  vgapp;{tags};{lv_count}\n"))
    }

    fn lvs_says(attrs: &[(&str, &str)]) -> CommandOutput {
        CommandOutput::ok(
            &attrs
                .iter()
                .map(|(n, a)| format!("  {n};{a}\n"))
                .collect::<String>(),
        )
    }

    fn not_found() -> CommandOutput {
        CommandOutput::failed(
            5,
            "  Volume group \"vgapp\" not found\n  Cannot process volume group vgapp\n",
        )
    }

    fn logs() -> (ServiceLog, ResourceLog) {
        let service = ServiceLog::new("app.opensvc.com");
        let resource = service.resource("vg#1");
        (service, resource)
    }

    fn messages(service: &ServiceLog) -> Vec<String> {
        service
            .resource_lines("vg#1")
            .iter()
            .map(|l| {
                l.split_once("APP.OPENSVC.COM.VG#1")
                    .unwrap()
                    .1
                    .trim()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn vgs_output_gives_tags_and_lv_count() {
        assert_eq!(
            parse_vgs("  vgapp;deb1.opensvc.com,other;2\n", "vgapp"),
            Ok((vec!["deb1.opensvc.com".into(), "other".into()], 2))
        );
        assert_eq!(parse_vgs("  vgapp;;0\n", "vgapp"), Ok((vec![], 0)));
        assert!(parse_vgs("", "vgapp").is_err());
        assert!(parse_vgs("  vgapp;x\n", "vgapp").is_err());
        assert!(parse_vgs("  vgapp;x;many\n", "vgapp").is_err());
    }

    #[test]
    fn lvs_output_gives_activation_from_the_fifth_attribute() {
        assert_eq!(
            parse_lvs("  lvapproot;-wi-a-----\n  lvappdata;-wi-------\n"),
            Ok(vec![lv("lvapproot", true), lv("lvappdata", false)])
        );
        assert_eq!(parse_lvs("\n"), Ok(vec![]));
        assert!(parse_lvs("  lvapproot\n").is_err());
        assert!(parse_lvs("  lvapproot;-wi\n").is_err());
    }

    #[test]
    fn tagged_with_all_volumes_active_is_up() {
        let state = vg_state("vgapp", "deb1", &found(true, &[("a", true), ("b", true)]));
        assert_eq!(state, ResourceState::new(Status::Up, "vgapp"));
    }

    #[test]
    fn tagged_without_volumes_is_up() {
        let state = vg_state("vgapp", "deb1", &found(true, &[]));
        assert_eq!(state, ResourceState::new(Status::Up, "vgapp"));
    }

    #[test]
    fn untagged_and_inactive_is_down() {
        assert_eq!(
            vg_state("vgapp", "deb1", &found(false, &[("a", false)])),
            ResourceState::new(Status::Down, "vgapp")
        );
        assert_eq!(
            vg_state("vgapp", "deb1", &found(false, &[])),
            ResourceState::new(Status::Down, "vgapp")
        );
    }

    #[test]
    fn tagged_with_inactive_volumes_is_warn() {
        let state = vg_state(
            "vgapp",
            "deb1",
            &found(true, &[("a", true), ("b", false), ("c", false)]),
        );
        assert_eq!(state.status, Status::Warn);
        assert_eq!(state.messages, ["2 of 3 volumes are not activated"]);
    }

    #[test]
    fn active_volumes_without_the_tag_are_warn() {
        let state = vg_state("vgapp", "deb1", &found(false, &[("a", true), ("b", false)]));
        assert_eq!(state.status, Status::Warn);
        assert_eq!(
            state.messages,
            [
                "not tagged for this node (@deb1)",
                "1 of 2 volumes are not activated"
            ]
        );
    }

    #[test]
    fn missing_vg_is_down_and_says_so() {
        let state = vg_state("vgapp", "deb1", &VgObservation::NotFound);
        assert_eq!(state.status, Status::Down);
        assert_eq!(state.label, "vgapp");
        assert_eq!(state.messages, ["vg vgapp not found"]);
    }

    #[test]
    fn listing_gives_every_vg_with_its_tags_and_volumes() {
        let listing = parse_listing(
            "  vgapp;deb1.opensvc.com,other\n  vgempty;\n",
            "  vgapp;lvapproot;-wi-a-----\n  vgapp;lvappdata;-wi-------\n",
        )
        .unwrap();
        assert_eq!(listing.len(), 2);
        assert_eq!(listing["vgapp"].tags, ["deb1.opensvc.com", "other"]);
        assert_eq!(
            listing["vgapp"].lvs,
            [lv("lvapproot", true), lv("lvappdata", false)]
        );
        assert_eq!(listing["vgempty"], VgSeen::default());
        assert!(parse_listing("  vgapp\n", "").is_err());
        assert!(parse_listing("  vgapp;\n", "  vgother;lv;-wi-a-----\n").is_err());
        assert!(parse_listing("  vgapp;\n", "  vgapp;lv\n").is_err());
    }

    #[tokio::test]
    async fn status_reads_the_listing_of_every_vg() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(
            VGS_ALL,
            CommandOutput::ok("  other;\n  vgapp;deb1.opensvc.com\n"),
        )
        .expect(
            LVS_ALL,
            CommandOutput::ok(
                "  other;x;-wi-------\n  vgapp;lvapproot;-wi-a-----\n  vgapp;lvappdata;-wi-a-----\n",
            ),
        );
        let state = driver(&fake).status().await;
        assert_eq!(state, ResourceState::new(Status::Up, "vgapp"));
        assert_eq!(fake.calls(), [VGS_ALL, LVS_ALL]);
    }

    #[tokio::test]
    async fn a_pass_over_many_vgs_runs_vgs_and_lvs_once() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(
            VGS_ALL,
            CommandOutput::ok("  vg1;deb1.opensvc.com\n  vg2;\n  vg3;deb1.opensvc.com\n"),
        )
        .expect(LVS_ALL, CommandOutput::ok("  vg3;lv;-wi-------\n"));
        let reads = Arc::new(HostReads::default());
        let drivers: Vec<VgDriver> = ["vg1", "vg2", "vg3", "vg4"]
            .iter()
            .map(|name| driver_of(&fake, name, &reads))
            .collect();
        let states = futures_util::future::join_all(drivers.iter().map(|d| d.status())).await;
        let statuses: Vec<Status> = states.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            [Status::Up, Status::Down, Status::Warn, Status::Down]
        );
        assert_eq!(states[3].messages, ["vg vg4 not found"]);
        assert_eq!(fake.calls(), [VGS_ALL, LVS_ALL]);
    }

    #[tokio::test]
    async fn status_reports_not_found_and_other_lvm_failures() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS_ALL, CommandOutput::ok("  other;\n"))
            .expect(LVS_ALL, CommandOutput::ok(""));
        let state = driver(&fake).status().await;
        assert_eq!(state.status, Status::Down);
        assert_eq!(state.messages, ["vg vgapp not found"]);

        // LVM fails listing them all: the VG asks about itself.
        let fake = Arc::new(FakeRunner::new());
        let missing_pv = || CommandOutput::failed(5, "  Couldn't find device with uuid abc.\n");
        fake.expect(VGS_ALL, missing_pv()).expect(VGS, missing_pv());
        let state = driver(&fake).status().await;
        assert_eq!(state.status, Status::Warn);
        assert_eq!(
            state.messages,
            [format!(
                "{VGS} failed (exit 5): Couldn't find device with uuid abc."
            )]
        );

        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS_ALL, CommandOutput::ok("  vgapp;\n"))
            .expect(LVS_ALL, CommandOutput::failed(5, "  oops\n"))
            .expect(VGS, not_found());
        let state = driver(&fake).status().await;
        assert_eq!(state.messages, ["vg vgapp not found"]);
    }

    #[tokio::test]
    async fn vgchange_invalidates_the_shared_listing() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS_ALL, CommandOutput::ok("  vgapp;\n"))
            .expect(LVS_ALL, CommandOutput::ok("  vgapp;a;-wi-------\n"))
            .expect(VGS, vgs_says("", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-------")]))
            .expect("vgchange --addtag", CommandOutput::ok(""))
            .expect("vgchange -ay", CommandOutput::ok(""))
            .expect(VGS, vgs_says("deb1.opensvc.com", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----")]))
            .expect(VGS_ALL, CommandOutput::ok("  vgapp;deb1.opensvc.com\n"))
            .expect(LVS_ALL, CommandOutput::ok("  vgapp;a;-wi-a-----\n"));
        let driver = driver(&fake);
        assert_eq!(driver.status().await.status, Status::Down);
        driver.start(&logs().1).await.unwrap();
        assert_eq!(driver.status().await.status, Status::Up);
        assert!(fake.exhausted());
    }

    #[tokio::test]
    async fn start_of_an_up_vg_is_already_up() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("deb1.opensvc.com", 1))
            .expect(LVS, lvs_says(&[("lvapproot", "-wi-ao----")]));
        let (service, log) = logs();
        driver(&fake).start(&log).await.unwrap();
        assert_eq!(fake.calls(), [VGS, LVS]);
        assert_eq!(messages(&service), ["vgapp is already up"]);
    }

    #[tokio::test]
    async fn start_tags_then_activates_then_checks() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("", 2))
            .expect(LVS, lvs_says(&[("a", "-wi-------"), ("b", "-wi-------")]))
            .expect(
                "vgchange --addtag",
                CommandOutput::ok("  Volume group \"vgapp\" successfully changed\n"),
            )
            .expect(
                "vgchange -ay",
                CommandOutput::ok("  2 logical volume(s) in volume group \"vgapp\" now active\n"),
            )
            .expect(VGS, vgs_says("deb1.opensvc.com", 2))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----"), ("b", "-wi-a-----")]));
        let (service, log) = logs();
        driver(&fake).start(&log).await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                VGS,
                LVS,
                "vgchange --addtag @deb1.opensvc.com vgapp",
                "vgchange -ay vgapp",
                VGS,
                LVS
            ]
        );
        assert_eq!(
            messages(&service),
            [
                "vgchange --addtag @deb1.opensvc.com vgapp",
                "vgchange -ay vgapp",
                "2 logical volume(s) in volume group \"vgapp\" now active"
            ]
        );
        assert!(fake.exhausted());
    }

    #[tokio::test]
    async fn a_cluster_start_removes_the_other_nodes_tags_first() {
        let fake = Arc::new(FakeRunner::new());
        let ok = || CommandOutput::ok("  Volume group \"vgapp\" successfully changed\n");
        fake.expect(VGS, vgs_says("deb2.opensvc.com", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-------")]))
            .expect(VGS, vgs_says("deb2.opensvc.com,backup", 1))
            .expect("vgchange --deltag @deb2.opensvc.com", ok())
            .expect("vgchange --addtag", ok())
            .expect("vgchange -ay", CommandOutput::ok(""))
            .expect(VGS, vgs_says("deb1.opensvc.com,backup", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----")]));
        let (service, log) = logs();
        let mut d = driver(&fake);
        d.peers = vec!["deb2.opensvc.com".into(), "deb3.opensvc.com".into()];
        d.start(&log).await.unwrap();
        assert!(fake.exhausted(), "{:?}", fake.calls());
        // A tag that names no node of the service stays.
        assert!(!fake.calls().iter().any(|c| c.contains("@backup")));
        assert_eq!(
            messages(&service)[..2],
            [
                "taking vgapp over from deb2.opensvc.com",
                "vgchange --deltag @deb2.opensvc.com vgapp"
            ]
        );
    }

    #[tokio::test]
    async fn start_of_a_tagged_partly_active_vg_only_activates() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("deb1.opensvc.com", 2))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----"), ("b", "-wi-------")]))
            .expect("vgchange -ay", CommandOutput::ok(""))
            .expect(VGS, vgs_says("deb1.opensvc.com", 2))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----"), ("b", "-wi-a-----")]));
        let (_service, log) = logs();
        driver(&fake).start(&log).await.unwrap();
        assert_eq!(fake.calls()[2], "vgchange -ay vgapp");
        assert!(fake.exhausted());
    }

    #[tokio::test]
    async fn start_fails_when_volumes_stay_inactive() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("deb1.opensvc.com", 2))
            .expect(LVS, lvs_says(&[("a", "-wi-------"), ("b", "-wi-------")]))
            .expect("vgchange -ay", CommandOutput::ok(""))
            .expect(VGS, vgs_says("deb1.opensvc.com", 2))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----"), ("b", "-wi-------")]));
        let (_service, log) = logs();
        let e = driver(&fake).start(&log).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            "1 of 2 volumes are not activated after vgchange -ay vgapp: b; check LVM's activation/volume_list setting"
        );
    }

    #[tokio::test]
    async fn start_of_a_missing_vg_fails() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, not_found());
        let (_service, log) = logs();
        let e = driver(&fake).start(&log).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(e.message(), "vg vgapp not found");
    }

    #[tokio::test]
    async fn start_reports_vgchange_stderr() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-------")]))
            .expect("vgchange --addtag", CommandOutput::ok(""))
            .expect(
                "vgchange -ay",
                CommandOutput::failed(
                    5,
                    "  device-mapper: reload ioctl on (253:0) failed: No such device\n",
                ),
            );
        let (_service, log) = logs();
        let e = driver(&fake).start(&log).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            "vgchange -ay vgapp failed (exit 5): device-mapper: reload ioctl on (253:0) failed: No such device"
        );
    }

    #[tokio::test]
    async fn stop_deactivates_then_removes_the_tag() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("deb1.opensvc.com,keep", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-ao----")]))
            .expect(
                "vgchange -an",
                CommandOutput::ok("  0 logical volume(s) in volume group \"vgapp\" now active\n"),
            )
            .expect("vgchange --deltag", CommandOutput::ok(""));
        let (service, log) = logs();
        driver(&fake).stop(&log).await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                VGS,
                LVS,
                "vgchange -an vgapp",
                "vgchange --deltag @deb1.opensvc.com vgapp"
            ]
        );
        assert_eq!(
            messages(&service),
            [
                "vgchange -an vgapp",
                "0 logical volume(s) in volume group \"vgapp\" now active",
                "vgchange --deltag @deb1.opensvc.com vgapp"
            ]
        );
    }

    #[tokio::test]
    async fn stop_of_untagged_active_vg_only_deactivates() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-a-----")]))
            .expect("vgchange -an", CommandOutput::ok(""));
        let (_service, log) = logs();
        driver(&fake).stop(&log).await.unwrap();
        assert_eq!(fake.calls()[2..], ["vgchange -an vgapp"]);
        assert!(fake.exhausted());
    }

    #[tokio::test]
    async fn stop_of_a_down_vg_is_already_down() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("other-node", 1))
            .expect(LVS, lvs_says(&[("a", "-wi-------")]));
        let (service, log) = logs();
        driver(&fake).stop(&log).await.unwrap();
        assert_eq!(fake.calls(), [VGS, LVS]);
        assert_eq!(messages(&service), ["vgapp is already down"]);

        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, not_found());
        let (service, log) = logs();
        driver(&fake).stop(&log).await.unwrap();
        assert_eq!(
            messages(&service),
            ["vgapp is already down (vg vgapp not found)"]
        );
    }

    #[tokio::test]
    async fn stop_reports_an_lv_in_use() {
        let fake = Arc::new(FakeRunner::new());
        fake.expect(VGS, vgs_says("deb1.opensvc.com", 1))
            .expect(LVS, lvs_says(&[("lvapproot", "-wi-ao----")]))
            .expect(
                "vgchange -an",
                CommandOutput::failed(5, "  Logical volume vgapp/lvapproot in use.\n"),
            );
        let (_service, log) = logs();
        let e = driver(&fake).stop(&log).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            "vgchange -an vgapp failed (exit 5): Logical volume vgapp/lvapproot in use."
        );
        assert!(fake.exhausted());
    }
}
