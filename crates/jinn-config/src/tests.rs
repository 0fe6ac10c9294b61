//! Unit tests: real bundles in temp dirs.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::*;

const SCHEMA_TESTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/oci-runtime-spec/schema/test/config"
);

fn schema_doc(kind: &str, name: &str) -> Vec<u8> {
    let path = Path::new(SCHEMA_TESTS).join(kind).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The default (non-rootless) config as a JSON value: a valid base to break.
fn base() -> Value {
    serde_json::from_str(&default_spec(false)).unwrap()
}

/// A bundle with `config` as config.json and an empty `rootfs` directory.
fn bundle(config: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

fn load_value(config: &Value) -> Result<Plan, ConfigError> {
    let dir = bundle(config);
    load(dir.path())
}

/// Loads `config` and returns the error message; panics if it loads.
fn error(config: &Value) -> String {
    match load_value(config) {
        Ok(_) => panic!("config was accepted: {config}"),
        Err(e) => e.to_string(),
    }
}

/// `base()` with `edit` applied.
fn with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = base();
    edit(&mut v);
    v
}

fn assert_error(config: &Value, expected_prefix: &str) {
    let message = error(config);
    assert!(
        message.starts_with(expected_prefix),
        "error {message:?} does not start with {expected_prefix:?}"
    );
}

// ---- schema test documents -------------------------------------------------------------

#[test]
fn every_good_schema_document_parses() {
    let dir = Path::new(SCHEMA_TESTS).join("good");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let json = std::fs::read(&path).unwrap();
        parse(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        count += 1;
    }
    assert!(count >= 9, "only {count} good documents found");
}

#[test]
fn bad_schema_invalid_json_is_a_parse_error() {
    let e = parse(&schema_doc("bad", "invalid-json.json")).unwrap_err();
    assert!(matches!(e, ConfigError::Parse { .. }));
    assert!(e.to_string().starts_with("config.json: "), "{e}");
    assert!(e.to_string().contains("line 1 column 2"), "{e}");
}

#[test]
fn bad_schema_netdevice_is_a_parse_error() {
    let e = parse(&schema_doc("bad", "linux-netdevice.json")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config.json: linux.netDevices.eth0.name: invalid type: integer `23`"),
        "{e}"
    );
}

#[test]
fn bad_schema_rdma_is_a_parse_error() {
    let e = parse(&schema_doc("bad", "linux-rdma.json")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config.json: linux.resources.rdma.mlx5_1.hcaHandles: invalid type"),
        "{e}"
    );
}

/// Adds what jinn requires beyond the schema (a process) to a schema test document, so
/// that validation reaches the rule the document is about.
fn with_process(json: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(json).unwrap();
    v["process"] = json!({"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0}});
    v
}

#[test]
fn bad_schema_hugepage_is_rejected_by_validate() {
    let json = schema_doc("bad", "linux-hugepage.json");
    // oci-spec takes any string as pageSize.
    let spec = parse(&json).unwrap();
    let dir = bundle(&Value::Null);
    let e = validate(&spec, dir.path()).unwrap_err();
    assert_eq!(e.to_string(), "process: required");
    let v = with_process(&json);
    assert_error(
        &v,
        "linux.resources.hugepageLimits[0].pageSize: \"64kB\" is not a page size",
    );
}

/// `freebsd.jail.vnet` is a FreeBSD-only field; oci-spec has no `freebsd` object and jinn is a
/// Linux runtime, which config.md lets ignore other platforms' objects (runc does the same).
/// The document is rejected only for what jinn requires on Linux (a process); with one it
/// loads.
#[test]
fn bad_schema_freebsd_vnet_is_ignored_on_linux() {
    let json = schema_doc("bad", "freebsd-vnet-disable.json");
    let spec = parse(&json).unwrap();
    let dir = bundle(&Value::Null);
    assert_eq!(
        validate(&spec, dir.path()).unwrap_err().to_string(),
        "process: required"
    );
    let plan = load_value(&with_process(&json)).unwrap();
    assert_eq!(plan.oci_version, "1.3.0");
}

#[test]
fn good_minimal_for_start_loads() {
    let v: Value = serde_json::from_slice(&schema_doc("good", "minimal-for-start.json")).unwrap();
    let plan = load_value(&v).unwrap();
    assert_eq!(plan.process.args, ["sh"]);
    assert!(plan.namespaces.is_empty());
    assert!(plan.devices.is_empty());
    assert!(plan.masked_paths.is_empty());
    // No resources in the config: only runc's default device rules are planned.
    let r = plan.resources.expect("default device rules");
    assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
    assert!(r
        .devices()
        .as_ref()
        .is_some_and(|d| d.iter().all(|rule| rule.allow())));
    assert_eq!(plan.process.capabilities, None);
    assert!(plan.process.rlimits.is_empty());
    assert!(plan.mounts.is_empty());
}

#[test]
fn missing_process_user_is_root() {
    let mut v: Value =
        serde_json::from_slice(&schema_doc("good", "minimal-for-start.json")).unwrap();
    v["process"].as_object_mut().unwrap().remove("user");
    let plan = load_value(&v).unwrap();
    assert_eq!((plan.process.user.uid, plan.process.user.gid), (0, 0));
}

#[test]
fn good_spec_example_validates_apart_from_its_version() {
    let mut v: Value = serde_json::from_slice(&schema_doc("good", "spec-example.json")).unwrap();
    assert_error(&v, "ociVersion: \"0.5.0-dev\" is not supported");
    v["ociVersion"] = json!("1.3.0");
    // Its AppArmor profile and SELinux labels are refused by name (jinn applies neither).
    assert_eq!(
        load_value(&v).unwrap_err().field(),
        Some("process.apparmorProfile")
    );
    for (parent, key) in [
        ("process", "apparmorProfile"),
        ("process", "selinuxLabel"),
        ("linux", "mountLabel"),
    ] {
        v[parent].as_object_mut().unwrap().remove(key);
    }
    // Its hooks, devices and mounts name host paths that need not exist, but only root.path
    // is checked; its sysctl keys need the namespaces it lists.
    let plan = load_value(&v).unwrap();
    assert_eq!(plan.process.user.umask, None);
    assert!(!plan.hooks.prestart.is_empty());
    assert_eq!(
        plan.time_offsets,
        [
            TimeOffset {
                clock: TimeClock::Boottime,
                secs: 604800,
                nanosecs: 0
            },
            TimeOffset {
                clock: TimeClock::Monotonic,
                secs: 172800,
                nanosecs: 0
            },
        ]
    );
}

// ---- parse ---------------------------------------------------------------------------------

#[test]
fn parse_error_names_json_path_line_and_column() {
    let json = b"{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {\"args\": \"x\"}\n}";
    let e = parse(json).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config.json: process.args: invalid type: string \"x\", expected a sequence"
    );
    assert_eq!(e.field(), Some("process.args"));
}

#[test]
fn read_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(dir.path()).unwrap_err();
    let file = dir.path().canonicalize().unwrap().join("config.json");
    assert_eq!(
        e.to_string(),
        format!("{}: no such file or directory (os error 2)", file.display())
    );
}

#[test]
fn missing_bundle_is_an_error() {
    let e = load(Path::new("/nonexistent/jinn-bundle")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bundle /nonexistent/jinn-bundle: no such file or directory (os error 2)"
    );
}

// ---- validation rules ----------------------------------------------------------------------

#[test]
fn oci_version_rules() {
    assert_error(
        &with(|v| {
            v.as_object_mut()
                .unwrap()
                .remove("ociVersion")
                .map(drop)
                .unwrap()
        }),
        "ociVersion: required",
    );
    assert_error(
        &with(|v| v["ociVersion"] = json!("2.0.0")),
        "ociVersion: \"2.0.0\" is not supported",
    );
    assert_error(
        &with(|v| v["ociVersion"] = json!("1.4.0")),
        "ociVersion: \"1.4.0\" is not supported",
    );
    for bad in ["1.0", "foo", "1.0.0-", "01.0.0", "1.0.0.0", "v1.0.0"] {
        assert_eq!(
            error(&with(|v| v["ociVersion"] = json!(bad))),
            format!("ociVersion: {bad:?} is not a semantic version")
        );
    }
    for good in [
        "1.0.0",
        "1.0.0-rc5",
        "1.0.2-dev",
        "1.2.1",
        "1.3.0",
        "1.3.7+build.1",
        "1.1.0-rc.1",
    ] {
        load_value(&with(|v| v["ociVersion"] = json!(good))).unwrap();
    }
}

#[test]
fn root_is_required() {
    assert_error(
        &with(|v| drop(v.as_object_mut().unwrap().remove("root"))),
        "root: required",
    );
    assert_error(&with(|v| v["root"] = json!({})), "root.path: required");
}

#[test]
fn root_path_must_exist() {
    let config = with(|v| v["root"]["path"] = json!("nothere"));
    let dir = bundle(&config);
    let e = load(dir.path()).unwrap_err();
    let missing = dir.path().canonicalize().unwrap().join("nothere");
    assert_eq!(
        e.to_string(),
        format!(
            "root.path: {}: no such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[test]
fn root_path_must_be_a_directory() {
    let config = with(|v| v["root"]["path"] = json!("config.json"));
    assert!(error(&config).starts_with("root.path: /"));
    assert!(error(&config).ends_with("config.json: not a directory (os error 20)"));
}

#[test]
fn root_path_may_be_absolute() {
    let other = tempfile::tempdir().unwrap();
    let config = with(|v| v["root"]["path"] = json!(other.path()));
    let plan = load_value(&config).unwrap();
    assert_eq!(plan.rootfs, other.path().canonicalize().unwrap());
}

#[test]
fn process_is_required() {
    assert_error(
        &with(|v| drop(v.as_object_mut().unwrap().remove("process"))),
        "process: required",
    );
}

#[test]
fn process_args_must_not_be_empty() {
    assert_error(
        &with(|v| v["process"]["args"] = json!([])),
        "process.args: must not be empty",
    );
    assert_error(
        &with(|v| drop(v["process"].as_object_mut().unwrap().remove("args"))),
        "process.args: must not be empty",
    );
}

#[test]
fn process_cwd_must_be_absolute() {
    assert_eq!(
        error(&with(|v| v["process"]["cwd"] = json!("foo"))),
        "process.cwd: \"foo\" is not an absolute path"
    );
}

#[test]
fn console_size_must_fit() {
    assert_error(
        &with(|v| v["process"]["consoleSize"] = json!({"height": 70000, "width": 80})),
        "process.consoleSize.height: 70000 is out of range",
    );
}

#[test]
fn oom_score_adj_range() {
    assert_error(
        &with(|v| v["process"]["oomScoreAdj"] = json!(1001)),
        "process.oomScoreAdj: 1001 is out of range",
    );
}

#[test]
fn hostname_must_not_be_empty() {
    assert_eq!(
        error(&with(|v| v["hostname"] = json!(""))),
        "hostname: must not be empty"
    );
}

#[test]
fn hostname_needs_uts_namespace() {
    let config = with(|v| {
        v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}]);
    });
    assert_error(&config, "hostname: needs a uts namespace");
}

#[test]
fn relative_mount_destination_is_made_absolute() {
    // config.md (1.3.0): on Linux a relative destination is deprecated but allowed, and is
    // relative to "/" (runc accepts it too).
    let plan = load_value(&with(|v| v["mounts"][0]["destination"] = json!("proc"))).unwrap();
    assert_eq!(plan.mounts[0].destination, Path::new("/proc"));
}

#[test]
fn mount_destination_must_not_be_empty() {
    assert_error(
        &with(|v| v["mounts"][0]["destination"] = json!("")),
        "mounts[0].destination: must not be empty",
    );
}

#[test]
fn mount_type_required_unless_bind() {
    assert_error(
        &with(|v| drop(v["mounts"][0].as_object_mut().unwrap().remove("type"))),
        "mounts[0].type: required",
    );
    // A bind mount needs no type but a source.
    let plan = load_value(&with(|v| {
        v["mounts"][0] = json!({"destination": "/b", "source": "/tmp", "options": ["rbind"]});
    }))
    .unwrap();
    assert_eq!(
        plan.mounts[0].kind,
        MountKind::Bind {
            source: "/tmp".into(),
            recursive: true
        }
    );
    assert_error(
        &with(|v| v["mounts"][0] = json!({"destination": "/b", "type": "bind"})),
        "mounts[0].source: required for a bind mount",
    );
}

#[test]
fn namespace_types_are_known() {
    assert_error(
        &with(|v| v["linux"]["namespaces"][0]["type"] = json!("bogus")),
        "config.json: linux.namespaces[0].type: unknown variant `bogus`",
    );
}

#[test]
fn namespace_types_are_unique() {
    assert_eq!(
        error(&with(
            |v| v["linux"]["namespaces"][2] = json!({"type": "network"})
        )),
        "linux.namespaces[2].type: \"network\" appears twice"
    );
}

#[test]
fn namespace_path_must_be_absolute() {
    assert_eq!(
        error(&with(
            |v| v["linux"]["namespaces"][1]["path"] = json!("proc/1/ns/net")
        )),
        "linux.namespaces[1].path: \"proc/1/ns/net\" is not an absolute path"
    );
}

#[test]
fn mappings_need_a_user_namespace() {
    let config = with(|v| {
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    });
    assert_error(&config, "linux.uidMappings: needs a user namespace");
}

#[test]
fn new_user_namespace_needs_mappings() {
    let config = with(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
    });
    assert_error(
        &config,
        "linux.uidMappings: required when creating a user namespace",
    );
    // Joining one needs none.
    let joined = with(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": "/proc/1/ns/user"}));
    });
    load_value(&joined).unwrap();
}

