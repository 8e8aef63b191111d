//! The `svcfs` command line: parse arguments, call into the library, map
//! errors to exit codes (0 ok, 1 failure, 2 usage, 3 no such service or
//! nothing mounted).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use svcfs::client::{self, ClientError};
use svcfs::config::{self, Severity};
use svcfs::daemon::{self, MountOptions};
use svcfs::engine::EngineOptions;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 the action, check or read failed; 2 bad usage;
3 no such service, or svcfs is not mounted.

Examples:
  svcfs mount /svc --config-dir /etc/svcfs        # the daemon
  svcfs status app.opensvc.com                     # the overview tree
  svcfs start app.opensvc.com --rid container#1    # like echo start > ctl
  svcfs docker app.opensvc.com ps -a               # docker of that service
  cat /svc/app.opensvc.com/container#1/status
  echo stop > /svc/app.opensvc.com/container#1/ctl

See svcfs(8) and svcfs.conf(5).";

/// Multi-container services and their host resources, managed through a
/// FUSE filesystem: every service is a directory, every resource a
/// sub-directory with `status` files to read and `ctl` files to write.
#[derive(Parser)]
#[command(name = "svcfs", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: load every service, mount the tree, serve it until
    /// SIGINT/SIGTERM, then unmount. Services keep running when it stops.
    /// SIGHUP reloads the config directory (changes are also picked up
    /// within a second without it).
    Mount(MountArgs),
    /// Validate service files without mounting: print every problem with
    /// file, section and keyword. Exit 1 on errors, 0 with only warnings.
    Check(CheckArgs),
    /// Print a service's overview (the `overview` file).
    Status(StatusArgs),
    /// Start a service, or the resources named by --rid, in order.
    Start(ActionArgs),
    /// Stop a service, or the resources named by --rid, in reverse order.
    Stop(ActionArgs),
    /// Stop then start.
    Restart(ActionArgs),
    /// Start the private docker daemon (if any) and the containers.
    Startcontainer(ActionArgs),
    /// Stop the containers and the private docker daemon (if any).
    Stopcontainer(ActionArgs),
    /// Run the docker CLI against the daemon that serves the service's
    /// containers (its private daemon when it has one), as the mounted
    /// tree's `docker_host` file names it; docker's exit code is kept.
    /// svcfs options come before SERVICE: everything after it is docker's
    /// (`svcfs docker app ps -a`). When svcfs is not mounted, the service
    /// file and --var-dir/--docker-host tell the daemon instead.
    Docker(DockerArgs),
    /// Print the completion script of a shell (bash, zsh, fish, elvish,
    /// powershell) to stdout (`svcfs completions bash >
    /// /usr/share/bash-completion/completions/svcfs`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The fence watchdog `mount --cluster` starts beside itself: waits for
    /// the daemon's end on stdin and, unless it left the cluster, stops
    /// this node's cluster services (src/cluster/watchdog.rs).
    #[command(hide = true)]
    FenceWatch(FenceWatchArgs),
}

#[derive(Args)]
struct FenceWatchArgs {
    #[command(flatten)]
    engine: EngineArgs,
    #[arg(long)]
    nodename: String,
    #[arg(long, default_value_t = 5)]
    status_timeout: u64,
    #[arg(long)]
    stop_budget_ms: u64,
}

#[derive(Args)]
struct EngineArgs {
    /// Directory of the service files (<name>.env or <name>.conf).
    #[arg(long, default_value = "/etc/svcfs", env = "SVCFS_CONFIG_DIR")]
    config_dir: PathBuf,
    /// State directory: private docker daemon sockets, pid files, data.
    #[arg(long, default_value = "/var/lib/svcfs", env = "SVCFS_VAR_DIR")]
    var_dir: PathBuf,
    /// Docker daemon of services without a private one.
    #[arg(long, env = "DOCKER_HOST", default_value = svcfs::docker::DEFAULT_DOCKER_HOST)]
    docker_host: String,
}

