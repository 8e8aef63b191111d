# svcfs-functions.sh: POSIX sh functions for scripts that drive svcfs(8).
#
#   . /usr/share/svcfs/svcfs-functions.sh     # contrib/ in the source tree
#   svcfs_ctl app.opensvc.com start && svcfs_wait app.opensvc.com up 120
#   svcfs_ctl app.opensvc.com/container#1 stop
#   svcfs_list
#   svcfs_down_resources app.opensvc.com
#
# TARGET is a service (SVC) or one of its resources (SVC/RID). The tree is
# looked for at $SVCFS_MOUNT (default /svc). The functions return what the
# svcfs command line would (svcfs(8), EXIT STATUS): 0 success; 1 the
# action failed or the wait timed out; 2 bad usage, an unknown command or
# rid; 3 nothing mounted, or no such service or resource; 4 busy; 5 a
# bound was hit; 6 refused; 7 the service's configuration is invalid.
# Each body runs in a subshell, so they set no variables in the caller.

# svcfs__dir TARGET: print the directory of TARGET.
svcfs__dir() {
    printf '%s/%s' "${SVCFS_MOUNT:-/svc}" "$1"
}

# svcfs__mounted: whether svcfs is mounted at $SVCFS_MOUNT.
svcfs__mounted() {
    grep -q "^svcfs ${SVCFS_MOUNT:-/svc} fuse" /proc/mounts 2>/dev/null
}

# svcfs__word DIR: print the status word of DIR, or nothing if unreadable.
svcfs__word() (
    { IFS= read -r word <"$1/status"; } 2>/dev/null || word=
    printf '%s' "$word"
)

# svcfs__missing TARGET: explain on stderr why TARGET has no directory.
svcfs__missing() {
    if svcfs__mounted; then
        echo "svcfs: no service or resource $1 under ${SVCFS_MOUNT:-/svc}" >&2
    else
        echo "svcfs: svcfs is not mounted at ${SVCFS_MOUNT:-/svc} (set SVCFS_MOUNT?)" >&2
    fi
}

# svcfs_wait TARGET WORD [TIMEOUT_SECONDS]
# Wait until TARGET's status is WORD (up, down, warn or n/a): returns 0
# then, 1 after TIMEOUT_SECONDS (default 60). up, down and warn are waited
# for by reading TARGET's wait/WORD file, which returns when the status is
# that word (no polling); n/a, which has no such file, is looked at once a
# second. A service not loaded yet is waited for like any other state.
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
    if ! svcfs__mounted; then
        svcfs__missing "$1"
        return 3
    fi
    dir=$(svcfs__dir "$1")
    start=$(date +%s)
    while :; do
        waited=$(($(date +%s) - start))
        left=$((timeout - waited))
        if [ "$2" != n/a ] && [ -d "$dir/wait" ] && [ "$left" -gt 0 ]; then
            # timeout(1) ends the blocked read with SIGTERM (exit 124).
            word=$(timeout "$left" cat "$dir/wait/$2" 2>/dev/null) && [ "$word" = "$2" ] && return 0
        else
            word=$(svcfs__word "$dir")
            [ "$word" = "$2" ] && return 0
        fi
        waited=$(($(date +%s) - start))
        if [ "$waited" -ge "$timeout" ]; then
            word=$(svcfs__word "$dir")
            echo "svcfs_wait: $1 is ${word:-not there}, not $2, after ${timeout}s" >&2
            return 1
        fi
        # The target left the tree or is not loaded yet, or n/a: look again.
        sleep 1
    done
)

# svcfs_ctl TARGET COMMAND [ARGS...]
# Write one command to TARGET's ctl file, e.g. `svcfs_ctl app start --rid
# container#1` or `svcfs_ctl app/container#1 rollback`. The write returns
# when the action has finished; so does this function, with 0 on success.
# On failure it prints the error, what it means, and the error lines at the
# end of the service's log, and returns the code the svcfs command line
# would (see the top of this file).
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
        return 3
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
    log=$(svcfs__dir "${target%%/*}")/log
    case $reason in
    *busy* | *"temporarily unavailable"*)
        meaning="another action is running on the service; retry when it ends" code=4 ;;
    *"Invalid argument"*)
        if tail -n 20 "$log" 2>/dev/null |
            grep -q -e 'invalid configuration: ' -e 'the service file cannot be used: '; then
            meaning="the service's configuration is invalid (svcfs check tells every problem)" code=7
        else
            meaning="unknown command or rid" code=2
        fi
        ;;
    *"not supported"*) meaning="the command does not apply to this target" code=2 ;;
    *"timed out"*) meaning="a bound was hit (start_timeout, stop_timeout, docker)" code=5 ;;
    *"Input/output"*) meaning="a backend failed (docker, LVM, mount, address)" code=1 ;;
    *"Permission denied"* | *"not permitted"* | *"Host is down"*)
        meaning="only root or the ctl group may act, and only on a node listed in nodes" code=6 ;;
    *"No such file"* | *"not connected"*) meaning="no such service or resource" code=3 ;;
    *) meaning= code=1 ;;
    esac
    echo "svcfs_ctl: $target: $command: ${reason:-failed}${meaning:+ ($meaning)}" >&2
    tail -n 20 "$log" 2>/dev/null | grep ' ERROR ' >&2
    return $code
)

# svcfs_list: print every service and its status word, one per line.
svcfs_list() (
    mnt=${SVCFS_MOUNT:-/svc}
    if ! svcfs__mounted; then
        svcfs__missing ""
        return 3
    fi
    for ctl in "$mnt"/*/ctl; do
        [ -e "$ctl" ] || continue
        dir=${ctl%/ctl}
        printf '%-31s %s\n' "${dir##*/}" "$(svcfs__word "$dir")"
    done
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
        return 3
    fi
    for ctl in "$dir"/*/ctl; do
        [ -e "$ctl" ] || continue
        resource=${ctl%/ctl}
        [ "$(svcfs__word "$resource")" = up ] || printf '%s\n' "${resource##*/}"
    done
    return 0
)