#[test]
fn mapping_size_must_be_positive() {
    let mut config: Value = serde_json::from_str(&default_spec(true)).unwrap();
    config["linux"]["gidMappings"][0]["size"] = json!(0);
    assert_error(&config, "linux.gidMappings[0].size: must be greater than 0");
}

#[test]
fn device_rules() {
    let dev = |d: Value| with(move |v| v["linux"]["devices"] = json!([d]));
    assert_error(
        &dev(json!({"path": "dev/fuse", "type": "c", "major": 10, "minor": 229})),
        "linux.devices[0].path: \"dev/fuse\" is not an absolute path",
    );
    assert_error(
        &dev(json!({"path": "/dev/x", "type": "a", "major": 1, "minor": 1})),
        "linux.devices[0].type: \"a\" is not a device type",
    );
    assert_error(
        &dev(json!({"path": "/dev/x", "type": "z", "major": 1, "minor": 1})),
        "config.json: linux.devices[0].type: unknown variant `z`",
    );
    assert_error(
        &dev(json!({"path": "/dev/x", "type": "c", "minor": 1})),
        "linux.devices[0].major: required for a device of type \"c\"",
    );
    assert_error(
        &dev(json!({"path": "/dev/x", "type": "b", "major": 1})),
        "linux.devices[0].minor: required for a device of type \"b\"",
    );
    // A fifo needs no numbers.
    let plan = load_value(&dev(json!({"path": "/dev/fifo", "type": "p"}))).unwrap();
    assert_eq!(plan.devices[0].kind, DeviceKind::Fifo);
}

