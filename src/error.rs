//! The one error type of svcfs: a message for the operator plus the errno it
//! becomes when it reaches a `ctl` write. The errno is chosen where the error
//! is made (on purpose), and mapped to FUSE in exactly one place.

use std::fmt;

/// How the daemon begins the reason of an EINVAL that comes from the
/// configuration (a resource whose section is invalid), in `log` and
/// `messages`: the client tells it from bad usage by it (exit 7).
pub const INVALID_CONFIGURATION: &str = "invalid configuration: ";

/// Likewise, for a service file that cannot be used at all.
pub const UNUSABLE_SERVICE_FILE: &str = "the service file cannot be used: ";

/// An error that knows which errno it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    message: String,
}

/// Result alias used across the library.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with an explicit errno.
    pub fn new(errno: i32, message: impl Into<String>) -> Self {
        Error {
            errno,
            message: message.into(),
        }
    }

    /// Bad command, bad argument or invalid configuration (EINVAL).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(libc::EINVAL, message)
    }

    /// The command does not apply to this resource type (EOPNOTSUPP).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(libc::EOPNOTSUPP, message)
    }

    /// Another action holds the service (EBUSY).
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(libc::EBUSY, message)
    }

    /// A bound was hit (ETIMEDOUT).
    pub fn timed_out(message: impl Into<String>) -> Self {
        Self::new(libc::ETIMEDOUT, message)
    }

    /// A backend (docker, LVM, mount, ...) failed (EIO).
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(libc::EIO, message)
    }

    /// This node may not act on the service (EACCES).
    pub fn access(message: impl Into<String>) -> Self {
        Self::new(libc::EACCES, message)
    }

    /// The cluster store has no quorum (or cannot be reached): nothing
    /// that needs its answer may go on (EAGAIN).
    pub fn no_quorum(message: impl Into<String>) -> Self {
        Self::new(libc::EAGAIN, message)
    }

    /// The node named is not alive in the cluster (EHOSTDOWN).
    pub fn host_down(message: impl Into<String>) -> Self {
        Self::new(libc::EHOSTDOWN, message)
    }

    /// No such service, resource or file (ENOENT).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(libc::ENOENT, message)
    }

    /// The errno this error maps to.
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The operator-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with what was being done, keeping the errno.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Error {
            errno: self.errno,
            message: format!("{what}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The conventional short name of an errno, for logs and the CLI.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EINVAL => "EINVAL",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EBUSY => "EBUSY",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EIO => "EIO",
        libc::EACCES => "EACCES",
        libc::ENOENT => "ENOENT",
        libc::EPERM => "EPERM",
        libc::EAGAIN => "EAGAIN",
        libc::EHOSTDOWN => "EHOSTDOWN",
        _ => "errno",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_errno_and_prefixes_message() {
        let e = Error::busy("held by start").context("container#1");
        assert_eq!(e.errno(), libc::EBUSY);
        assert_eq!(e.to_string(), "container#1: held by start");
    }

    #[test]
    fn constructors_pick_their_errno() {
        assert_eq!(Error::invalid("x").errno(), libc::EINVAL);
        assert_eq!(Error::unsupported("x").errno(), libc::EOPNOTSUPP);
        assert_eq!(Error::timed_out("x").errno(), libc::ETIMEDOUT);
        assert_eq!(Error::backend("x").errno(), libc::EIO);
        assert_eq!(Error::access("x").errno(), libc::EACCES);
        assert_eq!(errno_name(libc::EBUSY), "EBUSY");
    }
}
