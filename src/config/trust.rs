//! Whether a service file may drive what root runs, and whether others may
//! read it. A service file says which containers root creates (with
//! `--privileged -v /:/h` if it likes), so whoever can change it, or can
//! put a file of theirs in its place, is root: the rules are sudo's for
//! sudoers and sshd's StrictModes.
//!
//! - The service file (a symlink's target) must be owned by root and
//!   writable by no group but root's and by no one else.
//! - The config directory likewise: whoever can write it can add a
//!   service or rename one away. Its sticky bit does not help: anyone may
//!   still create a new file in a sticky directory.
//! - Every directory above the config directory (and above a symlink's
//!   target) likewise, except that a sticky directory owned by root
//!   (`/tmp`) is accepted there: others cannot rename root's entries in
//!   it, which is all a directory above could be used for.
//!
//! "Root" is uid and gid 0, and also the user the process runs as (an
//! unprivileged daemon, or `svcfs check` run by a user, trusts its own
//! files as well: they cannot give it more than it has).
//!
//! The file is readable by others when its mode gives others read and
//! every directory on its path lets others through: only then do the
//! files that show configuration get read bits for others.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Owner, group and mode of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Owning user.
    pub uid: u32,
    /// Owning group.
    pub gid: u32,
    /// Permission bits (with setuid, setgid and sticky).
    pub mode: u32,
}

impl Stat {
    fn of(meta: &std::fs::Metadata) -> Stat {
        Stat {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.permissions().mode() & 0o7777,
        }
    }
}

/// Where a path stands towards the service files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A service file, or the target of a symlinked one.
    File,
    /// The directory the service files are read from.
    ConfigDir,
    /// A directory above the config directory or a symlink's target.
    Above,
}

/// Why a path cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Owned by a user who is not trusted.
    Owner,
    /// Writable by a group that is not trusted.
    Group,
    /// Writable by everyone.
    Everyone,
}

/// Whom the process trusts besides uid and gid 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trusted {
    uid: u32,
    gid: u32,
}

impl Trusted {
    /// Root, and the user this process runs as.
    pub fn this_process() -> Trusted {
        let uid = nix::unistd::geteuid().as_raw();
        // Root's own group is 0 whatever group it runs with: a root daemon
        // started under `sg docker` must not trust the docker group's files.
        let gid = if uid == 0 {
            0
        } else {
            nix::unistd::getegid().as_raw()
        };
        Trusted { uid, gid }
    }

    fn owner(self, uid: u32) -> bool {
        uid == 0 || uid == self.uid
    }

    fn group(self, gid: u32) -> bool {
        gid == 0 || gid == self.gid
    }
}

/// Why `stat` makes a path in `role` untrusted, if it does: the owner
/// first, then group, then everyone.
pub fn why_untrusted(stat: Stat, role: Role, trusted: Trusted) -> Option<Why> {
    if !trusted.owner(stat.uid) {
        return Some(Why::Owner);
    }
    // Others cannot rename what root owns in a sticky directory it owns.
    let sticky_above = role == Role::Above && stat.mode & 0o1000 != 0;
    if stat.mode & 0o020 != 0 && !trusted.group(stat.gid) && !sticky_above {
        return Some(Why::Group);
    }
    if stat.mode & 0o002 != 0 && !sticky_above {
        return Some(Why::Everyone);
    }
    None
}

/// `<path> (owner alice, group staff, mode 0664) can be written by group
/// staff`: the file, its owner and mode, and who may change it.
pub fn describe(path: &Path, stat: Stat, why: Why) -> String {
    let owner = user_name(stat.uid);
    let group = group_name(stat.gid);
    let who = match why {
        Why::Owner => format!("its owner {owner}, who is not root"),
        Why::Group => format!("group {group}"),
        Why::Everyone => "everyone".to_string(),
    };
    format!(
        "{} (owner {owner}, group {group}, mode {:04o}) can be written by {who}",
        path.display(),
        stat.mode
    )
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(group)) => group.name,
        _ => gid.to_string(),
    }
}

/// What was found about a directory and the directories above it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirTrust {
    /// Why it cannot be trusted ([`describe`]'s words), if it cannot.
    pub refusal: Option<String>,
    /// Every directory of the path lets others through.
    pub others_enter: bool,
}

/// Judge `dir` (in `role`: the config directory, or the directory of a
/// symlink's target) and every directory above it, symlinks resolved. A
/// directory that cannot be resolved is not refused here: reading it
/// fails and says why.
pub fn judge_dir(dir: &Path, role: Role, trusted: Trusted) -> DirTrust {
    let Ok(real) = std::fs::canonicalize(dir) else {
        return DirTrust::default();
    };
    let mut found = DirTrust {
        refusal: None,
        others_enter: true,
    };
    for (depth, path) in real.ancestors().enumerate() {
        let Ok(meta) = std::fs::metadata(path) else {
            found.others_enter = false;
            continue;
        };
        let stat = Stat::of(&meta);
        found.others_enter &= stat.mode & 0o001 != 0;
        let role = if depth == 0 { role } else { Role::Above };
        if found.refusal.is_none() {
            found.refusal = why_untrusted(stat, role, trusted).map(|why| describe(path, stat, why));
        }
    }
    found
}