#[test]
fn masked_and_readonly_paths_must_be_absolute() {
    assert_eq!(
        error(&with(|v| v["linux"]["maskedPaths"][3] = json!("proc/keys"))),
        "linux.maskedPaths[3]: \"proc/keys\" is not an absolute path"
    );
    assert_eq!(
        error(&with(|v| v["linux"]["readonlyPaths"][0] = json!("bus"))),
        "linux.readonlyPaths[0]: \"bus\" is not an absolute path"
    );
}

#[test]
fn rlimit_type_must_be_known() {
    assert_error(
        &with(|v| v["process"]["rlimits"][0]["type"] = json!("RLIMIT_FOO")),
        "config.json: process.rlimits[0].type: unknown variant `RLIMIT_FOO`",
    );
}

#[test]
fn rlimit_types_are_unique() {
    let config = with(|v| {
        v["process"]["rlimits"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}));
    });
    assert_eq!(
        error(&config),
        "process.rlimits[1].type: \"RLIMIT_NOFILE\" appears twice"
    );
}

#[test]
fn rlimit_soft_not_above_hard() {
    assert_eq!(
        error(&with(|v| v["process"]["rlimits"][0]["soft"] = json!(2048))),
        "process.rlimits[0].soft: 2048 is greater than hard limit 1024"
    );
}

#[test]
fn unknown_capability_is_skipped() {
    let config = with(|v| {
        v["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_FUTURE_THING"]);
    });
    let plan = load_value(&config).unwrap();
    let caps = plan.process.capabilities.unwrap();
    assert_eq!(caps.bounding, 1 << 5);
}

#[test]
fn malformed_capability_is_an_error() {
    let config = with(|v| v["process"]["capabilities"]["effective"][1] = json!("KILL"));
    assert_eq!(
        error(&config),
        "process.capabilities.effective[1]: \"KILL\" is not a capability name (no CAP_ prefix)"
    );
    let config = with(|v| v["process"]["capabilities"]["ambient"][0] = json!("cap_kill"));
    assert_error(
        &config,
        "process.capabilities.ambient[0]: \"cap_kill\" is not a capability name",
    );
}

#[test]
fn type_error_after_dropping_a_capability_still_names_the_field() {
    let config = with(|v| {
        v["process"]["capabilities"]["bounding"] = json!(["CAP_FUTURE_THING"]);
        v["process"]["args"] = json!("x");
    });
    assert_eq!(
        error(&config),
        "config.json: process.args: invalid type: string \"x\", expected a sequence"
    );
}

#[test]
fn hook_rules() {
    assert_eq!(
        error(&with(
            |v| v["hooks"] = json!({"createRuntime": [{"path": "bin/true"}]})
        )),
        "hooks.createRuntime[0].path: \"bin/true\" is not an absolute path"
    );
    assert_eq!(
        error(&with(
            |v| v["hooks"] =
                json!({"poststop": [{"path": "/bin/true"}, {"path": "/bin/true", "timeout": 0}]})
        )),
        "hooks.poststop[1].timeout: 0 is not greater than zero"
    );
}

