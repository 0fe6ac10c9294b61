//! `jinn ps [--format table|json] ID [ps options]`: the processes of the
//! container's cgroup. JSON is the list of host pids (`null` when there are
//! none, as runc); the table is `ps(1)`'s output (default `-ef`) filtered to
//! those pids.

use std::process::Command;

use anyhow::{anyhow, bail, Result};
use jinn_state::Store;

use crate::cli::ListFormat;

pub fn run(store: &Store, id: &str, format: ListFormat, ps_args: &[String]) -> Result<i32> {
    let c = store.load(id)?;
    let pids = match crate::container::cgroup_of(&c)? {
        Some(cg) => cg.all_pids()?,
        None => Vec::new(),
    };
    drop(c);
    if format == ListFormat::Json {
        if pids.is_empty() {
            println!("null");
        } else {
            println!("{}", serde_json::to_string(&pids)?);
        }
        return Ok(0);
    }
    let default = ["-ef".to_owned()];
    let args = if ps_args.is_empty() {
        &default[..]
    } else {
        ps_args
    };
    let out = Command::new("ps")
        .args(args)
        .output()
        .map_err(|e| anyhow!("run ps: {e}"))?;
    if !out.status.success() {
        bail!(
            "ps {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    print!(
        "{}",
        filter_table(&String::from_utf8_lossy(&out.stdout), &pids)?
    );
    Ok(0)
}

/// The header line and the lines whose PID column is one of `pids`.
fn filter_table(table: &str, pids: &[i32]) -> Result<String> {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let index = header
        .split_whitespace()
        .position(|w| w == "PID")
        .ok_or_else(|| anyhow!("couldn't find PID field in ps output"))?;
    let mut out = format!("{header}\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let pid = line
            .split_whitespace()
            .nth(index)
            .ok_or_else(|| anyhow!("unexpected ps output line: {line:?}"))?;
        let pid: i32 = pid
            .parse()
            .map_err(|_| anyhow!("unexpected pid {pid:?} in ps output"))?;
        if pids.contains(&pid) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_header_and_listed_pids() {
        let table = "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep\n";
        assert_eq!(
            super::filter_table(table, &[42]).unwrap(),
            "UID PID PPID CMD\nroot 42 1 sleep\n"
        );
        assert!(super::filter_table("USER CMD\n", &[1]).is_err());
    }
}
