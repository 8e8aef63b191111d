//! A Compose file's YAML as a tree whose every node knows its line, read
//! from saphyr-parser's events: the converter's messages say
//! `file:LINE: key: why`, which a deserializer into typed structs cannot.
//! Anchors and aliases are expanded (an alias is a copy of its anchor's
//! node, lines included: where the text is written), and `<<` merge keys
//! are applied as Compose applies them (YAML 1.1's merge, which Compose
//! files use for their `x-*` fragments): keys written in the mapping win,
//! then the merged mappings in order. A key given twice in one mapping is
//! an error, as it is for Compose.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// One node and the line it starts at (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where it is written.
    pub line: usize,
    /// What it holds.
    pub value: Value,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing at all (`key:`).
    Null,
    /// A scalar as written (quoted or not): Compose reads most values as
    /// text, and the converter types what it needs.
    Scalar {
        /// The text, quotes and block indicators resolved.
        text: String,
        /// Written without quotes nor block indicator (`8080`, `true`).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written (merged keys after the own ones).
    Map(Vec<Entry>),
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key (Compose's keys are text).
    pub key: String,
    /// The line of the key.
    pub line: usize,
    /// The value.
    pub value: Node,
}

/// Why a file could not be read as YAML, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where (1-based); 0 for the whole file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Nodes an expansion of aliases may make at most: a file of a megabyte
/// has far fewer, and a "billion laughs" file stops here.
const MAX_NODES: usize = 1_000_000;

/// How deep mappings and sequences may nest.
const MAX_DEPTH: usize = 200;

impl Node {
    /// The text of a scalar (not of a null).
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `key`, in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// Whether it is a null.
    pub fn is_null(&self) -> bool {
        self.value == Value::Null
    }

    /// What it is, for messages: `a mapping`, `a list`, `text`.
    pub fn shape(&self) -> &'static str {
        match &self.value {
            Value::Null => "empty",
            Value::Scalar { .. } => "a single value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parse `text`, which must hold one YAML document (an empty file is a
/// null node).
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: std::collections::HashMap::new(),
        made: 0,
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: std::collections::HashMap<usize, Node>,
    made: usize,
}

fn scan_error(e: &ScanError) -> YamlError {
    YamlError {
        line: e.marker().line(),
        message: e.info().to_string(),
    }
}

fn line_of(span: &Span) -> usize {
    span.start.line()
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(scan_error(&e)),
            None => Err(YamlError {
                line: 0,
                message: "unexpected end of the YAML stream".into(),
            }),
        }
    }

    fn document(&mut self) -> Result<Node, YamlError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) if root.is_some() => {
                    return Err(YamlError {
                        line: line_of(&span),
                        message: "a second YAML document (---): a Compose file holds one".into(),
                    });
                }
                Event::DocumentStart(_) => {
                    let (event, span) = self.next()?;
                    root = Some(self.node(event, span, 0)?);
                }
                other => {
                    return Err(YamlError {
                        line: line_of(&span),
                        message: format!("unexpected YAML event {other:?}"),
                    })
                }
            }
        }
        Ok(root.unwrap_or(Node {
            line: 1,
            value: Value::Null,
        }))
    }

    fn count(&mut self, line: usize, nodes: usize) -> Result<(), YamlError> {
        self.made += nodes;
        if self.made > MAX_NODES {
            return Err(YamlError {
                line,
                message: format!(
                    "aliases expand to more than {MAX_NODES} nodes: not a Compose file"
                ),
            });
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, YamlError> {
        let line = line_of(&span);
        if depth > MAX_DEPTH {
            return Err(YamlError {
                line,
                message: format!("nested more than {MAX_DEPTH} levels deep"),
            });
        }
        self.count(line, 1)?;
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == ScalarStyle::Plain;
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                (Node { line, value }, anchor)
            }
            Event::Alias(id) => {
                let found = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    line,
                    message: "an alias to an unknown anchor".into(),
                })?;
                let size = count_nodes(&found);
                self.count(line, size)?;
                return Ok(found);
            }
            Event::SequenceStart(anchor, _tag) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span, depth + 1)?);
                }
                (
                    Node {
                        line,
                        value: Value::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _tag) => (self.mapping(line, depth)?, anchor),
            other => {
                return Err(YamlError {
                    line,
                    message: format!("unexpected YAML event {other:?}"),
                })
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping(&mut self, line: usize, depth: usize) -> Result<Node, YamlError> {
        let mut own: Vec<Entry> = Vec::new();
        let mut merged: Vec<Entry> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let key_line = line_of(&span);
            let merge_key =
                matches!(&event, Event::Scalar(text, ScalarStyle::Plain, _, _) if text == "<<");
            let key = self.node(event, span, depth + 1)?;
            let (event, span) = self.next()?;
            let value = self.node(event, span, depth + 1)?;
            if merge_key {
                for source in merge_sources(&value)? {
                    for entry in source {
                        if !merged.iter().any(|m| m.key == entry.key) {
                            merged.push(entry.clone());
                        }
                    }
                }
                continue;
            }
            let key = match &key.value {
                Value::Scalar { text, .. } => text.clone(),
                // `null:` and `~:` are text keys to Compose as well.
                Value::Null => "null".to_string(),
                _ => {
                    return Err(YamlError {
                        line: key_line,
                        message: format!("a key must be text, not {}", key.shape()),
                    })
                }
            };
            if let Some(first) = own.iter().find(|e| e.key == key) {
                return Err(YamlError {
                    line: key_line,
                    message: format!("key {key:?} is already given at line {}", first.line),
                });
            }
            own.push(Entry {
                key,
                line: key_line,
                value,
            });
        }
        for entry in merged {
            if !own.iter().any(|e| e.key == entry.key) {
                own.push(entry);
            }
        }
        Ok(Node {
            line,
            value: Value::Map(own),
        })
    }
}

