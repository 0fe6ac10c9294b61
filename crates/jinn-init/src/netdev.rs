//! `linux.netDevices`: host interfaces moved into the container's new network namespace
//! by the parent, with iproute2 (`ip`, and `nsenter` to configure them inside).
//!
//! For each device: its permanent global addresses are read (`ip -j addr show`), the
//! device is moved and renamed in one request (`ip link set DEV netns PID name NEW`; the
//! kernel fills in a `%d` template), the addresses are added back inside and the device
//! is set up, as config-linux.md asks. Devices are not moved back at delete (the spec
//! forbids it): when the namespace goes away the kernel returns physical devices to the
//! host and destroys virtual ones.

use std::collections::BTreeMap;
use std::process::Command;

use crate::error::InitError;

fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, InitError> {
    let out = cmd
        .output()
        .map_err(|e| InitError::Message(format!("linux.netDevices: {what}: {e}")))?;
    if !out.status.success() {
        return Err(InitError::Message(format!(
            "linux.netDevices: {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// The index of `dev` and its permanent addresses of global scope, as `ip addr add`
/// arguments.
fn index_and_addresses(dev: &str) -> Result<(u64, Vec<Vec<String>>), InitError> {
    let json = run(
        Command::new("ip").args(["-j", "addr", "show", "dev", dev]),
        &format!("read the addresses of {dev}"),
    )?;
    let links: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| InitError::Message(format!("read the addresses of {dev}: ip -j: {e}")))?;
    let mut out = Vec::new();
    let mut index = 0;
    for link in links.as_array().into_iter().flatten() {
        index = link["ifindex"].as_u64().unwrap_or(0);
        for a in link["addr_info"].as_array().into_iter().flatten() {
            let permanent = a["valid_life_time"].as_u64() == Some(u64::from(u32::MAX))
                && a.get("dynamic").is_none();
            if a["scope"] != "global" || !permanent {
                continue;
            }
            let (Some(local), Some(len)) = (a["local"].as_str(), a["prefixlen"].as_u64()) else {
                continue;
            };
            let mut args = vec![format!("{local}/{len}")];
            if let Some(b) = a["broadcast"].as_str() {
                args.extend(["broadcast".to_string(), b.to_string()]);
            }
            out.push(args);
        }
    }
    Ok((index, out))
}

/// Move every device of `devices` (host name → container name) into the network
/// namespace of `pid`.
pub(crate) fn move_devices(pid: i32, devices: &BTreeMap<String, String>) -> Result<(), InitError> {
    let netns = format!("--net=/proc/{pid}/ns/net");
    for (host, name) in devices {
        let (index, addresses) = index_and_addresses(host)?;
        // The kernel moves first and renames after: a name taken inside would fail only
        // once the device is in the container's namespace. Check before.
        if !name.contains("%d") {
            let taken = Command::new("nsenter")
                .args([netns.as_str(), "ip", "link", "show", "dev", name])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .map_err(|e| InitError::Message(format!("linux.netDevices: nsenter: {e}")))?
                .success();
            if taken {
                return Err(InitError::Message(format!(
                    "linux.netDevices.{host}.name: {name:?} already exists in the container's network namespace"
                )));
            }
        }
        run(
            Command::new("ip").args([
                "link",
                "set",
                "dev",
                host,
                "netns",
                &pid.to_string(),
                "name",
                name,
            ]),
            &format!("move {host} into the container as {name}"),
        )?;
        // A `%d` template: the kernel picked the name; find the device by its index (kept
        // by the move unless taken in the new namespace).
        let name = if name.contains("%d") {
            renamed(&netns, name, index)?
        } else {
            name.clone()
        };
        for addr in addresses {
            let mut cmd = Command::new("nsenter");
            cmd.args([netns.as_str(), "ip", "addr", "add"])
                .args(&addr)
                .args(["dev", &name]);
            run(&mut cmd, &format!("add address {} to {name}", addr[0]))?;
        }
        run(
            Command::new("nsenter").args([netns.as_str(), "ip", "link", "set", "dev", &name, "up"]),
            &format!("set {name} up"),
        )?;
    }
    Ok(())
}

/// The name the kernel gave to a device moved with the template `pattern` (`eth%d`).
fn renamed(netns: &str, pattern: &str, index: u64) -> Result<String, InitError> {
    let json = run(
        Command::new("nsenter").args([netns, "ip", "-j", "link", "show"]),
        "list the container's interfaces",
    )?;
    let links: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| InitError::Message(format!("list the container's interfaces: ip -j: {e}")))?;
    links
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["ifindex"].as_u64() == Some(index))
        .and_then(|l| l["ifname"].as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            InitError::Message(format!(
                "linux.netDevices: the interface moved as {pattern:?} is not in the container"
            ))
        })
}
