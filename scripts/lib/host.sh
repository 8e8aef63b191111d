# Functions shared by scripts/setup-test-env.sh (the test machine) and
# scripts/run-example (the example alone): Debian packages, the host
# dockerd, the tutorial's images built locally from busybox-static, FUSE
# and loop devices. Sourced by bash scripts that define log and die; each
# function records what it created, so that the example can undo it.

# Bump when the image recipes below change: images with another label get rebuilt.
readonly IMAGE_VERSION=1
readonly DOCKERD_LOG=/var/log/svcfs-test-dockerd.log
readonly DOCKERD_WAIT=60
readonly BUSYBOX=/bin/busybox
HOST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HOST_LIB

# ---------------------------------------------------------------------------
# packages
# ---------------------------------------------------------------------------
pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# What the example (scripts/run-example) needs, as package:command: docker
# and the tools of its resources (FUSE, LVM, ext4, addresses, loop
# devices), busybox-static for its images, tree to show the mount.
readonly EXAMPLE_PACKAGES=(
    "docker.io:dockerd"
    "fuse3:fusermount3"
    "lvm2:"
    "busybox-static:"
    "e2fsprogs:"
    "iproute2:"
    "util-linux:"
    "tree:"
)

# What building svcfs needs beyond the Rust toolchain: protoc and its
# well-known .proto files, for the etcd client (nothing at run time).
readonly BUILD_PACKAGES=(
    "protobuf-compiler:protoc"
    "libprotobuf-dev:"
)

