//! What the process sees from inside a real container: pid namespace, hostname,
//! env, cwd, user, umask, capabilities, noNewPrivileges, rlimits, oomScoreAdj,
//! mounts and their flags, devices, maskedPaths, readonlyPaths, root.readonly,
//! sysctl, rootfsPropagation and `--no-pivot`.
//!
//! Each test runs a busybox `sh -c` script that prints what it checks; values of
//! the configured process are read from /proc/1 (the script's shell is pid 1).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// /proc/1/status of the container process, parsed.
fn proc1_status(rt: &Runtime, b: &mut Bundle) -> BTreeMap<String, String> {
    // The trailing `:` keeps sh as pid 1 (a lone command would be exec'd in its place).
    parse_status(&run_script(rt, b, "cat /proc/1/status; :"))
}

/// /proc/self/mountinfo inside a container of `b`, parsed.
fn container_mounts(rt: &Runtime, b: &mut Bundle) -> Vec<MountInfo> {
    parse_mountinfo(&run_script(rt, b, "cat /proc/self/mountinfo"))
}

#[test]
fn process_is_pid_1_of_a_new_pid_namespace() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let out = run_script(&rt, &mut b, "echo $$; ls /proc | grep -c '^[0-9][0-9]*$'");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "the process is pid 1");
    // Only the shell and the pipeline's processes are visible.
    let n: u32 = lines[1].parse().unwrap();
    assert!(
        n <= 4,
        "{n} processes visible: the pid namespace is not isolated"
    );
}

#[test]
fn hostname_and_domainname_are_set_in_a_new_uts_namespace() {
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_hostname("jinn-box")
        .set("/domainname", "jinn.test".into());
    let out = run_script(&rt, &mut b, "hostname; cat /proc/sys/kernel/domainname");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "jinn-box");
    // runc 1.1 ignores "domainname" (it was added to runc in 1.2).
    if !rt.is_runc() {
        assert_eq!(lines[1], "jinn.test");
    }
    host.assert_unchanged();
}

#[test]
fn env_is_the_configured_one() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_env(&["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="]);
    let out = run_script(&rt, &mut b, "cat /proc/1/environ | tr '\\0' '\\n'");
    let vars: Vec<&str> = out.lines().collect();
    for want in ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="] {
        assert!(vars.contains(&want), "{want:?} missing from {vars:?}");
    }
    for v in &vars {
        // runc (and so jinn) adds HOME when the config has none.
        assert!(
            ["PATH=", "FOO=", "EMPTY=", "HOME="]
                .iter()
                .any(|p| v.starts_with(p)),
            "unexpected variable {v:?} in {vars:?}"
        );
    }
}

#[test]
fn cwd_is_the_configured_directory() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_cwd("/tmp");
    let out = run_script(&rt, &mut b, "pwd; readlink /proc/1/cwd");
    assert_eq!(out, "/tmp\n/tmp\n");
}

#[test]
fn user_uid_gid_and_additional_gids() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_user(1000, 1001, &[10, 20]);
    let st = proc1_status(&rt, &mut b);
    assert_eq!(
        st["Uid"].split_whitespace().collect::<Vec<_>>(),
        ["1000"; 4]
    );
    assert_eq!(
        st["Gid"].split_whitespace().collect::<Vec<_>>(),
        ["1001"; 4]
    );
    let mut groups: Vec<&str> = st["Groups"].split_whitespace().collect();
    groups.sort();
    assert_eq!(groups, ["10", "20"]);
}

#[test]
fn umask_is_the_configured_one() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/process/user/umask", json!(0o027));
    let out = run_script(&rt, &mut b, "umask; grep Umask /proc/1/status");
    assert_eq!(out.lines().next(), Some("0027"));
    assert!(out.contains("Umask:\t0027"), "{out}");
}

#[test]
fn umask_defaults_to_0022() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let st = proc1_status(&rt, &mut b);
    assert_eq!(st["Umask"], "0022");
}

