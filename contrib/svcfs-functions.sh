# svcfs-functions.sh: POSIX sh functions for scripts that drive svcfs(8).
#
#   . contrib/svcfs-functions.sh
#   svcfs_ctl app.opensvc.com start && svcfs_wait app.opensvc.com up 120
#   svcfs_ctl app.opensvc.com/container#1 stop
#   svcfs_list
#   svcfs_down_resources app.opensvc.com
#
# TARGET is a service (SVC) or one of its resources (SVC/RID). The tree is
# looked for at $SVCFS_MOUNT (default /svc). The functions return 0 on
# success, 1 when the action failed or the wait timed out, 2 on bad usage,
# no such service or resource, or nothing mounted. Each body runs in a
# subshell, so they set no variables in the caller.

# svcfs__dir TARGET: print the directory of TARGET.
svcfs__dir() {
    printf '%s/%s' "${SVCFS_MOUNT:-/svc}" "$1"
}

# svcfs__word DIR: print the status word of DIR, or nothing if unreadable.
svcfs__word() (
    { IFS= read -r word <"$1/status"; } 2>/dev/null || word=
    printf '%s' "$word"
)

# svcfs__missing TARGET: explain on stderr why TARGET has no directory.
svcfs__missing() {
    if grep -q "^svcfs ${SVCFS_MOUNT:-/svc} fuse" /proc/mounts 2>/dev/null; then
        echo "svcfs: no service or resource $1 under ${SVCFS_MOUNT:-/svc}" >&2
    else
        echo "svcfs: svcfs is not mounted at ${SVCFS_MOUNT:-/svc} (set SVCFS_MOUNT?)" >&2
    fi
}

# svcfs_wait TARGET WORD [TIMEOUT_SECONDS]
# Poll TARGET's status file, once a second, until it reads WORD (up, down,
# warn or n/a). Returns 0 then, 1 after TIMEOUT_SECONDS (default 60). A
# service not loaded yet is waited for like any other state.
svcfs_wait() (
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then
        echo "usage: svcfs_wait SVC[/RID] up|down|warn|n/a [TIMEOUT_SECONDS]" >&2
        return 2
    fi
    case $2 in
    up | down | warn | n/a) ;;
    *) echo "svcfs_wait: $2 is not a status word (up, down, warn, n/a)" >&2; return 2 ;;
    esac
    timeout=${3:-60}
    case $timeout in
    '' | *[!0-9]*) echo "svcfs_wait: the timeout is whole seconds, not $timeout" >&2; return 2 ;;
    esac
    dir=$(svcfs__dir "$1")
    waited=0
    while :; do
        word=$(svcfs__word "$dir")
        [ "$word" = "$2" ] && return 0
        if [ "$waited" -ge "$timeout" ]; then
            echo "svcfs_wait: $1 is ${word:-unreadable}, not $2, after ${timeout}s" >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
)

# svcfs_ctl TARGET COMMAND [ARGS...]
# Write one command to TARGET's ctl file, e.g. `svcfs_ctl app start --rid
# container#1` or `svcfs_ctl app/container#1 rollback`. The write returns
# when the action has finished; so does this function, with 0 on success.
# On failure it prints the error, what it means, and the error lines at the
# end of the service's log, and returns 1 (2 if TARGET does not exist).
svcfs_ctl() (
    if [ $# -lt 2 ]; then
        echo "usage: svcfs_ctl SVC[/RID] COMMAND [ARGS...]" >&2
        return 2
    fi
    target=$1
    shift
    dir=$(svcfs__dir "$target")
    if [ ! -d "$dir" ]; then
        svcfs__missing "$target"
        return 2
    fi
    command=$1
    shift
    for word in "$@"; do
        command="$command $word"
    done
    # English error texts, matched below. The external printf reports the
    # write's errno (dash's builtin says "I/O error" whatever it was).
    LC_ALL=C
    export LC_ALL
    error=$({ env printf '%s\n' "$command" >"$dir/ctl"; } 2>&1) && return 0
    reason=${error##*: }
    case $reason in
    *busy*) meaning="another action is running on the service; retry when it ends" ;;
    *"Invalid argument"*) meaning="unknown command or rid, or invalid configuration" ;;
    *"not supported"*) meaning="the command does not apply to this target" ;;
    *"timed out"*) meaning="a bound was hit (start_timeout, stop_timeout, docker)" ;;
    *"Input/output"*) meaning="a backend failed (docker, LVM, mount, address)" ;;
    *"Permission denied"*) meaning="only root or the ctl group may act, and only on a node listed in nodes" ;;
    *"No such file"*) meaning="no such service or resource" ;;
    *) meaning= ;;
    esac
    echo "svcfs_ctl: $target: $command: ${reason:-failed}${meaning:+ ($meaning)}" >&2
    tail -n 20 "$(svcfs__dir "${target%%/*}")/log" 2>/dev/null | grep ' ERROR ' >&2
    return 1
)

# svcfs_list: print every service and its status word, one per line.
svcfs_list() (
    mnt=${SVCFS_MOUNT:-/svc}
    found=
    for dir in "$mnt"/*/; do
        [ -d "$dir" ] || continue
        dir=${dir%/}
        found=yes
        printf '%-31s %s\n' "${dir##*/}" "$(svcfs__word "$dir")"
    done
    if [ -z "$found" ] && ! grep -q "^svcfs $mnt fuse" /proc/mounts 2>/dev/null; then
        svcfs__missing ""
        return 2
    fi
    return 0
)

# svcfs_down_resources SVC: print the rid of every resource of SVC whose
# status is not up (down, warn, or n/a for disabled ones), one per line.
svcfs_down_resources() (
    if [ $# -ne 1 ] || [ "${1#*/}" != "$1" ]; then
        echo "usage: svcfs_down_resources SVC" >&2
        return 2
    fi
    dir=$(svcfs__dir "$1")
    if [ ! -d "$dir" ]; then
        svcfs__missing "$1"
        return 2
    fi
    for resource in "$dir"/*/; do
        [ -d "$resource" ] || continue
        resource=${resource%/}
        [ "$(svcfs__word "$resource")" = up ] || printf '%s\n' "${resource##*/}"
    done
    return 0
)
