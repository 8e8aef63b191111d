//! The `svcfs` command line: parse arguments, call into the library, map
//! errors to the exit codes of `svcfs::client::exit` (0 success, 1
//! failure, 2 usage, 3 not mounted or no such service, 4 busy, 5 timed
//! out, 6 refused, 7 invalid configuration).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use svcfs::client::{self, ClientError, Exit, Target};
use svcfs::config::{self, Catalog};
use svcfs::daemon::{self, MountOptions};
use svcfs::engine::EngineOptions;
use svcfs::model::command::{KindVerb, Verb};

const EXAMPLES: &str = "\
Examples:
  svcfs mount /svc --config-dir /etc/svcfs        # the daemon
  svcfs status                                     # every service, one line each
  svcfs status app.opensvc.com                     # the overview tree
  svcfs start app.opensvc.com --rid container#1    # like echo start > ctl
  svcfs freeze app.opensvc.com                     # nothing acts by itself
  svcfs docker app.opensvc.com ps -a               # docker of that service
  cat /svc/app.opensvc.com/container#1/status
  echo stop > /svc/app.opensvc.com/container#1/ctl

See svcfs(8) and svcfs.conf(5).";

/// The text after the options of `svcfs --help`: the exit codes, then
/// examples.
fn after_help() -> String {
    format!("{}\n{EXAMPLES}", client::exit::table())
}

/// The text after the options of a client command's `--help`.
fn client_after_help() -> String {
    client::exit::table()
}

/// Multi-container services and their host resources, managed through a
/// FUSE filesystem: every service is a directory, every resource a
/// sub-directory with `status` files to read and `ctl` files to write.
#[derive(Parser)]
#[command(
    name = "svcfs",
    version,
    after_help = after_help(),
    disable_help_subcommand = true
)]
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
    /// Validate service files without mounting: print every problem of
    /// every resource, each at its line (file:LINE: [section] keyword:
    /// message), and what will not work as meant on this host. Exit 1 on
    /// errors, 0 with only warnings, 3 when a service or file is missing.
    Check(CheckArgs),
    /// Without SVC: every service, one line each (name, status, avail,
    /// frozen, and the owner in a cluster). With SVC: its overview (the
    /// `overview` file).
    #[command(after_help = client_after_help())]
    Status(StatusArgs),
    /// Start a service, or the resources named by --rid, in order
    /// (ip, vg, fs, the private dockerd, networks, containers, apps;
    /// tasks are not started: they run on their schedule or on `run`).
    #[command(after_help = client_after_help())]
    Start(ActionArgs),
    /// Stop a service, or the resources named by --rid, in reverse order.
    /// What it stops is not restarted by healing until started again.
    #[command(after_help = client_after_help())]
    Stop(ActionArgs),
    /// Stop then start (the whole service, or the resources of --rid).
    #[command(after_help = client_after_help())]
    Restart(ActionArgs),
    /// Start the private docker daemon (if any) and the containers.
    #[command(after_help = client_after_help())]
    Startcontainer(ActionArgs),
    /// Stop the containers and the private docker daemon (if any).
    #[command(after_help = client_after_help())]
    Stopcontainer(ActionArgs),
    /// Reset the failure counts, restart tries and user-stopped marks of
    /// the service's resources (or of those of --rid), like Pacemaker's
    /// crm_resource --cleanup.
    #[command(after_help = client_after_help())]
    Clear(ActionArgs),
    /// Freeze the service: nothing acts on it automatically (restarts,
    /// monitor_action, --autostart; in a cluster, no node starts, stops or
    /// moves it) until thaw. Kept across daemon restarts.
    #[command(after_help = client_after_help())]
    Freeze(ServiceArgs),
    /// Thaw a service frozen by freeze (a process holding its `hold`
    /// file keeps it frozen); resources that should be up are restarted.
    #[command(after_help = client_after_help())]
    Thaw(ServiceArgs),
    /// Move the service to NODE (a daemon mounted with --cluster);
    /// returns once it is up there.
    #[command(after_help = client_after_help())]
    Switch(SwitchArgs),
    /// Move the service to this node (--cluster).
    #[command(after_help = client_after_help())]
    Takeover(ServiceArgs),
    /// Move the service back to the node its placement prefers
    /// (--cluster).
    #[command(after_help = client_after_help())]
    Giveback(ServiceArgs),
    /// Run the docker CLI against the daemon that serves the service's
    /// containers (its private daemon when it has one), as the mounted
    /// tree's `docker_host` file names it; docker's exit code is kept.
    /// svcfs options come before SVC: everything after it is docker's
    /// (`svcfs docker app ps -a`). When svcfs is not mounted, the service
    /// file and --var-dir/--docker-host tell the daemon instead.
    Docker(DockerArgs),
    /// Convert a Compose file into a service file: print it (or write it to
    /// --output), with a header saying where it came from and a comment
    /// on each decision; every key not carried is printed to stderr as
    /// FILE:LINE: KEY: WHY. Exit 1, writing nothing, when leaving a key
    /// out would change what runs (build:, ...); 0 with warnings for
    /// what is safely ignored. Variables are read from the environment,
    /// then from the project's .env, as Compose reads them.
    Import(ImportArgs),
    /// Print the completion script of a shell (bash, zsh, fish, elvish,
    /// powershell) to stdout (`svcfs completions bash >
    /// /usr/share/bash-completion/completions/svcfs`). Those of bash and
    /// zsh also complete service names and rids from the mounted tree.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the help of svcfs, or of a command (`svcfs help start`).
    Help(HelpArgs),
}

