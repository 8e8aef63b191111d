//! What a `ctl` file accepts: one command per write, one trailing newline
//! stripped, words split like a shell would.

use crate::error::{Error, Result};

/// A verb a kind adds to its resources' `ctl` beyond start, stop,
/// restart and clear (a container's `rollback`, a task's `run`), declared
/// in the kind's manifest. It acts on one resource.
#[derive(Debug, PartialEq, Eq)]
pub struct KindVerb {
    /// The word written to `ctl`.
    pub word: &'static str,
    /// One line on what it does.
    pub doc: &'static str,
    /// It runs outside the service's action lock: beside any action, and
    /// leaving the service free while it runs (a task's `run`, which may
    /// last for hours, and `kill`). The service's other actions are then
    /// no business of it, nor it of theirs.
    pub outside_lock: bool,
}

/// What an action does to one resource: a step of its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Bring it up.
    Start,
    /// Bring it down.
    Stop,
    /// A verb of its kind.
    Verb(&'static KindVerb),
}

impl Step {
    /// The word the step's log lines and errors name it by.
    pub fn word(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Stop => "stop",
            Step::Verb(verb) => verb.word,
        }
    }
}

/// The verbs of the ctl vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Start resources in order.
    Start,
    /// Stop resources in reverse order.
    Stop,
    /// Stop then start.
    Restart,
    /// Start the private daemon (if any) and the containers.
    StartContainer,
    /// Stop the containers and the private daemon (if any).
    StopContainer,
    /// A verb of one kind's resources (a container's `rollback`).
    Kind(&'static KindVerb),
    /// Reset the failure ledger, restart counts and user-stopped marks.
    Clear,
    /// Nothing acts on the service automatically until thawed.
    Freeze,
    /// Undo a ctl freeze.
    Thaw,
    /// Move the service to another node (`switch NODE`; `--cluster`).
    Switch,
    /// Move the service to this node (`--cluster`).
    Takeover,
    /// Move the service back to the node its placement prefers (`--cluster`).
    Giveback,
}

impl Verb {
    /// The word as written in `ctl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::StartContainer => "startcontainer",
            Verb::StopContainer => "stopcontainer",
            Verb::Kind(verb) => verb.word,
            Verb::Clear => "clear",
            Verb::Freeze => "freeze",
            Verb::Thaw => "thaw",
            Verb::Switch => "switch",
            Verb::Takeover => "takeover",
            Verb::Giveback => "giveback",
        }
    }

    fn parse(word: &str) -> Option<Verb> {
        [
            Verb::Start,
            Verb::Stop,
            Verb::Restart,
            Verb::StartContainer,
            Verb::StopContainer,
            Verb::Clear,
            Verb::Freeze,
            Verb::Thaw,
            Verb::Switch,
            Verb::Takeover,
            Verb::Giveback,
        ]
        .into_iter()
        .find(|v| v.as_str() == word)
    }
}

/// The verbs a service `ctl` accepts.
pub const SERVICE_VERBS: [Verb; 8] = [
    Verb::Start,
    Verb::Stop,
    Verb::Restart,
    Verb::StartContainer,
    Verb::StopContainer,
    Verb::Clear,
    Verb::Freeze,
    Verb::Thaw,
];

impl Verb {
    /// Whether this verb only changes what the engine keeps (ledger,
    /// marks, freeze) and acts on no resource.
    pub fn is_bookkeeping(self) -> bool {
        matches!(self, Verb::Clear | Verb::Freeze | Verb::Thaw)
    }

    /// Whether this verb moves the service between nodes (`--cluster`).
    pub fn is_placement(self) -> bool {
        matches!(self, Verb::Switch | Verb::Takeover | Verb::Giveback)
    }
}

/// The lines a service `ctl` adds to [`SERVICE_CTL_HELP`] with `--cluster`.
pub const CLUSTER_CTL_HELP: &str = "switch NODE
takeover
giveback
";

/// The text served when reading a service `ctl`.
pub const SERVICE_CTL_HELP: &str = "start [--rid RID[,RID...]]
stop [--rid RID[,RID...]]
restart [--rid RID[,RID...]]
startcontainer [--rid RID[,RID...]]
stopcontainer [--rid RID[,RID...]]
clear [--rid RID[,RID...]]
freeze
thaw
";

