//! Inode numbers for paths. A path keeps its number for the daemon's life
//! (numbers are never reused), so a service that disappears and comes back
//! gets its old number, and stale handles resolve to ENOENT, not to another
//! file.

use std::collections::HashMap;

/// The root directory's inode.
pub const ROOT: u64 = 1;

/// Path components ↔ inode numbers.
pub struct InodeTable {
    by_path: HashMap<Vec<String>, u64>,
    paths: Vec<Vec<String>>,
}

impl Default for InodeTable {
    fn default() -> Self {
        let root = Vec::new();
        InodeTable {
            by_path: HashMap::from([(root.clone(), ROOT)]),
            // Index 0 is unused: inode 0 is invalid in FUSE.
            paths: vec![Vec::new(), root],
        }
    }
}

impl InodeTable {
    /// The path of an inode.
    pub fn path(&self, ino: u64) -> Option<&[String]> {
        match ino {
            0 => None,
            n => self.paths.get(usize::try_from(n).ok()?).map(Vec::as_slice),
        }
    }

    /// The inode of a path, allocated on first sight.
    pub fn ino(&mut self, path: Vec<String>) -> u64 {
        if let Some(&ino) = self.by_path.get(&path) {
            return ino;
        }
        let ino = self.paths.len() as u64;
        self.paths.push(path.clone());
        self.by_path.insert(path, ino);
        ino
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn root_is_inode_one() {
        let mut t = InodeTable::default();
        assert_eq!(t.ino(Vec::new()), ROOT);
        assert_eq!(t.path(ROOT), Some(&[][..]));
        assert_eq!(t.path(0), None);
    }

    #[test]
    fn paths_keep_their_numbers() {
        let mut t = InodeTable::default();
        let a = t.ino(p(&["svc", "status"]));
        let b = t.ino(p(&["svc", "ctl"]));
        assert_ne!(a, b);
        assert_eq!(t.ino(p(&["svc", "status"])), a);
        assert_eq!(t.path(b).unwrap(), p(&["svc", "ctl"]).as_slice());
        assert_eq!(t.path(999), None);
    }
}