// `svcfs fence-watch`: the fence watchdog `mount --cluster` starts beside
// itself (src/cluster/watchdog.rs). Not a command for users: it is parsed
// apart, so that neither `--help` nor the completions offer it.
#[derive(Parser)]
#[command(
    name = "svcfs fence-watch",
    bin_name = "svcfs fence-watch",
    about = "The fence watchdog that svcfs mount --cluster starts (internal)"
)]
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

/// The first argument that runs the fence watchdog.
const FENCE_WATCH: &str = "fence-watch";

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
    /// The daemon's state directory: binds of a private daemon's socket
    /// are checked against it.
    #[arg(long, default_value = "/var/lib/svcfs", env = "SVCFS_VAR_DIR")]
    var_dir: PathBuf,
    /// Print the report as JSON (services, errors, warnings, and each
    /// problem's severity, file, line, section, keyword and message).
    #[arg(long)]
    json: bool,
    /// Services of the config directory, or service files by path (an
    /// argument with a `/`); default: every service of the config
    /// directory.
    #[arg(value_name = "SVC|FILE")]
    targets: Vec<String>,
}

#[derive(Args)]
struct ImportArgs {
    /// The Compose file, or a directory holding one (compose.yaml,
    /// compose.yml, docker-compose.yaml or docker-compose.yml).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The service's name (default: the Compose project's name).
    #[arg(long, value_name = "SVC")]
    name: Option<String>,
    /// Write the service file there (default: stdout), replacing it.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct MountpointArg {
    /// Where svcfs is mounted.
    #[arg(long, env = "SVCFS_MOUNT", default_value = "/svc")]
    mountpoint: PathBuf,
}

#[derive(Args)]
struct StatusArgs {
    /// The service (default: every service, one line each).
    #[arg(value_name = "SVC")]
    service: Option<String>,
    /// Print JSON: status.json of SVC, or an array of every service
    /// (name, status, avail, frozen, owner).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    mount: MountpointArg,
}

#[derive(Args)]
struct ActionArgs {
    /// The service.
    #[arg(value_name = "SVC")]
    service: String,
    /// Act on these resources only (comma separated, e.g. container#1,fs#2).
    #[arg(long, value_name = "RID[,RID...]")]
    rid: Option<String>,
    #[command(flatten)]
    mount: MountpointArg,
}

#[derive(Args)]
struct ServiceArgs {
    /// The service.
    #[arg(value_name = "SVC")]
    service: String,
    #[command(flatten)]
    mount: MountpointArg,
}

#[derive(Args)]
struct SwitchArgs {
    /// The service.
    #[arg(value_name = "SVC")]
    service: String,
    /// The node to move it to (one of its `nodes`).
    #[arg(value_name = "NODE")]
    node: String,
    #[command(flatten)]
    mount: MountpointArg,
}