/// A parsed service command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCommand {
    /// What to do.
    pub verb: Verb,
    /// `--rid` selection; empty means every resource the verb covers.
    pub rids: Vec<String>,
    /// The node of `switch NODE`.
    pub node: Option<String>,
}

/// The command text of a write: UTF-8, one trailing newline removed.
fn command_text(data: &[u8]) -> Result<&str> {
    let text =
        std::str::from_utf8(data).map_err(|_| Error::invalid("the command is not valid UTF-8"))?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Ok(text)
}

fn words(data: &[u8]) -> Result<Vec<String>> {
    let text = command_text(data)?;
    let words = shell_words::split(text)
        .map_err(|e| Error::invalid(format!("cannot split {text:?} into words: {e}")))?;
    if words.is_empty() {
        return Err(Error::invalid(
            "empty command (write start, stop, restart, ...)",
        ));
    }
    Ok(words)
}

fn unknown_verb(word: &str, accepted: &[&str]) -> Error {
    Error::invalid(format!(
        "unknown command {word:?} (accepted: {})",
        accepted.join(", ")
    ))
}

/// Parse a write to a service's `ctl`; `resource_verbs` are the words of
/// the verbs kinds add to their resources' `ctl` (refused here with
/// EOPNOTSUPP rather than as unknown).
pub fn parse_service_command(data: &[u8], resource_verbs: &[&str]) -> Result<ServiceCommand> {
    let words = words(data)?;
    let accepted: Vec<&str> = SERVICE_VERBS.iter().map(|v| v.as_str()).collect();
    let verb = match Verb::parse(&words[0]) {
        Some(v) if v.is_placement() => return placement_command(v, &words[1..]),
        Some(v) if SERVICE_VERBS.contains(&v) => v,
        _ if resource_verbs.contains(&words[0].as_str()) => {
            return Err(Error::unsupported(format!(
                "{} applies to a resource's ctl, not the service's (e.g. container#1/ctl)",
                words[0]
            )))
        }
        _ => return Err(unknown_verb(&words[0], &accepted)),
    };
    let mut rids = Vec::new();
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        let value = if let Some(value) = word.strip_prefix("--rid=") {
            value.to_string()
        } else if word == "--rid" {
            // `--rid --rid x` is a missing value, not a rid named `--rid`.
            rest.next()
                .filter(|value| !value.starts_with('-'))
                .cloned()
                .ok_or_else(|| Error::invalid("--rid needs a value, like --rid container#1"))?
        } else {
            return Err(Error::invalid(format!(
                "unexpected argument {word:?} after {} (only --rid RID[,RID...] is accepted)",
                verb.as_str()
            )));
        };
        if value.trim().is_empty() {
            return Err(Error::invalid(
                "--rid needs a value, like --rid container#1",
            ));
        }
        for rid in value.split(',').map(str::trim) {
            if rid.is_empty() {
                return Err(Error::invalid(format!(
                    "--rid {value}: an empty rid between commas"
                )));
            }
            if rids.iter().any(|r| r == rid) {
                return Err(Error::invalid(format!("--rid: {rid} is given twice")));
            }
            rids.push(rid.to_string());
        }
    }
    Ok(ServiceCommand {
        verb,
        rids,
        node: None,
    })
}

/// `switch NODE`, `takeover`, `giveback`: no `--rid` (a service moves
/// whole).
fn placement_command(verb: Verb, args: &[String]) -> Result<ServiceCommand> {
    let node = match (verb, args) {
        (Verb::Switch, [node]) if !node.starts_with('-') && !node.is_empty() => Some(node.clone()),
        (Verb::Switch, _) => return Err(Error::invalid("switch takes one node name: switch NODE")),
        (_, []) => None,
        (_, _) => {
            return Err(Error::invalid(format!(
                "{} takes no argument (the service moves whole)",
                verb.as_str()
            )))
        }
    };
    Ok(ServiceCommand {
        verb,
        rids: Vec::new(),
        node,
    })
}