#[test]
fn rootfs_propagation_must_be_known() {
    assert_eq!(
        error(&with(|v| v["linux"]["rootfsPropagation"] = json!("recursive"))),
        "linux.rootfsPropagation: \"recursive\" is not one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable"
    );
    for (name, kind, recursive) in [
        ("private", PropagationKind::Private, false),
        ("rprivate", PropagationKind::Private, true),
        ("slave", PropagationKind::Slave, false),
        ("rslave", PropagationKind::Slave, true),
        ("shared", PropagationKind::Shared, false),
        ("rshared", PropagationKind::Shared, true),
        ("unbindable", PropagationKind::Unbindable, false),
        ("runbindable", PropagationKind::Unbindable, true),
    ] {
        let plan = load_value(&with(|v| v["linux"]["rootfsPropagation"] = json!(name))).unwrap();
        assert_eq!(
            plan.rootfs_propagation,
            Some(Propagation { kind, recursive })
        );
    }
}

#[test]
fn sysctl_key_must_not_be_empty() {
    assert_eq!(
        error(&with(|v| v["linux"]["sysctl"] = json!({"": "1"}))),
        "linux.sysctl: keys must not be empty"
    );
}

#[test]
fn sysctl_needs_its_namespace() {
    let no_ns = |sysctl: Value| {
        with(move |v| {
            v["linux"]["sysctl"] = sysctl;
            v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}]);
            v.as_object_mut().unwrap().remove("hostname");
        })
    };
    assert_eq!(
        error(&no_ns(json!({"net.ipv4.ip_forward": "1"}))),
        "linux.sysctl[\"net.ipv4.ip_forward\"]: needs a network namespace (linux.namespaces has none)"
    );
    assert_error(
        &no_ns(json!({"net/ipv4/ip_forward": "1"})),
        "linux.sysctl[\"net/ipv4/ip_forward\"]: needs a network namespace",
    );
    for key in [
        "kernel.shmmax",
        "kernel.msgmni",
        "kernel.sem",
        "fs.mqueue.queues_max",
    ] {
        assert_error(
            &no_ns(json!({key: "1"})),
            &format!("linux.sysctl[{key:?}]: needs a ipc namespace"),
        );
    }
    for key in ["kernel.hostname", "kernel.domainname"] {
        assert_error(
            &no_ns(json!({key: "x"})),
            &format!("linux.sysctl[{key:?}]: needs a uts namespace"),
        );
    }
    assert_eq!(
        error(&no_ns(json!({"vm.swappiness": "1"}))),
        "linux.sysctl[\"vm.swappiness\"]: is not in a separate kernel namespace"
    );
    // With the namespaces (new or joined), all are fine.
    let ok = with(|v| {
        v["linux"]["namespaces"][1] = json!({"type": "network", "path": "/proc/1/ns/net"});
        v["linux"]["sysctl"] = json!({
            "net.ipv4.ip_forward": "1",
            "kernel.shmmax": "1",
            "fs.mqueue.msg_max": "10",
            "kernel.domainname": "example.com",
        });
    });
    let plan = load_value(&ok).unwrap();
    assert_eq!(plan.sysctl.len(), 4);
    assert_eq!(plan.sysctl["net.ipv4.ip_forward"], "1");
}

#[test]
fn mount_mappings_go_together() {
    let config = with(|v| {
        v["mounts"][0]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
    });
    assert_error(&config, "mounts[0].gidMappings: required");
}

#[test]
fn idmap_without_mappings_needs_user_namespace() {
    let config = with(|v| {
        v["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/data", "source": "/tmp", "options": ["rbind", "idmap"]}));
    });
    assert_error(
        &config,
        "mounts[7].options: idmap needs uidMappings and gidMappings",
    );
}

#[test]
fn annotation_keys_must_not_be_empty() {
    assert_eq!(
        error(&with(|v| v["annotations"] = json!({"": "x"}))),
        "annotations: keys must not be empty"
    );
}

#[test]
fn validation_order_is_deterministic() {
    let config = with(|v| {
        v["process"]["cwd"] = json!("rel");
        v["linux"]["namespaces"][2] = json!({"type": "network"});
        v["linux"]["sysctl"] = json!({"vm.b": "1", "vm.a": "1"});
    });
    for _ in 0..3 {
        assert_eq!(
            error(&config),
            "process.cwd: \"rel\" is not an absolute path"
        );
    }
    let config = with(|v| v["linux"]["sysctl"] = json!({"vm.b": "1", "vm.a": "1", "vm.c": "1"}));
    for _ in 0..3 {
        assert_error(&config, "linux.sysctl[\"vm.a\"]");
    }
}

// ---- translation ---------------------------------------------------------------------------

fn options(list: &[&str]) -> mount_options::MountOptions {
    mount_options::parse_options(list)
}

#[test]
fn mount_option_flags() {
    let o = options(&[
        "nosuid",
        "nodev",
        "noexec",
        "ro",
        "nosymfollow",
        "nodiratime",
    ]);
    assert_eq!(
        o.attr_set,
        MOUNT_ATTR_NOSUID
            | MOUNT_ATTR_NODEV
            | MOUNT_ATTR_NOEXEC
            | MOUNT_ATTR_RDONLY
            | MOUNT_ATTR_NOSYMFOLLOW
            | MOUNT_ATTR_NODIRATIME
    );
    assert_eq!(o.attr_clear, 0);
    let o = options(&["suid", "dev", "exec", "rw", "symfollow", "diratime"]);
    assert_eq!(o.attr_set, 0);
    assert_eq!(
        o.attr_clear,
        MOUNT_ATTR_NOSUID
            | MOUNT_ATTR_NODEV
            | MOUNT_ATTR_NOEXEC
            | MOUNT_ATTR_RDONLY
            | MOUNT_ATTR_NOSYMFOLLOW
            | MOUNT_ATTR_NODIRATIME
    );
    // Later options win.
    let o = options(&["ro", "rw"]);
    assert_eq!((o.attr_set, o.attr_clear), (0, MOUNT_ATTR_RDONLY));
    let o = options(&["rw", "ro"]);
    assert_eq!((o.attr_set, o.attr_clear), (MOUNT_ATTR_RDONLY, 0));
    assert_eq!(o.rec_attr_set | o.rec_attr_clear, 0);
    assert!(o.data.is_empty());
}