#[derive(Args)]
struct HelpArgs {
    /// The command whose help to print (default: svcfs's).
    #[arg(value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Args)]
struct DockerArgs {
    /// The service.
    #[arg(value_name = "SVC")]
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
    if std::env::args_os().nth(1).is_some_and(|a| a == FENCE_WATCH) {
        let args = std::env::args_os()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, a)| a);
        return exit(fence_watch(FenceWatchArgs::parse_from(args)));
    }
    let matches = cli_command().get_matches();
    if let Some((word, args)) = matches.subcommand() {
        if let Some(verb) = kind_verb(word) {
            return exit(kind_verb_action(verb, args));
        }
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let code = match cli.command {
        Command::Mount(args) => mount(args),
        Command::Check(args) => check(&args),
        Command::Import(args) => import(&args),
        Command::Status(args) => status(&args),
        Command::Start(a) => action(&a, Verb::Start),
        Command::Stop(a) => action(&a, Verb::Stop),
        Command::Restart(a) => action(&a, Verb::Restart),
        Command::Startcontainer(a) => action(&a, Verb::StartContainer),
        Command::Stopcontainer(a) => action(&a, Verb::StopContainer),
        Command::Clear(a) => action(&a, Verb::Clear),
        Command::Freeze(a) => service_verb(&a, Verb::Freeze.as_str()),
        Command::Thaw(a) => service_verb(&a, Verb::Thaw.as_str()),
        Command::Switch(a) => {
            let command = format!("{} {}", Verb::Switch.as_str(), a.node);
            finish(client::act(
                &a.mount.mountpoint,
                &a.service,
                Target::Service,
                &command,
            ))
        }
        Command::Takeover(a) => service_verb(&a, Verb::Takeover.as_str()),
        Command::Giveback(a) => service_verb(&a, Verb::Giveback.as_str()),
        Command::Docker(args) => docker(&args),
        Command::Completions { shell } => completions(shell),
        Command::Help(args) => help(&args.command),
    };
    exit(code)
}

fn exit(code: i32) -> ExitCode {
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
        Ok(()) => i32::from(Exit::Success.code()),
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
    let nodename = args.nodename.clone().unwrap_or_else(host_name);
    let options = config::check::CheckOptions {
        config_dir: &args.config_dir,
        targets: &args.targets,
        var_dir: &args.var_dir,
        nodename: &nodename,
    };
    let checked = match config::check::check(&svcfs::drivers::registry::KINDS, &options) {
        Ok(checked) => checked,
        Err(missing) => {
            eprintln!("svcfs: {missing}");
            return 3;
        }
    };
    let report = if args.json {
        config::check::render_json(&checked)
    } else {
        config::check::render_text(&checked)
    };
    // `svcfs check | head` closes the pipe early: not a failure of the
    // check.
    if let Err(e) = std::io::Write::write_all(&mut std::io::stdout(), report.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("svcfs: cannot write the report: {e}");
            return 1;
        }
    }
    eprintln!(
        "{} service(s) checked: {} error(s), {} warning(s)",
        checked.services, checked.errors, checked.warnings
    );
    i32::from(checked.errors > 0)
}

