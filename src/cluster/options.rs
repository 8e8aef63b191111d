//! How this node reaches etcd: `--cluster`'s endpoints, and the TLS and
//! authentication options named after etcdctl's (`--etcd-cacert`,
//! `--etcd-cert`, `--etcd-key`, `--etcd-user`, `--etcd-password-file`).
//! Two steps, for the two exit statuses: [`EtcdOptions::parse`] checks
//! what the command line says (a usage error otherwise: exit 2), and
//! [`EtcdOptions::load`] reads the files they name (a failure: exit 1),
//! the password file refused when anyone but its owner may read it.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The options as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdArgs {
    /// `--cluster`: comma-separated endpoints.
    pub endpoints: String,
    /// `--etcd-cacert`.
    pub cacert: Option<PathBuf>,
    /// `--etcd-cert`.
    pub cert: Option<PathBuf>,
    /// `--etcd-key`.
    pub key: Option<PathBuf>,
    /// `--etcd-user`.
    pub user: Option<String>,
    /// `--etcd-password-file`.
    pub password_file: Option<PathBuf>,
}

/// A password: never shown by `Debug`, so never in a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password itself, for the one place that sends it.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// The PEM files of TLS, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signed etcd's server certificates (None: the system's
    /// trust store, as etcdctl).
    pub cacert: Option<Vec<u8>>,
    /// This node's client certificate and key, for etcd's
    /// `--client-cert-auth`.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// Everything needed to reach etcd, checked and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// The endpoints, as URLs (`http://` or `https://`).
    pub endpoints: Vec<String>,
    /// TLS, when the endpoints are `https://`.
    pub tls: Option<TlsFiles>,
    /// etcd's user and its password, when etcd has authentication on.
    pub user: Option<(String, Password)>,
}

/// What the command line says, checked but not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedArgs {
    endpoints: Vec<String>,
    https: bool,
    args: EtcdArgs,
}

impl EtcdArgs {
    /// Check the options together: EINVAL (a usage error) for endpoints
    /// that are not `[http[s]://]HOST:PORT`, `http://` mixed with
    /// `https://`, TLS files with plain `http://` endpoints, a certificate
    /// without its key (or a key without its certificate), a user without
    /// a password file (or the reverse), and a `user:password` in
    /// `--etcd-user`.
    pub fn check(&self) -> Result<CheckedArgs> {
        let endpoints = parse_endpoints(&self.endpoints)?;
        let https = endpoints.iter().any(|e| e.starts_with("https://"));
        if https && endpoints.iter().any(|e| e.starts_with("http://")) {
            return Err(Error::invalid(
                "--cluster: http:// and https:// endpoints mixed: the members of one etcd cluster serve clients one way",
            ));
        }
        let tls_files = [
            ("--etcd-cacert", &self.cacert),
            ("--etcd-cert", &self.cert),
            ("--etcd-key", &self.key),
        ];
        if !https {
            if let Some((option, _)) = tls_files.iter().find(|(_, path)| path.is_some()) {
                return Err(Error::invalid(format!(
                    "{option} is for TLS, but the --cluster endpoints are http://: write them https://HOST:PORT"
                )));
            }
        }
        match (&self.cert, &self.key) {
            (Some(_), None) => {
                return Err(Error::invalid(
                    "--etcd-cert needs --etcd-key (the certificate's private key)",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "--etcd-key needs --etcd-cert (the certificate of that key)",
                ))
            }
            _ => {}
        }
        match (&self.user, &self.password_file) {
            (Some(user), _) if user.contains(':') => {
                return Err(Error::invalid(
                    "--etcd-user takes the user name alone: the password goes in --etcd-password-file, never on the command line",
                ))
            }
            (Some(user), _) if user.is_empty() => {
                return Err(Error::invalid("--etcd-user: empty user name"))
            }
            (Some(_), None) => {
                return Err(Error::invalid(
                    "--etcd-user needs --etcd-password-file (a file only its owner may read)",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "--etcd-password-file needs --etcd-user (whose password it holds)",
                ))
            }
            _ => {}
        }
        Ok(CheckedArgs {
            endpoints,
            https,
            args: self.clone(),
        })
    }
}

impl CheckedArgs {
    /// Read the files: the certificates and key, and the password (its
    /// first line). EACCES for a password file that its group or others
    /// may read, EIO for a file that cannot be read, each naming the
    /// option and the file.
    pub fn load(&self) -> Result<EtcdOptions> {
        let read = |option: &str, path: &Path| {
            std::fs::read(path).map_err(|e| {
                Error::backend(format!("{option} {}: cannot read it: {e}", path.display()))
            })
        };
        let tls = if self.https {
            let cacert = match &self.args.cacert {
                Some(path) => Some(read("--etcd-cacert", path)?),
                None => None,
            };
            let identity = match (&self.args.cert, &self.args.key) {
                (Some(cert), Some(key)) => {
                    Some((read("--etcd-cert", cert)?, read("--etcd-key", key)?))
                }
                _ => None,
            };
            Some(TlsFiles { cacert, identity })
        } else {
            None
        };
        let user = match (&self.args.user, &self.args.password_file) {
            (Some(user), Some(file)) => Some((user.clone(), read_password(file)?)),
            _ => None,
        };
        Ok(EtcdOptions {
            endpoints: self.endpoints.clone(),
            tls,
            user,
        })
    }
}

