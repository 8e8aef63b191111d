//! What the cluster tests share: a three-member etcd on 127.0.0.1, plain
//! or as production runs it — TLS for clients and peers (certificates made
//! by `scripts/etcd-certs` with openssl, client certificates checked) and
//! authentication (a `svcfs` user whose role reads and writes
//! `/svcfs/v1/` only; tokens that expire after a second, so that every
//! renewal, read and watch of the test re-authenticates) — and a host of
//! its own for each node: a mount namespace in which the directory the
//! service files name is that node's own, so that every node has the same
//! service file, as on real hosts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{free_ports, is_mounted, run, run_command, wait_until, Daemon, Sandbox};

/// How etcd serves its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// http://, no authentication.
    Plain,
    /// https:// with client certificates, and authentication on.
    TlsAuth,
}

/// The password of etcd's `svcfs` user.
const PASSWORD: &str = "svcfs-test-password";
/// The role svcfs needs: read and write under its prefix.
const PREFIX: &str = "/svcfs/v1/";

/// A three-member etcd cluster on free 127.0.0.1 ports, killed on drop.
pub struct Etcd {
    members: Vec<Child>,
    clients: Vec<u16>,
    security: Security,
    dir: PathBuf,
}

impl Etcd {
    pub fn start(dir: &Path, security: Security) -> Etcd {
        std::fs::create_dir_all(dir).unwrap();
        let ports = free_ports::<6>();
        let (clients, peers) = (ports[..3].to_vec(), ports[3..].to_vec());
        let scheme = match security {
            Security::Plain => "http",
            Security::TlsAuth => "https",
        };
        let certs = dir.join("certs");
        if security == Security::TlsAuth {
            make_certs(&certs);
        }
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("m{i}={scheme}://127.0.0.1:{p}"))
            .collect();
        let members = (0..3)
            .map(|i| {
                // A member of an earlier run's cluster would not join this one.
                let _ = std::fs::remove_dir_all(dir.join(format!("etcd-m{i}")));
                let log = std::fs::File::create(dir.join(format!("etcd-m{i}.log"))).unwrap();
                let mut command = Command::new("etcd");
                command
                    .args(["--name", &format!("m{i}")])
                    .args([
                        "--data-dir",
                        &dir.join(format!("etcd-m{i}")).to_string_lossy(),
                    ])
                    .args([
                        "--listen-client-urls",
                        &format!("{scheme}://127.0.0.1:{}", clients[i]),
                    ])
                    .args([
                        "--advertise-client-urls",
                        &format!("{scheme}://127.0.0.1:{}", clients[i]),
                    ])
                    .args([
                        "--listen-peer-urls",
                        &format!("{scheme}://127.0.0.1:{}", peers[i]),
                    ])
                    .args([
                        "--initial-advertise-peer-urls",
                        &format!("{scheme}://127.0.0.1:{}", peers[i]),
                    ])
                    .args(["--initial-cluster", &initial.join(",")])
                    .args(["--initial-cluster-state", "new"]);
                if security == Security::TlsAuth {
                    let file = |name: &str| certs.join(name).to_string_lossy().into_owned();
                    command
                        .args(["--cert-file", &file("etcd.pem")])
                        .args(["--key-file", &file("etcd.key")])
                        .args(["--trusted-ca-file", &file("ca.pem")])
                        .arg("--client-cert-auth")
                        .args(["--peer-cert-file", &file("etcd.pem")])
                        .args(["--peer-key-file", &file("etcd.key")])
                        .args(["--peer-trusted-ca-file", &file("ca.pem")])
                        .arg("--peer-client-cert-auth")
                        .args(["--auth-token-ttl", "1"]);
                }
                command
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .expect("etcd starts")
            })
            .collect();
        let etcd = Etcd {
            members,
            clients,
            security,
            dir: dir.to_path_buf(),
        };
        assert!(
            wait_until(Duration::from_secs(30), || etcd.healthy()),
            "etcd did not become healthy (logs in {})",
            dir.display()
        );
        if security == Security::TlsAuth {
            etcd.enable_auth();
        }
        etcd
    }

    /// Where the certificates are (TLS only).
    pub fn certs(&self) -> PathBuf {
        self.dir.join("certs")
    }

    /// The file of the `svcfs` user's password (mode 0600).
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("svcfs.password")
    }

    pub fn endpoints(&self) -> String {
        let scheme = match self.security {
            Security::Plain => "http",
            Security::TlsAuth => "https",
        };
        self.clients
            .iter()
            .map(|p| format!("{scheme}://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The options of `svcfs mount` that join this etcd.
    pub fn node_args(&self) -> Vec<String> {
        let mut args = vec!["--cluster".to_string(), self.endpoints()];
        if self.security == Security::TlsAuth {
            let file = |name: &str| self.certs().join(name).to_string_lossy().into_owned();
            args.extend([
                "--etcd-cacert".to_string(),
                file("ca.pem"),
                "--etcd-cert".to_string(),
                file("client.pem"),
                "--etcd-key".to_string(),
                file("client.key"),
                "--etcd-user".to_string(),
                "svcfs".to_string(),
                "--etcd-password-file".to_string(),
                self.password_file().to_string_lossy().into_owned(),
            ]);
        }
        args
    }

    /// etcdctl as etcd's root (its client certificate), on the first
    /// member.
    pub fn etcdctl(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("etcdctl");
        command.env("ETCDCTL_API", "3").arg(format!(
            "--endpoints={}",
            self.endpoints().split(',').next().unwrap()
        ));
        if self.security == Security::TlsAuth {
            let file = |name: &str| self.certs().join(name).to_string_lossy().into_owned();
            command
                .arg(format!("--cacert={}", file("ca.pem")))
                .arg(format!("--cert={}", file("root.pem")))
                .arg(format!("--key={}", file("root.key")));
        }
        command.args(args);
        run_command(&mut command)
    }

    /// The root user, the role svcfs needs, its user, then auth on.
    fn enable_auth(&self) {
        use std::os::unix::fs::PermissionsExt;
        let password = self.password_file();
        std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
        let new_password = format!("--new-user-password={PASSWORD}-root");
        let user_password = format!("--new-user-password={PASSWORD}");
        for command in [
            vec!["user", "add", "root", new_password.as_str()],
            vec!["user", "grant-role", "root", "root"],
            vec!["role", "add", "svcfs"],
            vec![
                "role",
                "grant-permission",
                "svcfs",
                "--prefix=true",
                "readwrite",
                PREFIX,
            ],
            vec!["user", "add", "svcfs", user_password.as_str()],
            vec!["user", "grant-role", "svcfs", "svcfs"],
            vec!["auth", "enable"],
        ] {
            self.etcdctl(&command).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn healthy(&self) -> bool {
        self.clients.iter().all(|port| {
            let out = match self.security {
                Security::Plain => run(
                    "curl",
                    &["-s", "-m", "1", &format!("http://127.0.0.1:{port}/health")],
                ),
                Security::TlsAuth => {
                    let file = |name: &str| self.certs().join(name).to_string_lossy().into_owned();
                    run(
                        "curl",
                        &[
                            "-s",
                            "-m",
                            "1",
                            "--cacert",
                            &file("ca.pem"),
                            "--cert",
                            &file("root.pem"),
                            "--key",
                            &file("root.key"),
                            &format!("https://127.0.0.1:{port}/health"),
                        ],
                    )
                }
            };
            out.is_ok_and(|out| out.contains("\"true\""))
        })
    }

    pub fn signal(&self, member: usize, signal: i32) {
        unsafe { libc::kill(self.members[member].id() as i32, signal) };
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for member in &mut self.members {
            let _ = member.kill();
            let _ = member.wait();
        }
    }
}

/// `scripts/etcd-certs`: a CA, etcd's certificate, svcfs's and root's.
pub fn make_certs(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/etcd-certs");
    let _ = std::fs::remove_dir_all(dir);
    run(&script.to_string_lossy(), &[&dir.to_string_lossy()]).unwrap_or_else(|e| panic!("{e}"));
}

/// The directory a node's service file names for its own things (image,
/// data, docker's data root): on each node's host, that node's own.
pub fn node_dir(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("svcfs-it-{test}-node"))
}

/// The command prefix that runs a node's daemon on a host of its own: a
/// new mount namespace in which `own` is bound on `node_dir`. The mounts
/// the node makes there (its filesystems, its docker's) stay its own.
pub fn own_host(own: &Path, node_dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(own).unwrap();
    std::fs::create_dir_all(node_dir).unwrap();
    vec![
        "unshare".to_string(),
        "-m".to_string(),
        "--propagation".to_string(),
        "unchanged".to_string(),
        "sh".to_string(),
        "-c".to_string(),
        format!(
            "mount --bind '{}' '{}' && exec \"$@\"",
            own.display(),
            node_dir.display()
        ),
        "own-host".to_string(),
    ]
}

/// Start node `name`'s daemon on a host of its own (the sandbox's `own`
/// directory bound on `node_dir`), joined to `etcd`; its tree shows at the
/// sandbox's mountpoint here.
pub fn mount_on_own_host(sandbox: &Sandbox, name: &str, node_dir: &Path, etcd: &Etcd) -> Daemon {
    share(&sandbox.mnt());
    let host = own_host(&sandbox.root.join("own"), node_dir);
    let host: Vec<&str> = host.iter().map(String::as_str).collect();
    let mut args = vec!["--nodename".to_string(), name.to_string()];
    args.extend(etcd.node_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox.mount_wrapped(&host, &args)
}

/// Make `mnt` a shared mount point, alone on it: the tree a node's daemon
/// mounts there in its own namespace then shows here too.
pub fn share(mnt: &Path) {
    let path = mnt.to_string_lossy();
    while is_mounted(mnt) {
        if run("umount", &["-l", &path]).is_err() {
            break;
        }
    }
    std::fs::create_dir_all(mnt).unwrap();
    run("mount", &["--bind", &path, &path]).unwrap_or_else(|e| panic!("{e}"));
    run("mount", &["--make-shared", &path]).unwrap_or_else(|e| panic!("{e}"));
}

/// The mount namespace of a process (`mnt:[…]`).
pub fn mount_ns(pid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// Whether `path` is a mount point in namespace `ns` (seen through any
/// live process of it; a namespace without one is gone, with its mounts).
pub fn mounted_in(ns: &str, path: &Path) -> bool {
    let target = path.to_string_lossy();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    for entry in procs.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if mount_ns(pid).as_deref() != Some(ns) {
            continue;
        }
        let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")) else {
            continue;
        };
        return table
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(target.as_ref()));
    }
    false
}

/// How many mount namespaces (hosts) have `path` mounted now.
pub fn namespaces_with(path: &Path) -> usize {
    let target = path.to_string_lossy();
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in procs.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Some(ns) = mount_ns(pid) else {
            continue;
        };
        if !seen.insert(ns) {
            continue;
        }
        let table = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
        if table
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(target.as_ref()))
        {
            count += 1;
        }
    }
    count
}