#[derive(Args)]
struct MountArgs {
    /// Where to mount the tree.
    #[arg(default_value = "/svc")]
    mountpoint: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// This node's name, checked against `nodes` and `autostart_node`
    /// (default: the host name).
    #[arg(long)]
    nodename: Option<String>,
    /// Group whose members may write ctl files (mode 0220 instead of 0200).
    #[arg(long, value_name = "GROUP")]
    ctl_group: Option<String>,
    /// Start, in the background, the services whose autostart_node is this
    /// node.
    #[arg(long)]
    autostart: bool,
    /// Seconds (±20%, at random) between two background reconciles of the
    /// resources no event follows (ip, vg, fs, the private dockerd); every
    /// tenth one checks the containers too, which docker events keep
    /// current in between.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    refresh_interval: u64,
    /// Bound, in seconds, on one resource's status check.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    status_timeout: u64,
    /// Join the svcfs nodes that share this etcd cluster (comma-separated
    /// https://HOST:PORT, or http://): services whose `nodes` name this
    /// node then run on one node of them, moved on failure
    /// (docs/cluster.md).
    #[arg(long, value_name = "ENDPOINTS", env = "SVCFS_CLUSTER")]
    cluster: Option<String>,
    /// With https:// endpoints: the CA certificate (PEM) that signed
    /// etcd's (default: the system's trust store), as etcdctl's --cacert.
    #[arg(long, value_name = "FILE", env = "SVCFS_ETCD_CACERT")]
    etcd_cacert: Option<PathBuf>,
    /// This node's client certificate (PEM), for an etcd that checks its
    /// clients' (--client-cert-auth); with --etcd-key.
    #[arg(long, value_name = "FILE", env = "SVCFS_ETCD_CERT")]
    etcd_cert: Option<PathBuf>,
    /// The private key (PEM) of --etcd-cert.
    #[arg(long, value_name = "FILE", env = "SVCFS_ETCD_KEY")]
    etcd_key: Option<PathBuf>,
    /// The etcd user svcfs authenticates as (etcd's auth enabled); its
    /// password is read from --etcd-password-file, never from the command
    /// line.
    #[arg(long, value_name = "NAME", env = "SVCFS_ETCD_USER")]
    etcd_user: Option<String>,
    /// The file holding --etcd-user's password (its first line); refused
    /// unless only its owner may read it (chmod 600).
    #[arg(long, value_name = "FILE", env = "SVCFS_ETCD_PASSWORD_FILE")]
    etcd_password_file: Option<PathBuf>,
    /// With --cluster: the TTL of this node's etcd lease, in seconds; a
    /// node that cannot renew it for half of it stops its services.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    cluster_ttl: u64,
}

#[derive(Args)]
struct CheckArgs {
    /// Directory of the service files.
    #[arg(long, default_value = "/etc/svcfs", env = "SVCFS_CONFIG_DIR")]
    config_dir: PathBuf,
    /// This node's name: a service whose `nodes` leaves it out gets a
    /// warning (default: the host name).
    #[arg(long)]
    nodename: Option<String>,
    /// Services to check (default: all).
    services: Vec<String>,
}

#[derive(Args)]
struct MountpointArg {
    /// Where svcfs is mounted.
    #[arg(long, env = "SVCFS_MOUNT", default_value = "/svc")]
    mountpoint: PathBuf,
}

#[derive(Args)]
struct StatusArgs {
    /// The service.
    service: String,
    /// Print status.json instead of the overview.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    mount: MountpointArg,
}

#[derive(Args)]
struct ActionArgs {
    /// The service.
    service: String,
    /// Act on these resources only (comma separated, e.g. container#1,fs#2).
    #[arg(long, value_name = "RID[,RID...]")]
    rid: Option<String>,
    #[command(flatten)]
    mount: MountpointArg,
}

#[derive(Args)]
struct DockerArgs {
    /// The service.
    service: String,
    #[command(flatten)]
    mount: MountpointArg,
    /// Used only when svcfs is not mounted at --mountpoint: the service
    /// file and the daemon's options then tell the docker host.
    #[command(flatten)]
    engine: EngineArgs,
    /// Arguments for docker (e.g. ps -a).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Mount(args) => mount(args),
        Command::Check(args) => check(&args),
        Command::Status(args) => {
            let file = if args.json { "status.json" } else { "overview" };
            finish(client::print_file(
                &args.mount.mountpoint,
                &args.service,
                file,
            ))
        }
        Command::Start(a) => action(&a, "start"),
        Command::Stop(a) => action(&a, "stop"),
        Command::Restart(a) => action(&a, "restart"),
        Command::Startcontainer(a) => action(&a, "startcontainer"),
        Command::Stopcontainer(a) => action(&a, "stopcontainer"),
        Command::Docker(args) => docker(&args),
        Command::Completions { shell } => completions(shell),
        Command::FenceWatch(args) => fence_watch(args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn finish(result: Result<(), ClientError>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("svcfs: {}", e.message());
            e.exit_code()
        }
    }
}

fn mount(args: MountArgs) -> i32 {
    let nodename = args.nodename.clone().unwrap_or_else(host_name);
    let ctl_group = match args.ctl_group.as_deref().map(resolve_group).transpose() {
        Ok(gid) => gid,
        Err(message) => {
            eprintln!("svcfs: {message}");
            return 2;
        }
    };
    let cluster = match cluster_options(&args) {
        Ok(cluster) => cluster,
        Err((e, code)) => {
            eprintln!("svcfs: {e}");
            return code;
        }
    };
    let options = MountOptions {
        cluster,
        mountpoint: args.mountpoint,
        engine: EngineOptions {
            config_dir: args.engine.config_dir,
            var_dir: args.engine.var_dir,
            nodename,
            docker_host: svcfs::docker::normalize_host(&args.engine.docker_host),
            refresh_interval: Duration::from_secs(args.refresh_interval.max(1)),
            status_timeout: Duration::from_secs(args.status_timeout.max(1)),
        },
        ctl_group,
        autostart: args.autostart,
    };
    match daemon::run(options) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("svcfs: {e}");
            1
        }
    }
}

