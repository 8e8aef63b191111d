//! The exit codes of the client commands: what a script can tell apart
//! without reading messages. One table, printed by `svcfs --help` and
//! documented in svcfs(8) (a test keeps the two the same).

/// How a client command ended, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did what it was asked.
    Success,
    /// A backend failed (EIO), or anything not below.
    Failed,
    /// Bad usage: an unknown option or command, a bad rid, a command that
    /// does not apply there (EINVAL, EOPNOTSUPP from the daemon).
    Usage,
    /// svcfs is not mounted there, or it has no such service.
    NotFound,
    /// Another action holds the service (EBUSY), or the cluster store
    /// cannot answer now (EAGAIN): trying again later may work.
    Busy,
    /// A bound was hit (ETIMEDOUT).
    TimedOut,
    /// Refused: not allowed to act (EACCES, EPERM), or not on this node
    /// (EHOSTDOWN).
    Refused,
    /// The service's configuration is invalid (EINVAL, and the daemon
    /// said the file or a selected resource cannot be used).
    InvalidConfig,
}

impl Exit {
    /// Every exit code, in order.
    pub const ALL: [Exit; 8] = [
        Exit::Success,
        Exit::Failed,
        Exit::Usage,
        Exit::NotFound,
        Exit::Busy,
        Exit::TimedOut,
        Exit::Refused,
        Exit::InvalidConfig,
    ];

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::NotFound => 3,
            Exit::Busy => 4,
            Exit::TimedOut => 5,
            Exit::Refused => 6,
            Exit::InvalidConfig => 7,
        }
    }

    /// What the code means, as the table says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failed => "a backend failed (EIO), or any other failure",
            Exit::Usage => {
                "bad usage: unknown command or option, bad rid or argument (EINVAL, EOPNOTSUPP)"
            }
            Exit::NotFound => "svcfs is not mounted, or no such service",
            Exit::Busy => "busy: another action runs on the service (EBUSY, EAGAIN)",
            Exit::TimedOut => "timed out (ETIMEDOUT)",
            Exit::Refused => "refused: not allowed, or not on this node (EACCES, EPERM, EHOSTDOWN)",
            Exit::InvalidConfig => "the service's configuration is invalid",
        }
    }

    /// The exit code of a failed `ctl` write. `action_log` is what the
    /// action added to the service's log: an EINVAL is an invalid
    /// configuration when the daemon said so there, bad usage otherwise
    /// (the errno alone does not tell them apart).
    pub fn of_failed_write(errno: Option<i32>, action_log: &[String]) -> Exit {
        match errno {
            Some(libc::EINVAL) if action_log.iter().any(|l| says_config_is_invalid(l)) => {
                Exit::InvalidConfig
            }
            Some(libc::EINVAL | libc::EOPNOTSUPP) => Exit::Usage,
            Some(libc::ENOENT | libc::ENOTCONN) => Exit::NotFound,
            Some(libc::EBUSY | libc::EAGAIN) => Exit::Busy,
            Some(libc::ETIMEDOUT) => Exit::TimedOut,
            Some(libc::EACCES | libc::EPERM | libc::EHOSTDOWN) => Exit::Refused,
            _ => Exit::Failed,
        }
    }
}

/// The daemon's words for a configuration it cannot act on: a resource
/// whose section is invalid, a service file that does not parse.
const INVALID_CONFIG_PHRASES: [&str; 2] = [
    crate::error::INVALID_CONFIGURATION,
    crate::error::UNUSABLE_SERVICE_FILE,
];

fn says_config_is_invalid(line: &str) -> bool {
    INVALID_CONFIG_PHRASES.iter().any(|p| line.contains(p))
}

/// The table of exit codes, for `--help` (and svcfs(8), EXIT STATUS).
pub fn table() -> String {
    let mut text = String::from("Exit status:\n");
    for exit in Exit::ALL {
        text.push_str(&format!("  {}  {}\n", exit.code(), exit.meaning()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn codes_are_zero_to_seven_in_order() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn errnos_map_to_the_table() {
        for (errno, exit) in [
            (libc::EIO, Exit::Failed),
            (libc::EINVAL, Exit::Usage),
            (libc::EOPNOTSUPP, Exit::Usage),
            (libc::ENOENT, Exit::NotFound),
            (libc::ENOTCONN, Exit::NotFound),
            (libc::EBUSY, Exit::Busy),
            (libc::EAGAIN, Exit::Busy),
            (libc::ETIMEDOUT, Exit::TimedOut),
            (libc::EACCES, Exit::Refused),
            (libc::EPERM, Exit::Refused),
            (libc::EHOSTDOWN, Exit::Refused),
            (libc::ECONNABORTED, Exit::Failed),
        ] {
            assert_eq!(Exit::of_failed_write(Some(errno), &[]), exit, "{errno}");
        }
        assert_eq!(Exit::of_failed_write(None, &[]), Exit::Failed);
    }

    #[test]
    fn einval_is_an_invalid_configuration_when_the_log_says_so() {
        let resource = lines(&[
            "12:00:00 INFO    APP start",
            "12:00:00 ERROR   APP.CONTAINER#1 invalid configuration: [container#1] run_args: unknown option --frobnicate",
        ]);
        assert_eq!(
            Exit::of_failed_write(Some(libc::EINVAL), &resource),
            Exit::InvalidConfig
        );
        let file = lines(&["12:00:00 ERROR   APP start: the service file cannot be used: /etc/svcfs/app.env:3: ..."]);
        assert_eq!(
            Exit::of_failed_write(Some(libc::EINVAL), &file),
            Exit::InvalidConfig
        );
        let bad_rid = lines(&["12:00:00 ERROR   APP start --rid fs#9: no resource fs#9"]);
        assert_eq!(
            Exit::of_failed_write(Some(libc::EINVAL), &bad_rid),
            Exit::Usage
        );
        // Only EINVAL is read that way: a backend failure stays one.
        assert_eq!(
            Exit::of_failed_write(Some(libc::EIO), &resource),
            Exit::Failed
        );
    }

    #[test]
    fn svcfs_8_has_the_same_table() {
        let man = include_str!("../../man/svcfs.8");
        let start = man.find(".SH EXIT STATUS").unwrap();
        let section = &man[start..];
        let section = &section[..section[1..].find("\n.SH ").unwrap() + 1];
        for exit in Exit::ALL {
            let entry = format!(".TP\n.B {}\n{}\n", exit.code(), exit.meaning());
            assert!(section.contains(&entry), "svcfs.8 lacks {entry:?}");
        }
    }

    #[test]
    fn the_table_lists_every_code_once() {
        let table = table();
        for exit in Exit::ALL {
            let line = format!("  {}  {}\n", exit.code(), exit.meaning());
            assert_eq!(table.matches(&line).count(), 1, "{table}");
        }
    }
}
