//! What `run_args` takes from the creating host: the `--env-file` and
//! `--security-opt seccomp=` files, and the value of a bare `-e NAME`.
//! They are read when the container is created, not when the service file
//! is loaded, because they may live on a filesystem the same start mounts.

use std::time::Duration;

use bollard::models::ContainerCreateBody;

use crate::drivers::container::run_args::{self, RunArgs};
use crate::error::{Error, Result};

/// Bound on reading the files: a hung filesystem fails the create with
/// ETIMEDOUT rather than holding the service's lock.
const FILES_TIMEOUT: Duration = Duration::from_secs(10);

/// The create body `run_args` asks for, its files read off the async
/// runtime. Errors name the option and the value or file; the engine adds
/// the resource id.
pub async fn run_args_body(text: &str) -> Result<ContainerCreateBody> {
    let parsed = run_args::parse(text).map_err(invalid)?;
    let reads_files = !parsed.env_files().is_empty() || parsed.seccomp_profiles().next().is_some();
    if !reads_files {
        return resolve(parsed);
    }
    let files = files_of(&parsed);
    crate::bounded::bounded_blocking(
        &format!("reading the files {files}"),
        "run_args",
        FILES_TIMEOUT,
        move || resolve(parsed),
    )
    .await?
}

fn resolve(parsed: RunArgs) -> Result<ContainerCreateBody> {
    parsed
        .into_body(|path| std::fs::read(path), process_env)
        .map_err(invalid)
}

/// A bare `-e NAME` takes its value from svcfs' own environment, as the CLI
/// takes it from the shell's.
fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

fn files_of(parsed: &RunArgs) -> String {
    let paths: Vec<&str> = parsed
        .env_files()
        .iter()
        .map(String::as_str)
        .chain(parsed.seccomp_profiles())
        .collect();
    paths.join(", ")
}

fn invalid(e: run_args::RunArgsError) -> Error {
    Error::invalid(format!("run_args: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_file_is_read_at_create_and_named_when_missing() {
        let missing = "/nonexistent/svcfs-resolve/app.env";
        let e = run_args_body(&format!("-e A=1 --env-file {missing}"))
            .await
            .expect_err("a missing env file fails the create");
        assert_eq!(e.errno(), libc::EINVAL);
        assert!(
            e.message().starts_with("run_args: --env-file ") && e.message().contains(missing),
            "{e}"
        );
    }

    #[tokio::test]
    async fn env_file_and_seccomp_profile_are_read_at_create() {
        let dir = std::env::temp_dir().join(format!("svcfs-resolve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let env = dir.join("app.env");
        let profile = dir.join("seccomp.json");
        std::fs::write(&env, "FROM_FILE=1\n").unwrap();
        std::fs::write(&profile, "{ \"defaultAction\": \"SCMP_ACT_ALLOW\" }").unwrap();
        let text = format!(
            "--env-file {} --security-opt seccomp={} -e B=2",
            env.display(),
            profile.display()
        );
        let body = run_args_body(&text).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            body.env,
            Some(vec!["FROM_FILE=1".to_string(), "B=2".to_string()])
        );
        assert_eq!(
            body.host_config.and_then(|h| h.security_opt),
            Some(vec![
                r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#.to_string()
            ])
        );
    }

    #[tokio::test]
    async fn bad_option_is_invalid_and_named() {
        let e = run_args_body("--frobnicate 1").await.unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert_eq!(
            e.message(),
            "run_args: unknown docker run option --frobnicate"
        );
    }
}