fn cap_list(config: &Value, set: &str) -> Vec<String> {
    config["process"]["capabilities"][set]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The five sets the kernel gives the process after `execve` of a file without
/// file capabilities, from the config's sets (capabilities(7), "Transformation
/// of capabilities during execve()"): for uid 0, P' = bounding | inheritable |
/// ambient and E' = P', where noNewPrivileges keeps P' within the permitted set
/// held before exec; for other uids, P' = E' = ambient. Ambient can only hold
/// what is both permitted and inheritable.
fn expected_caps(config: &Value) -> [(&'static str, u64); 5] {
    let bnd = cap_mask(&cap_list(config, "bounding"));
    let inh = cap_mask(&cap_list(config, "inheritable"));
    let prm = cap_mask(&cap_list(config, "permitted"));
    let amb = cap_mask(&cap_list(config, "ambient")) & inh & prm;
    let uid = config["process"]["user"]["uid"].as_u64().unwrap_or(0);
    let nnp = config["process"]["noNewPrivileges"]
        .as_bool()
        .unwrap_or(false);
    let (p, e) = if uid == 0 {
        let mut p = bnd | inh;
        if nnp {
            p &= prm;
        }
        (p | amb, p | amb)
    } else {
        (amb, amb)
    };
    [
        ("CapInh", inh),
        ("CapPrm", p),
        ("CapEff", e),
        ("CapBnd", bnd),
        ("CapAmb", amb),
    ]
}

#[track_caller]
fn check_caps(rt: &Runtime, b: &mut Bundle) {
    let want = expected_caps(&b.config);
    let st = proc1_status(rt, b);
    for (field, mask) in want {
        let got = u64::from_str_radix(&st[field], 16).unwrap();
        assert_eq!(
            got, mask,
            "{field}: got {got:#x}, expected {mask:#x} from {}",
            b.config["process"]["capabilities"]
        );
    }
}

#[test]
fn capabilities_of_the_default_config() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    check_caps(&rt, &mut b);
}

#[test]
fn capabilities_all_five_sets_as_root() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_AUDIT_WRITE"],
            "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_KILL"],
        }),
    );
    for nnp in [true, false] {
        b.set("/process/noNewPrivileges", nnp.into());
        check_caps(&rt, &mut b);
    }
}

#[test]
fn capabilities_all_five_sets_as_non_root_with_ambient() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_user(1000, 1000, &[]).set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"],
        }),
    );
    check_caps(&rt, &mut b);
}

#[test]
fn no_new_privileges_is_set() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/process/noNewPrivileges", true.into());
    assert_eq!(proc1_status(&rt, &mut b)["NoNewPrivs"], "1");

    let host = parse_status(&fs::read_to_string("/proc/self/status").unwrap());
    if host["NoNewPrivs"] == "0" {
        b.set("/process/noNewPrivileges", false.into());
        assert_eq!(proc1_status(&rt, &mut b)["NoNewPrivs"], "0");
    }
}

/// (soft, hard) of a /proc/<pid>/limits line, e.g. "Max open files".
fn limit(limits: &str, name: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} not in {limits}"));
    let f: Vec<&str> = line[name.len()..].split_whitespace().collect();
    (f[0].to_string(), f[1].to_string())
}

#[test]
fn rlimits_are_applied() {
    let rt = Runtime::new();
    let host = fs::read_to_string("/proc/self/limits").unwrap();
    // Only lower limits: the test may run without CAP_SYS_RESOURCE.
    let host_hard = |name| limit(&host, name).1.parse::<u64>().unwrap_or(u64::MAX);
    let nofile_hard = host_hard("Max open files").min(512);
    let nofile_soft = nofile_hard / 2;
    let core_hard = host_hard("Max core file size").min(4096);
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([
            { "type": "RLIMIT_NOFILE", "soft": nofile_soft, "hard": nofile_hard },
            { "type": "RLIMIT_CORE", "soft": 0, "hard": core_hard },
        ]),
    );
    let out = run_script(&rt, &mut b, "ulimit -n; echo @@; cat /proc/1/limits");
    let (shell, limits) = out.split_once("@@\n").unwrap();
    assert_eq!(shell.trim(), nofile_soft.to_string(), "ulimit -n");
    assert_eq!(
        limit(limits, "Max open files"),
        (nofile_soft.to_string(), nofile_hard.to_string())
    );
    assert_eq!(
        limit(limits, "Max core file size"),
        ("0".to_string(), core_hard.to_string())
    );
}