/// What was found about one service file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTrust {
    /// Why it cannot be trusted ([`describe`]'s words), if it cannot.
    pub refusal: Option<String>,
    /// Others may read it (its mode, and every directory on its path).
    pub others_read: bool,
}

/// Judge the service file `path` of a config directory judged `dir`. A
/// symlink is judged by its target, and the target's directories as
/// directories above. A file that cannot be looked at is not refused here:
/// reading it fails and says why.
pub fn judge_file(path: &Path, dir: &DirTrust, trusted: Trusted) -> FileTrust {
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return FileTrust::default();
    };
    let (target, chain) = if link.file_type().is_symlink() {
        let Ok(target) = std::fs::canonicalize(path) else {
            return FileTrust::default();
        };
        let chain = target
            .parent()
            .map(|parent| judge_dir(parent, Role::Above, trusted))
            .unwrap_or_default();
        (target, Some(chain))
    } else {
        (path.to_path_buf(), None)
    };
    let Ok(meta) = std::fs::metadata(&target) else {
        return FileTrust::default();
    };
    let stat = Stat::of(&meta);
    let chain_refusal = chain.as_ref().and_then(|c| c.refusal.clone());
    let refusal = why_untrusted(stat, Role::File, trusted)
        .map(|why| describe(&target, stat, why))
        .or(chain_refusal);
    let others_read =
        stat.mode & 0o004 != 0 && dir.others_enter && chain.as_ref().is_none_or(|c| c.others_enter);
    FileTrust {
        refusal,
        others_read,
    }
}

/// What to do about a program that cannot be trusted, after its
/// description.
pub const PROGRAM_FIX: &str =
    "whoever can change a program svcfs runs as root can make root run anything: \
    make the file and its directories root's and writable by root alone \
    (chown root:root, chmod go-w)";

