# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_svcfs_global_optspecs
    string join \n h/help V/version
end

function __fish_svcfs_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_svcfs_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_svcfs_using_subcommand
    set -l cmd (__fish_svcfs_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c svcfs -n "__fish_svcfs_needs_command" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_needs_command" -s V -l version -d 'Print version'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "mount" -d 'Run the daemon: load every service, mount the tree, serve it until SIGINT/SIGTERM, then unmount. Services keep running when it stops. SIGHUP reloads the config directory (changes are also picked up within a second without it)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "check" -d 'Validate service files without mounting: print every problem of every resource, each at its line (file:LINE: [section] keyword: message), and what will not work as meant on this host. Exit 1 on errors, 0 with only warnings, 3 when a service or file is missing'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "status" -d 'Without SVC: every service, one line each (name, status, avail, frozen, and the owner in a cluster). With SVC: its overview (the `overview` file)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "start" -d 'Start a service, or the resources named by --rid, in order (ip, vg, fs, the private dockerd, networks, containers, apps; tasks are not started: they run on their schedule or on `run`)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "stop" -d 'Stop a service, or the resources named by --rid, in reverse order. What it stops is not restarted by healing until started again'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "restart" -d 'Stop then start (the whole service, or the resources of --rid)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "startcontainer" -d 'Start the private docker daemon (if any) and the containers'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "stopcontainer" -d 'Stop the containers and the private docker daemon (if any)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "clear" -d 'Reset the failure counts, restart tries and user-stopped marks of the service\'s resources (or of those of --rid), like Pacemaker\'s crm_resource --cleanup'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "freeze" -d 'Freeze the service: nothing acts on it automatically (restarts, monitor_action, --autostart; in a cluster, no node starts, stops or moves it) until thaw. Kept across daemon restarts'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "thaw" -d 'Thaw a service frozen by freeze (a process holding its `hold` file keeps it frozen); resources that should be up are restarted'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "switch" -d 'Move the service to NODE (a daemon mounted with --cluster); returns once it is up there'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "takeover" -d 'Move the service to this node (--cluster)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "giveback" -d 'Move the service back to the node its placement prefers (--cluster)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "docker" -d 'Run the docker CLI against the daemon that serves the service\'s containers (its private daemon when it has one), as the mounted tree\'s `docker_host` file names it; docker\'s exit code is kept. svcfs options come before SVC: everything after it is docker\'s (`svcfs docker app ps -a`). When svcfs is not mounted, the service file and --var-dir/--docker-host tell the daemon instead'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "import" -d 'Convert a Compose file into a service file: print it (or write it to --output), with a header saying where it came from and a comment on each decision; every key not carried is printed to stderr as FILE:LINE: KEY: WHY. Exit 1, writing nothing, when leaving a key out would change what runs (build:, ...); 0 with warnings for what is safely ignored. Variables are read from the environment, then from the project\'s .env, as Compose reads them'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "completions" -d 'Print the completion script of a shell (bash, zsh, fish, elvish, powershell) to stdout (`svcfs completions bash > /usr/share/bash-completion/completions/svcfs`). Those of bash and zsh also complete service names and rids from the mounted tree'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "help" -d 'Print the help of svcfs, or of a command (`svcfs help start`)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "rollback" -d 'Swap the container back to the one the last upgrade replaced (<name>.prev): writes rollback to the ctl of each resource of --rid, in turn (container resources)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "run" -d 'Run the task now; returns when the run ends (its exit code 0: success): writes run to the ctl of each resource of --rid, in turn (task resources)'
complete -c svcfs -n "__fish_svcfs_needs_command" -f -a "kill" -d 'Kill the task\'s running run, with its process group (or its container): writes kill to the ctl of each resource of --rid, in turn (task resources)'
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l config-dir -d 'Directory of the service files (<name>.env or <name>.conf)' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l var-dir -d 'State directory: private docker daemon sockets, pid files, data' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l docker-host -d 'Docker daemon of services without a private one' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l nodename -d 'This node\'s name, checked against `nodes` and `autostart_node` (default: the host name)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l ctl-group -d 'Group whose members may write ctl files (mode 0220 instead of 0200)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l refresh-interval -d 'Seconds (±20%, at random) between two background reconciles of the resources no event follows (ip, vg, fs, the private dockerd); every tenth one checks the containers too, which docker events keep current in between' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l status-timeout -d 'Bound, in seconds, on one resource\'s status check' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l cluster -d 'Join the svcfs nodes that share this etcd cluster (comma-separated https://HOST:PORT, or http://): services whose `nodes` name this node then run on one node of them, moved on failure (docs/cluster.md)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l etcd-cacert -d 'With https:// endpoints: the CA certificate (PEM) that signed etcd\'s (default: the system\'s trust store), as etcdctl\'s --cacert' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l etcd-cert -d 'This node\'s client certificate (PEM), for an etcd that checks its clients\' (--client-cert-auth); with --etcd-key' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l etcd-key -d 'The private key (PEM) of --etcd-cert' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l etcd-user -d 'The etcd user svcfs authenticates as (etcd\'s auth enabled); its password is read from --etcd-password-file, never from the command line' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l etcd-password-file -d 'The file holding --etcd-user\'s password (its first line); refused unless only its owner may read it (chmod 600)' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l cluster-ttl -d 'With --cluster: the TTL of this node\'s etcd lease, in seconds; a node that cannot renew it for half of it stops its services' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -l autostart -d 'Start, in the background, the services whose autostart_node is this node'
complete -c svcfs -n "__fish_svcfs_using_subcommand mount" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand check" -l config-dir -d 'Directory of the service files' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand check" -l nodename -d 'This node\'s name: a service whose `nodes` leaves it out gets a warning (default: the host name)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand check" -l var-dir -d 'The daemon\'s state directory: binds of a private daemon\'s socket are checked against it' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand check" -l json -d 'Print the report as JSON (services, errors, warnings, and each problem\'s severity, file, line, section, keyword and message)'
complete -c svcfs -n "__fish_svcfs_using_subcommand check" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand status" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand status" -l json -d 'Print JSON: status.json of SVC, or an array of every service (name, status, avail, frozen, owner)'
complete -c svcfs -n "__fish_svcfs_using_subcommand status" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand start" -l rid -d 'Act on these resources only (comma separated, e.g. container#1,fs#2)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand start" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand start" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand stop" -l rid -d 'Act on these resources only (comma separated, e.g. container#1,fs#2)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand stop" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand stop" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand restart" -l rid -d 'Act on these resources only (comma separated, e.g. container#1,fs#2)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand restart" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand restart" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand startcontainer" -l rid -d 'Act on these resources only (comma separated, e.g. container#1,fs#2)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand startcontainer" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand startcontainer" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand stopcontainer" -l rid -d 'Act on these resources only (comma separated, e.g. container#1,fs#2)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand stopcontainer" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand stopcontainer" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand clear" -l rid -d 'Act on these resources only (comma separated, e.g. container#1,fs#2)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand clear" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand clear" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand freeze" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand freeze" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand thaw" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand thaw" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand switch" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand switch" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand takeover" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand takeover" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand giveback" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand giveback" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand docker" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand docker" -l config-dir -d 'Directory of the service files (<name>.env or <name>.conf)' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand docker" -l var-dir -d 'State directory: private docker daemon sockets, pid files, data' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand docker" -l docker-host -d 'Docker daemon of services without a private one' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand docker" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand import" -l name -d 'The service\'s name (default: the Compose project\'s name)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand import" -s o -l output -d 'Write the service file there (default: stdout), replacing it' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand import" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand completions" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand help" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand rollback" -l rid -d 'The resources to act on (comma separated, e.g. container#1)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand rollback" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand run" -l rid -d 'The resources to act on (comma separated, e.g. container#1)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand run" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand run" -s h -l help -d 'Print help'
complete -c svcfs -n "__fish_svcfs_using_subcommand kill" -l rid -d 'The resources to act on (comma separated, e.g. container#1)' -r
complete -c svcfs -n "__fish_svcfs_using_subcommand kill" -l mountpoint -d 'Where svcfs is mounted' -r -F
complete -c svcfs -n "__fish_svcfs_using_subcommand kill" -s h -l help -d 'Print help'