/// The cluster's options: a usage error (exit 2) when they do not go
/// together, a failure (exit 1) when the files they name cannot be used.
fn cluster_options(
    args: &MountArgs,
) -> Result<Option<daemon::ClusterOptions>, (svcfs::error::Error, i32)> {
    let etcd_options = [
        ("--etcd-cacert", args.etcd_cacert.is_some()),
        ("--etcd-cert", args.etcd_cert.is_some()),
        ("--etcd-key", args.etcd_key.is_some()),
        ("--etcd-user", args.etcd_user.is_some()),
        ("--etcd-password-file", args.etcd_password_file.is_some()),
    ];
    let Some(endpoints) = args.cluster.clone() else {
        if let Some((option, _)) = etcd_options.iter().find(|(_, given)| *given) {
            let e = svcfs::error::Error::invalid(format!("{option} is for --cluster"));
            return Err((e, 2));
        }
        return Ok(None);
    };
    let checked = svcfs::cluster::EtcdArgs {
        endpoints,
        cacert: args.etcd_cacert.clone(),
        cert: args.etcd_cert.clone(),
        key: args.etcd_key.clone(),
        user: args.etcd_user.clone(),
        password_file: args.etcd_password_file.clone(),
    }
    .check()
    .map_err(|e| (e, 2))?;
    let timings = svcfs::cluster::Timings::from_ttl(Duration::from_secs(args.cluster_ttl))
        .map_err(|e| (e, 2))?;
    let etcd = checked.load().map_err(|e| (e, 1))?;
    Ok(Some(daemon::ClusterOptions { etcd, timings }))
}

fn fence_watch(args: FenceWatchArgs) -> i32 {
    svcfs::cluster::watchdog::watch(
        svcfs::cluster::watchdog::WatchOptions {
            engine: EngineOptions {
                config_dir: args.engine.config_dir,
                var_dir: args.engine.var_dir,
                nodename: args.nodename,
                docker_host: svcfs::docker::normalize_host(&args.engine.docker_host),
                refresh_interval: Duration::from_secs(30),
                status_timeout: Duration::from_secs(args.status_timeout.max(1)),
            },
            stop_budget: Duration::from_millis(args.stop_budget_ms),
        },
        daemon::backends(),
    )
}

fn resolve_group(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        Ok(None) => Err(format!("--ctl-group: no group named {name}")),
        Err(e) => Err(format!("--ctl-group: cannot look up {name}: {e}")),
    }
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".to_string())
}

fn check(args: &CheckArgs) -> i32 {
    let loaded = config::load_dir(&svcfs::drivers::registry::KINDS, &args.config_dir);
    let nodename = args.nodename.clone().unwrap_or_else(host_name);
    let (mut problems, checked) = match loaded.problems_of(&args.services) {
        Ok(found) => found,
        Err(missing) => {
            eprintln!(
                "svcfs: no service {missing} in {}",
                args.config_dir.display()
            );
            return 3;
        }
    };
    for service in loaded.services.values() {
        let nodes = &service.defaults.nodes;
        let checked = args.services.is_empty() || args.services.contains(&service.name);
        if checked && !nodes.is_empty() && !nodes.contains(&nodename) {
            let problem = config::Problem {
                section: Some("DEFAULT".to_string()),
                keyword: Some("nodes".to_string()),
                ..config::Problem::file(
                    Severity::Warning,
                    &service.path,
                    format!(
                        "this node ({nodename}) is not in nodes ({}): the daemon shows the service here but refuses to act on it",
                        nodes.join(" ")
                    ),
                )
            };
            problems.push(problem.located(&service.text));
        }
    }
    for problem in &problems {
        println!("{problem}");
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    eprintln!("{checked} service(s) checked: {errors} error(s), {warnings} warning(s)");
    i32::from(errors > 0)
}

fn completions(shell: clap_complete::Shell) -> i32 {
    // Generated into memory first: clap_complete panics on a write error,
    // and `svcfs completions bash | head` closes the pipe early.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "svcfs", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout(), &script) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("svcfs: cannot write the completion script: {e}");
            1
        }
    }
}

fn action(args: &ActionArgs, verb: &str) -> i32 {
    let command = match &args.rid {
        Some(rids) => format!("{verb} --rid {rids}"),
        None => verb.to_string(),
    };
    finish(client::act(&args.mount.mountpoint, &args.service, &command))
}

fn docker(args: &DockerArgs) -> i32 {
    let fallback = client::ServiceFiles {
        config_dir: &args.engine.config_dir,
        var_dir: &args.engine.var_dir,
        docker_host: &args.engine.docker_host,
    };
    let result = client::docker_host(&args.mount.mountpoint, &args.service, &fallback)
        .and_then(|host| client::docker_passthrough(&host, &args.args));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("svcfs: {}", e.message());
            e.exit_code()
        }
    }
}
