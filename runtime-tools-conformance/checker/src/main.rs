//! In-container checker of runtime-tools-conformance.
//!
//! Runs as the container's process (`process.args[0]`), reads the bundle's
//! `config.json` (copied into the rootfs at `/conformance/config.json`) and
//! host facts written by the driver (`/conformance/host.json`), and checks
//! from inside the container that every applicable field was applied. Prints
//! TAP: one `ok` / `not ok` line per rule, with the spec's wording, a `#`
//! line with what was observed on failure, then the plan and a
//! `# conformance-checker done` marker so the driver can tell a complete run
//! from a crashed one.

use serde_json::Value;
use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// TAP writer.
struct Tap {
    n: usize,
}

impl Tap {
    fn check(&mut self, pass: bool, rule: &str, detail: impl FnOnce() -> String) {
        self.n += 1;
        if pass {
            println!("ok {} - {}", self.n, rule);
        } else {
            println!("not ok {} - {}", self.n, rule);
            for line in detail().lines() {
                println!("# {line}");
            }
        }
    }

    /// `pass` iff `got == want`, with both shown on failure.
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, rule: &str, got: T, want: T) {
        let pass = got == want;
        self.check(pass, rule, || format!("got {got:?}, want {want:?}"));
    }

    fn skip(&mut self, rule: &str, reason: &str) {
        self.n += 1;
        println!("ok {} - {} # SKIP {}", self.n, rule, reason);
    }
}

fn main() {
    // `--ids`: print the real and effective uid (the driver's nosuid check
    // runs a set-user-ID copy of the checker).
    if std::env::args().nth(1).as_deref() == Some("--ids") {
        // SAFETY: plain getters.
        let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
        println!("uid={uid} euid={euid}");
        return;
    }
    // `--fds`: print the open fds (without the one reading /proc/self/fd)
    // and their targets, for runtime-linux.md's "only stdio kept open".
    if std::env::args().nth(1).as_deref() == Some("--fds") {
        let mut fds: Vec<(u32, String)> = fs::read_dir("/proc/self/fd")
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let n: u32 = e.file_name().to_str()?.parse().ok()?;
                        let l = fs::read_link(e.path()).ok()?.display().to_string();
                        (!(l.starts_with("/proc/") && l.ends_with("/fd"))).then_some((n, l))
                    })
                    .collect()
            })
            .unwrap_or_default();
        fds.sort();
        let nums: Vec<String> = fds.iter().map(|(n, _)| n.to_string()).collect();
        println!("fds {}", nums.join(" "));
        for (n, l) in fds {
            println!("fd{n} {l}");
        }
        return;
    }
    // CONFORMANCE_DIR only exists to exercise the checker outside a container.
    let dir = std::env::var("CONFORMANCE_DIR").unwrap_or_else(|_| "/conformance".into());
    let config = format!("{dir}/config.json");
    let host_file = format!("{dir}/host.json");
    let cfg: Value = match fs::read_to_string(&config)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            println!("not ok 1 - checker can read {config}");
            println!("# {e}");
            println!("1..1");
            println!("# conformance-checker done");
            return;
        }
    };
    let host: Value = fs::read_to_string(&host_file)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let mut t = Tap { n: 0 };
    let mounts = parse_mountinfo();

    check_root(&mut t, &cfg);
    check_uts(&mut t, &cfg);
    check_process(&mut t, &cfg, &host);
    check_capabilities(&mut t, &cfg);
    check_namespaces(&mut t, &cfg, &host);
    check_mounts(&mut t, &cfg, &host, &mounts);
    check_masked_readonly(&mut t, &cfg);
    check_devices(&mut t, &cfg);
    check_sysctl(&mut t, &cfg);
    check_rootfs_propagation(&mut t, &cfg, &mounts);

    println!("1..{}", t.n);
    println!("# conformance-checker done");
}

