//! A problem found in a service file, located by file, section and keyword.

use std::fmt;
use std::path::PathBuf;

/// How bad a problem is: errors make `svcfs check` fail and resources invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Ignored input; the service still does what the rest of the file says.
    Warning,
    /// A resource or the whole file cannot be used as written.
    Error,
}

/// One located problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The service file.
    pub file: PathBuf,
    /// The section (`DEFAULT`, `fs#2`), when the problem is inside one.
    pub section: Option<String>,
    /// The keyword, when the problem is about one.
    pub keyword: Option<String>,
    /// The line of the file it is about, when the parser knew it; else
    /// [`Problem::located`] finds it from the section and keyword.
    pub line: Option<usize>,
    /// What is wrong and, where possible, what to do.
    pub message: String,
}

impl Problem {
    /// A problem about a whole file.
    pub fn file(severity: Severity, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem {
            severity,
            file: file.into(),
            section: None,
            keyword: None,
            line: None,
            message: message.into(),
        }
    }

    /// `file: [section] keyword: message`, without the severity.
    pub fn location_and_message(&self) -> String {
        let mut out = format!("{}:", self.file.display());
        if let Some(line) = self.line {
            out.push_str(&format!("{line}:"));
        }
        if let Some(section) = &self.section {
            out.push_str(&format!(" [{section}]"));
        }
        if let Some(keyword) = &self.keyword {
            out.push_str(&format!(" {keyword}:"));
        }
        out.push(' ');
        out.push_str(&self.message);
        out
    }

    /// Like its `Display`, with the line of `text` (the file's content) it
    /// is about after the file name, as compilers write it: the keyword's
    /// line in its section, else the section header's. Problems of the
    /// whole file (a parse error names its line itself) have none.
    pub fn with_line(&self, text: &str) -> String {
        self.located(text).to_string()
    }

    /// The same problem with its line, found in `text` (the file's
    /// content) when the parser did not say.
    pub fn located(&self, text: &str) -> Problem {
        let mut located = self.clone();
        located.line = self.line.or_else(|| self.line_in(text));
        located
    }

    fn line_in(&self, text: &str) -> Option<usize> {
        let section = self.section.as_deref();
        // Keywords outside any section come before the first header.
        let mut header = section.is_none().then_some(0);
        section.or(self.keyword.as_deref())?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some(name) = super::text::section_header(line) {
                if header.is_some() {
                    break;
                }
                if section.is_some_and(|s| name.eq_ignore_ascii_case(s)) {
                    header = Some(index + 1);
                }
                continue;
            }
            let (Some(_), Some(keyword)) = (header, self.keyword.as_deref()) else {
                continue;
            };
            let key = line.split(['=', ':']).next().unwrap_or("").trim();
            if key.eq_ignore_ascii_case(keyword) {
                return Some(index + 1);
            }
        }
        header.filter(|&line| line > 0)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{word}: {}", self.location_and_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_section_and_keyword() {
        let p = Problem {
            severity: Severity::Warning,
            file: "/etc/svcfs/app.env".into(),
            section: Some("fs#2".into()),
            keyword: Some("mnt_opts".into()),
            line: None,
            message: "unknown keyword, ignored (did you mean mnt_opt?)".into(),
        };
        assert_eq!(
            p.to_string(),
            "warning: /etc/svcfs/app.env: [fs#2] mnt_opts: unknown keyword, ignored (did you mean mnt_opt?)"
        );
    }

    #[test]
    fn with_line_finds_the_keyword_in_its_section_else_the_header() {
        let text = "[DEFAULT]\nmnt_opts = x\n\n[fs#2]\ndev = /d\n MNT_OPTS= ro\n[fs#3]\n";
        let mut p = Problem {
            severity: Severity::Error,
            file: "/etc/svcfs/app.env".into(),
            section: Some("fs#2".into()),
            keyword: Some("mnt_opts".into()),
            line: None,
            message: "bad".into(),
        };
        assert_eq!(
            p.with_line(text),
            "error: /etc/svcfs/app.env:6: [fs#2] mnt_opts: bad"
        );
        p.keyword = Some("absent".into());
        assert_eq!(
            p.with_line(text),
            "error: /etc/svcfs/app.env:4: [fs#2] absent: bad"
        );
        p.section = None;
        assert_eq!(p.with_line(text), "error: /etc/svcfs/app.env: absent: bad");
        // Outside any section: before the first header.
        p.keyword = Some("nodes".into());
        assert_eq!(
            p.with_line("\n nodes = a\n[DEFAULT]\nnodes = b\n"),
            "error: /etc/svcfs/app.env:2: nodes: bad"
        );
        p.keyword = Some("absent".into());
        // The parser's own line wins.
        p.line = Some(2);
        assert_eq!(
            p.with_line(text),
            "error: /etc/svcfs/app.env:2: absent: bad"
        );
    }
}