#[test]
fn oom_score_adj_is_applied() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/process/oomScoreAdj", json!(123));
    assert_eq!(
        run_script(&rt, &mut b, "cat /proc/1/oom_score_adj").trim(),
        "123"
    );
}

#[test]
fn default_mounts_have_their_types_and_flags() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let m = container_mounts(&rt, &mut b);

    assert_eq!(mount_at(&m, "/proc").fstype, "proc");

    let dev = mount_at(&m, "/dev");
    assert_eq!(dev.fstype, "tmpfs");
    assert!(dev.has("nosuid"), "/dev nosuid: {dev:?}");
    assert!(dev.has_super("mode=755"), "/dev mode=755: {dev:?}");

    let pts = mount_at(&m, "/dev/pts");
    assert_eq!(pts.fstype, "devpts");
    assert!(pts.has("nosuid") && pts.has("noexec"), "{pts:?}");
    for o in ["ptmxmode=666", "mode=620", "gid=5"] {
        assert!(pts.has_super(o), "/dev/pts {o}: {pts:?}");
    }

    let shm = mount_at(&m, "/dev/shm");
    assert_eq!(shm.fstype, "tmpfs");
    assert!(
        shm.has("nosuid") && shm.has("nodev") && shm.has("noexec"),
        "{shm:?}"
    );
    assert!(shm.has_super("size=65536k"), "{shm:?}");

    let mq = mount_at(&m, "/dev/mqueue");
    assert_eq!(mq.fstype, "mqueue");
    assert!(
        mq.has("nosuid") && mq.has("nodev") && mq.has("noexec"),
        "{mq:?}"
    );

    let sys = mount_at(&m, "/sys");
    assert_eq!(sys.fstype, "sysfs");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(sys.has(o), "/sys {o}: {sys:?}");
    }

    // cgroup: on v1 a tmpfs with one ro mount per hierarchy, on v2 one ro cgroup2 mount.
    let cg: Vec<&MountInfo> = m
        .iter()
        .filter(|x| {
            x.mount_point == "/sys/fs/cgroup" || x.mount_point.starts_with("/sys/fs/cgroup/")
        })
        .filter(|x| x.fstype == "cgroup" || x.fstype == "cgroup2")
        .collect();
    assert!(
        !cg.is_empty(),
        "no cgroup mount under /sys/fs/cgroup: {m:#?}"
    );
    for x in cg {
        assert!(
            x.has("ro") && x.has("nosuid") && x.has("nodev") && x.has("noexec"),
            "{x:?}"
        );
    }
}

#[test]
fn bind_mount_read_only() {
    let rt = Runtime::new();
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("file"), "from-host\n").unwrap();
    let mut b = Bundle::new();
    b.add_mount(
        "/mnt/ro",
        "bind",
        src.path().to_str().unwrap(),
        &["bind", "ro", "nosuid"],
    );
    let out = run_script(
        &rt,
        &mut b,
        "cat /mnt/ro/file; touch /mnt/ro/new 2>/dev/null && echo WRITABLE; echo @@; cat /proc/self/mountinfo",
    );
    let (body, mi) = out.split_once("@@\n").unwrap();
    assert_eq!(
        body, "from-host\n",
        "bind mount content, and it is not writable"
    );
    let m = parse_mountinfo(mi);
    let ro = mount_at(&m, "/mnt/ro");
    assert!(ro.has("ro") && ro.has("nosuid"), "{ro:?}");
    assert!(!src.path().join("new").exists());
}

#[test]
fn tmpfs_mount_with_flags_and_data() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.add_mount(
        "/mnt/t",
        "tmpfs",
        "tmpfs",
        &[
            "nodev", "noexec", "nosuid", "noatime", "size=1m", "mode=700",
        ],
    );
    let out = run_script(
        &rt,
        &mut b,
        "cp /bin/busybox /mnt/t/bb && /mnt/t/bb true 2>/dev/null && echo EXECUTED; echo @@; cat /proc/self/mountinfo",
    );
    let (body, mi) = out.split_once("@@\n").unwrap();
    assert_eq!(body, "", "noexec is enforced");
    let m = parse_mountinfo(mi);
    let t = mount_at(&m, "/mnt/t");
    assert_eq!(t.fstype, "tmpfs");
    for o in ["nodev", "noexec", "nosuid", "noatime", "rw"] {
        assert!(t.has(o), "/mnt/t {o}: {t:?}");
    }
    assert!(
        t.has_super("size=1024k") && t.has_super("mode=700"),
        "{t:?}"
    );
}

