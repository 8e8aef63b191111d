//! Resource ids (`container#2`, `fs#1`, the implicit `dockerd`) and kinds,
//! with the start order (ip → vg → fs → dockerd → container) and the
//! tutorial's display order (container, dockerd, vg, fs, ip).

use std::cmp::Ordering;
use std::fmt;

/// The resource types svcfs drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// An IP address on a network device.
    Ip,
    /// An LVM volume group.
    Vg,
    /// A mounted filesystem.
    Fs,
    /// The service's private docker daemon (implicit, from `docker_data_dir`).
    Dockerd,
    /// A docker container.
    Container,
}

impl ResourceKind {
    /// Every kind, in start order.
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::Ip,
        ResourceKind::Vg,
        ResourceKind::Fs,
        ResourceKind::Dockerd,
        ResourceKind::Container,
    ];

    /// The kind named by a section prefix (`container` in `container#1`).
    pub fn from_type_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The section prefix of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Ip => "ip",
            ResourceKind::Vg => "vg",
            ResourceKind::Fs => "fs",
            ResourceKind::Dockerd => "dockerd",
            ResourceKind::Container => "container",
        }
    }

    /// Rank in start order; stop is the exact reverse.
    pub fn start_rank(self) -> u8 {
        match self {
            ResourceKind::Ip => 0,
            ResourceKind::Vg => 1,
            ResourceKind::Fs => 2,
            ResourceKind::Dockerd => 3,
            ResourceKind::Container => 4,
        }
    }

    /// Rank in the overview, which lists kinds in the tutorial's order.
    pub fn display_rank(self) -> u8 {
        match self {
            ResourceKind::Container => 0,
            ResourceKind::Dockerd => 1,
            ResourceKind::Vg => 2,
            ResourceKind::Fs => 3,
            ResourceKind::Ip => 4,
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource id: `<type>#<index>`, or a bare name for implicit resources.
///
/// The type part may name a kind svcfs does not know; such a resource is kept
/// (and shown as invalid) rather than dropped, so nothing in a file is lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid {
    text: String,
    type_len: usize,
    index: Option<u32>,
}

impl Rid {
    /// Parse a section name. `container#01` is refused: the index is what
    /// orders resources, so it must be written one way only.
    pub fn parse(section: &str) -> Result<Rid, String> {
        let section = section.trim();
        match section.split_once('#') {
            Some((type_name, index)) => {
                if !is_type_name(type_name) {
                    return Err(format!(
                        "invalid resource id {section:?}: the type before '#' must be lowercase letters"
                    ));
                }
                let valid_index = !index.is_empty()
                    && index.bytes().all(|b| b.is_ascii_digit())
                    && (index == "0" || !index.starts_with('0'));
                let parsed = index.parse::<u32>().ok().filter(|_| valid_index);
                match parsed {
                    Some(n) => Ok(Rid {
                        text: section.to_string(),
                        type_len: type_name.len(),
                        index: Some(n),
                    }),
                    None => Err(format!(
                        "invalid resource id {section:?}: expected <type>#<number>, like container#1"
                    )),
                }
            }
            None if is_type_name(section) => Ok(Rid {
                text: section.to_string(),
                type_len: section.len(),
                index: None,
            }),
            None => Err(format!(
                "invalid resource id {section:?}: expected <type>#<number>, like container#1"
            )),
        }
    }

    /// The implicit private docker daemon resource.
    pub fn dockerd() -> Rid {
        Rid {
            text: "dockerd".to_string(),
            type_len: "dockerd".len(),
            index: None,
        }
    }

    /// The type part (`container`).
    pub fn type_name(&self) -> &str {
        &self.text[..self.type_len]
    }

    /// The kind, when svcfs knows the type.
    pub fn kind(&self) -> Option<ResourceKind> {
        ResourceKind::from_type_name(self.type_name())
    }

    /// The numeric index (`2` in `container#2`).
    pub fn index(&self) -> Option<u32> {
        self.index
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Order for start: kind rank, then numeric index; unknown kinds last.
    pub fn cmp_start(&self, other: &Rid) -> Ordering {
        self.sort_key(|k| k.start_rank())
            .cmp(&other.sort_key(|k| k.start_rank()))
    }

    /// Order for the overview and `ls`: the tutorial's kind order.
    pub fn cmp_display(&self, other: &Rid) -> Ordering {
        self.sort_key(|k| k.display_rank())
            .cmp(&other.sort_key(|k| k.display_rank()))
    }

    fn sort_key(&self, rank: impl Fn(ResourceKind) -> u8) -> (u8, &str, u32, &str) {
        (
            self.kind().map(rank).unwrap_or(u8::MAX),
            self.type_name(),
            self.index.unwrap_or(0),
            &self.text,
        )
    }
}

fn is_type_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rids(names: &[&str]) -> Vec<Rid> {
        names.iter().map(|n| Rid::parse(n).unwrap()).collect()
    }

    fn names(rids: &[Rid]) -> Vec<&str> {
        rids.iter().map(Rid::as_str).collect()
    }

    #[test]
    fn parse_splits_type_and_index() {
        let rid = Rid::parse("container#12").unwrap();
        assert_eq!(rid.type_name(), "container");
        assert_eq!(rid.index(), Some(12));
        assert_eq!(rid.kind(), Some(ResourceKind::Container));
    }

    #[test]
    fn parse_keeps_unknown_types() {
        let rid = Rid::parse("sync#1").unwrap();
        assert_eq!(rid.kind(), None);
        assert_eq!(rid.as_str(), "sync#1");
    }

    #[test]
    fn parse_refuses_malformed_ids() {
        for bad in [
            "container#",
            "container#x",
            "#1",
            "Container#1",
            "container#01",
            "fs#-1",
        ] {
            assert!(Rid::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn start_order_is_kind_then_numeric_index() {
        let mut list = rids(&[
            "container#10",
            "container#2",
            "fs#2",
            "ip#1",
            "dockerd",
            "vg#1",
            "fs#1",
            "container#1",
        ]);
        list.sort_by(Rid::cmp_start);
        assert_eq!(
            names(&list),
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
        let mut list = rids(&[
            "ip#1",
            "fs#2",
            "vg#1",
            "fs#1",
            "container#3",
            "container#1",
            "dockerd",
        ]);
        list.sort_by(Rid::cmp_display);
        assert_eq!(
            names(&list),
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
        let mut list = rids(&["zzz#1", "ip#1", "app#2"]);
        list.sort_by(Rid::cmp_start);
        assert_eq!(names(&list), ["ip#1", "app#2", "zzz#1"]);
    }
}
