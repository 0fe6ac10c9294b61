//! `jinn list [-q] [--format table|json]`.

use anyhow::Result;
use jinn_state::Store;

use crate::cli::ListFormat;

pub fn run(store: &Store, format: ListFormat, quiet: bool) -> Result<i32> {
    let rows = store.list_rows()?;
    let out = if quiet {
        jinn_state::list_quiet(&rows)
    } else {
        match format {
            ListFormat::Table => jinn_state::list_table(&rows),
            ListFormat::Json => jinn_state::list_json(&rows),
        }
    };
    print!("{out}");
    Ok(0)
}
