//! Compose's variable interpolation of values: `$VAR`, `${VAR}`,
//! `${VAR:-default}` / `${VAR-default}` (unset or empty / unset),
//! `${VAR:?error}` / `${VAR?error}`, `${VAR:+other}` / `${VAR+other}`, and
//! `$$` for a literal `$`; defaults may hold interpolations themselves. A
//! `$` that starts none of these stays as written, as it does for Compose;
//! an unset variable without a default reads as empty, and is reported.

/// What interpolating one value gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    /// The value.
    pub text: String,
    /// Variables it read that are not set (read as empty), in order.
    pub unset: Vec<String>,
}

/// Interpolate `text`, reading variables through `lookup`. Err: a
/// `${VAR:?message}` whose variable is missing (the message), or a `${`
/// that is not a valid substitution.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, String> {
    let mut out = Interpolated {
        text: String::with_capacity(text.len()),
        unset: Vec::new(),
    };
    expand(text, lookup, &mut out)?;
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Interpolated,
) -> Result<(), String> {
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let mut chars = after.chars();
        match chars.next() {
            Some('$') => {
                out.text.push('$');
                rest = &after[1..];
            }
            Some('{') => {
                let body_and_rest = &after[1..];
                let end = closing_brace(body_and_rest).ok_or_else(|| {
                    format!(
                        "invalid interpolation {:?}: no closing }}",
                        shorten(&rest[at..])
                    )
                })?;
                braced(&body_and_rest[..end], lookup, out)?;
                rest = &body_and_rest[end + 1..];
            }
            Some(c) if is_name_start(c) => {
                let len = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                let name = &after[..len];
                push_value(name, lookup, out);
                rest = &after[len..];
            }
            // `$1`, `$ `, a trailing `$`: not a substitution for Compose.
            _ => {
                out.text.push('$');
                rest = after;
            }
        }
    }
    out.text.push_str(rest);
    Ok(())
}

/// The index of the `}` closing a `${`, counting nested `${…}`.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn push_value(name: &str, lookup: &dyn Fn(&str) -> Option<String>, out: &mut Interpolated) {
    match lookup(name) {
        Some(value) => out.text.push_str(&value),
        None => {
            if !out.unset.iter().any(|u| u == name) {
                out.unset.push(name.to_string());
            }
        }
    }
}

fn braced(
    body: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Interpolated,
) -> Result<(), String> {
    let invalid = || format!("invalid interpolation \"${{{body}}}\"");
    let mut chars = body.chars();
    if !chars.next().is_some_and(is_name_start) {
        return Err(invalid());
    }
    let len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let (name, modifier) = body.split_at(len);
    if modifier.is_empty() {
        push_value(name, lookup, out);
        return Ok(());
    }
    let (empty_counts, op, operand) = match modifier.strip_prefix(':') {
        Some(rest) => (true, rest.chars().next(), rest.get(1..).unwrap_or("")),
        None => (
            false,
            modifier.chars().next(),
            modifier.get(1..).unwrap_or(""),
        ),
    };
    let value = lookup(name);
    let present = match &value {
        Some(v) => !(empty_counts && v.is_empty()),
        None => false,
    };
    match op {
        Some('-') if present => out.text.push_str(value.as_deref().unwrap_or("")),
        Some('-') => expand(operand, lookup, out)?,
        Some('+') if present => expand(operand, lookup, out)?,
        Some('+') => {}
        Some('?') if present => out.text.push_str(value.as_deref().unwrap_or("")),
        Some('?') => {
            let mut message = Interpolated {
                text: String::new(),
                unset: Vec::new(),
            };
            expand(operand, lookup, &mut message)?;
            let why = if message.text.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!(
                    "required variable {name} is missing a value: {}",
                    message.text
                )
            };
            return Err(why);
        }
        _ => return Err(invalid()),
    }
    Ok(())
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn text(input: &str) -> String {
        let lookup = env(&[("TAG", "1.2"), ("EMPTY", ""), ("PORT", "8080")]);
        interpolate(input, &lookup).unwrap().text
    }

    #[test]
    fn the_forms_compose_knows() {
        assert_eq!(text("app:${TAG}"), "app:1.2");
        assert_eq!(text("$PORT:80"), "8080:80");
        assert_eq!(text("${MISSING:-x}"), "x");
        assert_eq!(text("${EMPTY:-x}"), "x");
        assert_eq!(text("${EMPTY-x}"), "");
        assert_eq!(text("${MISSING-x}"), "x");
        assert_eq!(text("${TAG:+set}"), "set");
        assert_eq!(text("${EMPTY:+set}"), "");
        assert_eq!(text("${EMPTY+set}"), "set");
        assert_eq!(text("${MISSING:-${PORT:-1}}"), "8080");
        assert_eq!(text("cost $$5 and $$TAG"), "cost $5 and $TAG");
        assert_eq!(text("$1 and $ and $"), "$1 and $ and $");
    }

    #[test]
    fn unset_variables_read_empty_and_are_named() {
        let lookup = env(&[]);
        let got = interpolate("a${X}b$Y${X}", &lookup).unwrap();
        assert_eq!(got.text, "ab");
        assert_eq!(got.unset, ["X", "Y"]);
    }

    #[test]
    fn required_variables_and_bad_templates_are_errors() {
        let lookup = env(&[("EMPTY", "")]);
        assert_eq!(
            interpolate("${DB_PASSWORD:?set it in .env}", &lookup).unwrap_err(),
            "required variable DB_PASSWORD is missing a value: set it in .env"
        );
        assert!(interpolate("${EMPTY?x}", &lookup).is_ok());
        assert!(interpolate("${EMPTY:?x}", &lookup).is_err());
        assert!(interpolate("${1}", &lookup)
            .unwrap_err()
            .contains("invalid"));
        assert!(interpolate("${A", &lookup).unwrap_err().contains("closing"));
        assert!(interpolate("${A*b}", &lookup).is_err());
    }
}
