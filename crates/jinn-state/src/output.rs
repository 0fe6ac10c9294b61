//! runc-compatible output of `state` and `list`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::Status;

/// The OCI runtime-spec version reported in `ociVersion`.
pub const OCI_VERSION: &str = "1.3.0";

/// The OCI runtime state object (what `runc state` prints), fields in runc's
/// order. `annotations` is omitted when empty, and (as in runc) comes before
/// `owner`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// Always [`OCI_VERSION`].
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Init pid; 0 when the container is stopped (as runc).
    pub pid: i32,
    /// Live status.
    pub status: Status,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds, UTC.
    pub created: String,
    /// Annotations from the bundle's config.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Owner: "" in `state` output, the state directory owner's user name
    /// (or `#UID`) in `list` output, as runc.
    pub owner: String,
}

/// One row of `jinn list`. The same object runc emits for
/// `list --format json`; `owner` is the user owning the container's state
/// directory (see `Container::list_row`).
pub type ListRow = OciState;

/// The key order runc uses for the state object.
const KEY_ORDER: [&str; 9] = [
    "ociVersion",
    "id",
    "pid",
    "status",
    "bundle",
    "rootfs",
    "created",
    "annotations",
    "owner",
];

/// Serializes a `Value` with the state object's keys in runc's order, no
/// matter how `serde_json::Map` orders keys (it sorts them unless the
/// `preserve_order` feature is enabled somewhere in the build).
struct Ordered<'a>(&'a Value);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for k in KEY_ORDER {
                    if let Some(v) = m.get(k) {
                        map.serialize_entry(k, v)?;
                    }
                }
                for (k, v) in m {
                    if !KEY_ORDER.contains(&k.as_str()) {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Ordered(item))?;
                }
                seq.end()
            }
            v => v.serialize(s),
        }
    }
}

/// Pretty-prints a state object (from `Container::oci_state_json`) exactly as
/// `runc state` does: 2-space indentation, keys in runc's order, and **no**
/// trailing newline (runc writes the bytes of `json.MarshalIndent` as is).
pub fn format_state(state: &Value) -> String {
    serde_json::to_string_pretty(&Ordered(state)).expect("serializing a Value cannot fail")
}

/// `jinn list --format json` output, byte for byte like runc: a compact JSON
/// array followed by a newline, or `null\n` when there are no containers
/// (runc encodes a nil slice).
pub fn list_json(rows: &[ListRow]) -> String {
    if rows.is_empty() {
        return "null\n".to_string();
    }
    let mut s = serde_json::to_string(rows).expect("serializing list rows cannot fail");
    s.push('\n');
    s
}

/// `jinn list -q` output: one id per line.
pub fn list_quiet(rows: &[ListRow]) -> String {
    rows.iter().map(|r| format!("{}\n", r.id)).collect()
}

/// `jinn list` table output, byte for byte like runc, which uses
/// `tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)` (minwidth 12,
/// padding 3, space padding) and the format
/// `"%s\t%d\t%s\t%s\t%s\t%s\n"` for `ID PID STATUS BUNDLE CREATED OWNER`.
/// The last column is not tab-terminated, so it is not padded.
pub fn list_table(rows: &[ListRow]) -> String {
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 1);
    lines.push(
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    for r in rows {
        lines.push(vec![
            r.id.clone(),
            r.pid.to_string(),
            r.status.to_string(),
            r.bundle.display().to_string(),
            r.created.clone(),
            r.owner.clone(),
        ]);
    }
    tabwrite(&lines, 12, 3)
}