#[test]
fn mount_option_atime() {
    let atime = |list: &[&str]| {
        let o = options(list);
        assert_eq!(
            o.attr_clear & MOUNT_ATTR__ATIME,
            MOUNT_ATTR__ATIME,
            "{list:?}"
        );
        o.attr_set & MOUNT_ATTR__ATIME
    };
    assert_eq!(atime(&["relatime"]), MOUNT_ATTR_RELATIME);
    assert_eq!(atime(&["noatime"]), MOUNT_ATTR_NOATIME);
    assert_eq!(atime(&["strictatime"]), MOUNT_ATTR_STRICTATIME);
    assert_eq!(atime(&["noatime", "atime"]), MOUNT_ATTR_RELATIME);
    assert_eq!(
        atime(&["strictatime", "nostrictatime"]),
        MOUNT_ATTR_RELATIME
    );
    // As mount(2): strictatime beats noatime; norelatime leaves the default.
    assert_eq!(atime(&["noatime", "strictatime"]), MOUNT_ATTR_STRICTATIME);
    assert_eq!(atime(&["noatime", "norelatime"]), MOUNT_ATTR_NOATIME);
    // No atime option: the atime mode is left alone.
    let o = options(&["nosuid"]);
    assert_eq!(o.attr_clear & MOUNT_ATTR__ATIME, 0);
}

#[test]
fn mount_option_recursive() {
    let o = options(&[
        "rro",
        "rnosuid",
        "rnodev",
        "rnoexec",
        "rnosymfollow",
        "rnodiratime",
        "rnoatime",
    ]);
    assert_eq!(
        o.rec_attr_set,
        MOUNT_ATTR_RDONLY
            | MOUNT_ATTR_NOSUID
            | MOUNT_ATTR_NODEV
            | MOUNT_ATTR_NOEXEC
            | MOUNT_ATTR_NOSYMFOLLOW
            | MOUNT_ATTR_NODIRATIME
            | MOUNT_ATTR_NOATIME
    );
    assert_eq!(o.rec_attr_clear, MOUNT_ATTR__ATIME);
    assert_eq!(o.attr_set | o.attr_clear, 0);
    let o = options(&["rrw", "rsuid", "rdev", "rexec", "rsymfollow", "rdiratime"]);
    assert_eq!(o.rec_attr_set, 0);
    assert_eq!(
        o.rec_attr_clear,
        MOUNT_ATTR_RDONLY
            | MOUNT_ATTR_NOSUID
            | MOUNT_ATTR_NODEV
            | MOUNT_ATTR_NOEXEC
            | MOUNT_ATTR_NOSYMFOLLOW
            | MOUNT_ATTR_NODIRATIME
    );
    let o = options(&["rstrictatime"]);
    assert_eq!(
        (o.rec_attr_set, o.rec_attr_clear),
        (MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME)
    );
    let o = options(&["rrelatime"]);
    assert_eq!(
        (o.rec_attr_set, o.rec_attr_clear),
        (MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME)
    );
}

#[test]
fn mount_option_propagation_bind_idmap_and_data() {
    let o = options(&["rbind", "rprivate", "idmap"]);
    assert_eq!(o.bind, Some(true));
    assert_eq!(
        o.propagation,
        Some(Propagation {
            kind: PropagationKind::Private,
            recursive: true
        })
    );
    assert_eq!(o.idmap, Some(false));
    let o = options(&["bind", "slave", "ridmap"]);
    assert_eq!(o.bind, Some(false));
    assert_eq!(
        o.propagation,
        Some(Propagation {
            kind: PropagationKind::Slave,
            recursive: false
        })
    );
    assert_eq!(o.idmap, Some(true));
    let o = options(&["shared", "runbindable"]);
    assert_eq!(
        o.propagation,
        Some(Propagation {
            kind: PropagationKind::Unbindable,
            recursive: true
        })
    );
    // runc's no-op options vanish, remount is kept aside; superblock flags and fs options
    // are data.
    let o = options(&[
        "defaults",
        "remount",
        "loud",
        "silent",
        "tmpcopyup",
        "mode=755",
        "size=65536k",
        "newinstance",
        "ptmxmode=0666",
        "gid=5",
        "sync",
        "dirsync",
        "rsize=8192",
    ]);
    assert!(o.tmpcopyup);
    assert!(o.remount, "remount changes the mount at the destination");
    assert!(!options(&["ro"]).remount);
    assert_eq!(
        o.data,
        [
            "mode=755",
            "size=65536k",
            "newinstance",
            "ptmxmode=0666",
            "gid=5",
            "sync",
            "dirsync",
            "rsize=8192"
        ]
    );
    assert_eq!(
        o.attr_set | o.attr_clear | o.rec_attr_set | o.rec_attr_clear,
        0
    );
}

#[test]
fn default_mounts_translate() {
    let plan = load_value(&base()).unwrap();
    let dev = &plan.mounts[1];
    assert_eq!(dev.destination, Path::new("/dev"));
    assert_eq!(
        dev.kind,
        MountKind::Filesystem {
            fstype: "tmpfs".into(),
            source: "tmpfs".into()
        }
    );
    assert_eq!(dev.attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
    assert_eq!(dev.attr_clear, MOUNT_ATTR__ATIME);
    assert_eq!(dev.data, ["mode=755", "size=65536k"]);
    assert_eq!(dev.propagation, None);
    assert_eq!(dev.idmap, None);
    let pts = &plan.mounts[2];
    assert_eq!(
        pts.data,
        ["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    );
    let sys = &plan.mounts[5];
    assert_eq!(
        sys.attr_set,
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY
    );
    let cgroup = &plan.mounts[6];
    assert_eq!(cgroup.attr_set & MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME);
    assert_eq!(cgroup.attr_clear, MOUNT_ATTR__ATIME);
}

#[test]
fn filesystem_source_defaults_to_type() {
    let plan = load_value(&with(|v| {
        drop(v["mounts"][0].as_object_mut().unwrap().remove("source"))
    }))
    .unwrap();
    assert_eq!(
        plan.mounts[0].kind,
        MountKind::Filesystem {
            fstype: "proc".into(),
            source: "proc".into()
        }
    );
}

#[test]
fn bind_source_is_resolved_against_bundle() {
    let config = with(|v| {
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": "data/../x", "options": ["ro"]
        }));
    });
    let dir = bundle(&config);
    let plan = load(dir.path()).unwrap();
    let bundle = dir.path().canonicalize().unwrap();
    assert_eq!(plan.bundle, bundle);
    assert_eq!(
        plan.mounts[7].kind,
        // Not canonicalized: the init resolves it safely.
        MountKind::Bind {
            source: bundle.join("data/../x"),
            recursive: false
        }
    );
    assert_eq!(plan.mounts[7].attr_set, MOUNT_ATTR_RDONLY);
}

