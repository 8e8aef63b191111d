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
fn volume_with_bad_mode_or_relative_target_is_refused() {
    assert_eq!(bad_option("-v /a:/b:rx"), "-v");
    assert_eq!(bad_option("-v /a:/b:ro,rw"), "-v");
    assert_eq!(bad_option("-v /a:b"), "-v");
    assert_eq!(bad_option("-v /a:/b:ro:x"), "-v");
    assert_eq!(bad_option("-v /a::/b"), "-v");
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
fn mount_errors_are_bad_values() {
    assert_eq!(bad_option("--mount type=bind,source=/a"), "--mount");
    assert_eq!(
        bad_option("--mount type=volume,target=/a,bind-propagation=shared"),
        "--mount"
    );
    assert_eq!(bad_option("--mount type=nfs,target=/a"), "--mount");
    assert_eq!(bad_option("--mount target=/a,colour=blue"), "--mount");
    assert_eq!(bad_option("--mount target=/a,nocopy"), "--mount");
    assert_eq!(bad_option(r#"--mount 'target="/a'"#), "--mount");
}

#[test]
fn tmpfs_maps_path_to_options() {
    let host = host_of("--tmpfs /run:rw,size=64m --tmpfs /tmp");
    assert_eq!(
        host.tmpfs,
        Some(map(&[("/run", "rw,size=64m"), ("/tmp", "")]))
    );
    assert_eq!(bad_option("--tmpfs run"), "--tmpfs");
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
fn publish_rejects_bad_ports() {
    for args in [
        "-p 99999:80",
        "-p abc",
        "-p 80:",
        "-p 8000-8002:80-81",
        "-p 80/icmp",
        "-p 999.1.1.1:80:80",
        "-p 90-80",
        "-p +80",
    ] {
        assert_eq!(bad_option(args), "-p", "{args}");
    }
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
    assert_eq!(bad_option("--expose 80:80"), "--expose");
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
fn env_without_name_is_refused() {
    assert_eq!(bad_option("-e =1"), "-e");
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
    assert_eq!(bad_option("-l =x"), "-l");
    assert_eq!(bad_option("-l 'a b=c'"), "-l");
}

// --- network -----------------------------------------------------------

#[test]
fn network_sets_the_network_mode() {
    assert_eq!(
        host_of("--network backend").network_mode.as_deref(),
        Some("backend")
    );
    assert_eq!(host_of("--net=host").network_mode.as_deref(), Some("host"));
    assert_eq!(bad_option("--network a --network b"), "--network");
    assert_eq!(bad_option("--network name=a,alias=b"), "--network");
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
fn ip_needs_a_user_defined_network() {
    assert_eq!(
        error("--ip 10.1.0.5"),
        RunArgsError::BadValue {
            option: "--ip".into(),
            value: "10.1.0.5".into(),
            reason: "needs a user-defined network: add --network <name>".into(),
        }
    );
    assert_eq!(bad_option("--network bridge --ip6 fd00::5"), "--ip6");
    assert_eq!(bad_option("--network backend --ip 10.1.0.300"), "--ip");
    assert_eq!(bad_option("--network backend --ip6 10.1.0.3"), "--ip6");
}

#[test]
fn dns_servers_are_normalized() {
    let host = host_of("--dns 8.8.8.8 --dns ' 2001:DB8::1 ' --dns ::ffff:1.2.3.4");
    assert_eq!(
        host.dns,
        Some(strings(&["8.8.8.8", "2001:db8::1", "1.2.3.4"]))
    );
    assert_eq!(bad_option("--dns resolver"), "--dns");
}

#[test]
fn dns_search_domains_drop_the_trailing_dot() {
    let host = host_of("--dns-search example.com. --dns-search .");
    assert_eq!(host.dns_search, Some(strings(&["example.com", "."])));
    assert_eq!(bad_option("--dns-search -bad-.com"), "--dns-search");
    assert_eq!(bad_option("--dns-search 1.2.3.4"), "--dns-search");
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
    assert_eq!(bad_option("--add-host db"), "--add-host");
    assert_eq!(bad_option("--add-host db:nowhere"), "--add-host");
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
    assert_eq!(bad_option("--stop-timeout 30s"), "--stop-timeout");
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
    assert_eq!(bad_option("--security-opt bogus"), "--security-opt");
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
    assert_eq!(
        bad_option("--security-opt seccomp=/nonexistent/profile.json"),
        "--security-opt"
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
fn device_errors_are_bad_values() {
    for args in [
        "--device /dev/sda:/dev/xvda:rx",
        "--device /dev/sda:xvda",
        "--device :/dev/sda",
        "--device /dev/sd*",
        "--device a:b:c:d",
    ] {
        assert_eq!(bad_option(args), "--device", "{args}");
    }
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
    assert_eq!(bad_option("--pid private"), "--pid");
    assert_eq!(bad_option("--uts container:db"), "--uts");
    assert_eq!(bad_option("--userns private"), "--userns");
    assert_eq!(bad_option("--ipc container:"), "--ipc");
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
    assert_eq!(bad_option("--sysctl vm.swappiness=10"), "--sysctl");
    assert_eq!(bad_option("--sysctl net.core.somaxconn"), "--sysctl");
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
    assert_eq!(
        bad_option("--memory-reservation -1"),
        "--memory-reservation"
    );
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
    assert_eq!(bad_option("--cpus 0.0000000001"), "--cpus");
    assert_eq!(bad_option("--cpus two"), "--cpus");
    assert_eq!(bad_option("--cpus -1"), "--cpus");
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
    assert_eq!(bad_option("--cpu-shares lots"), "--cpu-shares");
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

#[test]
fn ulimit_errors_are_bad_values() {
    for args in [
        "--ulimit files=10",
        "--ulimit nofile",
        "--ulimit nofile=2048:1024",
        "--ulimit nofile=1:2:3",
        "--ulimit nofile=lots",
    ] {
        assert_eq!(bad_option(args), "--ulimit", "{args}");
    }
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
fn restart_errors_are_bad_values() {
    for args in [
        "--restart sometimes",
        "--restart always:3",
        "--restart on-failure:-1",
        "--restart on-failure:x",
        "--restart on-failure:1:2",
    ] {
        assert_eq!(bad_option(args), "--restart", "{args}");
    }
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
    assert_eq!(
        bad_option("--log-driver none --log-opt max-size=1m"),
        "--log-opt"
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
    assert_eq!(
        bad_option("--no-healthcheck --health-cmd true"),
        "--no-healthcheck"
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
