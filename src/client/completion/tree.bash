
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