#[test]
fn rbind_includes_submounts_and_bind_does_not() {
    let rt = Runtime::new();
    let src = tempfile::tempdir().unwrap();
    let sub = HostTmpfs::mount(&src.path().join("sub"));
    fs::write(sub.0.join("inner"), "inner\n").unwrap();
    let mut b = Bundle::new();
    let s = src.path().to_str().unwrap();
    b.add_mount("/mnt/rb", "bind", s, &["rbind", "ro"]);
    b.add_mount("/mnt/b", "bind", s, &["bind"]);
    let out = run_script(
        &rt,
        &mut b,
        "cat /mnt/rb/sub/inner; ls -A /mnt/b/sub; echo end",
    );
    assert_eq!(
        out, "inner\nend\n",
        "rbind shows the submount, bind shows the empty dir"
    );
}

#[test]
fn mount_propagation_option_shared() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.add_mount("/mnt/s", "tmpfs", "tmpfs", &["shared", "size=1m"]);
    b.add_mount("/mnt/p", "tmpfs", "tmpfs", &["private", "size=1m"]);
    let m = container_mounts(&rt, &mut b);
    assert!(
        mount_at(&m, "/mnt/s").is_shared(),
        "{:?}",
        mount_at(&m, "/mnt/s")
    );
    let p = mount_at(&m, "/mnt/p");
    assert!(!p.is_shared() && !p.is_slave(), "{p:?}");
}

#[test]
fn rootfs_propagation_private() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/linux/rootfsPropagation", "private".into());
    let m = container_mounts(&rt, &mut b);
    let root = mount_at(&m, "/");
    assert!(!root.is_shared() && !root.is_slave(), "{root:?}");
}

#[test]
fn rootfs_propagation_shared() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/linux/rootfsPropagation", "shared".into());
    let m = container_mounts(&rt, &mut b);
    let root = mount_at(&m, "/");
    // runc 1.1 makes the rootfs parent private before the bind mount, so with a
    // private host "/" the container root ends up private: it ignores "shared".
    if !rt.is_runc() {
        assert!(root.is_shared(), "rootfsPropagation shared: {root:?}");
    }
    assert_eq!(
        root.root,
        b.rootfs().to_str().unwrap(),
        "/ is the bundle rootfs"
    );
}

#[test]
fn rootfs_propagation_slave_under_a_shared_mount() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let dir = b.path_str().to_string();
    // The bundle on a shared mount (a bind of itself, made shared), so that the root
    // has a master to be a slave of; a submount left shared used to carry the
    // container's mounts to the host (and pivot_root failed).
    let sh = |script: &str| {
        std::process::Command::new("sh")
            .args(["-c", script, "sh", &dir])
            .status()
            .is_ok_and(|s| s.success())
    };
    struct Unmount<'a>(&'a dyn Fn(&str) -> bool);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            (self.0)("umount -l \"$1\"");
        }
    }
    assert!(sh(
        "mount --bind \"$1\" \"$1\" && mount --make-shared \"$1\""
    ));
    let _unmount = Unmount(&sh);
    b.set("/linux/rootfsPropagation", "slave".into());
    b.sh("cat /proc/self/mountinfo");
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_success(
        &out,
        "run with rootfsPropagation slave under a shared mount",
    );
    let m = parse_mountinfo(&stdout(&out));
    let root = mount_at(&m, "/");
    // runc 1.1 makes the rootfs parent private: its root is private.
    if !rt.is_runc() {
        assert!(root.is_slave() && !root.is_shared(), "{root:?}");
    }
    let host = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let below = format!("{dir}/");
    let leaked: Vec<&str> = host.lines().filter(|l| l.contains(&below)).collect();
    assert!(
        leaked.is_empty(),
        "container mounts on the host: {leaked:#?}"
    );
}