#[test]
fn idmapped_mounts() {
    let mut config: Value = serde_json::from_str(&default_spec(true)).unwrap();
    config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    let mounts = config["mounts"].as_array_mut().unwrap();
    // Own mappings, recursive.
    mounts.push(json!({
        "destination": "/a", "source": "/tmp", "options": ["rbind", "ridmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}],
    }));
    // The container's mappings.
    mounts.push(json!({"destination": "/b", "source": "/tmp", "options": ["bind", "idmap"]}));
    // Mappings without the option.
    mounts.push(json!({
        "destination": "/c", "source": "/tmp", "options": ["bind"],
        "uidMappings": [{"containerID": 0, "hostID": 3000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 3000, "size": 1}],
    }));
    let plan = load_value(&config).unwrap();
    let a = &plan.mounts[7];
    assert_eq!(a.idmap, Some(true));
    assert_eq!(
        a.uid_mappings,
        [IdMapping {
            container_id: 0,
            host_id: 1000,
            size: 1
        }]
    );
    assert_eq!(
        a.gid_mappings,
        [IdMapping {
            container_id: 0,
            host_id: 2000,
            size: 1
        }]
    );
    let b = &plan.mounts[8];
    assert_eq!(b.idmap, Some(false));
    assert_eq!(
        b.uid_mappings,
        [IdMapping {
            container_id: 0,
            host_id: 100000,
            size: 65536
        }]
    );
    assert_eq!(
        b.gid_mappings,
        [IdMapping {
            container_id: 0,
            host_id: 200000,
            size: 65536
        }]
    );
    let c = &plan.mounts[9];
    assert_eq!(c.idmap, Some(false));
    assert_eq!(c.uid_mappings[0].host_id, 3000);
    assert!(plan.mounts[0].uid_mappings.is_empty());
}

#[test]
fn capabilities_translate_to_bits() {
    let config = with(|v| {
        v["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"],
            "effective": ["CAP_NET_BIND_SERVICE"],
            "inheritable": [],
            "permitted": ["CAP_BPF", "CAP_PERFMON", "CAP_BPF"],
        });
    });
    let caps = load_value(&config).unwrap().process.capabilities.unwrap();
    assert_eq!(caps.bounding, 1 | 1 << 21 | 1 << 40);
    assert_eq!(caps.effective, 1 << 10);
    assert_eq!(caps.inheritable, 0);
    assert_eq!(caps.permitted, 1 << 39 | 1 << 38);
    assert_eq!(caps.ambient, 0);
    // Absent capabilities stay absent.
    let plan = load_value(&with(|v| {
        drop(v["process"].as_object_mut().unwrap().remove("capabilities"))
    }))
    .unwrap();
    assert_eq!(plan.process.capabilities, None);
}

#[test]
fn capability_table_matches_oci_spec() {
    assert_eq!(tables::CAPABILITIES.len(), 41);
    for (i, (name, number)) in tables::CAPABILITIES.iter().enumerate() {
        assert_eq!(*number as usize, i);
        let cap: oci_spec::runtime::Capability = serde_json::from_value(json!(name)).unwrap();
        assert_eq!(serde_json::to_value(cap).unwrap(), json!(name));
    }
}

#[test]
#[allow(clippy::unnecessary_cast)] // c_int on musl
fn rlimits_translate_to_numbers() {
    let config = with(|v| {
        v["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
            {"type": "RLIMIT_CPU", "soft": 1, "hard": 2},
            {"type": "RLIMIT_RTTIME", "soft": 5, "hard": 5},
            {"type": "RLIMIT_MEMLOCK", "soft": 0, "hard": u64::MAX},
        ]);
    });
    let plan = load_value(&config).unwrap();
    assert_eq!(
        plan.process.rlimits,
        [
            RlimitPlan {
                resource: libc::RLIMIT_NOFILE as u32,
                soft: 1024,
                hard: 4096
            },
            RlimitPlan {
                resource: libc::RLIMIT_CPU as u32,
                soft: 1,
                hard: 2
            },
            RlimitPlan {
                resource: libc::RLIMIT_RTTIME as u32,
                soft: 5,
                hard: 5
            },
            RlimitPlan {
                resource: libc::RLIMIT_MEMLOCK as u32,
                soft: 0,
                hard: u64::MAX
            },
        ]
    );
    assert_eq!(tables::rlimit_number("RLIMIT_NOFILE"), Some(7));
    assert_eq!(tables::RLIMITS.len(), 16);
}