# install_missing PACKAGE:COMMAND... — install the packages that are not
# there: a package is there when dpkg says so, or (for packages whose tool
# may come from elsewhere, e.g. docker-ce) when COMMAND exists. Sets
# INSTALLED_PACKAGES to those it installed.
INSTALLED_PACKAGES=()
install_missing() {
    local entry pkg cmd
    INSTALLED_PACKAGES=()
    for entry in "$@"; do
        pkg=${entry%%:*}
        cmd=${entry#*:}
        if pkg_installed "$pkg"; then
            continue
        fi
        if [[ -n $cmd ]] && command -v "$cmd" >/dev/null 2>&1; then
            continue
        fi
        INSTALLED_PACKAGES+=("$pkg")
    done
    if ((${#INSTALLED_PACKAGES[@]} == 0)); then
        log "packages already installed"
        return 0
    fi
    log "installing: ${INSTALLED_PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${INSTALLED_PACKAGES[@]}" >/dev/null
}

# ---------------------------------------------------------------------------
# the host dockerd
# ---------------------------------------------------------------------------
# The host daemon is the one on the default socket, whatever DOCKER_HOST
# or a docker context say (they may name a private daemon).
readonly HOST_SOCKET=/var/run/docker.sock
readonly HOST_PIDFILE=/var/run/docker.pid
export DOCKER_HOST=unix://$HOST_SOCKET
unset DOCKER_CONTEXT
docker_ok() { docker info >/dev/null 2>&1; }

# host_dockerd_running — whether the host's dockerd process exists: the
# one its default pid file names. Private daemons (svcfs's own, with their
# --pidfile) and leftovers with another pid file are not it.
host_dockerd_running() {
    local pid
    pid=$(cat "$HOST_PIDFILE" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]
}

ensure_cgroups() {
    # dockerd needs a mounted cgroup hierarchy; bare VMs/containers sometimes
    # have an empty /sys/fs/cgroup.
    if [[ -e /sys/fs/cgroup/cgroup.controllers ]] || [[ -d /sys/fs/cgroup/memory ]] ||
        [[ -d /sys/fs/cgroup/unified ]]; then
        return 0
    fi
    if ! mountpoint -q /sys/fs/cgroup; then
        log "/sys/fs/cgroup not mounted: mounting cgroup2"
        mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup ||
            mount -t cgroup2 cgroup2 /sys/fs/cgroup ||
            log "warning: could not mount cgroup2 on /sys/fs/cgroup"
    fi
}

# start_dockerd EXTRA_ARGS... — start detached, wait until it answers.
# Returns 0 when up, 1 when dockerd exited, 2 on timeout.
start_dockerd() {
    local start_line pid i
    touch "$DOCKERD_LOG"
    start_line=$(($(wc -l <"$DOCKERD_LOG") + 1))
    echo "=== $(date -Is) ${0##*/}: dockerd $*" >>"$DOCKERD_LOG"
    "$HOST_LIB/../detached" dockerd "$@" </dev/null >>"$DOCKERD_LOG" 2>&1 &
    pid=$!
    for ((i = 0; i < DOCKERD_WAIT * 4; i++)); do
        if docker_ok; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            # the attempt's own output, for the caller
            ATTEMPT_LOG=$(tail -n +"$start_line" "$DOCKERD_LOG")
            return 1
        fi
        sleep 0.25
    done
    ATTEMPT_LOG=$(tail -n +"$start_line" "$DOCKERD_LOG")
    return 2
}

dockerd_failed() {
    tail -n 30 "$DOCKERD_LOG" >&2
    die "$1 (the last lines of $DOCKERD_LOG are above)"
}

wait_existing_dockerd() {
    local i
    for ((i = 0; i < DOCKERD_WAIT * 4; i++)); do
        docker_ok && return 0
        host_dockerd_running || return 1
        sleep 0.25
    done
    return 1
}

# ensure_host_dockerd — make the host's dockerd answer: it is left alone
# when it does, started (detached) when it is not running. Sets
# STARTED_DOCKERD to 1 when it started one.
STARTED_DOCKERD=0
ensure_host_dockerd() {
    local rc
    STARTED_DOCKERD=0
    if docker_ok; then
        log "dockerd already running"
    elif host_dockerd_running; then
        log "host dockerd (pid $(cat "$HOST_PIDFILE")) found, waiting for it to answer"
        wait_existing_dockerd || dockerd_failed "a dockerd is running but docker info does not answer"
    else
        ensure_cgroups
        log "starting dockerd (log: $DOCKERD_LOG)"
        ATTEMPT_LOG=
        rc=0
        start_dockerd || rc=$?
        if ((rc == 1)) && grep -qi 'iptables' <<<"$ATTEMPT_LOG"; then
            log "dockerd failed on iptables; retrying with --iptables=false (no NAT rules: published ports go through docker-proxy)"
            rc=0
            start_dockerd --iptables=false || rc=$?
        fi
        case $rc in
            0) STARTED_DOCKERD=1 ;;
            1) dockerd_failed "dockerd exited during startup" ;;
            *) dockerd_failed "dockerd did not answer within ${DOCKERD_WAIT}s" ;;
        esac
    fi
}

# ---------------------------------------------------------------------------
# the tutorial's images, built locally
# ---------------------------------------------------------------------------
image_current() {
    local got
    got=$(docker image inspect -f '{{ index .Config.Labels "svcfs.test-image" }}' "$1" 2>/dev/null) || return 1
    [[ $got == "$IMAGE_VERSION" ]]
}

# make_base_rootfs DIR: busybox + applet symlinks + minimal /etc.
make_base_rootfs() {
    local root=$1 applet
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,run,var/run,var/log,home}
    install -d -m 1777 "$root/tmp" "$root/var/tmp"
    install -m 0755 "$BUSYBOX" "$root/bin/busybox"
    while read -r applet; do
        [[ -n $applet && $applet == */* ]] || continue # skip e.g. "linuxrc"
        [[ $applet == bin/busybox ]] && continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -sfn /bin/busybox "$root/$applet"
    done < <("$BUSYBOX" --list-full)
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
nogroup:x:65534:
EOF
    echo 'root::19000:0:99999:7:::' >"$root/etc/shadow"
    chmod 0600 "$root/etc/shadow"
    echo "hosts: files dns" >"$root/etc/nsswitch.conf"
    echo "svcfs test image $IMAGE_VERSION (busybox-static $(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown))" \
        >"$root/etc/svcfs-test-image"
}

# import_image NAME ROOT CHANGE... — tar the rootfs into a docker image.
import_image() {
    local name=$1 root=$2
    shift 2
    local args=(-c "LABEL svcfs.test-image=$IMAGE_VERSION" -m "svcfs test image $IMAGE_VERSION")
    local c
    for c in "$@"; do
        args+=(-c "$c")
    done
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
        docker import "${args[@]}" - "$name" >/dev/null
}

recipe_busybox() {
    local root=$WORKDIR/busybox
    make_base_rootfs "$root"
    import_image busybox:latest "$root" 'CMD ["/bin/sh"]'
}

recipe_google_busybox() {
    local root=$WORKDIR/google-busybox
    make_base_rootfs "$root"
    echo "google/busybox look-alike for svcfs tests" >"$root/etc/google-busybox"
    import_image google/busybox:latest "$root" 'CMD ["/bin/sh"]'
}

recipe_shipyard() {
    local root=$WORKDIR/shipyard
    make_base_rootfs "$root"
    mkdir -p "$root/www" "$root/app/.docker"
    cat >"$root/www/index.html" <<'EOF'
<html><head><title>shipyard</title></head><body><h1>shipyard</h1><p>svcfs test image</p></body></html>
EOF
    cat >"$root/app/.docker/run.sh" <<'EOF'
#!/bin/sh
exec /bin/busybox httpd -f -p 8000 -h /www
EOF
    chmod 0755 "$root/app/.docker/run.sh"
    import_image shipyard/shipyard:latest "$root" \
        'CMD ["/app/.docker/run.sh"]' 'EXPOSE 8000'
}

recipe_sshd() {
    local root=$WORKDIR/sshd
    make_base_rootfs "$root"
    mkdir -p "$root/www"
    echo "<html><body>sshd (svcfs test image)</body></html>" >"$root/www/index.html"
    # Not a real sshd: something listening on TCP 22 is all the tests need.
    cat >"$root/usr/sbin/sshd" <<'EOF'
#!/bin/sh
# fake sshd for svcfs tests: listens on TCP port 22
exec /bin/busybox httpd -f -p 22 -h /www
EOF
    chmod 0755 "$root/usr/sbin/sshd"
    import_image dhrp/sshd:latest "$root" \
        'CMD ["/usr/sbin/sshd","-D"]' 'EXPOSE 22'
}

# An image of that name that this script did not build (no svcfs.test-image
# label) is somebody's: it is never removed nor replaced. The tests need
# the local look-alikes under the tutorial's names, so say how to proceed.
build_if_needed() {
    local name=$1 recipe=$2 label
    if image_current "$name"; then
        log "image $name up to date"
        return
    fi
    if label=$(docker image inspect -f '{{ index .Config.Labels "svcfs.test-image" }}' "$name" 2>/dev/null) &&
        [[ -z $label || $label == "<no value>" ]]; then
        die "image $name exists and was not built by setup-test-env (no svcfs.test-image label); it is left alone. The tests need svcfs's local look-alike under that name: keep yours under another tag (docker tag $name ${name%%:*}:mine && docker rmi $name) and run again"
    fi
    local old_id
    old_id=$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null || true)
    log "building image $name"
    [[ -n $old_id ]] || BUILT_IMAGES+=("$name")
    "$recipe"
    # Drop the outdated one (ours: it carries the label) unless a container
    # still uses it.
    if [[ -n $old_id ]]; then
        docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
}


# build_images NAME... — build the named images (busybox:latest,
# google/busybox:latest, shipyard/shipyard:latest, dhrp/sshd:latest) that
# are missing or outdated. BUILT_IMAGES lists those that did not exist.
BUILT_IMAGES=()
build_images() {
    local name
    BUILT_IMAGES=()
    [[ -x $BUSYBOX ]] || die "$BUSYBOX missing (busybox-static not installed?)"
    # It is copied alone into the images: it must be a static binary.
    "$BUSYBOX" --list >/dev/null 2>&1 || die "$BUSYBOX does not run"
    WORKDIR=$(mktemp -d /tmp/svcfs-test-images.XXXXXX)
    for name in "$@"; do
        case $name in
            busybox:latest) build_if_needed "$name" recipe_busybox ;;
            google/busybox:latest) build_if_needed "$name" recipe_google_busybox ;;
            shipyard/shipyard:latest) build_if_needed "$name" recipe_shipyard ;;
            dhrp/sshd:latest) build_if_needed "$name" recipe_sshd ;;
            *) die "no recipe for image $name" ;;
        esac
    done
    rm -rf "$WORKDIR"
}

# ---------------------------------------------------------------------------
# FUSE and loop devices
# ---------------------------------------------------------------------------
check_fuse_and_loop() {
    local loopdev
    if [[ ! -c /dev/fuse ]]; then
        modprobe fuse 2>/dev/null || true
        [[ -c /dev/fuse ]] || mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || true
    fi
    [[ -c /dev/fuse ]] || die "/dev/fuse missing"
    command -v fusermount3 >/dev/null || die "fusermount3 missing"

    if ! loopdev=$(losetup -f 2>&1); then
        modprobe loop 2>/dev/null || true
        loopdev=$(losetup -f 2>&1) || die "no free loop device: $loopdev"
    fi
    log "fuse and loop devices ok (next free loop: $loopdev)"
}
