//! The `.env` and `env_file` format as Compose reads it (its dotenv
//! parser): `KEY=VALUE` or `KEY: VALUE`, an optional `export ` before the
//! key, `#` comments (inline ones after a space, outside quotes), single
//! quotes literal, double quotes with `\n`, `\t`, `\\`, `\"` escapes, both
//! able to span lines, and `${VAR}` interpolated in unquoted and
//! double-quoted values from the variables above and then `lookup`. A
//! bare `KEY` takes its value from `lookup` (and is left out when unset).
//!
//! Docker's own `--env-file` keeps quotes and reads no interpolation,
//! which is why the converter reads these files itself.

use super::interpolate::interpolate;

/// One variable of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The line it starts at.
    pub line: usize,
}

/// The variables of `text`, in order (a name given again replaces the
/// earlier one, at its place). Err: `(line, why)`.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Var>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars: Vec<Var> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut index = 0;
    while index < lines.len() {
        let line_no = index + 1;
        let raw = lines[index].strip_suffix('\r').unwrap_or(lines[index]);
        index += 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let split = line.find(['=', ':']);
        let (name, rest) = match split {
            Some(at) => (line[..at].trim(), Some(&line[at + 1..])),
            None => (line.trim(), None),
        };
        if name.is_empty() {
            return Err((line_no, "no variable name before =".into()));
        }
        if name.contains(char::is_whitespace) || name.contains(['"', '\'']) {
            return Err((line_no, format!("{name:?} is not a variable name")));
        }
        let known = |wanted: &str| -> Option<String> {
            vars.iter()
                .rev()
                .find(|v| v.name == wanted)
                .map(|v| v.value.clone())
                .or_else(|| lookup(wanted))
        };
        let value = match rest {
            None => match lookup(name) {
                Some(value) => value,
                None => continue,
            },
            Some(rest) => {
                let rest = rest.trim_start();
                match rest.chars().next() {
                    Some(quote @ ('\'' | '"')) => {
                        let (content, consumed) = quoted(&rest[1..], quote, &lines[index..])
                            .ok_or((line_no, format!("no closing {quote} for this value")))?;
                        index += consumed;
                        if quote == '\'' {
                            content
                        } else {
                            let unescaped = unescape(&content);
                            interpolate(&unescaped, &known)
                                .map_err(|e| (line_no, e))?
                                .text
                        }
                    }
                    _ => {
                        let value = strip_inline_comment(rest).trim_end();
                        interpolate(value, &known).map_err(|e| (line_no, e))?.text
                    }
                }
            }
        };
        let var = Var {
            name: name.to_string(),
            value,
            line: line_no,
        };
        match vars.iter_mut().find(|v| v.name == var.name) {
            Some(known) => *known = var,
            None => vars.push(var),
        }
    }
    Ok(vars)
}

/// The content of a quoted value starting after its opening quote, maybe
/// on the `following` lines, and how many of those it used.
fn quoted(first: &str, quote: char, following: &[&str]) -> Option<(String, usize)> {
    let mut content = String::new();
    let mut piece = first;
    let mut used = 0;
    loop {
        if let Some(end) = closing_quote(piece, quote) {
            content.push_str(&piece[..end]);
            return Some((content, used));
        }
        content.push_str(piece);
        content.push('\n');
        let next = following.get(used)?;
        piece = next.strip_suffix('\r').unwrap_or(next);
        used += 1;
    }
}

/// Where the closing quote is: a double quote after a backslash is not one.
fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            '\\' if quote == '"' && !escaped => escaped = true,
            c if c == quote && !escaped => return Some(at),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            // `\$` keeps the dollar literal through interpolation.
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// An unquoted value up to ` #` (a comment after a space).
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (at, b) in bytes.iter().enumerate() {
        if *b == b'#' && at > 0 && bytes[at - 1].is_ascii_whitespace() {
            return &value[..at];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        let lookup = |name: &str| (name == "HOME").then(|| "/root".to_string());
        parse(text, &lookup)
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_lines_compose_reads() {
        let text = "# comment\n\nexport TAG=1.2\nPLAIN = spaced value  # note\n\
                    SINGLE='a $TAG \\n b'\nDOUBLE=\"x\\ty ${TAG}\"\nCOLON: yes\n\
                    HASH=a#b\nHOME\nUNSET\nEMPTY=\nMULTI=\"one\ntwo\"\nLAST=${HOME}/x\n";
        assert_eq!(
            vars(text),
            pairs(&[
                ("TAG", "1.2"),
                ("PLAIN", "spaced value"),
                ("SINGLE", "a $TAG \\n b"),
                ("DOUBLE", "x\ty 1.2"),
                ("COLON", "yes"),
                ("HASH", "a#b"),
                ("HOME", "/root"),
                ("EMPTY", ""),
                ("MULTI", "one\ntwo"),
                ("LAST", "/root/x"),
            ])
        );
    }

    #[test]
    fn a_name_given_again_replaces_the_first() {
        assert_eq!(vars("A=1\nB=2\nA=3\n"), pairs(&[("A", "3"), ("B", "2")]));
    }

    #[test]
    fn errors_name_their_line() {
        let lookup = |_: &str| None;
        assert_eq!(parse("A=1\n=2\n", &lookup).unwrap_err().0, 2);
        assert_eq!(parse("A=1\nB='open\n", &lookup).unwrap_err().0, 2);
        assert_eq!(parse("BAD NAME=1\n", &lookup).unwrap_err().0, 1);
    }
}