// ---------------------------------------------------------------- helpers

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn proc_status_field(name: &str) -> Option<String> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_string())
}

fn statvfs_readonly(path: &str) -> Result<bool, String> {
    let c = CString::new(path).map_err(|e| e.to_string())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid C string, st a valid out pointer.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if r != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

fn exists(path: &str) -> bool {
    fs::symlink_metadata(path).is_ok()
}

// ---------------------------------------------------------------- root

fn check_root(t: &mut Tap, cfg: &Value) {
    let ro = cfg
        .pointer("/root/readonly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let rule = if ro {
        "root.readonly: If true then the root filesystem MUST be read-only inside the container"
    } else {
        "root.readonly: defaults to false (root filesystem writable)"
    };
    match statvfs_readonly("/") {
        Ok(got) => t.eq(rule, got, ro),
        Err(e) => t.check(false, rule, || format!("statvfs(/): {e}")),
    }
}

// ---------------------------------------------------------------- uts

fn uname() -> (String, String) {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid out pointer.
    unsafe { libc::uname(&mut u) };
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.nodename), field(&u.domainname))
}

fn check_uts(t: &mut Tap, cfg: &Value) {
    let (node, domain) = uname();
    if let Some(h) = cfg.get("hostname").and_then(Value::as_str) {
        t.eq(
            "hostname: specifies the container's hostname as seen by processes running inside the container",
            node.as_str(),
            h,
        );
    }
    if let Some(d) = cfg.get("domainname").and_then(Value::as_str) {
        t.eq(
            "domainname: specifies the container's domainname as seen by processes running inside the container",
            domain.as_str(),
            d,
        );
    }
}

// ---------------------------------------------------------------- process

const RLIMITS: &[(&str, libc::__rlimit_resource_t)] = &[
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
];