#[test]
fn process_translation() {
    let config = with(|v| {
        v["process"]["user"] =
            json!({"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]});
        v["process"]["consoleSize"] = json!({"height": 24, "width": 80});
        v["process"]["oomScoreAdj"] = json!(-500);
    });
    let p = load_value(&config).unwrap().process;
    assert!(p.terminal);
    assert_eq!(p.console_size, Some((24, 80)));
    assert_eq!(
        p.user,
        UserPlan {
            uid: 1000,
            gid: 1001,
            umask: Some(0o22),
            additional_gids: vec![5, 6]
        }
    );
    assert_eq!(p.cwd, Path::new("/"));
    assert!(p.no_new_privileges);
    assert_eq!(p.oom_score_adj, Some(-500));
    // AppArmor and SELinux are refused by name, not carried into the plan.
    for (field, json_field) in [
        ("process.apparmorProfile", "apparmorProfile"),
        ("process.selinuxLabel", "selinuxLabel"),
    ] {
        let config = with(|v| v["process"][json_field] = json!("jinn-default"));
        let e = load_value(&config).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    }
    let config = with(|v| v["process"]["apparmorProfile"] = json!(""));
    assert!(
        load_value(&config).is_ok(),
        "an empty profile asks for nothing"
    );
    assert_eq!(p.env[1], "TERM=xterm");
    // consoleSize is ignored without a terminal.
    let config = with(|v| {
        v["process"]["terminal"] = json!(false);
        v["process"]["consoleSize"] = json!({"height": 24, "width": 80});
    });
    assert_eq!(load_value(&config).unwrap().process.console_size, None);
}

#[test]
fn device_translation() {
    let config = with(|v| {
        v["linux"]["devices"] = json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
            {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 0o600, "uid": 1, "gid": 2},
            {"path": "/dev/u", "type": "u", "major": 1, "minor": 3},
        ]);
    });
    let plan = load_value(&config).unwrap();
    assert_eq!(
        plan.devices,
        [
            DevicePlan {
                path: "/dev/fuse".into(),
                kind: DeviceKind::Char,
                major: 10,
                minor: 229,
                file_mode: 0o666,
                uid: 0,
                gid: 0
            },
            DevicePlan {
                path: "/dev/sda".into(),
                kind: DeviceKind::Block,
                major: 8,
                minor: 0,
                file_mode: 0o600,
                uid: 1,
                gid: 2
            },
            DevicePlan {
                path: "/dev/u".into(),
                kind: DeviceKind::Char,
                major: 1,
                minor: 3,
                file_mode: 0o666,
                uid: 0,
                gid: 0
            },
        ]
    );
}

#[test]
fn linux_translation() {
    let config = with(|v| {
        v["linux"]["namespaces"] = json!([
            {"type": "mount"}, {"type": "uts"}, {"type": "network", "path": "/var/run/netns/x"},
            {"type": "time"}, {"type": "cgroup"},
        ]);
        v["linux"]["cgroupsPath"] = json!("/jinn/test");
        v["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW"});
        v["annotations"] = json!({"org.example.b": "2", "org.example.a": "1"});
    });
    let plan = load_value(&config).unwrap();
    let kinds: Vec<_> = plan.namespaces.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NamespaceKind::Mount,
            NamespaceKind::Uts,
            NamespaceKind::Network,
            NamespaceKind::Time,
            NamespaceKind::Cgroup
        ]
    );
    assert_eq!(
        plan.namespace(NamespaceKind::Network).unwrap().path,
        Some(PathBuf::from("/var/run/netns/x"))
    );
    assert!(plan.creates_namespace(NamespaceKind::Mount));
    assert!(!plan.creates_namespace(NamespaceKind::Network));
    assert_eq!(plan.cgroups_path.as_deref(), Some("/jinn/test"));
    let labelled = with(|v| {
        v["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0");
    });
    assert_eq!(
        load_value(&labelled).unwrap_err().field(),
        Some("linux.mountLabel")
    );
    assert!(plan.seccomp.is_some());
    assert!(plan.resources.is_some());
    assert_eq!(
        plan.annotations.keys().collect::<Vec<_>>(),
        ["org.example.a", "org.example.b"]
    );
    assert_eq!(plan.masked_paths[0], Path::new("/proc/acpi"));
    assert_eq!(plan.readonly_paths[4], Path::new("/proc/sysrq-trigger"));
    assert!(plan.rootfs_readonly);
    assert_eq!(plan.hostname.as_deref(), Some("runc"));
}

#[test]
fn hooks_translation() {
    let config = with(|v| {
        v["hooks"] = json!({
            "prestart": [{"path": "/bin/a"}],
            "createRuntime": [{"path": "/bin/b", "args": ["b", "1"], "env": ["X=1"], "timeout": 5}],
            "createContainer": [{"path": "/bin/c"}],
            "startContainer": [{"path": "/bin/d"}],
            "poststart": [{"path": "/bin/e"}],
            "poststop": [{"path": "/bin/f"}, {"path": "/bin/g"}],
        });
    });
    let hooks = load_value(&config).unwrap().hooks;
    assert_eq!(hooks.prestart[0].path, Path::new("/bin/a"));
    assert_eq!(
        hooks.create_runtime[0],
        Hook {
            path: "/bin/b".into(),
            args: vec!["b".into(), "1".into()],
            env: vec!["X=1".into()],
            timeout: Some(5)
        }
    );
    assert_eq!(hooks.create_container[0].path, Path::new("/bin/c"));
    assert_eq!(hooks.start_container[0].path, Path::new("/bin/d"));
    assert_eq!(hooks.poststart[0].path, Path::new("/bin/e"));
    assert_eq!(hooks.poststop.len(), 2);
}

// ---- default_spec --------------------------------------------------------------------------

#[test]
fn default_spec_round_trips() {
    for rootless in [false, true] {
        let text = default_spec(rootless);
        assert!(text.starts_with(
            "{\n\t\"ociVersion\": \"1.3.0\",\n\t\"process\": {\n\t\t\"terminal\": true,"
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::write(dir.path().join("config.json"), &text).unwrap();
        let plan = load(dir.path()).unwrap();
        assert_eq!(plan.oci_version, "1.3.0");
        assert!(plan.process.terminal);
        assert_eq!(plan.process.args, ["sh"]);
        assert_eq!(
            plan.rootfs,
            dir.path().canonicalize().unwrap().join("rootfs")
        );
        assert_eq!(plan.mounts.len(), 7);
        let caps = plan.process.capabilities.unwrap();
        assert_eq!(caps.bounding, 1 << 29 | 1 << 5 | 1 << 10);
        assert_eq!(caps.inheritable, 0);
        assert_eq!(plan.process.rlimits.len(), 1);
        assert_eq!(plan.creates_namespace(NamespaceKind::User), rootless);
        assert_eq!(plan.creates_namespace(NamespaceKind::Network), !rootless);
        if rootless {
            // SAFETY: no preconditions.
            let uid = unsafe { libc::geteuid() };
            assert_eq!(
                plan.uid_mappings,
                [IdMapping {
                    container_id: 0,
                    host_id: uid,
                    size: 1
                }]
            );
            assert_eq!(
                plan.mounts[5].kind,
                MountKind::Bind {
                    source: "/sys".into(),
                    recursive: true
                }
            );
        } else {
            assert!(plan.uid_mappings.is_empty());
        }
    }
}

#[test]
fn default_spec_matches_runc_layout() {
    let v: Value = serde_json::from_str(&default_spec(false)).unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "hostname",
            "linux",
            "mounts",
            "ociVersion",
            "process",
            "root"
        ]
    );
    assert!(!default_spec(false).ends_with('\n'));
    assert_eq!(
        v["linux"]["resources"]["devices"][0],
        json!({"allow": false, "access": "rwm"})
    );
    let r: Value = serde_json::from_str(&default_spec(true)).unwrap();
    assert!(r["linux"].get("resources").is_none());
    assert_eq!(r["mounts"][5]["options"][0], "rbind");
}