/// `svcfs import`: 0 written (maybe with warnings), 1 not written (a key
/// whose absence changes what runs, or a file that cannot be read), 2 bad
/// usage.
fn import(args: &ImportArgs) -> i32 {
    use svcfs::config::compose::{self, Input, MadeBy};
    let file = if args.file.is_dir() {
        match compose::COMPOSE_FILES
            .iter()
            .map(|name| args.file.join(name))
            .find(|path| path.is_file())
        {
            Some(file) => file,
            None => {
                eprintln!(
                    "svcfs import: {}: no {} in this directory",
                    args.file.display(),
                    compose::COMPOSE_FILES.join(", ")
                );
                return 1;
            }
        }
    } else {
        args.file.clone()
    };
    let file = std::path::absolute(&file).unwrap_or(file);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("svcfs import: {}: {e}", file.display());
            return 1;
        }
    };
    if let Some(name) = &args.name {
        if !config::is_valid_service_name(name) {
            eprintln!("svcfs import: --name {name:?} is not a valid service name (letters, digits, '.', '_' and '-', starting with a letter or digit)");
            return 2;
        }
    }
    let project_dir = file
        .parent()
        .unwrap_or(std::path::Path::new("/"))
        .to_path_buf();
    let env = |name: &str| std::env::var(name).ok();
    let read = |path: &std::path::Path| std::fs::read_to_string(path);
    let run = |service: &str| {
        compose::convert(&Input {
            file: &file,
            text: &text,
            project_dir: &project_dir,
            service,
            env: &env,
            read: &read,
            made_by: MadeBy::Import,
        })
    };
    let mut converted = run(args.name.as_deref().unwrap_or("svc"));
    let name = match &args.name {
        Some(name) => name.clone(),
        None => {
            // The project's name, known once the file is read.
            let name = converted.project.clone();
            if !name.is_empty() {
                converted = run(&name);
            }
            name
        }
    };
    // What the service file would load as: the converter's notes, then
    // what svcfs itself finds wrong in it, at the Compose lines.
    let service = config::from_converted(
        &svcfs::drivers::registry::KINDS,
        &name,
        &file,
        converted.clone(),
        false,
    );
    let mut errors = 0;
    let mut warnings = 0;
    let notes = converted.notes.iter().map(compose::Note::problem);
    let made = if converted.has_errors() {
        Vec::new()
    } else {
        service.problems[converted.notes.len()..].to_vec()
    };
    for problem in notes.chain(made) {
        match problem.severity {
            config::Severity::Error => errors += 1,
            config::Severity::Warning => warnings += 1,
        }
        eprintln!("{}", problem.location_and_message());
    }
    if errors > 0 || converted.text.is_empty() {
        eprintln!(
            "svcfs import: {errors} key(s) cannot be carried without changing what runs, {warnings} warning(s): nothing written"
        );
        return 1;
    }
    let written = match &args.output {
        None => std::io::Write::write_all(&mut std::io::stdout(), converted.text.as_bytes())
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(e),
            }),
        Some(path) => write_replacing(path, &converted.text),
    };
    if let Err(e) = written {
        eprintln!("svcfs import: cannot write the service file: {e}");
        return 1;
    }
    let containers = converted
        .origins
        .iter()
        .filter(|o| o.section.starts_with("container#"))
        .count();
    match &args.output {
        Some(path) => eprintln!(
            "svcfs import: {} written: service {name}, Compose project {}, {containers} container(s), {warnings} warning(s); put it in the config directory as {name}.conf",
            path.display(),
            converted.project
        ),
        None if warnings > 0 => eprintln!("svcfs import: {warnings} warning(s)"),
        None => {}
    }
    0
}

/// Write `text` to `path` whole or not at all (a temporary file renamed
/// over it), mode 0644 like a service file.
fn write_replacing(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.svcfs-import"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

fn completions(shell: clap_complete::Shell) -> i32 {
    // Generated into memory first: clap_complete panics on a write error,
    // and `svcfs completions bash | head` closes the pipe early.
    let script = client::completion::script(shell, &mut cli_command());
    match std::io::Write::write_all(&mut std::io::stdout(), script.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("svcfs: cannot write the completion script: {e}");
            1
        }
    }
}

/// `svcfs help [COMMAND...]`: what `svcfs [COMMAND...] --help` prints.
fn help(path: &[String]) -> i32 {
    let mut command = cli_command();
    command.build();
    let mut target = &command;
    for name in path {
        match target.find_subcommand(name) {
            Some(sub) => target = sub,
            None => {
                eprintln!("svcfs: no command {name} (svcfs --help lists them)");
                return i32::from(Exit::Usage.code());
            }
        }
    }
    let args = std::iter::once("svcfs")
        .chain(path.iter().map(String::as_str))
        .chain(std::iter::once("--help"));
    match cli_command().try_get_matches_from(args) {
        Err(shown) => match shown.print() {
            Ok(()) => shown.exit_code(),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            Err(e) => {
                eprintln!("svcfs: cannot write the help: {e}");
                1
            }
        },
        Ok(_) => 0,
    }
}

fn status(args: &StatusArgs) -> i32 {
    let mountpoint = &args.mount.mountpoint;
    let Some(service) = &args.service else {
        return finish(client::list::services(mountpoint).and_then(|rows| {
            let text = if args.json {
                client::list::json(&rows)
            } else {
                client::list::table(&rows, client::list::is_clustered(mountpoint))
            };
            client::write_stdout(text.as_bytes())
        }));
    };
    let file = if args.json { "status.json" } else { "overview" };
    finish(client::print_file(mountpoint, service, file))
}

/// A verb of the service's ctl with an optional `--rid` selection.
fn action(args: &ActionArgs, verb: Verb) -> i32 {
    let command = match &args.rid {
        Some(rids) => format!("{} --rid {rids}", verb.as_str()),
        None => verb.as_str().to_string(),
    };
    finish(client::act(
        &args.mount.mountpoint,
        &args.service,
        Target::Service,
        &command,
    ))
}