/// Parse `--cluster`'s comma-separated endpoints: `http://HOST:PORT` or
/// `https://HOST:PORT` (`HOST:PORT` alone means http). EINVAL for an
/// empty list or another scheme.
pub fn parse_endpoints(text: &str) -> Result<Vec<String>> {
    let mut endpoints = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let url = if word.contains("://") {
            word.to_string()
        } else {
            format!("http://{word}")
        };
        let Some(authority) = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
        else {
            return Err(Error::invalid(format!(
                "--cluster: {word}: endpoints are http://HOST:PORT or https://HOST:PORT"
            )));
        };
        let authority = authority.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(Error::invalid(format!(
                "--cluster: {word}: an endpoint is a scheme, a host and a port, without a path"
            )));
        }
        endpoints.push(url.trim_end_matches('/').to_string());
    }
    if endpoints.is_empty() {
        return Err(Error::invalid(
            "--cluster needs at least one etcd endpoint (https://HOST:PORT,...)",
        ));
    }
    Ok(endpoints)
}

/// The password in `path`: its first line, without the line end. The
/// file is refused (EACCES) when its group or others may read it, like
/// ssh refuses such a key: a password others can read is no secret.
pub fn read_password(path: &Path) -> Result<Password> {
    let option = "--etcd-password-file";
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::backend(format!("{option} {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "{option} {}: not a regular file",
            path.display()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o044 != 0 {
        return Err(Error::access(format!(
            "{option} {}: mode {mode:04o} lets {} read it: chmod 600 {} (svcfs refuses a password others may read)",
            path.display(),
            if mode & 0o004 != 0 { "everyone" } else { "its group" },
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::backend(format!("{option} {}: cannot read it: {e}", path.display())))?;
    let password = text.lines().next().unwrap_or("");
    if password.is_empty() {
        return Err(Error::invalid(format!(
            "{option} {}: empty: the password is the file's first line",
            path.display()
        )));
    }
    Ok(Password(password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn args(endpoints: &str) -> EtcdArgs {
        EtcdArgs {
            endpoints: endpoints.to_string(),
            ..EtcdArgs::default()
        }
    }

    #[test]
    fn endpoints_are_http_or_https_urls() {
        assert_eq!(
            parse_endpoints("127.0.0.1:23791, http://h:2379/").unwrap(),
            ["http://127.0.0.1:23791", "http://h:2379"]
        );
        assert_eq!(
            parse_endpoints("https://a:2379,https://b:2379").unwrap(),
            ["https://a:2379", "https://b:2379"]
        );
        for bad in ["", " , ", "unix://h:2379", "http://h:2379/v3", "http://"] {
            assert_eq!(
                parse_endpoints(bad).unwrap_err().errno(),
                libc::EINVAL,
                "{bad}"
            );
        }
    }

    #[test]
    fn options_that_do_not_go_together_are_usage_errors() {
        let cases = [
            (
                EtcdArgs {
                    cacert: Some("/ca".into()),
                    ..args("http://a:2379")
                },
                "--etcd-cacert is for TLS",
            ),
            (args("http://a:2379,https://b:2379"), "mixed"),
            (
                EtcdArgs {
                    cert: Some("/c".into()),
                    ..args("https://a:2379")
                },
                "--etcd-cert needs --etcd-key",
            ),
            (
                EtcdArgs {
                    key: Some("/k".into()),
                    ..args("https://a:2379")
                },
                "--etcd-key needs --etcd-cert",
            ),
            (
                EtcdArgs {
                    user: Some("svcfs".into()),
                    ..args("https://a:2379")
                },
                "needs --etcd-password-file",
            ),
            (
                EtcdArgs {
                    password_file: Some("/p".into()),
                    ..args("https://a:2379")
                },
                "needs --etcd-user",
            ),
            (
                EtcdArgs {
                    user: Some("svcfs:secret".into()),
                    password_file: Some("/p".into()),
                    ..args("https://a:2379")
                },
                "never on the command line",
            ),
        ];
        for (args, expected) in cases {
            let e = args.check().unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL, "{e}");
            assert!(e.message().contains(expected), "{e}");
        }
        assert!(args("http://a:2379").check().is_ok());
    }

    #[test]
    fn a_password_file_others_may_read_is_refused_and_the_password_never_shown() {
        let dir = std::env::temp_dir().join(format!("svcfs-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("etcd.password");
        std::fs::write(&file, "s3cret\nignored\n").unwrap();
        for (mode, who) in [
            (0o640, "its group"),
            (0o604, "everyone"),
            (0o644, "everyone"),
        ] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = read_password(&file).unwrap_err();
            assert_eq!(e.errno(), libc::EACCES, "{mode:o}: {e}");
            assert!(e.message().contains(who), "{e}");
            assert!(e.message().contains("chmod 600"), "{e}");
            assert!(!e.message().contains("s3cret"), "{e}");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let password = read_password(&file).unwrap();
        assert_eq!(password.reveal(), "s3cret");
        assert_eq!(format!("{password:?}"), "Password(..)");
        let options = EtcdArgs {
            user: Some("svcfs".into()),
            password_file: Some(file.clone()),
            ..args("http://a:2379")
        }
        .check()
        .unwrap()
        .load()
        .unwrap();
        assert!(!format!("{options:?}").contains("s3cret"));
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(read_password(&file).unwrap_err().errno(), libc::EINVAL);
        let missing = read_password(&dir.join("missing")).unwrap_err();
        assert!(
            missing.message().contains("--etcd-password-file"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_tls_files_name_their_option() {
        let e = EtcdArgs {
            cacert: Some("/nonexistent/ca.pem".into()),
            ..args("https://a:2379")
        }
        .check()
        .unwrap()
        .load()
        .unwrap_err();
        assert!(
            e.message().starts_with("--etcd-cacert /nonexistent/ca.pem"),
            "{e}"
        );
    }
}
