//! Test beds: a harness sandbox (config dir, var dir, mountpoint) with its
//! svcfs daemon, remounted at will, and everything removed on drop
//! (daemon, mount, containers of its services, the directory). Also the
//! service files the rows use.

use std::path::{Path, PathBuf};

use crate::harness::{docker, is_mounted, Daemon, Sandbox};

/// The tutorial's three containers (start/stop rows, reads).
pub const APP: &str = "app.svcfs-bench";
/// One busybox container, killed and restarted (first read after a change).
pub const CHANGE: &str = "change.svcfs-bench";

/// A sandbox and the daemon serving it.
pub struct Bed {
    daemon: Option<Daemon>,
    sandbox: Option<Sandbox>,
}

impl Bed {
    /// A fresh sandbox `svcfs-it-<name>`; `services` are those whose
    /// containers are removed before and after.
    pub fn new(name: &str, services: &[&str]) -> Bed {
        Bed {
            daemon: None,
            sandbox: Some(Sandbox::new(name, services)),
        }
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox
            .as_ref()
            .expect("the sandbox lives as long as the bed")
    }

    pub fn root(&self) -> PathBuf {
        self.sandbox().root.clone()
    }

    /// (Re)start the daemon: a fresh process, a fresh mount. It logs at
    /// info level, as a production daemon would, not at the tests' debug.
    pub fn mount(&mut self, extra: &[&str]) -> &Daemon {
        self.unmount();
        let daemon = self
            .sandbox()
            .mount_wrapped(&["env", "RUST_LOG=info"], extra);
        self.daemon.insert(daemon)
    }

    pub fn unmount(&mut self) {
        self.daemon.take();
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("mounted")
    }

    pub fn is_mounted(&self) -> bool {
        self.daemon.is_some()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        self.unmount();
        if let Some(sandbox) = self.sandbox.take() {
            let root = sandbox.root.clone();
            let mnt = sandbox.mnt();
            drop(sandbox);
            if !is_mounted(&mnt) {
                let _ = std::fs::remove_dir_all(&root);
            }
        }
    }
}

/// One container of a service, as the service file and the CLI say it.
pub struct Container {
    pub image: &'static str,
    pub command: Vec<String>,
    pub args: Vec<String>,
}

/// The tutorial's containers on the host dockerd: same images, commands
/// and arguments, except what this host forces: the docker socket shown
/// to shipyard is the host's (there is no private daemon here), the
/// volume lives in the bench's sandbox, and the published ports are moved
/// off the tutorial's (8888, 42222) so that a running example does not
/// collide.
pub fn tutorial_containers(vol1: &Path) -> Vec<Container> {
    vec![
        Container {
            image: "busybox:latest",
            command: vec!["/bin/sh".to_string()],
            args: vec![],
        },
        Container {
            image: "shipyard/shipyard:latest",
            command: vec![],
            args: [
                "-v",
                "/var/run/docker.sock:/docker.sock",
                "-p",
                "18888:8000",
            ]
            .map(String::from)
            .to_vec(),
        },
        Container {
            image: "dhrp/sshd:latest",
            command: vec![],
            args: vec![
                "-v".to_string(),
                format!("{}:/vol1:rw", vol1.display()),
                "-p".to_string(),
                "42223:22".to_string(),
            ],
        },
    ]
}

/// The stop timeout of the tutorial service, in seconds (also the CLI's
/// `docker stop -t`).
pub const STOP_TIMEOUT: u32 = 10;

/// A service file with these containers.
pub fn service_file(containers: &[Container], stop_timeout: u32) -> String {
    let mut text = String::from("[DEFAULT]\napp = BENCH\n");
    for (i, c) in containers.iter().enumerate() {
        text.push_str(&format!(
            "\n[container#{}]\ntype = docker\nrun_image = {}\n",
            i + 1,
            c.image
        ));
        if !c.command.is_empty() {
            text.push_str(&format!("run_command = {}\n", c.command.join(" ")));
        }
        if !c.args.is_empty() {
            text.push_str(&format!("run_args = {}\n", c.args.join(" ")));
        }
        text.push_str(&format!("stop_timeout = {stop_timeout}\n"));
    }
    text
}

/// `docker run -d -t -i --name <name> <args> <image> <command>`: what
/// svcfs does for a container (it always gives a TTY and open stdin).
pub fn cli_run(name: &str, c: &Container) -> Vec<String> {
    let mut args: Vec<String> = ["run", "-d", "-t", "-i", "--name", name]
        .map(String::from)
        .to_vec();
    args.extend(c.args.iter().cloned());
    args.push(c.image.to_string());
    args.extend(c.command.iter().cloned());
    args
}

/// Remove containers by name, whatever their state.
pub fn remove_named(names: &[String]) {
    for name in names {
        let _ = docker(&["rm", "-f", name]);
    }
}

/// A generated service of the tree rows: six resources that need no
/// devices and are never started (three containers of a local image, an
/// fs, an ip and a vg that do not exist): they show down or warn.
pub fn tree_service_file(index: usize, root: &Path) -> String {
    let mut text = String::from("[DEFAULT]\napp = BENCHTREE\n");
    for n in 1..=3 {
        text.push_str(&format!(
            "\n[container#{n}]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\n"
        ));
    }
    text.push_str(&format!(
        "\n[fs#1]\ndev = /dev/svcfs-bench-missing/lv{index}\nmnt = {}/fs/{index}\ntype = ext4\n",
        root.display()
    ));
    text.push_str(&format!(
        "\n[ip#1]\nipname = 127.1.{}.{}\nipdev = svcfsbench0\nnetmask = 8\n",
        index / 250,
        index % 250 + 1
    ));
    text.push_str(&format!("\n[vg#1]\nvgname = svcfsbenchvg{index}\n"));
    text
}

/// The name of the generated service `index`.
pub fn tree_service(index: usize) -> String {
    format!("t{index:04}.svcfs-bench")
}