/// A verb of the service's ctl that takes no argument.
fn service_verb(args: &ServiceArgs, verb: &str) -> i32 {
    finish(client::act(
        &args.mount.mountpoint,
        &args.service,
        Target::Service,
        verb,
    ))
}

/// The command line: the subcommands of [`Cli`], and one for each verb a
/// kind adds to its resources' `ctl` (a container's `rollback`), from the
/// registry of kinds, so that a kind's new verb has its subcommand.
fn cli_command() -> clap::Command {
    let mut command = Cli::command();
    for verb in kind_verbs() {
        if command.find_subcommand(verb.word).is_none() {
            command = command.subcommand(kind_verb_command(verb));
        }
    }
    command
}

/// Every verb of every kind, once each.
fn kind_verbs() -> Vec<&'static KindVerb> {
    let mut verbs: Vec<&'static KindVerb> = Vec::new();
    for kind in svcfs::drivers::registry::KINDS.kinds() {
        for verb in kind.verbs {
            if !verbs.iter().any(|v| v.word == verb.word) {
                verbs.push(verb);
            }
        }
    }
    verbs
}

fn kind_verb(word: &str) -> Option<&'static KindVerb> {
    kind_verbs().into_iter().find(|v| v.word == word)
}

/// The kinds whose resources take `verb`, for its help.
fn kinds_of(verb: &KindVerb) -> Vec<&'static str> {
    svcfs::drivers::registry::KINDS
        .kinds()
        .into_iter()
        .filter(|k| k.verbs.iter().any(|v| v.word == verb.word))
        .map(|k| k.type_name)
        .collect()
}

/// `svcfs VERB SVC --rid RID[,RID...]`: a resource's verb, so `--rid` is
/// required; the arguments are named like those of the other verbs (the
/// zsh completion finds them by name).
fn kind_verb_command(verb: &'static KindVerb) -> clap::Command {
    let about = format!(
        "{}{}: writes {} to the ctl of each resource of --rid, in turn ({} resources)",
        verb.doc[..1].to_uppercase(),
        &verb.doc[1..],
        verb.word,
        kinds_of(verb).join(", ")
    );
    let command = clap::Command::new(verb.word)
        .about(about)
        .after_help(client_after_help())
        .arg(
            clap::Arg::new("service")
                .value_name("SVC")
                .required(true)
                .help("The service"),
        )
        .arg(
            clap::Arg::new("rid")
                .long("rid")
                .value_name("RID[,RID...]")
                .required(true)
                .help("The resources to act on (comma separated, e.g. container#1)"),
        );
    MountpointArg::augment_args(command)
}