#[test]
fn remount_changes_the_mount_already_at_the_destination() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.add_mount("/mnt/rm", "tmpfs", "tmpfs", &["size=1m"]);
    b.add_mount(
        "/mnt/rm",
        "tmpfs",
        "tmpfs",
        &["remount", "ro", "nosuid", "size=2m"],
    );
    let m = container_mounts(&rt, &mut b);
    let at: Vec<&MountInfo> = m.iter().filter(|x| x.mount_point == "/mnt/rm").collect();
    assert_eq!(at.len(), 1, "one mount at /mnt/rm: {at:#?}");
    assert!(
        at[0].has("ro") && at[0].has("nosuid") && at[0].has_super("size=2048k"),
        "{:?}",
        at[0]
    );
}

#[test]
fn default_devices_exist_with_their_numbers() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let out = run_script(
        &rt,
        &mut b,
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; \
         echo @@links; for l in ptmx fd stdin stdout stderr; do echo \"$l $(readlink /dev/$l)\"; done; \
         echo @@use; head -c 3 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; \
         echo x 2>/dev/null > /dev/full || echo full-enospc; head -c 4 /dev/urandom | wc -c",
    );
    let s = sections(&format!("@@stat\n{out}"));
    let want = [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
    ];
    let lines: Vec<&str> = s["stat"].lines().collect();
    for (i, (name, num)) in want.iter().enumerate() {
        assert_eq!(
            lines[i],
            format!("/dev/{name} character special file {num} 666")
        );
    }
    let links: BTreeMap<&str, &str> = s["links"]
        .lines()
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect();
    assert_eq!(links["fd"], "/proc/self/fd");
    assert_eq!(links["stdin"], "/proc/self/fd/0");
    assert_eq!(links["stdout"], "/proc/self/fd/1");
    assert_eq!(links["stderr"], "/proc/self/fd/2");
    // /dev/ptmx is the symlink pts/ptmx (runc) or a bind mount of it (then readlink is empty).
    assert!(
        ["pts/ptmx", "/dev/pts/ptmx", ""].contains(&links["ptmx"]),
        "ptmx -> {:?}",
        links["ptmx"]
    );
    assert_eq!(s["use"], "3\nnull-ok\nfull-enospc\n4\n");
}

#[test]
fn ptmx_opens_a_pty_of_the_container_devpts() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    let out = run_script(&rt, &mut b, "stat -L -c '%F %t:%T' /dev/ptmx; ls /dev/pts");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("character special file 5:2"));
    assert!(out.contains("ptmx"), "{out}");
}

#[test]
fn linux_devices_entry_is_created() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.push(
        "/linux/devices",
        json!({ "path": "/dev/jinn-null", "type": "c", "major": 1, "minor": 3,
                "fileMode": 0o640, "uid": 1000, "gid": 1001 }),
    );
    b.push(
        "/linux/devices",
        json!({ "path": "/dev/sub/jinn-zero", "type": "c", "major": 1, "minor": 5 }),
    );
    b.push(
        "/linux/resources/devices",
        json!({ "allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm" }),
    );
    let out = run_script(
        &rt,
        &mut b,
        "stat -c '%F %t:%T %a %u:%g' /dev/jinn-null; stat -c '%F %t:%T' /dev/sub/jinn-zero; \
         head -c 2 /dev/sub/jinn-zero | wc -c",
    );
    assert_eq!(
        out,
        "character special file 1:3 640 1000:1001\ncharacter special file 1:5\n2\n"
    );
}

#[test]
fn masked_paths_are_empty() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false);
    write_rootfs_file(&b, "etc/secret", "secret\n");
    write_rootfs_file(&b, "masked/file", "hidden\n");
    b.push("/linux/maskedPaths", "/etc/secret".into());
    b.push("/linux/maskedPaths", "/masked".into());
    // Masked /proc files that exist on this kernel (kcore needs CONFIG_PROC_KCORE).
    let proc_files: Vec<&str> = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    let mut script = String::from("cat /etc/secret; ls -A /masked; echo @@");
    for p in &proc_files {
        script.push_str(&format!("; echo \"{p} $(cat {p} | wc -c)\""));
    }
    let out = run_script(&rt, &mut b, &script);
    let (body, procs) = out.split_once("@@\n").unwrap();
    assert_eq!(body, "", "masked file and dir read empty");
    for p in &proc_files {
        assert!(
            procs.contains(&format!("{p} 0\n")),
            "{p} is not masked: {procs}"
        );
    }
}