/// The verbs a resource's `ctl` takes besides its kind's own: start,
/// stop, restart and clear; only clear for a resource that the service's
/// actions do not start nor stop (a task).
fn common_verbs(outside_actions: bool) -> &'static [&'static str] {
    if outside_actions {
        &["clear"]
    } else {
        &["start", "stop", "restart", "clear"]
    }
}

/// Parse a write to a resource's `ctl`, given the verbs its kind adds,
/// whether the service's actions leave it alone (start and stop are then
/// refused with EOPNOTSUPP) and the words of the verbs every kind adds
/// (another kind's verb is refused with EOPNOTSUPP rather than as unknown).
pub fn parse_resource_command(
    data: &[u8],
    extra: &'static [KindVerb],
    outside_actions: bool,
    resource_verbs: &[&str],
) -> Result<Verb> {
    let words = words(data)?;
    let mut accepted = common_verbs(outside_actions).to_vec();
    accepted.extend(extra.iter().map(|v| v.word));
    if words.len() > 1 {
        return Err(Error::invalid(format!(
            "a resource's ctl takes a single word, got {:?}",
            words.join(" ")
        )));
    }
    if let Some(verb) = extra.iter().find(|v| v.word == words[0]) {
        return Ok(Verb::Kind(verb));
    }
    if resource_verbs.contains(&words[0].as_str()) {
        return Err(Error::unsupported(format!(
            "{} does not apply to this resource (accepted: {})",
            words[0],
            accepted.join(", ")
        )));
    }
    match Verb::parse(&words[0]) {
        Some(v) if accepted.contains(&v.as_str()) => Ok(v),
        Some(v @ (Verb::Start | Verb::Stop | Verb::Restart)) if outside_actions => {
            Err(Error::unsupported(format!(
                "{} does not apply to this resource: it is not started nor stopped, it runs (accepted: {})",
                v.as_str(),
                accepted.join(", ")
            )))
        }
        Some(v) => Err(Error::unsupported(format!(
            "{} does not apply to this resource (accepted: {})",
            v.as_str(),
            accepted.join(", ")
        ))),
        None => Err(unknown_verb(&words[0], &accepted)),
    }
}

