//! MIGRATION.md's code tables are exactly what `migrate rules --markdown` prints, so the
//! guide cannot drift from the rules' own entries.

use crate::common::*;
use migrate::catalog::markdown::{END_MARKER, START_MARKER};

const REGENERATE: &str = "UPDATE_SNAPSHOTS=1 cargo nextest run -p migrate migration_guide";

#[test]
fn migration_guide_code_tables_are_generated_from_the_catalog() {
    let out = run(&["rules", "--markdown"], &repo_root());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let generated = stdout(&out);

    let path = repo_root().join("MIGRATION.md");
    let guide = std::fs::read_to_string(&path).expect("MIGRATION.md");
    let start = format!("{START_MARKER}\n");
    let (Some(from), Some(to)) = (guide.find(&start), guide.find(END_MARKER)) else {
        panic!(
            "MIGRATION.md lacks the lines\n{START_MARKER}\n{END_MARKER}\naround its code tables"
        );
    };
    assert_eq!(guide.matches(&start).count(), 1, "one start marker");
    assert!(from < to, "the start marker comes before the end marker");
    let region = &guide[from + start.len()..to];
    if region == generated {
        return;
    }
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let updated = format!("{}{start}{generated}{}", &guide[..from], &guide[to..]);
        write(&path, updated);
        return;
    }
    let first_difference = region
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .map_or_else(
            || "one ends early".to_string(),
            |i| {
                format!(
                    "first difference at table line {}:\n  MIGRATION.md: {}\n  generated:    {}",
                    i + 1,
                    region.lines().nth(i).unwrap_or_default(),
                    generated.lines().nth(i).unwrap_or_default()
                )
            },
        );
    panic!(
        "MIGRATION.md's code tables differ from `migrate rules --markdown`; regenerate them \
with\n  {REGENERATE}\n{first_difference}"
    );
}