fn check_process(t: &mut Tap, cfg: &Value, host: &Value) {
    let Some(p) = cfg.get("process") else {
        return;
    };

    // args
    let want_args = strs(&p["args"]);
    let cmdline = fs::read("/proc/self/cmdline").unwrap_or_default();
    let got_args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    t.eq(
        "process.args: with similar semantics to execvp's argv (argv of the process)",
        got_args,
        want_args,
    );

    // env
    let got_env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    for e in strs(&p["env"]) {
        t.check(
            got_env.contains(&e),
            &format!("process.env: with the same semantics as environ ({e})"),
            || format!("environment is {got_env:?}"),
        );
    }

    // cwd
    if let Some(cwd) = p.get("cwd").and_then(Value::as_str) {
        let got = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|e| format!("<error {e}>"));
        t.eq(
            "process.cwd: the working directory that will be set for the executable",
            got.as_str(),
            cwd,
        );
    }

    // user
    if let Some(u) = p.get("user") {
        // SAFETY: plain getters.
        let (uid, euid, gid, egid) = unsafe {
            (
                libc::getuid(),
                libc::geteuid(),
                libc::getgid(),
                libc::getegid(),
            )
        };
        if let Some(want) = u.get("uid").and_then(Value::as_u64) {
            t.eq(
                "process.user.uid: specifies the user ID in the container namespace",
                (uid as u64, euid as u64),
                (want, want),
            );
        }
        if let Some(want) = u.get("gid").and_then(Value::as_u64) {
            t.eq(
                "process.user.gid: specifies the group ID in the container namespace",
                (gid as u64, egid as u64),
                (want, want),
            );
        }
        let groups = getgroups();
        if let Some(add) = u.get("additionalGids").and_then(Value::as_array) {
            let want: Vec<u64> = add.iter().filter_map(Value::as_u64).collect();
            let missing: Vec<u64> = want
                .iter()
                .copied()
                .filter(|g| !groups.contains(g))
                .collect();
            t.check(
                missing.is_empty(),
                "process.user.additionalGids: additional group IDs in the container namespace to be added to the process",
                || format!("supplementary groups {groups:?}, missing {missing:?}"),
            );
        }
        let got_umask = proc_status_field("Umask").and_then(|s| u32::from_str_radix(&s, 8).ok());
        match u.get("umask").and_then(Value::as_u64) {
            Some(want) => t.eq(
                "process.user.umask: specifies the umask of the user",
                got_umask,
                Some(want as u32),
            ),
            None => {
                if let Some(h) = host.get("umask").and_then(Value::as_u64) {
                    t.eq(
                        "process.user.umask: If unspecified, the umask should not be changed from the calling process' umask",
                        got_umask,
                        Some(h as u32),
                    );
                }
            }
        }
    }

    // rlimits
    let mut seen = Vec::new();
    for r in p["rlimits"].as_array().into_iter().flatten() {
        let ty = r["type"].as_str().unwrap_or("");
        seen.push(ty.to_string());
        let rule = format!("process.rlimits: getrlimit({ty}) MUST succeed and rlim_cur/rlim_max MUST match the configured soft/hard values");
        let Some(&(_, res)) = RLIMITS.iter().find(|(n, _)| *n == ty) else {
            t.skip(&rule, "resource unknown to the checker");
            continue;
        };
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid out pointer.
        let rc = unsafe { libc::getrlimit(res, &mut rl) };
        let want = (r["soft"].as_u64(), r["hard"].as_u64());
        if rc != 0 {
            t.check(false, &rule, || {
                format!("getrlimit: {}", std::io::Error::last_os_error())
            });
        } else {
            t.eq(&rule, (Some(rl.rlim_cur), Some(rl.rlim_max)), want);
        }
    }

    // noNewPrivileges
    let nnp = p
        .get("noNewPrivileges")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let got = proc_status_field("NoNewPrivs");
    t.eq(
        if nnp {
            "process.noNewPrivileges: setting noNewPrivileges to true prevents the process from gaining additional privileges"
        } else {
            "process.noNewPrivileges: unset/false leaves no_new_privs clear"
        },
        got.as_deref(),
        Some(if nnp { "1" } else { "0" }),
    );

    // oomScoreAdj
    let got = fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    match p.get("oomScoreAdj").and_then(Value::as_i64) {
        Some(want) => t.eq(
            "process.oomScoreAdj: If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value",
            got,
            Some(want),
        ),
        None => {
            if let Some(h) = host.get("oom_score_adj").and_then(Value::as_i64) {
                t.eq(
                    "process.oomScoreAdj: If oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj",
                    got,
                    Some(h),
                );
            }
        }
    }
}

fn getgroups() -> Vec<u64> {
    let mut buf = vec![0 as libc::gid_t; 1024];
    // SAFETY: buf has room for 1024 entries.
    let n = unsafe { libc::getgroups(buf.len() as i32, buf.as_mut_ptr()) };
    buf.truncate(n.max(0) as usize);
    buf.into_iter().map(u64::from).collect()
}

// ---------------------------------------------------------------- capabilities

const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn cap_mask(v: &Value) -> u64 {
    strs(v)
        .iter()
        .filter_map(|n| CAPS.iter().position(|c| c == n))
        .fold(0u64, |m, i| m | (1u64 << i))
}

fn cap_names(m: u64) -> Vec<&'static str> {
    (0..CAPS.len())
        .filter(|i| m & (1 << i) != 0)
        .map(|i| CAPS[i])
        .collect()
}

