//! Resource ids (`container#2`, `fs#1`, the implicit `dockerd`): their
//! syntax. What a type name means — its kind, its ranks in the start and
//! display orders — is the kind registry's (`drivers::registry`).

use std::fmt;

/// A resource id: `<type>#<index>`, or a bare name for implicit resources.
///
/// The type part may name a kind svcfs does not know; such a resource is kept
/// (and shown as invalid) rather than dropped, so nothing in a file is lost.
/// A bare type name (no index) is the id of an implicit resource.
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

    /// The type part (`container`).
    pub fn type_name(&self) -> &str {
        &self.text[..self.type_len]
    }

    /// The numeric index (`2` in `container#2`).
    pub fn index(&self) -> Option<u32> {
        self.index
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.text
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

    #[test]
    fn parse_splits_type_and_index() {
        let rid = Rid::parse("container#12").unwrap();
        assert_eq!(rid.type_name(), "container");
        assert_eq!(rid.index(), Some(12));
    }

    #[test]
    fn parse_keeps_unknown_types() {
        let rid = Rid::parse("sync#1").unwrap();
        assert_eq!(rid.type_name(), "sync");
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
}
