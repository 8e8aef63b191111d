//! The cgroup reader against fixture trees: cgroup v1 with docker's
//! cgroupfs driver (this machine's layout, `cpu` and `cpuacct` mounted
//! apart), v1 with `cpu,cpuacct` together and the systemd driver, pure
//! v2 with the systemd driver, and a hybrid host. Each fixture is a mount
//! table pointing into a temporary directory, a `/proc/<pid>/cgroup` and
//! the kernel files of the group.

use super::*;
use crate::drivers::mounts::tests::TempDir;

/// Write `files` (path relative to `root`, contents).
fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A mountinfo line mounting a cgroup hierarchy at `point`.
fn mount_line(id: u32, point: &Path, fstype: &str, options: &str) -> String {
    format!(
        "{id} 31 0:{id} / {} rw,nosuid,nodev,noexec,relatime shared:{id} - {fstype} {fstype} {options}\n",
        point.display()
    )
}

const ID: &str = "0ad119ede2a351d2d6364a7ca54748e5b0fdcda3d3e694e2fadab974cde0dc3b";

#[test]
fn v1_with_the_cgroupfs_driver_reads_every_counter() {
    let tmp = TempDir::new("cgroup-v1");
    let root = tmp.path();
    let group = format!("/docker/{ID}");
    let mut mountinfo = String::from("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
    for (i, controller) in ["cpu", "cpuacct", "memory", "blkio", "pids"]
        .iter()
        .enumerate()
    {
        mountinfo += &mount_line(
            30 + i as u32,
            &root.join(controller),
            "cgroup",
            &format!("rw,{controller}"),
        );
    }
    mountinfo += &mount_line(40, &root.join("systemd"), "cgroup", "rw,xattr,name=systemd");
    mountinfo += &mount_line(41, &root.join("unified"), "cgroup2", "rw");
    let membership = format!(
        "9:name=systemd:{group}\n8:pids:{group}\n7:blkio:{group}\n4:memory:{group}\n2:cpuacct:{group}\n1:cpu:{group}\n0::{group}\n"
    );
    let dir = |c: &str| format!("{c}{group}/");
    write_tree(
        root,
        &[
            (&(dir("cpuacct") + "cpuacct.usage"), "25614492\n"),
            (&(dir("memory") + "memory.usage_in_bytes"), "1306624\n"),
            (&(dir("memory") + "memory.limit_in_bytes"), "67108864\n"),
            (&(dir("pids") + "cgroup.procs"), "14451\n14480\n"),
            (
                &(dir("blkio") + "blkio.throttle.io_service_bytes"),
                "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 1000\n8:16 Write 24\nTotal 5632\n",
            ),
            (&(dir("unified") + "cgroup.procs"), "14451\n14480\n"),
        ],
    );
    let hierarchies = Hierarchies::parse(&mountinfo);
    let cgroup = hierarchies.locate(&membership).expect("located");
    assert_eq!(cgroup.read(Counter::Cpu), Some(Amount::Value(25_614_492)));
    assert_eq!(cgroup.read(Counter::Memory), Some(Amount::Value(1_306_624)));
    assert_eq!(
        cgroup.read(Counter::MemoryLimit),
        Some(Amount::Value(64 << 20))
    );
    assert_eq!(cgroup.read(Counter::Processes), Some(Amount::Value(2)));
    assert_eq!(cgroup.read(Counter::IoRead), Some(Amount::Value(5096)));
    assert_eq!(cgroup.read(Counter::IoWrite), Some(Amount::Value(536)));
    // No limit: the largest page-aligned value.
    write_tree(
        root,
        &[(
            &(dir("memory") + "memory.limit_in_bytes"),
            "9223372036854771712\n",
        )],
    );
    assert_eq!(cgroup.read(Counter::MemoryLimit), Some(Amount::Unlimited));
}

#[test]
fn a_group_found_through_proc_and_a_gone_process_is_none() {
    let tmp = TempDir::new("cgroup-proc");
    let root = tmp.path();
    let mountinfo = mount_line(30, &root.join("memory"), "cgroup", "rw,memory");
    write_tree(
        root,
        &[
            ("proc/42/cgroup", "4:memory:/docker/abc\n"),
            ("memory/docker/abc/memory.usage_in_bytes", "7\n"),
        ],
    );
    let hierarchies = Hierarchies::parse(&mountinfo);
    let cgroup = hierarchies.of_pid(&root.join("proc"), 42).expect("found");
    assert_eq!(cgroup.read(Counter::Memory), Some(Amount::Value(7)));
    // No cpuacct mounted, no v2: unknown, not zero.
    assert_eq!(cgroup.read(Counter::Cpu), None);
    assert_eq!(cgroup.read(Counter::IoRead), None);
    assert!(hierarchies.of_pid(&root.join("proc"), 43).is_none());
    // The directory went with the container: unknown.
    std::fs::remove_dir_all(root.join("memory/docker/abc")).unwrap();
    assert_eq!(cgroup.read(Counter::Memory), None);
}

#[test]
fn v1_with_cpu_and_cpuacct_together_and_the_systemd_driver() {
    let tmp = TempDir::new("cgroup-v1-systemd");
    let root = tmp.path();
    let group = format!("/system.slice/docker-{ID}.scope");
    let mountinfo = mount_line(30, &root.join("cpu,cpuacct"), "cgroup", "rw,cpu,cpuacct")
        + &mount_line(31, &root.join("memory"), "cgroup", "rw,memory");
    let membership = format!("5:cpu,cpuacct:{group}\n3:memory:{group}\n");
    write_tree(
        root,
        &[
            (&format!("cpu,cpuacct{group}/cpuacct.usage"), "1000000000\n"),
            (&format!("memory{group}/memory.usage_in_bytes"), "4096\n"),
            (&format!("memory{group}/cgroup.procs"), "1\n"),
        ],
    );
    let cgroup = Hierarchies::parse(&mountinfo).locate(&membership).unwrap();
    assert_eq!(
        cgroup.read(Counter::Cpu),
        Some(Amount::Value(1_000_000_000))
    );
    assert_eq!(cgroup.read(Counter::Memory), Some(Amount::Value(4096)));
    // Processes from any v1 hierarchy that has the group.
    assert_eq!(cgroup.read(Counter::Processes), Some(Amount::Value(1)));
}

#[test]
fn v2_with_the_systemd_driver_reads_every_counter() {
    let tmp = TempDir::new("cgroup-v2");
    let root = tmp.path();
    let group = format!("/system.slice/docker-{ID}.scope");
    let mountinfo = mount_line(
        30,
        &root.join("cgroup"),
        "cgroup2",
        "rw,nsdelegate,memory_recursiveprot",
    );
    let dir = format!("cgroup{group}/");
    write_tree(
        root,
        &[
            (&(dir.clone() + "cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"),
            (&(dir.clone() + "memory.current"), "2097152\n"),
            (&(dir.clone() + "memory.max"), "max\n"),
            (&(dir.clone() + "cgroup.procs"), "1\n2\n3\n"),
            (
                &(dir.clone() + "io.stat"),
                "8:0 rbytes=8192 wbytes=4096 rios=2 wios=1 dbytes=0 dios=0\n253:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
            ),
        ],
    );
    let cgroup = Hierarchies::parse(&mountinfo)
        .locate(&format!("0::{group}\n"))
        .unwrap();
    assert_eq!(cgroup.read(Counter::Cpu), Some(Amount::Value(1_500_000)));
    assert_eq!(cgroup.read(Counter::Memory), Some(Amount::Value(2_097_152)));
    assert_eq!(cgroup.read(Counter::MemoryLimit), Some(Amount::Unlimited));
    assert_eq!(cgroup.read(Counter::Processes), Some(Amount::Value(3)));
    assert_eq!(cgroup.read(Counter::IoRead), Some(Amount::Value(8193)));
    assert_eq!(cgroup.read(Counter::IoWrite), Some(Amount::Value(4098)));
    write_tree(root, &[(&(dir + "memory.max"), "67108864\n")]);
    assert_eq!(
        cgroup.read(Counter::MemoryLimit),
        Some(Amount::Value(64 << 20))
    );
}

#[test]
fn a_mount_of_a_subtree_and_escaped_mount_points() {
    let tmp = TempDir::new("cgroup-subtree");
    let root = tmp.path();
    // A cgroup namespace: the hierarchy's /docker is mounted, with a space
    // in the mount point escaped as mountinfo writes it.
    let point = root.join("my cgroup");
    let escaped = point.display().to_string().replace(' ', "\\040");
    let mountinfo = format!("30 1 0:30 /docker {escaped} rw - cgroup2 cgroup2 rw\n");
    write_tree(root, &[("my cgroup/abc/memory.current", "9\n")]);
    let hierarchies = Hierarchies::parse(&mountinfo);
    let cgroup = hierarchies.locate("0::/docker/abc\n").unwrap();
    assert_eq!(cgroup.read(Counter::Memory), Some(Amount::Value(9)));
    // Outside the mounted subtree: not reachable here.
    assert!(hierarchies.locate("0::/other/abc\n").is_none());
    assert!(hierarchies.locate("0::/dockerx/abc\n").is_none());
    assert!(hierarchies.locate("garbage\n").is_none());
}

#[test]
fn the_host_mount_table_parses() {
    // Whatever this machine has: parsing its real table never fails, and
    // a machine with cgroups mounted shows at least one hierarchy.
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let hierarchies = Hierarchies::parse(&table);
    assert_eq!(
        hierarchies.mounts.is_empty(),
        !table.contains(" - cgroup"),
        "{hierarchies:?}"
    );
}