fn check_capabilities(t: &mut Tap, cfg: &Value) {
    let Some(c) = cfg.pointer("/process/capabilities") else {
        return;
    };
    let last = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(40)
        .min(CAPS.len() as u32 - 1);
    let all = (1u64 << (last + 1)) - 1;
    let b = cap_mask(&c["bounding"]) & all;
    let p = cap_mask(&c["permitted"]) & all;
    let i = cap_mask(&c["inheritable"]) & all;
    let a_cfg = cap_mask(&c["ambient"]) & all;
    // The kernel only keeps ambient capabilities that are both permitted and
    // inheritable (PR_CAP_AMBIENT_RAISE fails otherwise).
    let a = a_cfg & p & i;
    let nnp = cfg
        .pointer("/process/noNewPrivileges")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // SAFETY: plain getter.
    let euid = unsafe { libc::geteuid() };
    // execve(2) rules (capabilities(7)) for a file without file capabilities:
    //   root:     P' = (B | I) [& P if no_new_privs] | A,  E' = P'
    //   non-root: P' = A,  E' = A
    let (want_p, want_e) = if euid == 0 {
        let mut np = b | i;
        if nnp {
            np &= p;
        }
        np |= a;
        (np, np)
    } else {
        (a, a)
    };
    let rows = [
        ("CapBnd", "bounding", b),
        ("CapInh", "inheritable", i),
        ("CapPrm", "permitted", want_p),
        ("CapEff", "effective", want_e),
        ("CapAmb", "ambient", a),
    ];
    for (field, set, want) in rows {
        let got = proc_status_field(field)
            .and_then(|s| u64::from_str_radix(&s, 16).ok())
            .unwrap_or(u64::MAX);
        let rule = format!(
            "process.capabilities.{set}: the {set} field is an array of {set} capabilities that are kept for the process (after execve; ambient needs permitted+inheritable)"
        );
        t.check(got == want, &rule, || {
            format!(
                "{field} {got:#x} {:?}, want {want:#x} {:?}",
                cap_names(got),
                cap_names(want)
            )
        });
    }
}

// ---------------------------------------------------------------- namespaces

const NS: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

fn check_namespaces(t: &mut Tap, cfg: &Value, host: &Value) {
    let Some(list) = cfg.pointer("/linux/namespaces").and_then(Value::as_array) else {
        return;
    };
    for (ty, proc_name) in NS {
        let entry = list.iter().find(|n| n["type"].as_str() == Some(ty));
        let host_ns = host
            .pointer(&format!("/ns/{proc_name}"))
            .and_then(Value::as_str);
        let got = fs::read_link(format!("/proc/self/ns/{proc_name}"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let (Some(host_ns), Some(got)) = (host_ns, got) else {
            let rule = format!("linux.namespaces: {ty} namespace");
            t.skip(&rule, "namespace type not available on this kernel");
            continue;
        };
        match entry {
            None => t.eq(
                &format!("linux.namespaces: If a namespace type ({ty}) is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type"),
                got.as_str(),
                host_ns,
            ),
            Some(e) => match e.get("path").and_then(Value::as_str) {
                None => t.check(
                    got != host_ns,
                    &format!("linux.namespaces: If path is not specified, the runtime MUST create a new container namespace of type {ty}"),
                    || format!("container {got} equals the runtime's {host_ns}"),
                ),
                Some(path) => {
                    let want = host
                        .pointer("/ns_paths")
                        .and_then(|m| m.get(path))
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    t.eq(
                        &format!("linux.namespaces: The runtime MUST place the container process in the namespace associated with that path ({ty})"),
                        got.as_str(),
                        want,
                    );
                }
            },
        }
    }
    let new_pid = list
        .iter()
        .any(|n| n["type"] == "pid" && n.get("path").is_none());
    if new_pid {
        // SAFETY: plain getter.
        let pid = unsafe { libc::getpid() };
        t.eq(
            "linux.namespaces: the process is pid 1 of the new container pid namespace",
            pid,
            1,
        );
    }
}

// ---------------------------------------------------------------- mounts

#[derive(Debug, Clone)]
struct MountInfo {
    mount_point: String,
    opts: Vec<String>,
    optional: Vec<String>,
    fstype: String,
    super_opts: Vec<String>,
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_mountinfo() -> Vec<MountInfo> {
    let s = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    s.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            if sep < 6 || f.len() < sep + 4 {
                return None;
            }
            Some(MountInfo {
                mount_point: unescape(f[4]),
                opts: f[5].split(',').map(String::from).collect(),
                optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
                fstype: f[sep + 1].to_string(),
                super_opts: f[sep + 3].split(',').map(String::from).collect(),
            })
        })
        .collect()
}

fn last_mount_at<'a>(mounts: &'a [MountInfo], path: &str) -> Option<(usize, &'a MountInfo)> {
    mounts
        .iter()
        .enumerate()
        .rev()
        .find(|(_, m)| m.mount_point == path)
}