/// A minimal Go `text/tabwriter` for lines that all have the same number of
/// cells, with `padchar` ' ' and no flags: every cell but the last of a line
/// is padded to `max(minwidth, widest cell + padding)` of its column; widths
/// are counted in chars (Go counts runes).
fn tabwrite(lines: &[Vec<String>], minwidth: usize, padding: usize) -> String {
    let ncols = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut widths = vec![minwidth; ncols.saturating_sub(1)];
    for line in lines {
        for (j, cell) in line.iter().enumerate().take(line.len().saturating_sub(1)) {
            widths[j] = widths[j].max(cell.chars().count() + padding);
        }
    }
    let mut out = String::new();
    for line in lines {
        let last = line.len().saturating_sub(1);
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < last {
                let pad = widths[j] - cell.chars().count();
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, pid: i32, status: Status, bundle: &str, created: &str) -> ListRow {
        OciState {
            oci_version: OCI_VERSION.to_string(),
            id: id.to_string(),
            pid,
            status,
            bundle: bundle.into(),
            rootfs: PathBuf::from(bundle).join("rootfs"),
            created: created.to_string(),
            annotations: BTreeMap::new(),
            owner: "root".to_string(),
        }
    }

    /// Captured from runc 1.1.5 (Debian 12) with a busybox bundle:
    /// `runc --root /tmp/rr list` with no containers.
    #[test]
    fn empty_table_matches_runc() {
        assert_eq!(
            list_table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
        assert_eq!(list_json(&[]), "null\n");
        assert_eq!(list_quiet(&[]), "");
    }

    /// Captured from runc 1.1.5 (Debian 12):
    /// ```text
    /// runc --root /tmp/rr create -b b c1
    /// runc --root /tmp/rr create -b b a-much-longer-container-id
    /// runc --root /tmp/rr create -b b abcdefghi
    /// runc --root /tmp/rr create -b b2 annot   # b2: args ["true"], 2 annotations
    /// runc --root /tmp/rr start annot; runc --root /tmp/rr start c1
    /// runc --root /tmp/rr list | cat -A
    /// runc --root /tmp/rr list --format json
    /// runc --root /tmp/rr list -q
    /// ```
    #[test]
    fn table_json_quiet_match_runc() {
        let mut annot = row(
            "annot",
            0,
            Status::Stopped,
            "/tmp/rt/b2",
            "2026-11-29T13:00:17.923437887Z",
        );
        annot
            .annotations
            .insert("org.x".to_string(), "1".to_string());
        annot
            .annotations
            .insert("a.b".to_string(), "two".to_string());
        let rows = vec![
            row(
                "a-much-longer-container-id",
                5199,
                Status::Created,
                "/tmp/rt/b",
                "2026-11-29T13:00:17.714811692Z",
            ),
            row(
                "abcdefghi",
                5214,
                Status::Created,
                "/tmp/rt/b",
                "2026-11-29T13:00:17.740270707Z",
            ),
            annot,
            row(
                "c1",
                5108,
                Status::Running,
                "/tmp/rt/b",
                "2026-11-29T13:00:13.919170351Z",
            ),
        ];
        let expected_table = "\
ID                           PID         STATUS      BUNDLE       CREATED                          OWNER
a-much-longer-container-id   5199        created     /tmp/rt/b    2026-11-29T13:00:17.714811692Z   root
abcdefghi                    5214        created     /tmp/rt/b    2026-11-29T13:00:17.740270707Z   root
annot                        0           stopped     /tmp/rt/b2   2026-11-29T13:00:17.923437887Z   root
c1                           5108        running     /tmp/rt/b    2026-11-29T13:00:13.919170351Z   root
";
        assert_eq!(list_table(&rows), expected_table);

        // runc prints "ociVersion":"1.0.2-dev"; jinn reports OCI_VERSION.
        let expected_json = r#"[{"ociVersion":"1.0.2-dev","id":"a-much-longer-container-id","pid":5199,"status":"created","bundle":"/tmp/rt/b","rootfs":"/tmp/rt/b/rootfs","created":"2026-11-29T13:00:17.714811692Z","owner":"root"},{"ociVersion":"1.0.2-dev","id":"abcdefghi","pid":5214,"status":"created","bundle":"/tmp/rt/b","rootfs":"/tmp/rt/b/rootfs","created":"2026-11-29T13:00:17.740270707Z","owner":"root"},{"ociVersion":"1.0.2-dev","id":"annot","pid":0,"status":"stopped","bundle":"/tmp/rt/b2","rootfs":"/tmp/rt/b2/rootfs","created":"2026-11-29T13:00:17.923437887Z","annotations":{"a.b":"two","org.x":"1"},"owner":"root"},{"ociVersion":"1.0.2-dev","id":"c1","pid":5108,"status":"running","bundle":"/tmp/rt/b","rootfs":"/tmp/rt/b/rootfs","created":"2026-11-29T13:00:13.919170351Z","owner":"root"}]
"#
        .replace("1.0.2-dev", OCI_VERSION);
        assert_eq!(list_json(&rows), expected_json);

        assert_eq!(
            list_quiet(&rows),
            "a-much-longer-container-id\nabcdefghi\nannot\nc1\n"
        );
    }

    /// Captured from runc 1.1.5: `runc --root /tmp/rr state annot` after the
    /// container exited (note: no trailing newline, annotations before owner).
    #[test]
    fn format_state_matches_runc() {
        let mut s = row(
            "annot",
            0,
            Status::Stopped,
            "/tmp/rt/b2",
            "2026-11-29T13:00:17.923437887Z",
        );
        s.owner = String::new();
        s.annotations.insert("org.x".to_string(), "1".to_string());
        s.annotations.insert("a.b".to_string(), "two".to_string());
        let expected = r#"{
  "ociVersion": "1.0.2-dev",
  "id": "annot",
  "pid": 0,
  "status": "stopped",
  "bundle": "/tmp/rt/b2",
  "rootfs": "/tmp/rt/b2/rootfs",
  "created": "2026-11-29T13:00:17.923437887Z",
  "annotations": {
    "a.b": "two",
    "org.x": "1"
  },
  "owner": ""
}"#
        .replace("1.0.2-dev", OCI_VERSION);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(format_state(&v), expected);
        // Round trip through the typed struct.
        let back: OciState = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn format_state_orders_unknown_keys_last() {
        let v =
            serde_json::json!({"zeta": 1, "owner": "", "id": "x", "alpha": 2, "ociVersion": "v"});
        assert_eq!(
            format_state(&v),
            "{\n  \"ociVersion\": \"v\",\n  \"id\": \"x\",\n  \"owner\": \"\",\n  \"alpha\": 2,\n  \"zeta\": 1\n}"
        );
    }

    #[test]
    fn tabwriter_counts_chars_not_bytes() {
        let lines = vec![
            vec!["é".to_string(), "x".to_string()],
            vec!["ab".to_string(), "y".to_string()],
        ];
        assert_eq!(tabwrite(&lines, 1, 3), "é    x\nab   y\n");
    }
}