/// The text served when reading a resource `ctl`.
pub fn resource_ctl_help(extra: &[KindVerb], outside_actions: bool) -> String {
    let mut help = String::new();
    for verb in common_verbs(outside_actions) {
        help.push_str(verb);
        help.push('\n');
    }
    for verb in extra {
        help.push_str(verb.word);
        help.push('\n');
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind's verb, as a manifest declares it.
    static ROLLBACK: [KindVerb; 1] = [KindVerb {
        word: "rollback",
        doc: "swap back to the previous container",
        outside_lock: false,
    }];
    /// A task's verbs.
    static RUN_KILL: [KindVerb; 2] = [
        KindVerb {
            word: "run",
            doc: "run it now",
            outside_lock: true,
        },
        KindVerb {
            word: "kill",
            doc: "kill its run",
            outside_lock: true,
        },
    ];
    /// The resource verbs of every kind, as the registry lists them.
    const RESOURCE_VERBS: &[&str] = &["rollback"];

    #[test]
    fn one_trailing_newline_is_stripped() {
        assert_eq!(
            parse_service_command(b"start\n", RESOURCE_VERBS)
                .unwrap()
                .verb,
            Verb::Start
        );
        assert_eq!(
            parse_service_command(b"start", RESOURCE_VERBS)
                .unwrap()
                .verb,
            Verb::Start
        );
        assert_eq!(
            parse_service_command(b"stop\r\n", RESOURCE_VERBS)
                .unwrap()
                .verb,
            Verb::Stop
        );
    }

    #[test]
    fn rid_selection_accepts_lists_and_both_spellings() {
        let c = parse_service_command(b"start --rid container#1,container#3\n", RESOURCE_VERBS)
            .unwrap();
        assert_eq!(c.rids, ["container#1", "container#3"]);
        let c = parse_service_command(b"stop --rid=fs#1 --rid fs#2", RESOURCE_VERBS).unwrap();
        assert_eq!(c.rids, ["fs#1", "fs#2"]);
    }

    #[test]
    fn empty_or_repeated_rids_are_einval() {
        for bad in [
            "start --rid container#1,,container#3",
            "start --rid ,",
            "start --rid container#1,",
            "start --rid=",
            "start --rid container#1 --rid container#1",
            "stop --rid fs#1,fs#1",
            "start --rid --rid fs#1",
        ] {
            let e = parse_service_command(bad.as_bytes(), RESOURCE_VERBS).unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL, "{bad}: {e}");
        }
        let e = parse_service_command(b"start --rid a,,b", RESOURCE_VERBS).unwrap_err();
        assert_eq!(e.message(), "--rid a,,b: an empty rid between commas");
        let e = parse_service_command(b"stop --rid fs#1,fs#1", RESOURCE_VERBS).unwrap_err();
        assert_eq!(e.message(), "--rid: fs#1 is given twice");
        // Spaces around a rid are not an empty one.
        let c = parse_service_command(b"start --rid 'fs#1, fs#2'", RESOURCE_VERBS).unwrap();
        assert_eq!(c.rids, ["fs#1", "fs#2"]);
    }

    #[test]
    fn placement_verbs_take_a_node_or_nothing() {
        let c = parse_service_command(b"switch node2\n", RESOURCE_VERBS).unwrap();
        assert_eq!((c.verb, c.node.as_deref()), (Verb::Switch, Some("node2")));
        assert!(c.rids.is_empty());
        for (text, verb) in [("takeover", Verb::Takeover), ("giveback", Verb::Giveback)] {
            let c = parse_service_command(text.as_bytes(), RESOURCE_VERBS).unwrap();
            assert_eq!((c.verb, c.node), (verb, None));
        }
        for bad in [
            "switch",
            "switch a b",
            "switch --rid fs#1",
            "takeover node2",
            "giveback --rid fs#1",
        ] {
            let e = parse_service_command(bad.as_bytes(), RESOURCE_VERBS).unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL, "{bad}: {e}");
        }
        assert_eq!(
            parse_service_command(b"start", RESOURCE_VERBS)
                .unwrap()
                .node,
            None
        );
        // Not a resource's verb.
        let e = parse_resource_command(b"takeover", &[], false, RESOURCE_VERBS).unwrap_err();
        assert_eq!(e.errno(), libc::EOPNOTSUPP);
    }

    #[test]
    fn unknown_commands_are_einval_and_list_what_is_accepted() {
        let e = parse_service_command(b"launch\n", RESOURCE_VERBS).unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert!(e.message().contains("startcontainer"), "{e}");
        assert_eq!(
            parse_service_command(b"\n", RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
        assert_eq!(
            parse_service_command(b"start --force", RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
        assert_eq!(
            parse_service_command(b"start --rid", RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
        assert_eq!(
            parse_service_command(&[0xff, 0xfe], RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
    }

    #[test]
    fn resource_verbs_on_the_service_are_eopnotsupp() {
        assert_eq!(
            parse_service_command(b"rollback", RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EOPNOTSUPP
        );
    }

    #[test]
    fn resource_commands_depend_on_the_driver() {
        assert_eq!(
            parse_resource_command(b"rollback\n", &ROLLBACK, false, RESOURCE_VERBS).unwrap(),
            Verb::Kind(&ROLLBACK[0])
        );
        assert_eq!(
            parse_resource_command(b"rollback\n", &[], false, RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EOPNOTSUPP
        );
        assert_eq!(
            parse_resource_command(b"startcontainer", &[], false, RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EOPNOTSUPP
        );
        assert_eq!(
            parse_resource_command(b"explode", &[], false, RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
        assert_eq!(
            parse_resource_command(b"start now", &[], false, RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
    }

    #[test]
    fn a_resource_outside_the_actions_refuses_start_and_stop() {
        const WORDS: &[&str] = &["kill", "rollback", "run"];
        for word in ["start", "stop\n", "restart", "rollback"] {
            let e = parse_resource_command(word.as_bytes(), &RUN_KILL, true, WORDS).unwrap_err();
            assert_eq!(e.errno(), libc::EOPNOTSUPP, "{word}: {e}");
            assert!(e.message().contains("accepted: clear, run, kill"), "{e}");
        }
        assert_eq!(
            parse_resource_command(b"run\n", &RUN_KILL, true, WORDS).unwrap(),
            Verb::Kind(&RUN_KILL[0])
        );
        assert_eq!(
            parse_resource_command(b"clear", &RUN_KILL, true, WORDS).unwrap(),
            Verb::Clear
        );
        assert_eq!(
            parse_resource_command(b"frobnicate", &RUN_KILL, true, WORDS)
                .unwrap_err()
                .errno(),
            libc::EINVAL
        );
    }

    #[test]
    fn short_byte_strings_are_refused_with_einval() {
        // Every byte string up to length 3 from an alphabet of interesting
        // bytes is no command: each is refused with EINVAL, none panics.
        let alphabet = [b's', b'\n', b'"', b'\'', b'\\', b' ', 0xff, b'-'];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let bytes = [a, b, c];
                    for result in [
                        parse_service_command(&bytes, RESOURCE_VERBS).map(drop),
                        parse_resource_command(&bytes, &ROLLBACK, false, RESOURCE_VERBS).map(drop),
                    ] {
                        assert_eq!(
                            result.map_err(|e| e.errno()),
                            Err(libc::EINVAL),
                            "{bytes:?}"
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Against a model of the grammar: a known verb, then --rid lists
        /// of distinct non-empty rids, is that command; anything else is
        /// refused with an errno, never a panic.
        #[test]
        fn the_service_parser_agrees_with_the_model(
            verb in proptest::sample::select(&["start", "stop", "restart", "clear", "rollback", "START", ""][..]),
            lists in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(&["fs#1", "container#1", "ip#1", ""][..]), 1..3),
                0..3,
            ),
            equals in proptest::prelude::any::<bool>(),
            newline in proptest::prelude::any::<bool>(),
        ) {
            let mut text = verb.to_string();
            for list in &lists {
                let joined = list.join(",");
                text.push_str(&if equals { format!(" --rid={joined}") } else { format!(" --rid {joined}") });
            }
            if newline {
                text.push('\n');
            }
            let all: Vec<&str> = lists.iter().flatten().copied().collect();
            let distinct = all.iter().enumerate().all(|(i, r)| !all[..i].contains(r));
            let rids_ok = all.iter().all(|r| !r.is_empty()) && distinct;
            let known = ["start", "stop", "restart", "clear"].contains(&verb);
            match parse_service_command(text.as_bytes(), RESOURCE_VERBS) {
                Ok(c) => {
                    proptest::prop_assert!(known && rids_ok, "{text:?} accepted");
                    proptest::prop_assert_eq!(c.verb.as_str(), verb);
                    proptest::prop_assert_eq!(c.rids, all);
                }
                Err(e) => {
                    proptest::prop_assert!(!(known && rids_ok), "{text:?}: {e}");
                    let expected = if verb == "rollback" { libc::EOPNOTSUPP } else { libc::EINVAL };
                    proptest::prop_assert_eq!(e.errno(), expected, "{:?}: {}", text, e);
                }
            }
        }
    }

    #[test]
    fn help_texts_list_the_verbs() {
        assert!(SERVICE_CTL_HELP.starts_with("start [--rid"));
        assert_eq!(
            resource_ctl_help(&ROLLBACK, false),
            "start\nstop\nrestart\nclear\nrollback\n"
        );
        assert_eq!(resource_ctl_help(&RUN_KILL, true), "clear\nrun\nkill\n");
        assert_eq!(
            parse_resource_command(b"clear\n", &[], false, RESOURCE_VERBS).unwrap(),
            Verb::Clear
        );
        assert_eq!(
            parse_resource_command(b"freeze", &[], false, RESOURCE_VERBS)
                .unwrap_err()
                .errno(),
            libc::EOPNOTSUPP
        );
        assert_eq!(
            parse_service_command(b"thaw", RESOURCE_VERBS).unwrap().verb,
            Verb::Thaw
        );
    }
}