#[test]
fn overlapping_id_mappings_are_refused() {
    let config = with(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        v["linux"]["uidMappings"] = serde_json::json!([
            {"containerID": 0, "hostID": 1000, "size": 10},
            {"containerID": 20, "hostID": 1005, "size": 10}
        ]);
        v["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
    });
    assert_eq!(
        error(&config),
        "linux.uidMappings[1]: overlaps linux.uidMappings[0]"
    );
}

#[test]
fn idmap_on_a_new_filesystem_is_refused() {
    let config = with(|v| {
        v["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
        );
    });
    assert_error(
        &config,
        "mounts[7]: idmapped mounts are supported for bind mounts only",
    );
}

// ---- process and linux fields of runtime-spec 1.2/1.3 ---------------------------------

#[test]
fn process_tuning_fields_are_translated() {
    let mut v = base();
    v["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 3});
    v["process"]["scheduler"] = json!({
        "policy": "SCHED_BATCH",
        "nice": -3,
        "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_UTIL_CLAMP_MAX"]
    });
    v["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "0,0-0"});
    v["linux"]["personality"] = json!({"domain": "LINUX32"});
    let plan = load_value(&v).unwrap();
    assert_eq!(plan.process.io_priority, Some(3 << 13 | 3));
    assert_eq!(
        plan.process.scheduler,
        Some(SchedulerPlan {
            policy: libc::SCHED_BATCH as u32,
            flags: 0x01 | 0x04 | 0x40,
            nice: -3,
            priority: 0,
            runtime: 0,
            deadline: 0,
            period: 0,
        })
    );
    assert_eq!(plan.process.cpu_affinity_initial, Some(vec![0]));
    assert_eq!(plan.process.cpu_affinity_final, Some(vec![0]));
    assert_eq!(plan.personality, Some(PER_LINUX32));
    // An empty list leaves the affinity alone.
    v["process"]["execCPUAffinity"] = json!({"final": ""});
    let plan = load_value(&v).unwrap();
    assert_eq!(plan.process.cpu_affinity_final, None);
}

#[test]
fn deadline_scheduler_needs_ordered_times() {
    let mut v = base();
    v["process"]["scheduler"] = json!({
        "policy": "SCHED_DEADLINE", "runtime": 10, "deadline": 20, "period": 30
    });
    let s = load_value(&v).unwrap().process.scheduler.unwrap();
    assert_eq!((s.policy, s.runtime, s.deadline, s.period), (6, 10, 20, 30));
    v["process"]["scheduler"]["runtime"] = json!(25);
    assert_error(&v, "process.scheduler: SCHED_DEADLINE needs");
    v["process"]["scheduler"] = json!({"policy": "SCHED_ISO"});
    assert_error(&v, "process.scheduler.policy: SCHED_ISO");
    v["process"]["scheduler"] = json!({"policy": "SCHED_RR", "priority": 0});
    assert_error(&v, "process.scheduler.priority: 0 is out of range");
}

#[test]
fn cpu_and_node_lists_are_checked() {
    let mut v = base();
    for (list, why) in [
        ("1-0", "decreasing range"),
        ("0,", "is not a number"),
        ("-1", "is not a number"),
        ("99999", "too large"),
    ] {
        v["process"]["execCPUAffinity"] = json!({ "final": list });
        // oci-spec checks the syntax while parsing; jinn the rest.
        let e = error(&v);
        assert!(
            e.contains("process.execCPUAffinity.final: ")
                && (e.contains(why) || e.contains("Invalid execCPUAffinity format")),
            "{list}: {e}"
        );
    }
}

#[test]
fn memory_policy_time_offsets_and_net_devices_are_translated() {
    let mut v = base();
    v["linux"]["memoryPolicy"] = json!({
        "mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]
    });
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": -5, "nanosecs": 7}});
    v["linux"]["netDevices"] =
        json!({"eth1": {}, "eth2": {"name": "c%d"}, "eth3": {"name": "c%d"}});
    let plan = load_value(&v).unwrap();
    assert_eq!(
        plan.memory_policy,
        Some(MemoryPolicyPlan {
            mode: MPOL_BIND,
            flags: MPOL_F_STATIC_NODES,
            nodes: vec![0],
        })
    );
    assert_eq!(
        plan.time_offsets,
        [TimeOffset {
            clock: TimeClock::Monotonic,
            secs: -5,
            nanosecs: 7
        }]
    );
    assert_eq!(plan.net_devices["eth1"], "eth1");
    assert_eq!(plan.net_devices["eth3"], "c%d");
    v["linux"]["netDevices"] = json!({"eth1": {"name": "x"}, "eth2": {"name": "x"}});
    assert_error(
        &v,
        "linux.netDevices.eth2.name: \"x\" is given to two devices",
    );
    v["linux"]["netDevices"] = json!({"eth1": {"name": "x"}});
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    assert_error(&v, "linux.netDevices: needs a new network namespace");
}

#[test]
fn spec_scheduler_flag_names_are_read() {
    let mut v = base();
    v["process"]["scheduler"] = json!({"policy": "SCHED_OTHER", "flags": ["SCHED_RESET_ON_FORK"]});
    // oci-spec's own spelling is not config.md's: refused by name.
    assert_error(
        &v,
        "process.scheduler.flags[0]: \"SCHED_RESET_ON_FORK\" is not a scheduler flag",
    );
}