/// The mappings a `<<` merges: one mapping, or a list of them.
fn merge_sources(value: &Node) -> Result<Vec<&[Entry]>, YamlError> {
    let not_a_map = |node: &Node| YamlError {
        line: node.line,
        message: format!(
            "<< merges a mapping or a list of mappings, not {}",
            node.shape()
        ),
    };
    match &value.value {
        Value::Map(entries) => Ok(vec![entries.as_slice()]),
        Value::Seq(items) => items
            .iter()
            .map(|item| item.entries().ok_or_else(|| not_a_map(item)))
            .collect(),
        _ => Err(not_a_map(value)),
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|e| 1 + count_nodes(&e.value)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at<'a>(node: &'a Node, path: &[&str]) -> &'a str {
        let mut node = node;
        for key in path {
            node = node.get(key).unwrap_or_else(|| panic!("no {key}"));
        }
        node.text().unwrap()
    }

    #[test]
    fn every_node_knows_its_line() {
        let doc =
            parse("services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n").unwrap();
        let web = doc.get("services").unwrap().get("web").unwrap();
        let entries = web.entries().unwrap();
        assert_eq!((entries[0].key.as_str(), entries[0].line), ("image", 3));
        assert_eq!((entries[1].key.as_str(), entries[1].line), ("ports", 4));
        let port = &web.get("ports").unwrap().items().unwrap()[0];
        assert_eq!(port.line, 5);
        assert_eq!(
            port.value,
            Value::Scalar {
                text: "80:80".into(),
                plain: false
            }
        );
    }

    #[test]
    fn anchors_and_merges_read_as_compose_reads_them() {
        let doc = parse(
            "x-base: &base\n  image: busybox\n  restart: always\n\
             x-env: &env\n  environment: {A: '1'}\n  restart: 'no'\n\
             services:\n  a:\n    <<: [*base, *env]\n    restart: on-failure\n  b: *base\n",
        )
        .unwrap();
        let a = doc.get("services").unwrap().get("a").unwrap();
        let keys: Vec<&str> = a
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(keys, ["restart", "image", "environment"]);
        assert_eq!(text_at(a, &["restart"]), "on-failure");
        // A merged key keeps the line it is written at.
        assert_eq!(a.entries().unwrap()[1].line, 2);
        assert_eq!(text_at(&doc, &["services", "b", "restart"]), "always");
    }

    #[test]
    fn nulls_and_plain_scalars_are_told_apart() {
        let doc = parse("a:\nb: ~\nc: 'null'\nd: 8080\ne: \"8080\"\n").unwrap();
        assert!(doc.get("a").unwrap().is_null());
        assert!(doc.get("b").unwrap().is_null());
        assert_eq!(text_at(&doc, &["c"]), "null");
        assert_eq!(
            doc.get("d").unwrap().value,
            Value::Scalar {
                text: "8080".into(),
                plain: true
            }
        );
        assert!(matches!(
            doc.get("e").unwrap().value,
            Value::Scalar { plain: false, .. }
        ));
    }

    #[test]
    fn a_key_given_twice_is_an_error_at_its_second_line() {
        let e = parse("services:\n  a:\n    image: x\n    image: y\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("already given at line 3"), "{e:?}");
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let e = parse("services:\n  a:\n    image: [x\n  b: {\n").unwrap_err();
        assert!(e.line >= 3, "{e:?}");
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn alias_bombs_stop() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("more than"), "{e:?}");
    }

    #[test]
    fn an_empty_file_is_null() {
        assert!(parse("").unwrap().is_null());
        assert!(parse("# nothing\n").unwrap().is_null());
    }
}
