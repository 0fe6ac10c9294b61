//! `jinn features`: what this build of jinn implements (features.md, features-linux.md).
//! Determined at build time, as the spec asks; only what jinn really applies is listed.

use anyhow::Result;
use serde_json::{json, Value};

/// Mount options jinn interprets itself (mount attributes, propagation, bind) or passes
/// to the filesystem as superblock flags.
const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "unbindable",
];

/// The namespaces jinn creates and joins.
const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

pub fn features() -> Value {
    let capabilities: Vec<&str> = jinn_config::tables::CAPABILITIES
        .iter()
        .map(|(name, _)| *name)
        .collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.3.0",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": capabilities,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true, "rdma": false},
            "seccomp": jinn_seccomp::features(),
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}},
            "memoryPolicy": {
                "modes": [
                    "MPOL_DEFAULT",
                    "MPOL_BIND",
                    "MPOL_INTERLEAVE",
                    "MPOL_WEIGHTED_INTERLEAVE",
                    "MPOL_PREFERRED",
                    "MPOL_PREFERRED_MANY",
                    "MPOL_LOCAL"
                ],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            "netDevices": {"enabled": true}
        },
        "annotations": {
            "org.opencontainers.runtime-spec.version": jinn_state::OCI_VERSION,
            "io.github.jinn.version": env!("CARGO_PKG_VERSION"),
            "io.github.jinn.commit": env!("JINN_COMMIT")
        }
    })
}

pub fn run() -> Result<i32> {
    println!("{}", serde_json::to_string_pretty(&features())?);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(name: &str) -> Value {
        let path = format!(
            "{}/../../../shared/oci-runtime-spec/schema/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Every key of `value` is a property the schema defines (the spec: the structure
    /// MUST NOT contain properties that are not defined), recursively for objects.
    fn keys_defined(value: &Value, props: &Value, defs: &Value, at: &str) {
        let props = resolve(props, defs);
        for (k, v) in value.as_object().unwrap() {
            // features-linux.md defines linux.memoryPolicy; the v1.3.0 JSON schema lacks it.
            if at == "features.linux" && k == "memoryPolicy" {
                continue;
            }
            let p = props
                .get("properties")
                .and_then(|p| p.get(k))
                .unwrap_or_else(|| panic!("{at}.{k} is not defined by the schema"));
            let p = resolve(p, defs);
            // Objects with fixed properties are checked all the way down (annotations
            // is a free-form map).
            if v.is_object() && p.get("properties").is_some() {
                keys_defined(v, p, defs, &format!("{at}.{k}"));
            }
        }
    }

    fn resolve<'a>(v: &'a Value, defs: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                defs.get(name).map(|d| resolve(d, defs)).unwrap_or(v)
            }
            None => v,
        }
    }

    #[test]
    fn features_follow_the_schema() {
        let f = features();
        let top = schema("features-schema.json");
        for req in top["required"].as_array().unwrap() {
            assert!(f.get(req.as_str().unwrap()).is_some(), "{req} is required");
        }
        // features-schema.json refers to features-linux.json#/linux: inline it.
        let linux = schema("features-linux.json");
        let mut top_props = top.clone();
        top_props["properties"]["linux"] = linux["linux"].clone();
        assert!(top_props["properties"]["linux"]["properties"]["cgroup"].is_object());
        keys_defined(&f, &top_props, &Value::Null, "features");
        assert_eq!(f["ociVersionMax"], "1.3.0");
    }

    #[test]
    fn every_listed_mount_option_is_understood_by_the_interpreter() {
        for opt in MOUNT_OPTIONS {
            let parsed = jinn_config::mount_options::parse_options(&[opt]);
            let passthrough = [
                "async",
                "sync",
                "dirsync",
                "mand",
                "nomand",
                "lazytime",
                "nolazytime",
            ];
            assert!(
                passthrough.contains(opt) || parsed.data.is_empty(),
                "{opt} would be passed to the filesystem as unknown data"
            );
        }
    }
}
