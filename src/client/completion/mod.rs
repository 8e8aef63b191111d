//! Completion scripts: clap's, and for bash and zsh the service names,
//! rids and cluster nodes of the mounted tree, read by the shell itself
//! when completing (a readdir of the tree, served from memory).

use clap_complete::Shell;

/// bash: helpers and a completion function that completes from the tree
/// where an operand is a service, a rid or a node, and hands every other
/// word to clap's `_svcfs`.
const BASH_TREE: &str = include_str!("tree.bash");

/// zsh: helpers named as the actions of the service, rid and node
/// arguments in clap's `_arguments` specs (see [`zsh_actions`]).
const ZSH_TREE: &str = include_str!("tree.zsh");

/// The completion script of `shell` for `command`.
pub fn script(shell: Shell, command: &mut clap::Command) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, command, "svcfs", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        Shell::Bash => script + BASH_TREE,
        Shell::Zsh => with_zsh_tree(&zsh_actions(&script)),
        _ => script,
    }
}

/// clap writes `_default` as the action of an argument without values it
/// knows; the service, rid and node arguments get the tree's instead.
fn zsh_actions(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        let action = if line.starts_with("':service -- ") || line.starts_with("'::service -- ") {
            Some("_svcfs_services")
        } else if line.starts_with("'--rid=[") {
            Some("_svcfs_rids")
        } else if line.starts_with("':node -- ") {
            Some("_svcfs_nodes")
        } else {
            None
        };
        match action.and_then(|action| {
            line.strip_suffix(":_default' \\\n")
                .map(|spec| format!("{spec}:{action}' \\\n"))
        }) {
            Some(replaced) => out.push_str(&replaced),
            None => out.push_str(line),
        }
    }
    out
}

/// The helpers go before clap's last statement, which runs `_svcfs` when
/// the file is autoloaded from fpath (or registers it when sourced).
fn with_zsh_tree(script: &str) -> String {
    const LAST: &str = "if [ \"$funcstack[1]\" = \"_svcfs\" ]; then";
    match script.rfind(LAST) {
        Some(at) => format!("{}{ZSH_TREE}{}", &script[..at], &script[at..]),
        None => format!("{script}\n{ZSH_TREE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> clap::Command {
        clap::Command::new("svcfs")
            .subcommand(
                clap::Command::new("start")
                    .arg(clap::Arg::new("service").required(true).help("The service"))
                    .arg(clap::Arg::new("rid").long("rid").help("Rids")),
            )
            .subcommand(
                clap::Command::new("switch")
                    .arg(clap::Arg::new("service").required(true).help("The service"))
                    .arg(clap::Arg::new("node").required(true).help("The node")),
            )
            .subcommand(
                clap::Command::new("status").arg(clap::Arg::new("service").help("The service")),
            )
    }

    #[test]
    fn zsh_service_rid_and_node_arguments_complete_from_the_tree() {
        let script = script(Shell::Zsh, &mut command());
        assert_eq!(
            script.matches(":_svcfs_services' \\\n").count(),
            3,
            "{script}"
        );
        assert_eq!(script.matches(":_svcfs_rids' \\\n").count(), 1, "{script}");
        assert_eq!(script.matches(":_svcfs_nodes' \\\n").count(), 1, "{script}");
        let helpers = script.find("_svcfs_services() {").unwrap();
        let last = script
            .rfind("if [ \"$funcstack[1]\" = \"_svcfs\" ]")
            .unwrap();
        assert!(helpers < last, "the helpers are defined before _svcfs runs");
    }

    #[test]
    fn bash_registers_the_tree_function() {
        let script = script(Shell::Bash, &mut command());
        assert!(script.contains("_svcfs() {"), "clap's function stays");
        assert!(script.ends_with(&BASH_TREE.to_string()));
        assert!(script.contains("complete -F _svcfs_tree"));
    }
}
