//! Tests of `run_args`: the grammar, every option, the deferred pieces, and
//! a property over the option table.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, Mount, MountBindOptions, MountBindOptionsPropagationEnum,
    MountTmpfsOptions, MountType, PortBinding, ResourcesUlimits, RestartPolicy,
    RestartPolicyNameEnum,
};

use super::values::go_duration;
use super::*;

/// `run_args` resolved as the container driver resolves them: files read
/// from this host, bare names taken from this process's environment.
fn translate(args: &str) -> Result<ContainerCreateBody, RunArgsError> {
    parse(args)?.into_body(|path| std::fs::read(path), host_env)
}

fn host_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

fn translated(args: &str) -> ContainerCreateBody {
    translate(args).unwrap_or_else(|e| panic!("{args:?} should translate: {e}"))
}

fn host_of(args: &str) -> HostConfig {
    translated(args).host_config.expect("a host config")
}

fn error(args: &str) -> RunArgsError {
    translate(args).expect_err("should be refused")
}

fn bad_option(args: &str) -> String {
    match error(args) {
        RunArgsError::BadValue { option, .. } => option,
        other => panic!("{args:?}: expected BadValue, got {other:?}"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn binding(ip: &str, port: &str) -> PortBinding {
    PortBinding {
        host_ip: Some(ip.into()),
        host_port: Some(port.into()),
    }
}

fn bindings(args: &str, port: &str) -> Vec<PortBinding> {
    let mut all = host_of(args).port_bindings.expect("port bindings");
    all.remove(port).flatten().expect("bindings for the port")
}

/// A file under the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &[u8]) -> Self {
        let name = format!("svcfs-run-args-{}-{tag}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).expect("write temp file");
        Self(path)
    }

    fn quoted(&self) -> String {
        shell_words::quote(self.0.to_str().expect("utf-8 temp path")).into_owned()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// --- grammar -----------------------------------------------------------

#[test]
fn empty_run_args_add_nothing() {
    assert_eq!(translated("  "), ContainerCreateBody::default());
}

#[test]
fn tutorial_docker_socket_bind_and_port_translate() {
    let body =
        translated("-v /opt/opensvc/var/app.opensvc.com/docker.sock:/docker.sock -p 8888:8000");
    let host = body.host_config.expect("host config");
    assert_eq!(
        host.binds,
        Some(strings(&[
            "/opt/opensvc/var/app.opensvc.com/docker.sock:/docker.sock"
        ]))
    );
    let ports = host.port_bindings.expect("port bindings");
    assert_eq!(ports.len(), 1);
    assert_eq!(ports["8000/tcp"], Some(vec![binding("", "8888")]));
    assert_eq!(body.exposed_ports, Some(strings(&["8000/tcp"])));
}

#[test]
fn tutorial_rw_volume_and_ssh_port_translate() {
    let body = translated("-v /opt/app.opensvc.com/vol1:/vol1:rw -p 42222:22");
    let host = body.host_config.expect("host config");
    assert_eq!(
        host.binds,
        Some(strings(&["/opt/app.opensvc.com/vol1:/vol1:rw"]))
    );
    assert_eq!(
        host.port_bindings.expect("ports")["22/tcp"],
        Some(vec![binding("", "42222")])
    );
    assert_eq!(body.exposed_ports, Some(strings(&["22/tcp"])));
    assert_eq!(body.volumes, None);
}

#[test]
fn long_option_value_may_follow_an_equals_sign() {
    assert_eq!(
        translated("--hostname=web").hostname.as_deref(),
        Some("web")
    );
    assert_eq!(translated("--env=A=1").env, Some(strings(&["A=1"])));
}

#[test]
fn combined_short_flags_set_each_flag() {
    let body = translated("-itd");
    assert_eq!(body.tty, Some(true));
    assert_eq!(body.open_stdin, Some(true));
}

#[test]
fn short_option_value_may_be_attached_or_follow_an_equals_sign() {
    for args in ["-p8080:80", "-p=8080:80", "-itp 8080:80", "-itp8080:80"] {
        assert_eq!(
            bindings(args, "80/tcp"),
            vec![binding("", "8080")],
            "{args}"
        );
    }
    assert_eq!(translated("-itp8080:80").tty, Some(true));
}

#[test]
fn bool_flag_takes_an_explicit_false() {
    assert_eq!(host_of("--privileged=false").privileged, Some(false));
    assert_eq!(host_of("--privileged=1").privileged, Some(true));
    assert_eq!(translated("-t=false").tty, Some(false));
}

#[test]
fn bool_flag_rejects_a_non_boolean_value() {
    assert_eq!(
        error("--init=maybe"),
        RunArgsError::BadValue {
            option: "--init".into(),
            value: "maybe".into(),
            reason: "expected true or false".into(),
        }
    );
}

#[test]
fn bool_flag_does_not_take_the_next_word() {
    assert_eq!(
        error("--privileged false"),
        RunArgsError::Positional("false".into())
    );
}

#[test]
fn option_value_may_start_with_a_dash() {
    assert_eq!(host_of("--memory-swap -1").memory_swap, Some(-1));
    assert_eq!(
        translated("--entrypoint -x").entrypoint,
        Some(strings(&["-x"]))
    );
}

#[test]
fn repeated_list_options_accumulate_in_order() {
    let body = translated("-e A=1 --env B=2 -e=C=3");
    assert_eq!(body.env, Some(strings(&["A=1", "B=2", "C=3"])));
}

#[test]
fn repeated_single_value_options_keep_the_last() {
    assert_eq!(translated("-h a -h b").hostname.as_deref(), Some("b"));
}

#[test]
fn quoted_values_keep_their_spaces() {
    assert_eq!(
        translated(r#"-e "GREETING=hello world""#).env,
        Some(strings(&["GREETING=hello world"]))
    );
}

#[test]
fn unknown_long_option_is_named_as_written() {
    assert_eq!(
        error("-d --frobnicate"),
        RunArgsError::UnknownOption("--frobnicate".into())
    );
    assert_eq!(
        error("--frobnicate=3"),
        RunArgsError::UnknownOption("--frobnicate".into())
    );
    assert_eq!(
        error("--platform linux/amd64"),
        RunArgsError::UnknownOption("--platform".into())
    );
}

#[test]
fn unknown_short_option_in_a_cluster_is_named() {
    assert_eq!(error("-itx"), RunArgsError::UnknownOption("-x".into()));
}

#[test]
fn name_is_refused() {
    assert_eq!(
        error("--name web"),
        RunArgsError::Refused {
            option: "--name".into(),
            reason: "svcfs names the container <svc>.container.<N>".into(),
        }
    );
}

#[test]
fn rm_is_refused() {
    assert_eq!(
        error("-d --rm"),
        RunArgsError::Refused {
            option: "--rm".into(),
            reason: "svcfs keeps stopped containers (stop, then start reuses them)".into(),
        }
    );
}

#[test]
fn option_missing_its_value_at_the_end_is_named() {
    assert_eq!(error("-d -p"), RunArgsError::MissingValue("-p".into()));
    assert_eq!(
        error("--memory"),
        RunArgsError::MissingValue("--memory".into())
    );
}

#[test]
fn positional_word_is_rejected() {
    assert_eq!(error("-d nginx"), RunArgsError::Positional("nginx".into()));
    assert_eq!(error("-t -- sh"), RunArgsError::Positional("sh".into()));
    assert_eq!(error("-"), RunArgsError::Positional("-".into()));
}

#[test]
fn unbalanced_quote_is_a_word_error() {
    assert!(matches!(error("-e 'A=1"), RunArgsError::Words(_)));
}

#[test]
fn error_messages_name_option_and_value() {
    assert_eq!(
        error("-m 12x").to_string(),
        "option -m: invalid value \"12x\": \"12x\" is not a size (e.g. 512m, 1g, or bytes)"
    );
    assert_eq!(
        error("-d --frobnicate").to_string(),
        "unknown docker run option --frobnicate"
    );
}

// --- storage -----------------------------------------------------------

#[test]
fn volume_with_source_is_a_bind_sent_verbatim() {
    let host = host_of("-v /srv/a:/a -v data:/data:ro,nocopy --volume=/srv/b:/b:Z");
    assert_eq!(
        host.binds,
        Some(strings(&[
            "/srv/a:/a",
            "data:/data:ro,nocopy",
            "/srv/b:/b:Z"
        ]))
    );
}

#[test]
fn volume_without_source_is_anonymous() {
    let body = translated("-v /data -v /data");
    assert_eq!(body.volumes, Some(strings(&["/data"])));
    assert_eq!(body.host_config, None);
}

#[test]
fn mount_bind_readonly_becomes_a_mount() {
    let mounts = host_of("--mount type=bind,source=/srv/conf,target=/etc/app,readonly")
        .mounts
        .expect("mounts");
    assert_eq!(
        mounts,
        vec![Mount {
            typ: Some(MountType::BIND),
            source: Some("/srv/conf".into()),
            target: Some("/etc/app".into()),
            read_only: Some(true),
            ..Default::default()
        }]
    );
}

#[test]
fn mount_bind_propagation_and_ro_value_are_read() {
    let mounts = host_of("--mount type=bind,src=/a,dst=/b,ro=false,bind-propagation=rshared")
        .mounts
        .expect("mounts");
    assert_eq!(mounts[0].read_only, Some(false));
    assert_eq!(
        mounts[0].bind_options,
        Some(MountBindOptions {
            propagation: Some(MountBindOptionsPropagationEnum::RSHARED),
            ..Default::default()
        })
    );
}

#[test]
fn mount_volume_takes_driver_options_with_quoted_fields() {
    let spec = r#"'type=volume,source=nfs,destination=/data,volume-driver=local,volume-opt=type=nfs,"volume-opt=o=addr=10.0.0.1,rw",volume-nocopy'"#;
    let mounts = host_of(&format!("--mount {spec}")).mounts.expect("mounts");
    let options = mounts[0].volume_options.clone().expect("volume options");
    assert_eq!(options.no_copy, Some(true));
    let driver = options.driver_config.expect("driver config");
    assert_eq!(driver.name.as_deref(), Some("local"));
    assert_eq!(
        driver.options,
        Some(map(&[("type", "nfs"), ("o", "addr=10.0.0.1,rw")]))
    );
    assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
}

#[test]
fn mount_defaults_to_a_volume() {
    let mounts = host_of("--mount target=/cache").mounts.expect("mounts");
    assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
    assert_eq!(mounts[0].source, None);
}

#[test]
fn mount_tmpfs_takes_size_and_octal_mode() {
    let mounts = host_of("--mount type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770")
        .mounts
        .expect("mounts");
    assert_eq!(
        mounts[0].tmpfs_options,
        Some(MountTmpfsOptions {
            size_bytes: Some(64 << 20),
            mode: Some(0o1770),
            ..Default::default()
        })
    );
}

#[test]
fn tmpfs_maps_path_to_options() {
    let host = host_of("--tmpfs /run:rw,size=64m --tmpfs /tmp");
    assert_eq!(
        host.tmpfs,
        Some(map(&[("/run", "rw,size=64m"), ("/tmp", "")]))
    );
}

// --- ports -------------------------------------------------------------

#[test]
fn publish_with_ip_and_protocol_binds_host_port() {
    let body = translated("-p 127.0.0.1:5353:53/udp");
    assert_eq!(body.exposed_ports, Some(strings(&["53/udp"])));
    assert_eq!(
        body.host_config.and_then(|h| h.port_bindings),
        Some(HashMap::from([(
            "53/udp".to_string(),
            Some(vec![binding("127.0.0.1", "5353")])
        )]))
    );
}

#[test]
fn publish_with_bracketed_ipv6_strips_the_brackets() {
    assert_eq!(
        bindings("-p [::1]:80:8080", "8080/tcp"),
        vec![binding("::1", "80")]
    );
    assert_eq!(
        bindings("-p ::1:80:8080", "8080/tcp"),
        vec![binding("::1", "80")]
    );
}

#[test]
fn publish_container_port_only_lets_the_engine_pick() {
    assert_eq!(bindings("-p 80", "80/tcp"), vec![binding("", "")]);
    assert_eq!(
        bindings("-p 10.0.0.1::80", "80/tcp"),
        vec![binding("10.0.0.1", "")]
    );
}

#[test]
fn publish_port_ranges_pair_up() {
    let body = translated("-p 8000-8001:9000-9001");
    assert_eq!(body.exposed_ports, Some(strings(&["9000/tcp", "9001/tcp"])));
    let ports = body
        .host_config
        .and_then(|h| h.port_bindings)
        .expect("ports");
    assert_eq!(ports["9000/tcp"], Some(vec![binding("", "8000")]));
    assert_eq!(ports["9001/tcp"], Some(vec![binding("", "8001")]));
}

#[test]
fn publish_single_port_to_host_range_keeps_the_range() {
    assert_eq!(
        bindings("-p 8000-8010:80", "80/tcp"),
        vec![binding("", "8000-8010")]
    );
}

#[test]
fn publish_same_port_twice_adds_bindings() {
    assert_eq!(
        bindings("-p 80:80 -p 127.0.0.1:8080:80/TCP", "80/tcp"),
        vec![binding("", "80"), binding("127.0.0.1", "8080")]
    );
}

#[test]
fn publish_all_sets_the_flag() {
    assert_eq!(host_of("-P").publish_all_ports, Some(true));
    assert_eq!(host_of("--publish-all").publish_all_ports, Some(true));
}

#[test]
fn expose_adds_ports_and_ranges_without_bindings() {
    let body = translated("--expose 80 --expose 7000-7001/udp -p 8080:80");
    assert_eq!(
        body.exposed_ports,
        Some(strings(&["80/tcp", "7000/udp", "7001/udp"]))
    );
}

// --- environment and labels --------------------------------------------

#[test]
fn env_bare_name_takes_the_daemon_environment() {
    let path = std::env::var("PATH").expect("PATH is set");
    assert_eq!(
        translated("-e PATH").env,
        Some(vec![format!("PATH={path}")])
    );
}

#[test]
fn env_bare_unset_name_is_sent_bare_like_docker() {
    let name = "SVCFS_RUN_ARGS_SURELY_UNSET_VARIABLE";
    assert_eq!(
        translated(&format!("-e {name}")).env,
        Some(strings(&[name]))
    );
}

#[test]
fn env_file_entries_come_before_env_options() {
    let file = TempFile::new(
        "env",
        b"\xEF\xBB\xBF# settings\n\n  A=1\r\nB= spaced value \nPATH\nSVCFS_RUN_ARGS_UNSET\n",
    );
    let args = format!("-e C=3 --env-file {}", file.quoted());
    let path = std::env::var("PATH").expect("PATH is set");
    assert_eq!(
        translated(&args).env,
        Some(vec![
            "A=1".to_string(),
            "B= spaced value ".to_string(),
            format!("PATH={path}"),
            "C=3".to_string(),
        ])
    );
}

#[test]
fn env_file_errors_name_the_file() {
    let missing = "/nonexistent/svcfs/env";
    assert!(matches!(
        error(&format!("--env-file {missing}")),
        RunArgsError::EnvFile { path, .. } if path == missing
    ));
    let file = TempFile::new("env-bad", b"OK=1\nBAD NAME=2\n");
    match error(&format!("--env-file {}", file.quoted())) {
        RunArgsError::EnvFile { reason, .. } => {
            assert!(reason.starts_with("line 2:"), "{reason}")
        }
        other => panic!("expected EnvFile, got {other:?}"),
    }
}

#[test]
fn labels_take_key_value_or_bare_key() {
    let body = translated("-l a=b --label flag -l c=d=e -l a=z");
    assert_eq!(
        body.labels,
        Some(map(&[("a", "z"), ("flag", ""), ("c", "d=e")]))
    );
}

// --- network -----------------------------------------------------------

#[test]
fn network_sets_the_network_mode() {
    assert_eq!(
        host_of("--network backend").network_mode.as_deref(),
        Some("backend")
    );
    assert_eq!(host_of("--net=host").network_mode.as_deref(), Some("host"));
}

#[test]
fn ip_and_ip6_configure_the_user_network_endpoint() {
    let body = translated("--network backend --ip 10.1.0.5 --ip6 fd00::5");
    let endpoints = body
        .networking_config
        .and_then(|n| n.endpoints_config)
        .expect("endpoints");
    assert_eq!(
        endpoints,
        HashMap::from([(
            "backend".to_string(),
            EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some("10.1.0.5".into()),
                    ipv6_address: Some("fd00::5".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        )])
    );
}

#[test]
fn a_container_may_join_several_networks_each_with_its_aliases() {
    let args =
        "--network front --network-alias web --network name=back,alias=web,alias=api,ip=10.2.0.9";
    let body = translated(args);
    assert_eq!(
        body.host_config.and_then(|h| h.network_mode).as_deref(),
        Some("front"),
        "created on the first"
    );
    let endpoints = body
        .networking_config
        .and_then(|n| n.endpoints_config)
        .expect("endpoints");
    assert_eq!(endpoints["front"].aliases, Some(strings(&["web"])));
    assert_eq!(endpoints["back"].aliases, Some(strings(&["web", "api"])));
    assert_eq!(
        endpoints["back"]
            .ipam_config
            .as_ref()
            .and_then(|i| i.ipv4_address.as_deref()),
        Some("10.2.0.9")
    );
    let order: Vec<String> = super::parse(args)
        .unwrap()
        .networks()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(order, ["front", "back"], "the network mode first");
}

#[test]
fn network_aliases_go_to_the_first_network_as_the_cli_puts_them() {
    let body = translated("--network a --network b --network-alias x");
    let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
    assert_eq!(endpoints["a"].aliases, Some(strings(&["x"])));
    assert_eq!(endpoints["b"].aliases, None);
}

#[test]
fn ip_needs_a_user_defined_network() {
    assert_eq!(
        error("--ip 10.1.0.5"),
        RunArgsError::BadValue {
            option: "--ip".into(),
            value: "10.1.0.5".into(),
            reason: "needs a user-defined network: add --network <name>".into(),
        }
    );
}

#[test]
fn dns_servers_are_normalized() {
    let host = host_of("--dns 8.8.8.8 --dns ' 2001:DB8::1 ' --dns ::ffff:1.2.3.4");
    assert_eq!(
        host.dns,
        Some(strings(&["8.8.8.8", "2001:db8::1", "1.2.3.4"]))
    );
}

#[test]
fn dns_search_domains_drop_the_trailing_dot() {
    let host = host_of("--dns-search example.com. --dns-search .");
    assert_eq!(host.dns_search, Some(strings(&["example.com", "."])));
}

#[test]
fn dns_options_pass_through() {
    let host = host_of("--dns-option ndots:2 --dns-opt timeout:1");
    assert_eq!(host.dns_options, Some(strings(&["ndots:2", "timeout:1"])));
}

#[test]
fn add_host_becomes_extra_hosts() {
    let host = host_of("--add-host db:10.0.0.2 --add-host v6:::1 --add-host gw:host-gateway");
    assert_eq!(
        host.extra_hosts,
        Some(strings(&["db:10.0.0.2", "v6:::1", "gw:host-gateway"]))
    );
}

#[test]
fn hostname_and_domainname_are_set() {
    let body = translated("-h web --domainname example.com");
    assert_eq!(body.hostname.as_deref(), Some("web"));
    assert_eq!(body.domainname.as_deref(), Some("example.com"));
}

// --- process -----------------------------------------------------------

#[test]
fn entrypoint_is_one_word_and_empty_resets_it() {
    assert_eq!(
        translated("--entrypoint /bin/sh").entrypoint,
        Some(strings(&["/bin/sh"]))
    );
    assert_eq!(
        translated("--entrypoint '/bin/sh -c'").entrypoint,
        Some(strings(&["/bin/sh -c"]))
    );
    assert_eq!(
        translated("--entrypoint ''").entrypoint,
        Some(strings(&[""]))
    );
    assert_eq!(translated("--entrypoint=").entrypoint, Some(strings(&[""])));
}

#[test]
fn workdir_and_user_are_set() {
    let body = translated("-w /srv -u 1000:1000");
    assert_eq!(body.working_dir.as_deref(), Some("/srv"));
    assert_eq!(body.user.as_deref(), Some("1000:1000"));
    assert_eq!(
        translated("--workdir=/app --user=app").user.as_deref(),
        Some("app")
    );
}

#[test]
fn stop_signal_and_timeout_are_set() {
    let body = translated("--stop-signal SIGINT --stop-timeout 30");
    assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(body.stop_timeout, Some(30));
}

#[test]
fn tty_and_interactive_open_stdin_without_attaching() {
    let body = translated("-t -i");
    assert_eq!(body.tty, Some(true));
    assert_eq!(body.open_stdin, Some(true));
    assert_eq!(body.attach_stdin, None);
    assert_eq!(body.stdin_once, None);
    assert_eq!(translated("--tty --interactive").tty, Some(true));
}

#[test]
fn detach_is_accepted_and_changes_nothing() {
    assert_eq!(translated("-d --detach"), ContainerCreateBody::default());
}

#[test]
fn init_is_set() {
    assert_eq!(host_of("--init").init, Some(true));
}

// --- security and namespaces ---------------------------------------------

#[test]
fn privileged_and_capabilities_are_set() {
    let host = host_of("--privileged --cap-add NET_ADMIN --cap-add SYS_TIME --cap-drop ALL");
    assert_eq!(host.privileged, Some(true));
    assert_eq!(host.cap_add, Some(strings(&["NET_ADMIN", "SYS_TIME"])));
    assert_eq!(host.cap_drop, Some(strings(&["ALL"])));
}

#[test]
fn security_opts_pass_through() {
    let host = host_of(
        "--security-opt no-new-privileges --security-opt label=disable \
         --security-opt seccomp=unconfined --security-opt apparmor:unconfined",
    );
    assert_eq!(
        host.security_opt,
        Some(strings(&[
            "no-new-privileges",
            "label=disable",
            "seccomp=unconfined",
            "apparmor:unconfined"
        ]))
    );
}

#[test]
fn seccomp_profile_file_is_sent_inline() {
    let file = TempFile::new(
        "seccomp",
        b"{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n",
    );
    let host = host_of(&format!("--security-opt seccomp={}", file.quoted()));
    assert_eq!(
        host.security_opt,
        Some(strings(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#]))
    );
}

#[test]
fn systempaths_unconfined_clears_masked_and_readonly_paths() {
    let host = host_of("--security-opt systempaths=unconfined");
    assert_eq!(host.masked_paths, Some(Vec::new()));
    assert_eq!(host.readonly_paths, Some(Vec::new()));
    assert_eq!(host.security_opt, None);
}

#[test]
fn group_add_accumulates() {
    assert_eq!(
        host_of("--group-add audio --group-add 44").group_add,
        Some(strings(&["audio", "44"]))
    );
}

#[test]
fn device_maps_host_to_container_with_permissions() {
    let devices = host_of("--device /dev/fuse --device /dev/sda:/dev/xvda:r --device /dev/snd/:rw")
        .devices
        .expect("devices");
    let device = |host: &str, container: &str, perms: &str| DeviceMapping {
        path_on_host: Some(host.into()),
        path_in_container: Some(container.into()),
        cgroup_permissions: Some(perms.into()),
    };
    assert_eq!(
        devices,
        vec![
            device("/dev/fuse", "/dev/fuse", "rwm"),
            device("/dev/sda", "/dev/xvda", "r"),
            device("/dev/snd", "/dev/snd", "rw"),
        ]
    );
}

#[test]
fn read_only_sets_a_read_only_root() {
    assert_eq!(host_of("--read-only").readonly_rootfs, Some(true));
}

#[test]
fn namespace_modes_are_checked() {
    let host = host_of("--pid host --ipc container:db --uts host --userns host");
    assert_eq!(host.pid_mode.as_deref(), Some("host"));
    assert_eq!(host.ipc_mode.as_deref(), Some("container:db"));
    assert_eq!(host.uts_mode.as_deref(), Some("host"));
    assert_eq!(host.userns_mode.as_deref(), Some("host"));
    assert_eq!(
        host_of("--ipc shareable").ipc_mode.as_deref(),
        Some("shareable")
    );
    assert_eq!(
        host_of("--pid container:db").pid_mode.as_deref(),
        Some("container:db")
    );
}

#[test]
fn sysctls_must_be_namespaced() {
    let host = host_of("--sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=1000000");
    assert_eq!(
        host.sysctls,
        Some(map(&[
            ("net.ipv4.ip_forward", "1"),
            ("kernel.shmmax", "1000000")
        ]))
    );
}

// --- resources -----------------------------------------------------------

#[test]
fn memory_sizes_use_binary_units() {
    for (text, bytes) in [
        ("512m", 512 << 20),
        ("1g", 1 << 30),
        ("1.5g", 3 << 29),
        ("100", 100),
        ("4k", 4096),
        ("2GiB", 2 << 30),
        ("1kb", 1024),
        ("1 m", 1 << 20),
    ] {
        assert_eq!(
            host_of(&format!("-m '{text}'")).memory,
            Some(bytes),
            "{text}"
        );
    }
}

#[test]
fn memory_rejects_bad_units() {
    for text in ["12x", "1mm", "-1", "", "1.2.3m", "m"] {
        assert_eq!(
            bad_option(&format!("--memory '{text}'")),
            "--memory",
            "{text}"
        );
    }
}

#[test]
fn memory_swap_reservation_and_shm_size_are_sizes() {
    let host = host_of("--memory-swap 2g --memory-reservation 256m --shm-size 64m");
    assert_eq!(host.memory_swap, Some(2 << 30));
    assert_eq!(host.memory_reservation, Some(256 << 20));
    assert_eq!(host.shm_size, Some(64 << 20));
}

#[test]
fn oom_kill_disable_is_set() {
    assert_eq!(host_of("--oom-kill-disable").oom_kill_disable, Some(true));
}

#[test]
fn cpus_become_exact_nano_cpus() {
    assert_eq!(host_of("--cpus 1.5").nano_cpus, Some(1_500_000_000));
    assert_eq!(host_of("--cpus 2").nano_cpus, Some(2_000_000_000));
    assert_eq!(host_of("--cpus .001").nano_cpus, Some(1_000_000));
    assert_eq!(host_of("--cpus 0.1234567890").nano_cpus, Some(123_456_789));
}

#[test]
fn cpu_shares_period_quota_and_sets_are_set() {
    let host =
        host_of("-c 512 --cpu-period 100000 --cpu-quota 50000 --cpuset-cpus 0-3 --cpuset-mems 0");
    assert_eq!(host.cpu_shares, Some(512));
    assert_eq!(host.cpu_period, Some(100_000));
    assert_eq!(host.cpu_quota, Some(50_000));
    assert_eq!(host.cpuset_cpus.as_deref(), Some("0-3"));
    assert_eq!(host.cpuset_mems.as_deref(), Some("0"));
}

#[test]
fn pids_limit_is_set() {
    assert_eq!(host_of("--pids-limit 100").pids_limit, Some(100));
    assert_eq!(host_of("--pids-limit=-1").pids_limit, Some(-1));
}

#[test]
fn ulimits_take_soft_and_hard_limits() {
    let host = host_of("--ulimit nofile=1024:2048 --ulimit nproc=10 --ulimit nofile=4096");
    let limit = |name: &str, soft, hard| ResourcesUlimits {
        name: Some(name.into()),
        soft: Some(soft),
        hard: Some(hard),
    };
    assert_eq!(
        host.ulimits,
        Some(vec![limit("nofile", 4096, 4096), limit("nproc", 10, 10)])
    );
    assert_eq!(
        host_of("--ulimit core=0:-1").ulimits,
        Some(vec![limit("core", 0, -1)])
    );
}

// --- lifecycle and logging -----------------------------------------------

#[test]
fn restart_policies_are_parsed() {
    let policy = |args: &str| host_of(args).restart_policy.expect("restart policy");
    assert_eq!(
        policy("--restart always"),
        RestartPolicy {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            maximum_retry_count: None,
        }
    );
    assert_eq!(
        policy("--restart on-failure:5"),
        RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: Some(5),
        }
    );
    assert_eq!(
        policy("--restart unless-stopped").name,
        Some(RestartPolicyNameEnum::UNLESS_STOPPED)
    );
    assert_eq!(policy("--restart no").name, Some(RestartPolicyNameEnum::NO));
}

#[test]
fn log_driver_and_options_become_log_config() {
    let host = host_of("--log-driver json-file --log-opt max-size=10m --log-opt max-file=3");
    assert_eq!(
        host.log_config,
        Some(HostConfigLogConfig {
            typ: Some("json-file".into()),
            config: Some(map(&[("max-size", "10m"), ("max-file", "3")])),
        })
    );
    assert_eq!(
        host_of("--log-opt tag=web").log_config,
        Some(HostConfigLogConfig {
            typ: None,
            config: Some(map(&[("tag", "web")])),
        })
    );
}

// --- health --------------------------------------------------------------

#[test]
fn health_options_build_a_shell_healthcheck() {
    let body = translated(
        "--health-cmd 'curl -f http://localhost/ || exit 1' --health-interval 1m30s \
         --health-timeout 500ms --health-start-period 1h --health-retries 3",
    );
    assert_eq!(
        body.healthcheck,
        Some(HealthConfig {
            test: Some(strings(&[
                "CMD-SHELL",
                "curl -f http://localhost/ || exit 1"
            ])),
            interval: Some(90_000_000_000),
            timeout: Some(500_000_000),
            start_period: Some(3_600_000_000_000),
            retries: Some(3),
            ..Default::default()
        })
    );
}

#[test]
fn health_timing_alone_keeps_the_image_test() {
    assert_eq!(
        translated("--health-interval 1.5s").healthcheck,
        Some(HealthConfig {
            interval: Some(1_500_000_000),
            ..Default::default()
        })
    );
}

#[test]
fn no_healthcheck_disables_the_image_healthcheck() {
    assert_eq!(
        translated("--no-healthcheck").healthcheck,
        Some(HealthConfig {
            test: Some(strings(&["NONE"])),
            ..Default::default()
        })
    );
}

#[test]
fn health_durations_must_be_go_durations() {
    for args in [
        "--health-interval 30",
        "--health-timeout 5x",
        "--health-start-period -1s",
        "--health-retries -1",
        "--health-interval ''",
    ] {
        assert!(
            matches!(error(args), RunArgsError::BadValue { .. }),
            "{args}"
        );
    }
}

#[test]
fn go_durations_add_up_their_parts() {
    assert_eq!(go_duration("0"), Ok(0));
    assert_eq!(go_duration("1h2m3s4ms5us6ns"), Ok(3_723_004_005_006));
    assert_eq!(go_duration("2.5m"), Ok(150_000_000_000));
    assert_eq!(go_duration("1\u{b5}s"), Ok(1_000));
    assert_eq!(go_duration("-1.5s"), Ok(-1_500_000_000));
    assert!(go_duration("1.s.").is_err());
    assert!(go_duration("3000000h").is_err());
}

// --- wire format -----------------------------------------------------------

#[test]
fn serialized_body_uses_engine_api_field_names() {
    let body =
        translated("-p 8888:8000 -v /a:/b -e A=1 --restart always --cpus 1 --ulimit nofile=5");
    let json = serde_json::to_value(&body).expect("serializes");
    assert_eq!(json["ExposedPorts"], serde_json::json!({"8000/tcp": {}}));
    assert_eq!(
        json["HostConfig"]["PortBindings"],
        serde_json::json!({"8000/tcp": [{"HostIp": "", "HostPort": "8888"}]})
    );
    assert_eq!(json["HostConfig"]["Binds"], serde_json::json!(["/a:/b"]));
    assert_eq!(json["Env"], serde_json::json!(["A=1"]));
    assert_eq!(
        json["HostConfig"]["RestartPolicy"],
        serde_json::json!({"Name": "always"})
    );
    assert_eq!(
        json["HostConfig"]["NanoCpus"],
        serde_json::json!(1_000_000_000)
    );
    assert_eq!(
        json["HostConfig"]["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 5, "Hard": 5}])
    );
}

#[test]
fn serialized_anonymous_volume_is_an_object_of_paths() {
    let json = serde_json::to_value(translated("-v /data")).expect("serializes");
    assert_eq!(json, serde_json::json!({"Volumes": {"/data": {}}}));
}

// --- tables ----------------------------------------------------------------

/// Values each option refuses: (run_args, the option the error names). The
/// error must also carry the value as one of the words written.
#[rustfmt::skip]
const REFUSED_VALUES: &[(&str, &str)] = &[
    ("-p 99999:80", "-p"),
    ("-p abc", "-p"),
    ("-p 80:", "-p"),
    ("-p 8000-8002:80-81", "-p"),
    ("-p 80/icmp", "-p"),
    ("-p 999.1.1.1:80:80", "-p"),
    ("-p 90-80", "-p"),
    ("-p +80", "-p"),
    ("--device /dev/sda:/dev/xvda:rx", "--device"),
    ("--device /dev/sda:xvda", "--device"),
    ("--device :/dev/sda", "--device"),
    ("--device /dev/sd*", "--device"),
    ("--device a:b:c:d", "--device"),
    ("--ulimit files=10", "--ulimit"),
    ("--ulimit nofile", "--ulimit"),
    ("--ulimit nofile=2048:1024", "--ulimit"),
    ("--ulimit nofile=1:2:3", "--ulimit"),
    ("--ulimit nofile=lots", "--ulimit"),
    ("--restart sometimes", "--restart"),
    ("--restart always:3", "--restart"),
    ("--restart on-failure:-1", "--restart"),
    ("--restart on-failure:x", "--restart"),
    ("--restart on-failure:1:2", "--restart"),
    ("-v /a:/b:rx", "-v"),
    ("-v /a:/b:ro,rw", "-v"),
    ("-v /a:b", "-v"),
    ("-v /a:/b:ro:x", "-v"),
    ("-v /a::/b", "-v"),
    ("--mount type=bind,source=/a", "--mount"),
    ("--mount type=volume,target=/a,bind-propagation=shared", "--mount"),
    ("--mount type=nfs,target=/a", "--mount"),
    ("--mount target=/a,colour=blue", "--mount"),
    ("--mount target=/a,nocopy", "--mount"),
    (r#"--mount 'target="/a'"#, "--mount"),
    ("--tmpfs run", "--tmpfs"),
    ("--expose 80:80", "--expose"),
    ("-e =1", "-e"),
    ("-l =x", "-l"),
    ("-l 'a b=c'", "-l"),
    ("--network a --network a", "--network"),
    ("--network a --network host", "--network"),
    ("--network name=a,colour=b", "--network"),
    ("--network alias=b", "--network"),
    ("--network name=a,driver-opt=x=y", "--network"),
    ("--network bridge --network-alias x", "--network-alias"),
    ("--network-alias x", "--network-alias"),
    ("--network name=a,ip=10.0.0.300", "--network"),
    ("--network name=a,ip=10.0.0.3 --ip 10.0.0.4", "--ip"),
    ("--network bridge --ip6 fd00::5", "--ip6"),
    ("--network backend --ip 10.1.0.300", "--ip"),
    ("--network backend --ip6 10.1.0.3", "--ip6"),
    ("--dns resolver", "--dns"),
    ("--dns-search -bad-.com", "--dns-search"),
    ("--dns-search 1.2.3.4", "--dns-search"),
    ("--add-host db", "--add-host"),
    ("--add-host db:nowhere", "--add-host"),
    ("--stop-timeout 30s", "--stop-timeout"),
    ("--security-opt bogus", "--security-opt"),
    ("--security-opt seccomp=/nonexistent/profile.json", "--security-opt"),
    ("--pid private", "--pid"),
    ("--uts container:db", "--uts"),
    ("--userns private", "--userns"),
    ("--ipc container:", "--ipc"),
    ("--sysctl vm.swappiness=10", "--sysctl"),
    ("--sysctl net.core.somaxconn", "--sysctl"),
    ("--memory-reservation -1", "--memory-reservation"),
    ("--cpus 0.0000000001", "--cpus"),
    ("--cpus two", "--cpus"),
    ("--cpus -1", "--cpus"),
    ("--cpu-shares lots", "--cpu-shares"),
    ("--log-driver none --log-opt max-size=1m", "--log-opt"),
    ("--no-healthcheck --health-cmd true", "--no-healthcheck"),
    ("--security-opt seccomp=", "--security-opt"),
    ("--health-interval 30", "--health-interval"),
    ("--health-timeout 5x", "--health-timeout"),
    ("--health-start-period -1s", "--health-start-period"),
    ("--health-retries -1", "--health-retries"),
    ("--health-interval ''", "--health-interval"),
    ("--init=maybe", "--init"),
    ("-t=yes", "-t"),
];

#[test]
fn refused_values_name_the_option_and_the_value() {
    for (args, option) in REFUSED_VALUES {
        let words = shell_words::split(args).expect("table rows split");
        match translate_here(args) {
            Err(RunArgsError::BadValue {
                option: named,
                value,
                reason,
            }) => {
                assert_eq!(named, *option, "{args}");
                // Environment values are never shown, even when wrong.
                let env = ["-e", "--env"].contains(&named.as_str());
                let shown = |word: &str| match env {
                    true => super::redact::variable(word),
                    false => word.to_string(),
                };
                let written = words.iter().any(|word| {
                    shown(word) == value
                        || word.strip_prefix(&format!("{named}=")).map(shown) == Some(value.clone())
                });
                assert!(written, "{args}: value {value:?} is not a word");
                assert!(!reason.is_empty(), "{args}");
            }
            other => panic!("{args:?}: expected BadValue, got {other:?}"),
        }
    }
}

/// Files a test host has, so that resolving needs no real filesystem.
const FAKE_FILES: &[(&str, &str)] = &[
    (
        "/svcfs-test/app.env",
        "# test\nFROM_FILE=1\nINHERITED\nUNSET\n",
    ),
    (
        "/svcfs-test/seccomp.json",
        "{ \"defaultAction\": \"SCMP_ACT_ALLOW\" }\n",
    ),
];

fn fake_read(path: &str) -> std::io::Result<Vec<u8>> {
    FAKE_FILES
        .iter()
        .find(|(known, _)| *known == path)
        .map(|(_, text)| text.as_bytes().to_vec())
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
}

fn fake_env(name: &str) -> Option<String> {
    (name == "INHERITED").then(|| "from-svcfs".to_string())
}

/// `run_args` resolved against [`FAKE_FILES`] and [`fake_env`].
fn translate_here(args: &str) -> Result<ContainerCreateBody, RunArgsError> {
    parse(args)?.into_body(fake_read, fake_env)
}

#[derive(Clone, Copy, Debug)]
enum Lands {
    /// A value option: the value, and the body fragment it produces.
    Value(&'static str, &'static str),
    /// A boolean flag: the fragments of `true` and `false`.
    Flag(&'static str, &'static str),
    /// Owned by svcfs: every form is refused.
    Refused,
}

/// One valid use of an option: its first long name, the words it needs
/// around it (`--ip` needs a user-defined network), and where it lands, as
/// a fragment of the Engine API JSON of the create body.
#[derive(Clone, Copy, Debug)]
struct Sample {
    option: &'static str,
    context: &'static str,
    lands: Lands,
}

const fn value(option: &'static str, value: &'static str, fragment: &'static str) -> Sample {
    Sample {
        option,
        context: "",
        lands: Lands::Value(value, fragment),
    }
}

const fn flag(option: &'static str, on: &'static str, off: &'static str) -> Sample {
    Sample {
        option,
        context: "",
        lands: Lands::Flag(on, off),
    }
}

const fn owned(option: &'static str) -> Sample {
    Sample {
        option,
        context: "",
        lands: Lands::Refused,
    }
}

const fn after(context: &'static str, sample: Sample) -> Sample {
    Sample { context, ..sample }
}

/// At least one row per option of the table (checked below).
#[rustfmt::skip]
const SAMPLES: &[Sample] = &[
    value("volume", "/srv/a:/a", r#"{"HostConfig":{"Binds":["/srv/a:/a"]}}"#),
    value("volume", "/data", r#"{"Volumes":{"/data":{}}}"#),
    value("mount", "type=bind,src=/a,dst=/b,ro", r#"{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true}]}}"#),
    value("tmpfs", "/run:size=64m", r#"{"HostConfig":{"Tmpfs":{"/run":"size=64m"}}}"#),
    value("publish", "127.0.0.1:8080:80/udp", r#"{"ExposedPorts":{"80/udp":{}},"HostConfig":{"PortBindings":{"80/udp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}}}"#),
    value("expose", "7000-7001", r#"{"ExposedPorts":{"7000/tcp":{},"7001/tcp":{}}}"#),
    flag("publish-all", r#"{"HostConfig":{"PublishAllPorts":true}}"#, r#"{"HostConfig":{"PublishAllPorts":false}}"#),
    value("env", "GREETING=hello world", r#"{"Env":["GREETING=hello world"]}"#),
    value("env", "INHERITED", r#"{"Env":["INHERITED=from-svcfs"]}"#),
    value("env", "UNSET", r#"{"Env":["UNSET"]}"#),
    value("env-file", "/svcfs-test/app.env", r#"{"Env":["FROM_FILE=1","INHERITED=from-svcfs"]}"#),
    value("label", "tier=web", r#"{"Labels":{"tier":"web"}}"#),
    value("network", "backend", r#"{"HostConfig":{"NetworkMode":"backend"}}"#),
    after("--network backend", value("network-alias", "db", r#"{"NetworkingConfig":{"EndpointsConfig":{"backend":{"Aliases":["db"]}}}}"#)),
    after("--network backend", value("ip", "10.1.0.5", r#"{"NetworkingConfig":{"EndpointsConfig":{"backend":{"IPAMConfig":{"IPv4Address":"10.1.0.5"}}}}}"#)),
    after("--network backend", value("ip6", "fd00::5", r#"{"NetworkingConfig":{"EndpointsConfig":{"backend":{"IPAMConfig":{"IPv6Address":"fd00::5"}}}}}"#)),
    value("dns", "2001:DB8::1", r#"{"HostConfig":{"Dns":["2001:db8::1"]}}"#),
    value("dns-search", "example.com.", r#"{"HostConfig":{"DnsSearch":["example.com"]}}"#),
    value("dns-option", "ndots:2", r#"{"HostConfig":{"DnsOptions":["ndots:2"]}}"#),
    value("add-host", "db:10.0.0.2", r#"{"HostConfig":{"ExtraHosts":["db:10.0.0.2"]}}"#),
    value("hostname", "web", r#"{"Hostname":"web"}"#),
    value("domainname", "example.com", r#"{"Domainname":"example.com"}"#),
    value("entrypoint", "/bin/sh -c", r#"{"Entrypoint":["/bin/sh -c"]}"#),
    value("workdir", "/srv", r#"{"WorkingDir":"/srv"}"#),
    value("user", "1000:1000", r#"{"User":"1000:1000"}"#),
    value("stop-signal", "SIGINT", r#"{"StopSignal":"SIGINT"}"#),
    value("stop-timeout", "30", r#"{"StopTimeout":30}"#),
    flag("tty", r#"{"Tty":true}"#, r#"{"Tty":false}"#),
    flag("interactive", r#"{"OpenStdin":true}"#, r#"{"OpenStdin":false}"#),
    flag("detach", "{}", "{}"),
    flag("init", r#"{"HostConfig":{"Init":true}}"#, r#"{"HostConfig":{"Init":false}}"#),
    flag("privileged", r#"{"HostConfig":{"Privileged":true}}"#, r#"{"HostConfig":{"Privileged":false}}"#),
    value("cap-add", "NET_ADMIN", r#"{"HostConfig":{"CapAdd":["NET_ADMIN"]}}"#),
    value("cap-drop", "ALL", r#"{"HostConfig":{"CapDrop":["ALL"]}}"#),
    value("security-opt", "no-new-privileges", r#"{"HostConfig":{"SecurityOpt":["no-new-privileges"]}}"#),
    value("security-opt", "seccomp=/svcfs-test/seccomp.json", r#"{"HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}}"#),
    value("security-opt", "seccomp:/svcfs-test/seccomp.json", r#"{"HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}}"#),
    value("security-opt", "systempaths=unconfined", r#"{"HostConfig":{"MaskedPaths":[],"ReadonlyPaths":[]}}"#),
    value("group-add", "audio", r#"{"HostConfig":{"GroupAdd":["audio"]}}"#),
    value("device", "/dev/sda:/dev/xvda:r", r#"{"HostConfig":{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/xvda","CgroupPermissions":"r"}]}}"#),
    flag("read-only", r#"{"HostConfig":{"ReadonlyRootfs":true}}"#, r#"{"HostConfig":{"ReadonlyRootfs":false}}"#),
    value("pid", "container:db", r#"{"HostConfig":{"PidMode":"container:db"}}"#),
    value("uts", "host", r#"{"HostConfig":{"UTSMode":"host"}}"#),
    value("userns", "host", r#"{"HostConfig":{"UsernsMode":"host"}}"#),
    value("ipc", "shareable", r#"{"HostConfig":{"IpcMode":"shareable"}}"#),
    value("sysctl", "net.ipv4.ip_forward=1", r#"{"HostConfig":{"Sysctls":{"net.ipv4.ip_forward":"1"}}}"#),
    value("memory", "1.5g", r#"{"HostConfig":{"Memory":1610612736}}"#),
    value("memory-swap", "-1", r#"{"HostConfig":{"MemorySwap":-1}}"#),
    value("memory-reservation", "256m", r#"{"HostConfig":{"MemoryReservation":268435456}}"#),
    value("shm-size", "64m", r#"{"HostConfig":{"ShmSize":67108864}}"#),
    flag("oom-kill-disable", r#"{"HostConfig":{"OomKillDisable":true}}"#, r#"{"HostConfig":{"OomKillDisable":false}}"#),
    value("cpus", "1.5", r#"{"HostConfig":{"NanoCpus":1500000000}}"#),
    value("cpu-shares", "512", r#"{"HostConfig":{"CpuShares":512}}"#),
    value("cpu-period", "100000", r#"{"HostConfig":{"CpuPeriod":100000}}"#),
    value("cpu-quota", "50000", r#"{"HostConfig":{"CpuQuota":50000}}"#),
    value("cpuset-cpus", "0-3", r#"{"HostConfig":{"CpusetCpus":"0-3"}}"#),
    value("cpuset-mems", "0", r#"{"HostConfig":{"CpusetMems":"0"}}"#),
    value("pids-limit", "-1", r#"{"HostConfig":{"PidsLimit":-1}}"#),
    value("ulimit", "nofile=1024:2048", r#"{"HostConfig":{"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}]}}"#),
    value("restart", "on-failure:5", r#"{"HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":5}}}"#),
    value("log-driver", "json-file", r#"{"HostConfig":{"LogConfig":{"Type":"json-file"}}}"#),
    value("log-opt", "max-size=10m", r#"{"HostConfig":{"LogConfig":{"Config":{"max-size":"10m"}}}}"#),
    value("health-cmd", "curl -f http://localhost/", r#"{"Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/"]}}"#),
    value("health-interval", "1m30s", r#"{"Healthcheck":{"Interval":90000000000}}"#),
    value("health-timeout", "500ms", r#"{"Healthcheck":{"Timeout":500000000}}"#),
    value("health-start-period", "1h", r#"{"Healthcheck":{"StartPeriod":3600000000000}}"#),
    value("health-retries", "3", r#"{"Healthcheck":{"Retries":3}}"#),
    flag("no-healthcheck", r#"{"Healthcheck":{"Test":["NONE"]}}"#, "{}"),
    owned("name"),
    owned("rm"),
];

fn spec_of(sample: &Sample) -> &'static options::OptSpec {
    options::find_long(sample.option)
        .unwrap_or_else(|| panic!("{} is not in the option table", sample.option))
}

/// Whether `expected` is a part of `actual`: objects by their keys, anything
/// else (lists included) by equality.
fn contains(actual: &serde_json::Value, expected: &serde_json::Value) -> bool {
    match (actual, expected) {
        (serde_json::Value::Object(actual), serde_json::Value::Object(expected)) => expected
            .iter()
            .all(|(key, want)| actual.get(key).is_some_and(|have| contains(have, want))),
        _ => actual == expected,
    }
}

/// Every documented form of a sample: the words, and for a flag whether
/// they mean `true`. The long names and short letter come from the table.
fn forms(sample: &Sample) -> Vec<(Vec<String>, bool)> {
    let spec = spec_of(sample);
    let mut forms = Vec::new();
    for name in spec.names {
        let short = name.len() == 1;
        let dash = if short { "-" } else { "--" };
        let written = format!("{dash}{name}");
        let words = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        match sample.lands {
            Lands::Value(value, _) => {
                forms.push((words(&[&written, value]), true));
                forms.push((words(&[&format!("{written}={value}")]), true));
                if short {
                    // Attached, and at the end of a cluster after a flag (`-d`, a no-op).
                    forms.push((words(&[&format!("-{name}{value}")]), true));
                    forms.push((words(&["-d", &format!("-d{name}"), value]), true));
                    forms.push((words(&[&format!("-d{name}{value}")]), true));
                }
            }
            Lands::Flag(..) => {
                for (suffix, on) in [
                    ("", true),
                    ("=true", true),
                    ("=1", true),
                    ("=false", false),
                    ("=0", false),
                ] {
                    forms.push((words(&[&format!("{written}{suffix}")]), on));
                }
                if short {
                    forms.push((words(&[&format!("-d{name}")]), true));
                    forms.push((words(&[&format!("-{name}d")]), true));
                }
            }
            Lands::Refused => {
                forms.push((words(&[&written]), true));
                forms.push((words(&[&format!("{written}=x")]), true));
            }
        }
    }
    forms
}

/// The run_args text of `words` after the sample's context, each word
/// quoted so that shell word splitting gives them back.
fn run_args_text(sample: &Sample, before: &[&str], words: &[String], after: &[&str]) -> String {
    let mut all: Vec<String> = shell_words::split(sample.context).expect("context splits");
    all.extend(before.iter().map(|w| w.to_string()));
    all.extend(words.iter().cloned());
    all.extend(after.iter().map(|w| w.to_string()));
    shell_words::join(all)
}

fn canonical(sample: &Sample, on: bool) -> String {
    let long = format!("--{}", sample.option);
    let words = match sample.lands {
        Lands::Value(value, _) => vec![long, value.to_string()],
        Lands::Flag(..) if on => vec![long],
        Lands::Flag(..) => vec![format!("{long}=false")],
        Lands::Refused => vec![long],
    };
    run_args_text(sample, &[], &words, &[])
}

/// Checks one form of a sample; `text` is the form with whatever else the
/// caller put around it.
fn check_form(sample: &Sample, text: &str, on: bool) -> Result<(), String> {
    let got = translate_here(text);
    if let Lands::Refused = sample.lands {
        return match got {
            Err(RunArgsError::Refused { option, .. })
                if option == format!("--{}", sample.option) =>
            {
                Ok(())
            }
            other => Err(format!("{text:?}: expected Refused, got {other:?}")),
        };
    }
    let got = got.map_err(|e| format!("{text:?} should parse: {e}"))?;
    let reference = canonical(sample, on);
    let want = translate_here(&reference).map_err(|e| format!("{reference:?}: {e}"))?;
    if got != want {
        return Err(format!("{text:?} and {reference:?} give different bodies"));
    }
    let fragment = match sample.lands {
        Lands::Value(_, fragment) | Lands::Flag(fragment, _) if on => fragment,
        Lands::Flag(_, fragment) => fragment,
        _ => unreachable!("value options are always on"),
    };
    let fragment: serde_json::Value = serde_json::from_str(fragment).expect("fragment is JSON");
    let json = serde_json::to_value(&got).expect("body serializes");
    if !contains(&json, &fragment) {
        return Err(format!("{text:?}: {json} does not contain {fragment}"));
    }
    Ok(())
}

#[test]
fn every_option_of_the_table_has_a_sample() {
    for spec in options::OPTIONS {
        assert!(
            SAMPLES
                .iter()
                .any(|sample| std::ptr::eq(spec_of(sample), spec)),
            "no sample for --{}",
            spec.names
                .iter()
                .find(|n| n.len() > 1)
                .unwrap_or(&spec.names[0])
        );
    }
}

#[test]
fn every_form_of_every_sample_lands_in_the_body() {
    let mut checked = 0;
    for sample in SAMPLES {
        for (words, on) in forms(sample) {
            let text = run_args_text(sample, &[], &words, &[]);
            if let Err(e) = check_form(sample, &text, on) {
                panic!("{e}");
            }
            checked += 1;
        }
    }
    assert!(checked > 3 * SAMPLES.len(), "only {checked} forms checked");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any form of any sample, among no-op options and with or without a
    /// final `--`, gives the body of its canonical form.
    #[test]
    fn any_form_among_other_words_gives_the_canonical_body(
        row in 0..SAMPLES.len(),
        form in proptest::prelude::any::<proptest::sample::Index>(),
        before in proptest::collection::vec(proptest::sample::select(&["-d", "--detach", "--detach=true"][..]), 0..3),
        after in proptest::collection::vec(proptest::sample::select(&["-d", "--detach=1"][..]), 0..3),
        end_of_options in proptest::prelude::any::<bool>(),
    ) {
        let sample = &SAMPLES[row];
        let forms = forms(sample);
        let (words, on) = &forms[form.index(forms.len())];
        let mut after = after;
        if end_of_options {
            after.push("--");
        }
        let text = run_args_text(sample, &before, words, &after);
        if let Err(e) = check_form(sample, &text, *on) {
            return Err(proptest::test_runner::TestCaseError::fail(e));
        }
    }

    /// Any sequence of option-like words, values and quotes parses or
    /// fails with a reason; never a panic.
    #[test]
    fn any_words_parse_or_fail_cleanly(
        words in proptest::collection::vec(proptest::sample::select(&[
            "-e", "--env", "-p", "-v", "--name", "-d", "-it", "-e=A=1", "--rm", "--",
            "80", "99999:80", "127.0.0.1:8080:80", "/a:/b:rw", "A=1", "\"", "'", "=",
            "-", "--memory", "1g", "--cpus", "0.5", "--network", "container:x", "", "--frobnicate",
        ][..]), 0..8),
    ) {
        let _ = translate(&words.join(" "));
    }

    /// `-e` and `--env` options accumulate in the order written.
    #[test]
    fn env_options_accumulate_in_order(
        values in proptest::collection::vec("[A-Z]{1,3}=[a-z0-9]{0,3}", 0..5),
        long in proptest::prelude::any::<bool>(),
    ) {
        let flag = if long { "--env" } else { "-e" };
        let text: Vec<String> = values.iter().map(|v| format!("{flag} {v}")).collect();
        let body = translate(&text.join(" ")).map_err(|e| {
            proptest::test_runner::TestCaseError::fail(e.to_string())
        })?;
        proptest::prop_assert_eq!(body.env.unwrap_or_default(), values);
    }
}

// --- purity ------------------------------------------------------------------

#[test]
fn parse_reads_no_file_and_no_environment() {
    let parsed = parse(
        "--env-file /nonexistent/a.env -e PATH -e A=1 --env-file /nonexistent/b.env \
         --security-opt seccomp=/nonexistent/profile.json --security-opt label=disable",
    )
    .expect("parses without the files");
    assert_eq!(
        parsed.env_files(),
        ["/nonexistent/a.env", "/nonexistent/b.env"]
    );
    assert_eq!(
        parsed.seccomp_profiles().collect::<Vec<_>>(),
        ["/nonexistent/profile.json"]
    );
    assert_eq!(parsed.inherited_env().collect::<Vec<_>>(), ["PATH"]);
}

#[test]
fn into_body_reads_only_through_its_arguments() {
    let parsed = parse("-e INHERITED -e UNSET --env-file /svcfs-test/app.env -e A=1").unwrap();
    let mut asked = Vec::new();
    let body = parsed
        .into_body(
            |path| {
                asked.push(path.to_string());
                fake_read(path)
            },
            fake_env,
        )
        .unwrap();
    assert_eq!(asked, ["/svcfs-test/app.env"]);
    assert_eq!(
        body.env,
        Some(strings(&[
            "FROM_FILE=1",
            "INHERITED=from-svcfs",
            "INHERITED=from-svcfs",
            "UNSET",
            "A=1"
        ]))
    );
}

#[test]
fn seccomp_check_gives_the_create_time_error() {
    let parsed = parse("--security-opt=seccomp:/nonexistent/profile.json").unwrap();
    let checked = parsed.check_seccomp_profiles(fake_read).unwrap_err();
    let created = parsed.into_body(fake_read, fake_env).unwrap_err();
    assert_eq!(checked, created);
    assert!(
        checked
            .to_string()
            .starts_with("option --security-opt: invalid value \"seccomp:/nonexistent/profile.json\": cannot read seccomp profile /nonexistent/profile.json"),
        "{checked}"
    );
    let not_json = parse("--security-opt seccomp=/svcfs-test/app.env").unwrap();
    assert!(not_json
        .check_seccomp_profiles(fake_read)
        .unwrap_err()
        .to_string()
        .contains("seccomp profile /svcfs-test/app.env is not JSON"));
}

#[test]
fn every_bad_option_is_found_in_one_parse() {
    let errors = parse_all("--memory 12zz --frobnicate 1 -p 99999:80 -t --rm").unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 4, "{shown:?}");
    assert!(
        shown[0].starts_with("option --memory: invalid value \"12zz\""),
        "{shown:?}"
    );
    assert_eq!(shown[1], "unknown docker run option --frobnicate");
    assert!(
        shown[2].starts_with("option -p: invalid value \"99999:80\""),
        "{shown:?}"
    );
    assert!(
        shown[3].starts_with("option --rm is not allowed"),
        "{shown:?}"
    );
    // The first is what parse says.
    assert_eq!(
        parse("--memory 12zz --frobnicate 1").unwrap_err(),
        errors[0]
    );
    // An unknown option's value goes with it.
    let errors = parse_all("--bogus value --memory 12zz").unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0], RunArgsError::UnknownOption("--bogus".into()));
    // A stray word ends the reading: what follows would be the command.
    let errors = parse_all("-t sh -p 99999:1").unwrap_err();
    assert_eq!(errors, [RunArgsError::Positional("sh".into())]);
    assert!(parse_all("-t -i -p 8080:80").is_ok());
}
