# Added by svcfs to clap's script: service names, rids and cluster nodes
# read from the mounted tree, at --mountpoint when the command line has
# one, else at $SVCFS_MOUNT, else /svc. A service is a directory of the
# tree with a ctl file; a rid is a sub-directory of a service with one.
# The names of the sub-directories of $1 that take commands (a ctl file):
# the services of a tree, or the rids of a service.
(( $+functions[_svcfs_tree_ctl_dirs] )) ||
_svcfs_tree_ctl_dirs() {
    local ctl
    for ctl in $1/*/ctl(N); do
        print -r -- ${${ctl:h}:t}
    done
}

(( $+functions[_svcfs_tree_nodes] )) ||
_svcfs_tree_nodes() {
    local dir
    for dir in $1/$2/nodes/*(N/); do
        print -r -- ${dir:t}
    done
}

(( $+functions[_svcfs_mountpoint] )) ||
_svcfs_mountpoint() {
    local mnt=${opt_args[--mountpoint]:-${SVCFS_MOUNT:-/svc}}
    print -r -- ${~mnt}
}

(( $+functions[_svcfs_services] )) ||
_svcfs_services() {
    local -a names
    names=(${(f)"$(_svcfs_tree_ctl_dirs "$(_svcfs_mountpoint)")"})
    _wanted services expl service compadd -a names
}

# The rids of the service named on the line (the first operand), after
# the ones already typed, comma separated.
(( $+functions[_svcfs_rids] )) ||
_svcfs_rids() {
    local -a rids
    [[ -n ${line[1]} ]] || return 1
    rids=(${(f)"$(_svcfs_tree_ctl_dirs "$(_svcfs_mountpoint)/${line[1]}")"})
    _sequence _wanted rids expl rid compadd - "${rids[@]}"
}

(( $+functions[_svcfs_nodes] )) ||
_svcfs_nodes() {
    local -a nodes
    [[ -n ${line[1]} ]] || return 1
    nodes=(${(f)"$(_svcfs_tree_nodes "$(_svcfs_mountpoint)" "${line[1]}")"})
    _wanted nodes expl node compadd -a nodes
}

