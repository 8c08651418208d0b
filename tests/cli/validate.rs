//! `swarmsim validate --quick`: the validation subset CI runs.

use super::*;

/// Every quick validation case passes: the expected values (Kurose & Ross table,
/// D_cs exactness, D_p2p, the Qiu & Srikant fluid model, the two models' agreement)
/// are derived in docs/VALIDATION.md, not taken from the program. Also checks the table's
/// columns and that validation.csv holds one row per printed check.
#[test]
fn validate_quick_passes_and_writes_csv() {
    let d = tempfile::tempdir().expect("tempdir");
    let o = run_in(d.path(), &["validate", "--quick", "--out", "v"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("case "), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    for case in [
        "1 bounds",
        "2 client-server exact",
        "3 nothing beats D_p2p",
        "5 Qiu & Srikant",
        "7 models agree",
    ] {
        assert!(out.contains(case), "missing case {case}:\n{out}");
    }
    let csv_text = std::fs::read_to_string(d.path().join("v/validation.csv")).expect("csv");
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        header,
        [
            "case",
            "source",
            "setting",
            "expected",
            "measured",
            "tolerance",
            "result"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
    let printed = out.lines().filter(|l| l.ends_with("PASS")).count();
    assert_eq!(rows.len(), printed);
    assert!(rows.iter().all(|x| &x[6] == "PASS"));
}

#[test]
fn validate_refuses_an_output_folder_it_cannot_create_before_any_check() {
    // A folder inside a regular file cannot be created: validate fails (exit 1, a
    // failure, not bad input) before the first check, so no `validate: ...` progress
    // line is printed (an audit found it ran every check first).
    let d = scratch("x");
    let o = run_in(
        d.path(),
        &["validate", "--quick", "--out", "scenario.toml/v"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot create the folder scenario.toml/v"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("validate:"), "{}", stderr(&o));
}
