//! The daemon's own files under the var dir — each private daemon's
//! socket, pid file, exec root and log, the saved freezes — are root's
//! alone: a private daemon's socket is root on the host, and its log holds
//! what its containers print. svcfs's directories are created 0700 and
//! its files 0600, whatever the umask; the sockets and pid files inside
//! are dockerd's, kept from others by their directory.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Directories svcfs creates under the var dir.
pub const DIR_MODE: u32 = 0o700;
/// Files svcfs writes under the var dir.
pub const FILE_MODE: u32 = 0o600;

/// Create `dir` and its missing parents, 0700. An existing directory is
/// left as it is (the var dir may be the operator's, such as the
/// tutorial's /opt/opensvc/var).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Create `dir` like [`create_dir`], and make it 0700 even if it existed:
/// a service's own directory, which holds its private daemon's files.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    create_dir(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Open `path` to append to it, created 0600, and made 0600 if it existed
/// (a log written by an older svcfs under a looser umask).
pub fn append(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Write `bytes` to `path`, created 0600 (and made 0600 if it existed).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn directories_and_files_are_the_daemon_s_alone_whatever_was_there() {
        let root = std::env::temp_dir().join(format!("svcfs-vardir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let var = root.join("var");
        create_dir(&var).unwrap();
        assert_eq!(mode(&root), DIR_MODE, "created parents too");
        assert_eq!(mode(&var), DIR_MODE);
        // An existing var dir is the operator's.
        std::fs::set_permissions(&var, Permissions::from_mode(0o755)).unwrap();
        create_dir(&var).unwrap();
        assert_eq!(mode(&var), 0o755);
        // A service's directory is made private even if it existed.
        let service = var.join("app");
        std::fs::create_dir(&service).unwrap();
        std::fs::set_permissions(&service, Permissions::from_mode(0o755)).unwrap();
        private_dir(&service).unwrap();
        assert_eq!(mode(&service), DIR_MODE);
        let log = service.join("dockerd.log");
        std::fs::write(&log, "old\n").unwrap();
        std::fs::set_permissions(&log, Permissions::from_mode(0o644)).unwrap();
        writeln!(append(&log).unwrap(), "new").unwrap();
        assert_eq!(mode(&log), FILE_MODE);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "old\nnew\n");
        let frozen = service.join("frozen");
        write(&frozen, b"frozen through ctl\n").unwrap();
        assert_eq!(mode(&frozen), FILE_MODE);
        write(&frozen, b"x\n").unwrap();
        assert_eq!(std::fs::read_to_string(&frozen).unwrap(), "x\n");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