#[test]
fn readonly_paths_are_read_only() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false);
    write_rootfs_file(&b, "rodir/file", "x\n");
    b.push("/linux/readonlyPaths", "/rodir".into());
    let out = run_script(
        &rt,
        &mut b,
        "touch /rodir/new 2>/dev/null && echo rodir-writable; \
         echo 1 2>/dev/null > /proc/sys/net/ipv4/ip_forward && echo procsys-writable; \
         touch /tmp/ok && echo tmp-ok; echo @@; cat /proc/self/mountinfo",
    );
    let (body, mi) = out.split_once("@@\n").unwrap();
    assert_eq!(body, "tmp-ok\n");
    let m = parse_mountinfo(mi);
    assert!(mount_at(&m, "/proc/sys").has("ro"));
    assert!(mount_at(&m, "/rodir").has("ro"));
}

#[test]
fn root_readonly_true_makes_root_read_only() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(true);
    let out = run_script(
        &rt,
        &mut b,
        "touch /newfile 2>/dev/null && echo WRITABLE; echo @@; cat /proc/self/mountinfo",
    );
    let (body, mi) = out.split_once("@@\n").unwrap();
    assert_eq!(body, "");
    assert!(mount_at(&parse_mountinfo(mi), "/").has("ro"));
    assert!(!b.rootfs().join("newfile").exists());
}

#[test]
fn root_readonly_false_leaves_root_writable() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set_readonly_root(false);
    let out = run_script(&rt, &mut b, "touch /newfile && echo ok");
    assert_eq!(out, "ok\n");
    assert!(b.rootfs().join("newfile").exists());
}

#[test]
fn sysctl_is_set_in_the_container_only() {
    let host = HostSnapshot::take();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.set("/linux/sysctl", json!({ "net.ipv4.ip_forward": "1" }));
    assert_eq!(
        run_script(&rt, &mut b, "cat /proc/sys/net/ipv4/ip_forward"),
        "1\n"
    );
    host.assert_unchanged();
}

#[test]
fn no_pivot_runs_in_the_rootfs() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    write_rootfs_file(&b, "marker", "in-rootfs\n");
    b.sh("echo $$; cat /marker; ls /../marker; readlink /proc/1/root");
    let id = rt.new_id();
    b.save();
    rt.track(&id);
    let out = rt.cmd(&["run", "--no-pivot", "--bundle", b.path_str(), &id]);
    assert_success(&out, "run --no-pivot");
    assert_eq!(stdout(&out), "1\nin-rootfs\n/../marker\n/\n");
    assert_no_leftovers(&rt, &id, &b);
}

#[test]
fn session_keyring_is_the_containers_own_unless_no_new_keyring() {
    let rt = Runtime::new();
    for (flag, want) in [(None, "1"), (Some("--no-new-keyring"), "0")] {
        let mut b = Bundle::new();
        let id = rt.new_id();
        // /proc/keys is masked by default; unmask it to look.
        let masked = b.config["linux"]["maskedPaths"].as_array_mut().unwrap();
        masked.retain(|p| p != "/proc/keys");
        b.sh(&format!(
            "grep -c 'keyring   _ses.{id}:' /proc/keys || true"
        ));
        b.save();
        let mut args = vec!["run"];
        args.extend(flag);
        args.extend(["--bundle", b.path_str(), &id]);
        let out = rt.cmd(&args);
        assert_success(&out, &format!("run {flag:?}"));
        assert_eq!(stdout(&out).trim(), want, "keyring _ses.{id} with {flag:?}");
        assert_no_leftovers(&rt, &id, &b);
    }
}

#[test]
fn an_lsm_profile_jinn_cannot_apply_is_an_error() {
    let rt = Runtime::new();
    if !rt.is_jinn() {
        return; // runc ignores a profile when AppArmor is disabled on the host
    }
    let mut b = Bundle::new();
    b.set("/process/apparmorProfile", json!("jinn-test-profile"))
        .set_args(&["true"]);
    b.save();
    let id = rt.new_id();
    let out = rt.run(&b, &id);
    assert_exit(&out, 1, "run with an apparmor profile");
    assert_one_error_line(&out, &["process.apparmorProfile"]);
    assert_no_leftovers(&rt, &id, &b);
}
