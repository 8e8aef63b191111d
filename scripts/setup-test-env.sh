#!/usr/bin/env bash
# setup-test-env.sh — make a Debian 12 machine ready for svcfs's integration tests.
#
# Run as root. Needs only the Debian package mirror (no container registry):
#   1. installs the packages the build, the example and the tests use
#      (only the missing ones; scripts/run-example installs only the
#      example's): protoc and its well-known .proto files build the etcd
#      client;
#   2. starts the host dockerd (detached, log in /var/log/svcfs-test-dockerd.log)
#      unless `docker info` already answers;
#   3. builds the tutorial's images locally from busybox-static
#      (busybox, google/busybox, shipyard/shipyard, dhrp/sshd), each labelled
#      svcfs.test-image=<IMAGE_VERSION>, rebuilt only when missing or outdated;
#   4. checks /dev/fuse, fusermount3 and loop devices.
# Idempotent: a second run changes nothing and takes a few seconds.
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPTS

log() { echo "setup-test-env: $*"; }
die() {
    echo "setup-test-env: ERROR: $*" >&2
    exit 1
}

if [[ $(id -u) -ne 0 ]]; then
    die "must run as root"
fi
# shellcheck source=scripts/lib/host.sh
. "$SCRIPTS/lib/host.sh"

# ---------------------------------------------------------------------------
# 1. packages
# ---------------------------------------------------------------------------
# What the example needs (scripts/run-example installs only these), then
# what only the tests use. package:command, see install_missing.
readonly PACKAGES=(
    "${EXAMPLE_PACKAGES[@]}"
    "iputils-ping:ping"
    "iputils-arping:arping"
    "psmisc:"
    "procps:"
    "curl:"
    "mandoc:mandoc"
    "prometheus:promtool"
    "prometheus-node-exporter:prometheus-node-exporter"
    "etcd-server:etcd"
    "etcd-client:etcdctl"
    "zsh:zsh"
    "tmux:tmux"
    "lintian:lintian"
    "man-db:man"
    "openssl:openssl"
    # and the build's (BUILD_PACKAGES): protoc for the etcd client.
    "${BUILD_PACKAGES[@]}"
)

install_missing "${PACKAGES[@]}"
if ((${#INSTALLED_PACKAGES[@]} > 0)); then
    # Only promtool, the node_exporter and etcd binaries are wanted (the
    # tests run their own on free ports): under systemd the packages also
    # start a Prometheus server, an exporter and an etcd member on :9090,
    # :9100 and :2379.
    if [[ -d /run/systemd/system ]]; then
        for unit in prometheus prometheus-node-exporter etcd; do
            pkg=$unit
            [[ $unit == etcd ]] && pkg=etcd-server
            if [[ " ${INSTALLED_PACKAGES[*]} " == *" $pkg "* ]]; then
                systemctl disable --now "$unit" >/dev/null 2>&1 || true
            fi
        done
    fi
fi

# ---------------------------------------------------------------------------
# 2. host dockerd
# ---------------------------------------------------------------------------
ensure_host_dockerd
DOCKERD_VERSION=$(docker version -f '{{.Server.Version}}' 2>/dev/null || echo unknown)
log "dockerd $DOCKERD_VERSION, storage driver $(docker info -f '{{.Driver}}' 2>/dev/null || echo unknown)"

# ---------------------------------------------------------------------------
# 3. local test images
# ---------------------------------------------------------------------------
build_images busybox:latest google/busybox:latest shipyard/shipyard:latest dhrp/sshd:latest
ids=()
for name in busybox:latest google/busybox:latest shipyard/shipyard:latest dhrp/sshd:latest; do
    ids+=("$(docker image inspect -f '{{.Id}}' "$name")")
done
if [[ $(printf '%s\n' "${ids[@]}" | sort -u | wc -l) -ne 4 ]]; then
    die "test images do not have distinct ids: ${ids[*]}"
fi

if ! out=$(docker run --rm --network none busybox:latest /bin/sh -c 'echo ok' 2>&1) || [[ $out != ok ]]; then
    die "docker cannot run a container: $out"
fi
log "docker runs containers"

# ---------------------------------------------------------------------------
# 4. FUSE and loop devices
# ---------------------------------------------------------------------------
check_fuse_and_loop

log "ready (dockerd $DOCKERD_VERSION)"
