//! Property tests of the service-file loader against a reference model:
//! random files made of container sections (some repeated, some of an
//! unknown type), keywords known and unknown, comments, blank lines and
//! lines that are not `keyword = value`, written with LF or CRLF and with
//! or without a BOM. Whatever the file, parsing never panics, and what it
//! finds is what the model says a reader of the file would find.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::{parse_service, Severity};
use crate::drivers::container::ContainerSpec;

#[derive(Debug, Clone)]
enum Line {
    Entry(&'static str, &'static str),
    Comment,
    Blank,
    Bare(&'static str),
}

#[derive(Debug, Clone)]
struct Section {
    kind: &'static str,
    index: u8,
    lines: Vec<Line>,
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        4 => (
            prop::sample::select(&["run_image", "run_command", "stop_timeout", "colour"][..]),
            prop::sample::select(&["busybox", "alpine", "/bin/sh", "2", "x y"][..]),
        )
            .prop_map(|(k, v)| Line::Entry(k, v)),
        1 => Just(Line::Comment),
        1 => Just(Line::Blank),
        1 => prop::sample::select(&["run_image busybox", "oops", "[[x"][..]).prop_map(Line::Bare),
    ]
}

fn section() -> impl Strategy<Value = Section> {
    (
        prop::sample::select(&["container", "container", "container", "sync"][..]),
        0u8..3,
        prop::collection::vec(line(), 0..6),
    )
        .prop_map(|(kind, index, lines)| Section { kind, index, lines })
}

/// The file's text, and the 1-based line of every bare line in it.
fn render(sections: &[Section], crlf: bool, bom: bool) -> (String, Vec<usize>) {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = String::from(if bom { "\u{feff}" } else { "" });
    let mut bare = Vec::new();
    let mut number = 0;
    let mut push = |text: &mut String, line: String| {
        text.push_str(&line);
        text.push_str(eol);
        number += 1;
        number
    };
    for s in sections {
        push(&mut text, format!("[{}#{}]", s.kind, s.index));
        for l in &s.lines {
            let written = match l {
                Line::Entry(k, v) => format!("{k} = {v}"),
                Line::Comment => "# a comment".to_string(),
                Line::Blank => String::new(),
                Line::Bare(b) => b.to_string(),
            };
            let at = push(&mut text, written);
            if matches!(l, Line::Bare(_)) {
                bare.push(at);
            }
        }
    }
    (text, bare)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_loader_agrees_with_the_model(
        sections in prop::collection::vec(section(), 0..5),
        crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let (text, bare) = render(&sections, crlf, bom);
        let service = parse_service(&crate::drivers::registry::KINDS, "svc", Path::new("/etc/svcfs/svc.env"), &text);
        // A `[[x` line is an unclosed header: the file is unusable, at
        // that line, and nothing of it is loaded.
        if sections
            .iter()
            .flat_map(|s| &s.lines)
            .any(|l| matches!(l, Line::Bare("[[x")))
        {
            prop_assert!(service.load_error.is_some());
            prop_assert!(service.resources.is_empty());
            return Ok(());
        }
        prop_assert!(service.load_error.is_none(), "{:?}", service.load_error);

        // The first section of each name counts; a repeat is one error.
        let mut model: BTreeMap<String, &Section> = BTreeMap::new();
        let mut repeats = 0;
        for s in &sections {
            let rid = format!("{}#{}", s.kind, s.index);
            match model.entry(rid) {
                std::collections::btree_map::Entry::Occupied(_) => repeats += 1,
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(s);
                }
            }
        }
        let mut rids: Vec<String> = service.resources.iter().map(|r| r.rid.to_string()).collect();
        rids.sort();
        prop_assert_eq!(rids, model.keys().cloned().collect::<Vec<_>>());
        let repeated = service
            .problems
            .iter()
            .filter(|p| p.message.starts_with("section appears again"))
            .count();
        prop_assert_eq!(repeated, repeats);

        // Every bare line is one error at its own line, in repeated
        // sections too (the text is checked before sections are).
        let mut bare_lines: Vec<usize> = service
            .problems
            .iter()
            .filter(|p| p.message.contains("is neither `keyword = value`"))
            .map(|p| p.line.unwrap_or(0))
            .collect();
        bare_lines.sort();
        prop_assert_eq!(&bare_lines, &bare);

        // A container's image is the last run_image of its first section;
        // without one, or with a space in it, the resource is invalid.
        // Each thing wrong is an error of its own: the image, the timeout;
        // a section of an unknown type, one.
        let mut section_errors = 0;
        for resource in &service.resources {
            let section = model[resource.rid.as_str()];
            if section.kind != "container" {
                prop_assert!(resource.spec.is_err());
                section_errors += 1;
                continue;
            }
            let image = section.lines.iter().rev().find_map(|l| match l {
                Line::Entry("run_image", v) => Some(*v),
                _ => None,
            });
            let timeout_ok = section
                .lines
                .iter()
                .rev()
                .find_map(|l| match l {
                    Line::Entry("stop_timeout", v) => Some(v.parse::<f64>().is_ok()),
                    _ => None,
                })
                .unwrap_or(true);
            section_errors += usize::from(image.is_none_or(|i| i.contains(' ')))
                + usize::from(!timeout_ok);
            let container = resource.spec_as::<ContainerSpec>();
            match (&resource.spec, image) {
                (Ok(_), Some(image)) if container.is_some() => {
                    let spec = container.expect("a container's settings");
                    prop_assert_eq!(spec.run_image.as_str(), image);
                    prop_assert!(!image.contains(' ') && timeout_ok);
                }
                (Err(_), Some(image)) => {
                    prop_assert!(image.contains(' ') || !timeout_ok, "{:?}", resource.spec);
                }
                (Err(why), None) => prop_assert!(why.contains("run_image"), "{}", why),
                (other, _) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        // What the model names is an error, each once, and nothing else.
        let errors = service.problems.iter().filter(|p| p.severity == Severity::Error).count();
        prop_assert_eq!(errors, bare.len() + repeats + section_errors, "{:?}", service.problems);
    }

    #[test]
    fn any_text_loads_without_panicking(text in "(\\PC|\n|\r|\u{0}|\\[|\\]|=|#|;){0,200}") {
        let service = parse_service(&crate::drivers::registry::KINDS, "svc", Path::new("/etc/svcfs/svc.env"), &text);
        // Whatever it was, the service exists and says what is wrong.
        prop_assert_eq!(service.name.as_str(), "svc");
    }
}