/// Why the program at `path` (a script an app runs, say) cannot be trusted,
/// if it cannot: by the rule of service files, the file (a symlink's
/// target) and every directory above it, a sticky directory owned by root
/// accepted above. A path that cannot be resolved is not refused here:
/// running it fails and says why.
pub fn judge_program(path: &Path) -> Option<String> {
    let trusted = Trusted::this_process();
    let real = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    let stat = Stat::of(&meta);
    if let Some(why) = why_untrusted(stat, Role::File, trusted) {
        return Some(describe(&real, stat, why));
    }
    judge_dir(real.parent()?, Role::Above, trusted).refusal
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Trusted = Trusted { uid: 0, gid: 0 };
    const ME: Trusted = Trusted {
        uid: 1000,
        gid: 1000,
    };

    fn stat(uid: u32, gid: u32, mode: u32) -> Stat {
        Stat { uid, gid, mode }
    }

    #[test]
    fn root_files_writable_by_root_alone_are_trusted() {
        for role in [Role::File, Role::ConfigDir, Role::Above] {
            assert_eq!(why_untrusted(stat(0, 0, 0o644), role, ME), None);
            assert_eq!(why_untrusted(stat(0, 0, 0o600), role, ME), None);
            // Group root may write: it is root's.
            assert_eq!(why_untrusted(stat(0, 0, 0o664), role, ME), None);
            // Another group may read.
            assert_eq!(why_untrusted(stat(0, 50, 0o640), role, ME), None);
        }
    }

    #[test]
    fn another_owner_a_writing_group_or_everyone_is_refused() {
        for role in [Role::File, Role::ConfigDir, Role::Above] {
            assert_eq!(
                why_untrusted(stat(4242, 0, 0o600), role, ROOT),
                Some(Why::Owner)
            );
            assert_eq!(
                why_untrusted(stat(0, 4242, 0o664), role, ROOT),
                Some(Why::Group)
            );
            assert_eq!(
                why_untrusted(stat(0, 0, 0o646), role, ROOT),
                Some(Why::Everyone)
            );
        }
    }

    #[test]
    fn the_process_own_user_and_group_are_trusted_like_root() {
        assert_eq!(why_untrusted(stat(1000, 1000, 0o664), Role::File, ME), None);
        assert_eq!(
            why_untrusted(stat(1001, 1000, 0o644), Role::File, ME),
            Some(Why::Owner)
        );
        assert_eq!(
            why_untrusted(stat(1000, 1001, 0o664), Role::File, ME),
            Some(Why::Group)
        );
    }

    #[test]
    fn a_sticky_root_directory_is_accepted_above_the_config_dir_only() {
        let tmp = stat(0, 0, 0o1777);
        assert_eq!(why_untrusted(tmp, Role::Above, ROOT), None);
        // Anyone may create a new service file in a sticky config dir.
        assert_eq!(
            why_untrusted(tmp, Role::ConfigDir, ROOT),
            Some(Why::Everyone)
        );
        assert_eq!(
            why_untrusted(stat(0, 0, 0o1666), Role::File, ROOT),
            Some(Why::Everyone)
        );
        // A sticky directory of another user is theirs to swap.
        assert_eq!(
            why_untrusted(stat(4242, 0, 0o1777), Role::Above, ROOT),
            Some(Why::Owner)
        );
    }

    #[test]
    fn the_description_names_file_owner_group_and_mode() {
        let path = Path::new("/etc/svcfs/app.env");
        assert_eq!(
            describe(path, stat(0, 0, 0o646), Why::Everyone),
            "/etc/svcfs/app.env (owner root, group root, mode 0646) can be written by everyone"
        );
        // An id without a name is shown as the number.
        assert_eq!(
            describe(path, stat(0, 4_000_123, 0o664), Why::Group),
            "/etc/svcfs/app.env (owner root, group 4000123, mode 0664) can be written by group 4000123"
        );
        assert_eq!(
            describe(path, stat(4_000_123, 0, 0o644), Why::Owner),
            "/etc/svcfs/app.env (owner 4000123, group root, mode 0644) can be written by its owner 4000123, who is not root"
        );
    }

    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("svcfs-trust-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            Scratch(dir)
        }

        fn file(&self, name: &str, mode: u32) -> std::path::PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, "").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn files_are_judged_on_disk_and_symlinks_by_their_target() {
        let scratch = Scratch::new("files");
        let trusted = Trusted::this_process();
        let dir = judge_dir(&scratch.0, Role::ConfigDir, trusted);
        assert_eq!(dir.refusal, None, "the temp dir and those above it");
        let public = scratch.file("public.env", 0o644);
        let judged = judge_file(&public, &dir, trusted);
        assert_eq!(judged.refusal, None);
        assert_eq!(judged.others_read, dir.others_enter);
        let private = scratch.file("private.env", 0o600);
        assert!(!judge_file(&private, &dir, trusted).others_read);
        let open = scratch.file("open.env", 0o646);
        let refusal = judge_file(&open, &dir, trusted).refusal.unwrap();
        assert!(
            refusal.starts_with(&format!("{} (owner ", open.display()))
                && refusal.ends_with(", mode 0646) can be written by everyone"),
            "{refusal}"
        );
        // The link is fine, its target is not: the target is named.
        let link = scratch.0.join("link.env");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let refusal = judge_file(&link, &dir, trusted).refusal.unwrap();
        assert!(
            refusal.starts_with(&open.display().to_string()),
            "{refusal}"
        );
        // A target in a directory everyone may write.
        let elsewhere = scratch.0.join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let target = elsewhere.join("t.env");
        std::fs::write(&target, "").unwrap();
        mode(&target, 0o644);
        mode(&elsewhere, 0o777);
        let far = scratch.0.join("far.env");
        std::os::unix::fs::symlink(&target, &far).unwrap();
        let refusal = judge_file(&far, &dir, trusted).refusal.unwrap();
        assert!(
            refusal.starts_with(&format!("{} (", elsewhere.display())),
            "{refusal}"
        );
        // A dangling link is left for the read to report.
        let dangling = scratch.0.join("dangling.env");
        std::os::unix::fs::symlink(scratch.0.join("none"), &dangling).unwrap();
        assert_eq!(judge_file(&dangling, &dir, trusted), FileTrust::default());
    }

    #[test]
    fn programs_are_judged_like_service_files() {
        let scratch = Scratch::new("programs");
        let script = scratch.file("start.sh", 0o755);
        assert_eq!(judge_program(&script), None);
        let open = scratch.file("open.sh", 0o777);
        let refusal = judge_program(&open).unwrap();
        assert!(
            refusal.ends_with(", mode 0777) can be written by everyone"),
            "{refusal}"
        );
        // A directory everyone may write, not sticky: refused.
        let shared = scratch.0.join("shared");
        std::fs::create_dir(&shared).unwrap();
        let inside = shared.join("check.sh");
        std::fs::write(&inside, "").unwrap();
        mode(&inside, 0o755);
        mode(&shared, 0o777);
        let refusal = judge_program(&inside).unwrap();
        assert!(
            refusal.starts_with(&format!("{} (", shared.display())),
            "{refusal}"
        );
        // The programs of the system are fine; a missing one is left for
        // the run to report.
        assert_eq!(judge_program(Path::new("/bin/sh")), None);
        assert_eq!(judge_program(&scratch.0.join("none")), None);
    }

    #[test]
    fn a_config_dir_others_may_write_or_not_enter() {
        let scratch = Scratch::new("dir");
        let trusted = Trusted::this_process();
        mode(&scratch.0, 0o1777);
        let refusal = judge_dir(&scratch.0, Role::ConfigDir, trusted)
            .refusal
            .unwrap();
        assert!(
            refusal.contains("mode 1777) can be written by everyone"),
            "{refusal}"
        );
        assert_eq!(
            judge_dir(&scratch.0, Role::Above, trusted).refusal,
            None,
            "a sticky directory of the process's own, above"
        );
        mode(&scratch.0, 0o700);
        let closed = judge_dir(&scratch.0, Role::ConfigDir, trusted);
        assert_eq!(closed.refusal, None);
        assert!(!closed.others_enter);
        let file = scratch.file("a.env", 0o644);
        assert!(!judge_file(&file, &closed, trusted).others_read);
    }
}
