//! `linux.resources.hugepageLimits`: v1 `hugetlb.<size>.limit_in_bytes`
//! (and `.rsvd.limit_in_bytes` where the kernel has it); v2
//! `hugetlb.<size>.max` (and `.rsvd.max`). The page size is the spec's
//! `2MB`/`1GB`, which is also the kernel's file name.

use oci_spec::runtime::LinuxHugepageLimit;

use crate::error::{CgroupError, Result};
use crate::resources::Target;
use crate::{fs, Cgroup};

const FIELD: &str = "linux.resources.hugepageLimits";

pub(crate) fn apply(cg: &Cgroup, limits: &[LinuxHugepageLimit]) -> Result<()> {
    if limits.is_empty() {
        return Ok(());
    }
    for (i, l) in limits.iter().enumerate() {
        if l.limit() < 0 {
            return Err(CgroupError::InvalidField {
                field: format!("{FIELD}[{i}].limit"),
                reason: format!("{} is negative", l.limit()),
            });
        }
    }
    let (dir, limit_suffix, rsvd_suffix) = match cg.target("hugetlb", FIELD)? {
        Target::V1(dir) => (dir, "limit_in_bytes", "rsvd.limit_in_bytes"),
        Target::V2(dir) => (dir, "max", "rsvd.max"),
    };
    for (i, l) in limits.iter().enumerate() {
        let size = l.page_size();
        let file = format!("hugetlb.{size}.{limit_suffix}");
        if !dir.join(&file).exists() {
            return Err(CgroupError::InvalidField {
                field: format!("{FIELD}[{i}].pageSize"),
                reason: format!(
                    "the host has no {size} huge pages (no {})",
                    dir.join(&file).display()
                ),
            });
        }
        let value = l.limit().to_string();
        let field = format!("{FIELD}[{i}].limit");
        fs::write_field(dir, &file, &value, &field)?;
        let rsvd = format!("hugetlb.{size}.{rsvd_suffix}");
        if dir.join(&rsvd).exists() {
            fs::write_field(dir, &rsvd, &value, &field)?;
        }
    }
    Ok(())
}

/// The huge page sizes of this host in the kernel's naming (`2MB`, `1GB`),
/// from `/sys/kernel/mm/hugepages/hugepages-<N>kB`.
pub fn page_sizes() -> Vec<String> {
    let mut sizes: Vec<(u64, String)> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some((kb, kb_to_size(kb)))
        })
        .collect();
    sizes.sort();
    sizes.into_iter().map(|(_, s)| s).collect()
}

/// 2048 → `2MB`, 1048576 → `1GB`, 64 → `64KB`.
pub(crate) fn kb_to_size(kb: u64) -> String {
    if kb >= 1 << 20 && kb.trailing_zeros() >= 20 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb.trailing_zeros() >= 10 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_size_names() {
        assert_eq!(super::kb_to_size(2048), "2MB");
        assert_eq!(super::kb_to_size(1 << 20), "1GB");
        assert_eq!(super::kb_to_size(64), "64KB");
    }
}
