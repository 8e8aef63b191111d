_svcfs() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="svcfs"
                ;;
            svcfs,check)
                cmd="svcfs__subcmd__check"
                ;;
            svcfs,clear)
                cmd="svcfs__subcmd__clear"
                ;;
            svcfs,completions)
                cmd="svcfs__subcmd__completions"
                ;;
            svcfs,docker)
                cmd="svcfs__subcmd__docker"
                ;;
            svcfs,freeze)
                cmd="svcfs__subcmd__freeze"
                ;;
            svcfs,giveback)
                cmd="svcfs__subcmd__giveback"
                ;;
            svcfs,help)
                cmd="svcfs__subcmd__help"
                ;;
            svcfs,import)
                cmd="svcfs__subcmd__import"
                ;;
            svcfs,kill)
                cmd="svcfs__subcmd__kill"
                ;;
            svcfs,mount)
                cmd="svcfs__subcmd__mount"
                ;;
            svcfs,restart)
                cmd="svcfs__subcmd__restart"
                ;;
            svcfs,rollback)
                cmd="svcfs__subcmd__rollback"
                ;;
            svcfs,run)
                cmd="svcfs__subcmd__run"
                ;;
            svcfs,start)
                cmd="svcfs__subcmd__start"
                ;;
            svcfs,startcontainer)
                cmd="svcfs__subcmd__startcontainer"
                ;;
            svcfs,status)
                cmd="svcfs__subcmd__status"
                ;;
            svcfs,stop)
                cmd="svcfs__subcmd__stop"
                ;;
            svcfs,stopcontainer)
                cmd="svcfs__subcmd__stopcontainer"
                ;;
            svcfs,switch)
                cmd="svcfs__subcmd__switch"
                ;;
            svcfs,takeover)
                cmd="svcfs__subcmd__takeover"
                ;;
            svcfs,thaw)
                cmd="svcfs__subcmd__thaw"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        svcfs)
            opts="-h -V --help --version mount check status start stop restart startcontainer stopcontainer clear freeze thaw switch takeover giveback docker import completions help rollback run kill"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__check)
            opts="-h --config-dir --nodename --var-dir --json --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --nodename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --var-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__clear)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__completions)
            opts="-h --help bash elvish fish powershell zsh"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__docker)
            opts="-h --mountpoint --config-dir --var-dir --docker-host --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --var-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --docker-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__freeze)
            opts="-h --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__giveback)
            opts="-h --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__help)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__import)
            opts="-o -h --name --output --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__kill)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__mount)
            opts="-h --config-dir --var-dir --docker-host --nodename --ctl-group --autostart --refresh-interval --status-timeout --cluster --etcd-cacert --etcd-cert --etcd-key --etcd-user --etcd-password-file --cluster-ttl --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --var-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --docker-host)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --nodename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ctl-group)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --refresh-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --status-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --etcd-cacert)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --etcd-cert)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --etcd-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --etcd-user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --etcd-password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster-ttl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__restart)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__rollback)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__run)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__start)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__startcontainer)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__status)
            opts="-h --json --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__stop)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__stopcontainer)
            opts="-h --rid --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --rid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__switch)
            opts="-h --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__takeover)
            opts="-h --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        svcfs__subcmd__thaw)
            opts="-h --mountpoint --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --mountpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _svcfs -o nosort -o bashdefault -o default svcfs
else
    complete -F _svcfs -o bashdefault -o default svcfs
fi

# Added by svcfs to clap's script: service names, rids and cluster nodes
# read from the mounted tree, at --mountpoint when the command line has
# one, else at $SVCFS_MOUNT, else /svc. A service is a directory of the
# tree with a ctl file; a rid is a sub-directory of a service with one.
# The names of the sub-directories of $1 that take commands (a ctl file):
# the services of a tree, or the rids of a service.
_svcfs_tree_ctl_dirs() {
    local ctl
    for ctl in "$1"/*/ctl; do
        [[ -e $ctl ]] || continue
        ctl=${ctl%/ctl}
        printf '%s\n' "${ctl##*/}"
    done
}

_svcfs_tree_nodes() {
    local dir
    for dir in "$1/$2"/nodes/*/; do
        [[ -d $dir ]] || continue
        dir=${dir%/}
        printf '%s\n' "${dir##*/}"
    done
}

_svcfs_tree() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local mnt=${SVCFS_MOUNT:-/svc} sub='' svc='' before=0 i w
    # The subcommand, the service (wherever it is) and how many operands
    # come before the word being completed. "--opt=value" arrives as
    # three words: bash breaks words at '='.
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        ((i == COMP_CWORD)) && continue
        w=${COMP_WORDS[i]}
        case $w in
        --mountpoint | --rid | --config-dir | --var-dir | --docker-host | --nodename)
            ((i + 1 == COMP_CWORD)) && continue
            ((i++))
            if [[ ${COMP_WORDS[i]} == = ]]; then
                ((i + 1 == COMP_CWORD)) && continue
                ((i++))
            fi
            [[ $w == --mountpoint ]] && mnt=${COMP_WORDS[i]}
            continue
            ;;
        -*) continue ;;
        esac
        if [[ -z $sub ]]; then
            sub=$w
        elif [[ -z $svc ]]; then
            svc=$w
            ((i < COMP_CWORD)) && ((before++))
        elif ((i < COMP_CWORD)); then
            ((before++))
        fi
    done
    case $sub in
    status | start | stop | restart | startcontainer | stopcontainer | clear | freeze | thaw | \
        rollback | switch | takeover | giveback | docker) ;;
    *)
        _svcfs "$@"
        return
        ;;
    esac
    local option=$prev
    [[ $prev == = ]] && option=${COMP_WORDS[COMP_CWORD - 2]}
    if [[ $option == --rid ]]; then
        # After the rids already typed, comma separated.
        local typed='' last=$cur
        [[ $cur == = ]] && last=''
        if [[ $last == *,* ]]; then
            typed=${last%,*},
            last=${last##*,}
        fi
        [[ -n $svc ]] && COMPREPLY=($(compgen -P "$typed" -W "$(_svcfs_tree_ctl_dirs "$mnt/$svc")" -- "$last"))
        return 0
    fi
    if [[ $option == --mountpoint || $cur == -* ]]; then
        _svcfs "$@"
        return
    fi
    if ((before == 0)); then
        COMPREPLY=($(compgen -W "$(_svcfs_tree_ctl_dirs "$mnt")" -- "$cur"))
        return 0
    fi
    if [[ $sub == switch ]] && ((before == 1)); then
        COMPREPLY=($(compgen -W "$(_svcfs_tree_nodes "$mnt" "$svc")" -- "$cur"))
        return 0
    fi
    _svcfs "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _svcfs_tree -o nosort -o bashdefault -o default svcfs
else
    complete -F _svcfs_tree -o bashdefault -o default svcfs
fi