/// A kind's verb, written to each selected resource's own ctl in the
/// order given; stops at the first failure.
fn kind_verb_action(verb: &KindVerb, args: &ArgMatches) -> i32 {
    let (Some(service), Some(rids), Ok(mount)) = (
        args.get_one::<String>("service"),
        args.get_one::<String>("rid"),
        MountpointArg::from_arg_matches(args),
    ) else {
        eprintln!(
            "svcfs: {}: bad arguments (svcfs {} --help)",
            verb.word, verb.word
        );
        return i32::from(Exit::Usage.code());
    };
    for rid in rids.split(',').map(str::trim) {
        let result = client::act(&mount.mountpoint, service, Target::Resource(rid), verb.word);
        if result.is_err() {
            return finish(result);
        }
    }
    0
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

#[cfg(test)]
mod tests {
    use super::*;
    use svcfs::model::command::{resource_ctl_help, CLUSTER_CTL_HELP, SERVICE_CTL_HELP};

    /// What `ctl` files accept, as the daemon serves it: every command of a
    /// service's ctl (with `--cluster`) and of each kind's resources.
    fn ctl_lines() -> Vec<String> {
        let mut lines: Vec<String> = SERVICE_CTL_HELP
            .lines()
            .chain(CLUSTER_CTL_HELP.lines())
            .map(str::to_string)
            .collect();
        for kind in svcfs::drivers::registry::KINDS.kinds() {
            lines.extend(
                resource_ctl_help(kind.verbs, kind.outside_actions)
                    .lines()
                    .map(str::to_string),
            );
        }
        lines
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        cli_command().debug_assert();
        FenceWatchArgs::command().debug_assert();
    }

    #[test]
    fn every_ctl_verb_has_a_subcommand_with_help() {
        let cli = cli_command();
        for line in ctl_lines() {
            let verb = line.split_whitespace().next().unwrap();
            let sub = cli
                .find_subcommand(verb)
                .unwrap_or_else(|| panic!("no subcommand for the ctl verb {verb}"));
            assert!(sub.get_about().is_some(), "{verb} has no help");
            // `--rid` where the service's ctl takes it.
            if line.contains("--rid") {
                assert!(
                    sub.get_arguments().any(|a| a.get_long() == Some("rid")),
                    "{verb} lacks --rid"
                );
            }
        }
    }

    #[test]
    fn a_kind_verb_is_a_subcommand_whose_rid_is_required() {
        let verbs = kind_verbs();
        assert!(
            verbs.iter().any(|v| v.word == "rollback"),
            "the container's"
        );
        assert!(
            verbs.iter().any(|v| v.word == "run") && verbs.iter().any(|v| v.word == "kill"),
            "the task's"
        );
        let cli = cli_command();
        for verb in verbs {
            let sub = cli.find_subcommand(verb.word).unwrap();
            assert!(sub
                .get_arguments()
                .any(|a| a.get_long() == Some("rid") && a.is_required_set()));
            let about = sub.get_about().unwrap().to_string();
            let kinds = format!("({} resources)", kinds_of(verb).join(", "));
            assert!(about.contains(&kinds), "{about}");
        }
        let about = cli.find_subcommand("run").unwrap().get_about().unwrap();
        assert!(about.to_string().contains("(task resources)"), "{about}");
        let parsed = cli_command()
            .try_get_matches_from(["svcfs", "rollback", "app", "--rid", "container#1"])
            .unwrap();
        let (word, args) = parsed.subcommand().unwrap();
        assert_eq!(kind_verb(word).map(|v| v.word), Some("rollback"));
        assert_eq!(
            args.get_one::<String>("rid").map(String::as_str),
            Some("container#1")
        );
        assert!(MountpointArg::from_arg_matches(args).is_ok());
    }

    /// Every verb of the service's ctl, so that a new one cannot go
    /// without a subcommand: this match stops compiling.
    fn subcommand_of(verb: Verb) -> &'static str {
        match verb {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::StartContainer => "startcontainer",
            Verb::StopContainer => "stopcontainer",
            Verb::Kind(verb) => verb.word,
            Verb::Clear => "clear",
            Verb::Freeze => "freeze",
            Verb::Thaw => "thaw",
            Verb::Switch => "switch",
            Verb::Takeover => "takeover",
            Verb::Giveback => "giveback",
        }
    }

    #[test]
    fn every_verb_of_the_model_is_a_subcommand_named_as_in_ctl() {
        let cli = cli_command();
        let kinds = kind_verbs().into_iter().map(Verb::Kind);
        for verb in [
            Verb::Start,
            Verb::Stop,
            Verb::Restart,
            Verb::StartContainer,
            Verb::StopContainer,
            Verb::Clear,
            Verb::Freeze,
            Verb::Thaw,
            Verb::Switch,
            Verb::Takeover,
            Verb::Giveback,
        ]
        .into_iter()
        .chain(kinds)
        {
            assert_eq!(subcommand_of(verb), verb.as_str());
            assert!(cli.find_subcommand(verb.as_str()).is_some(), "{verb:?}");
        }
    }

    #[test]
    fn the_watchdog_is_in_no_completion_script() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let script = client::completion::script(shell, &mut cli_command());
            assert!(!script.contains("fence"), "{shell}");
            assert!(script.contains("rollback"), "{shell}");
        }
    }

    #[test]
    fn help_and_exit_codes_parse_as_documented() {
        let parse = |args: &[&str]| cli_command().try_get_matches_from(args).map(|_| ());
        assert!(parse(&["svcfs", "status"]).is_ok());
        assert!(parse(&["svcfs", "help", "start"]).is_ok());
        let help = parse(&["svcfs", "help", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let usage = parse(&["svcfs", "rollback", "app"]).unwrap_err();
        assert_eq!(usage.exit_code(), i32::from(Exit::Usage.code()));
        let usage = parse(&["svcfs", "fence-watch"]).unwrap_err();
        assert_eq!(usage.exit_code(), i32::from(Exit::Usage.code()));
    }
}