/// Parses a tmpfs-style size into bytes.
fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// Normalised `key=value` data option as the kernel shows it, for the data
/// options the checker knows how to compare.
fn norm_data(opt: &str) -> Option<(String, String)> {
    let (k, v) = opt.split_once('=')?;
    let v = match k {
        "mode" | "ptmxmode" => format!("{:o}", u32::from_str_radix(v, 8).ok()?),
        "size" => parse_size(v)?.to_string(),
        "uid" | "gid" | "nr_inodes" => v.to_string(),
        _ => return None,
    };
    Some((k.to_string(), v))
}

fn check_mounts(t: &mut Tap, cfg: &Value, host: &Value, mounts: &[MountInfo]) {
    let Some(list) = cfg.get("mounts").and_then(Value::as_array) else {
        return;
    };
    let mut positions = Vec::new();
    for (idx, m) in list.iter().enumerate() {
        let dest = m["destination"].as_str().unwrap_or("");
        // A later entry with the same destination hides this one.
        if list[idx + 1..]
            .iter()
            .any(|o| o["destination"].as_str() == Some(dest))
        {
            continue;
        }
        let ty = m["type"].as_str().unwrap_or("");
        let opts = strs(&m["options"]);
        let is_bind = ty == "bind" || opts.iter().any(|o| o == "bind" || o == "rbind");
        let Some((pos, mi)) = last_mount_at(mounts, dest) else {
            t.check(
                false,
                &format!("mounts: {dest} is mounted (destination: Destination of mount point)"),
                || "no entry in /proc/self/mountinfo".into(),
            );
            continue;
        };
        positions.push((dest.to_string(), pos));
        t.check(
            true,
            &format!("mounts: {dest} is mounted (destination: Destination of mount point)"),
            String::new,
        );
        if !is_bind && !ty.is_empty() {
            let rule =
                format!("mounts: {dest} type: the type of the filesystem to be mounted ({ty})");
            if ty == "cgroup" && mi.fstype != "cgroup" {
                // On a cgroup v1/hybrid host a "cgroup" mount is a tmpfs
                // holding one cgroup mount per hierarchy; on v2 it is cgroup2.
                let sub = mounts.iter().any(|x| {
                    x.mount_point.starts_with(&format!("{dest}/")) && x.fstype.starts_with("cgroup")
                });
                t.check(
                    mi.fstype == "cgroup2" || (mi.fstype == "tmpfs" && sub),
                    &rule,
                    || format!("fstype {}", mi.fstype),
                );
            } else {
                t.eq(&rule, mi.fstype.as_str(), ty);
            }
        }
        if is_bind {
            if let Some(id) = host.pointer(&format!("/bind_sources/{idx}")) {
                let want = (id[0].as_u64(), id[1].as_u64());
                let got = fs::metadata(dest)
                    .map(|md| (Some(md.dev()), Some(md.ino())))
                    .unwrap_or((None, None));
                t.eq(
                    &format!("mounts: {dest} source: a path to a file or directory to bind mount (same inode)"),
                    got,
                    want,
                );
            }
        }
        if ty == "cgroup" && mi.fstype == "tmpfs" {
            // Emulated v1 "cgroup" mount: the options apply to the cgroup
            // hierarchies mounted below the tmpfs.
            let subs: Vec<&MountInfo> = mounts
                .iter()
                .filter(|x| {
                    x.mount_point.starts_with(&format!("{dest}/")) && x.fstype.starts_with("cgroup")
                })
                .collect();
            for sub in subs {
                check_mount_options(t, &sub.mount_point, &opts, sub);
            }
        } else {
            check_mount_options(t, dest, &opts, mi);
        }
    }
    // Listed order: each mount's entry comes after the previous one's.
    let sorted = positions.windows(2).all(|w| w[0].1 < w[1].1);
    t.check(
        sorted,
        "mounts: The runtime MUST mount entries in the listed order",
        || {
            positions
                .iter()
                .map(|(d, p)| format!("{d} at mountinfo line {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
}

fn check_mount_options(t: &mut Tap, dest: &str, opts: &[String], mi: &MountInfo) {
    let has = |o: &str| mi.opts.iter().any(|x| x == o);
    let has_super = |o: &str| mi.super_opts.iter().any(|x| x == o);
    for o in opts {
        let rule = format!("mounts: {dest} option {o}");
        let res: Option<(bool, String)> = match o.as_str() {
            "ro" => Some((has("ro"), "ro".into())),
            "rw" => Some((has("rw"), "rw".into())),
            "nosuid" | "nodev" | "noexec" | "noatime" | "nodiratime" | "relatime" => {
                Some((has(o), o.clone()))
            }
            "suid" | "dev" | "exec" => {
                let neg = format!("no{o}");
                Some((!has(&neg), format!("no {neg}")))
            }
            "strictatime" => Some((
                !has("relatime") && !has("noatime"),
                "neither relatime nor noatime".into(),
            )),
            "sync" | "dirsync" | "lazytime" => Some((has_super(o) || has(o), o.clone())),
            "async" => Some((!has_super("sync") && !has("sync"), "no sync".into())),
            "nolazytime" => Some((!has_super("lazytime"), "no lazytime".into())),
            "atime" => Some((!has("noatime"), "no noatime".into())),
            "diratime" => Some((!has("nodiratime"), "no nodiratime".into())),
            // Clearing relatime/strictatime leaves the kernel's default
            // (relatime) unless noatime is set.
            "norelatime" | "nostrictatime" => Some((
                !has("strictatime"),
                "not strictatime (relatime default or noatime)".into(),
            )),
            "private" | "rprivate" => Some((
                !mi.optional
                    .iter()
                    .any(|x| x.starts_with("shared:") || x.starts_with("master:")),
                "no shared:/master: tag".into(),
            )),
            "shared" | "rshared" => Some((
                mi.optional.iter().any(|x| x.starts_with("shared:")),
                "shared: tag".into(),
            )),
            "slave" | "rslave" => Some((
                mi.optional.iter().any(|x| x.starts_with("master:")),
                "master: tag".into(),
            )),
            "unbindable" | "runbindable" => Some((
                mi.optional.iter().any(|x| x == "unbindable"),
                "unbindable tag".into(),
            )),
            _ if o.starts_with("mode=") && mi.fstype == "tmpfs" => {
                // tmpfs hides mode=1777 (its default) from mountinfo: stat
                // the mount's root instead.
                let want = norm_data(o).map(|(_, v)| v).unwrap_or_default();
                let got = fs::metadata(dest)
                    .map(|m| format!("{:o}", m.mode() & 0o7777))
                    .unwrap_or_default();
                Some((
                    got == want,
                    format!("root directory mode {want} (is {got})"),
                ))
            }
            _ => norm_data(o).map(|(k, v)| {
                let found = mi
                    .super_opts
                    .iter()
                    .filter_map(|x| norm_data(x))
                    .any(|(k2, v2)| k2 == k && v2 == v);
                (found, format!("{k}={v} in the superblock options"))
            }),
        };
        if let Some((pass, want)) = res {
            t.check(pass, &rule, || {
                format!(
                    "want {want}; mount options {:?}, optional fields {:?}, superblock options {:?}",
                    mi.opts, mi.optional, mi.super_opts
                )
            });
        }
    }
}

// ---------------------------------------------------------------- masked / readonly

fn check_masked_readonly(t: &mut Tap, cfg: &Value) {
    let mut absent = Vec::new();
    for p in strs(cfg.pointer("/linux/maskedPaths").unwrap_or(&Value::Null)) {
        let rule = format!("linux.maskedPaths: will mask over the provided paths inside the container so that they cannot be read ({p})");
        let Ok(md) = fs::metadata(&p) else {
            absent.push(p);
            continue;
        };
        if md.is_dir() {
            let entries = fs::read_dir(&p).map(|d| d.count());
            t.check(matches!(entries, Ok(0) | Err(_)), &rule, || {
                format!("directory lists {entries:?} entries")
            });
        } else {
            let data = fs::read(&p);
            t.check(
                matches!(&data, Ok(d) if d.is_empty()) || data.is_err(),
                &rule,
                || format!("read {} bytes", data.as_ref().map(|d| d.len()).unwrap_or(0)),
            );
        }
    }
    for p in strs(cfg.pointer("/linux/readonlyPaths").unwrap_or(&Value::Null)) {
        let rule = format!("linux.readonlyPaths: will set the provided paths as readonly inside the container ({p})");
        if !exists(&p) {
            absent.push(p);
            continue;
        }
        match statvfs_readonly(&p) {
            Ok(ro) => t.check(ro, &rule, || "statvfs: ST_RDONLY not set".into()),
            Err(e) => t.check(false, &rule, || format!("statvfs: {e}")),
        }
    }
    if !absent.is_empty() {
        t.skip(
            "linux.maskedPaths / linux.readonlyPaths: paths that do not exist",
            &format!("not present on this kernel: {}", absent.join(" ")),
        );
    }
}

// ---------------------------------------------------------------- devices

fn dev_desc(md: &fs::Metadata) -> (char, u64, u64, u32, u32, u32) {
    let ft = md.file_type();
    let ty = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else if ft.is_fifo() {
        'p'
    } else if ft.is_dir() {
        'd'
    } else {
        '-'
    };
    let rdev = md.rdev();
    (
        ty,
        libc::major(rdev) as u64,
        libc::minor(rdev) as u64,
        md.mode() & 0o7777,
        md.uid(),
        md.gid(),
    )
}

fn check_devices(t: &mut Tap, cfg: &Value) {
    for d in cfg
        .pointer("/linux/devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let path = d["path"].as_str().unwrap_or("");
        let ty = d["type"].as_str().unwrap_or("");
        let rule = format!(
            "linux.devices: lists devices that MUST be available in the container ({path})"
        );
        let md = match fs::metadata(path) {
            Ok(md) => md,
            Err(e) => {
                t.check(false, &rule, || format!("stat {path}: {e}"));
                continue;
            }
        };
        let (gt, gmaj, gmin, gmode, guid, ggid) = dev_desc(&md);
        let want_t = if ty == "u" {
            'c'
        } else {
            ty.chars().next().unwrap_or('?')
        };
        t.eq(
            &format!("linux.devices: {path} type: type of device ({ty})"),
            gt,
            want_t,
        );
        if ty != "p" {
            t.eq(
                &format!("linux.devices: {path} major, minor: major, minor numbers for the device"),
                (gmaj, gmin),
                (
                    d["major"].as_u64().unwrap_or(0),
                    d["minor"].as_u64().unwrap_or(0),
                ),
            );
        }
        if let Some(m) = d.get("fileMode").and_then(Value::as_u64) {
            t.eq(
                &format!("linux.devices: {path} fileMode: file mode for the device"),
                format!("{:o}", gmode & 0o777),
                format!("{:o}", m & 0o777),
            );
        }
        if let Some(u) = d.get("uid").and_then(Value::as_u64) {
            t.eq(
                &format!(
                    "linux.devices: {path} uid: id of device owner in the container namespace"
                ),
                guid as u64,
                u,
            );
        }
        if let Some(g) = d.get("gid").and_then(Value::as_u64) {
            t.eq(
                &format!(
                    "linux.devices: {path} gid: id of device group in the container namespace"
                ),
                ggid as u64,
                g,
            );
        }
    }

    // Default devices.
    for (path, maj, min) in [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ] {
        let rule = format!("default devices: In addition to any devices configured with this setting, the runtime MUST also supply {path}");
        match fs::metadata(path) {
            Ok(md) => {
                let (ty, gmaj, gmin, ..) = dev_desc(&md);
                t.eq(&rule, (ty, gmaj, gmin), ('c', maj, min));
            }
            Err(e) => t.check(false, &rule, || format!("stat {path}: {e}")),
        }
    }
    let rule =
        "default devices: /dev/ptmx, a bind-mount or symlink of the container's /dev/pts/ptmx";
    let link = fs::read_link("/dev/ptmx").ok();
    let same = match (fs::metadata("/dev/ptmx"), fs::metadata("/dev/pts/ptmx")) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    t.check(same, rule, || {
        format!("/dev/ptmx readlink {link:?}, not the inode of /dev/pts/ptmx")
    });
    let terminal = cfg
        .pointer("/process/terminal")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if terminal {
        let rule = "default devices: /dev/console is set up if terminal is enabled in the config";
        t.check(exists("/dev/console"), rule, || "no /dev/console".into());
    }

    // Dev symbolic links (runtime-linux.md).
    for (src, dst) in [
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ] {
        let rule = format!("dev symbolic links: runtimes MUST create the symlink {dst} -> {src} if the source file exists after processing mounts");
        if !exists(src) {
            t.skip(&rule, "source does not exist");
            continue;
        }
        let got = fs::read_link(dst).map(|p| p.to_string_lossy().into_owned());
        t.check(matches!(&got, Ok(g) if g == src), &rule, || {
            format!("readlink {dst}: {got:?}")
        });
    }
}

// ---------------------------------------------------------------- sysctl

fn check_sysctl(t: &mut Tap, cfg: &Value) {
    let Some(map) = cfg.pointer("/linux/sysctl").and_then(Value::as_object) else {
        return;
    };
    for (k, v) in map {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        let want = v
            .as_str()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let got = fs::read_to_string(&path)
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|e| format!("<{e}>"));
        t.eq(
            &format!("linux.sysctl: allows kernel parameters to be modified at runtime for the container ({k})"),
            got,
            want,
        );
    }
}

// ---------------------------------------------------------------- rootfsPropagation

fn check_rootfs_propagation(t: &mut Tap, cfg: &Value, mounts: &[MountInfo]) {
    let Some(prop) = cfg
        .pointer("/linux/rootfsPropagation")
        .and_then(Value::as_str)
    else {
        return;
    };
    let rule = format!("linux.rootfsPropagation: sets the rootfs's mount propagation ({prop})");
    let Some((_, root)) = last_mount_at(mounts, "/") else {
        t.check(false, &rule, || "no / in mountinfo".into());
        return;
    };
    let shared = root.optional.iter().any(|x| x.starts_with("shared:"));
    let master = root.optional.iter().any(|x| x.starts_with("master:"));
    let unbindable = root.optional.iter().any(|x| x == "unbindable");
    let pass = match prop {
        "shared" | "rshared" => shared,
        "slave" | "rslave" => master && !shared,
        "private" | "rprivate" => !shared && !master,
        "unbindable" | "runbindable" => unbindable,
        _ => {
            t.skip(&rule, "unknown propagation value");
            return;
        }
    };
    t.check(pass, &rule, || {
        format!("optional fields of / are {:?}", root.optional)
    });
}
