//! Tests of the validation table and the embedded scenario files.

use super::*;

/// Every file under scenarios/validation/ is embedded (so `validate` runs what is
/// shipped), opens with the question it answers and the command, and checks.
#[test]
fn validation_scenarios_are_embedded_and_documented() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/validation");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios/validation exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    for name in &on_disk {
        let text = std::fs::read_to_string(dir.join(name)).expect("readable");
        assert!(text.starts_with("# Question:"), "{name}");
        assert!(text.contains("# Run: swarmsim"), "{name}");
        assert!(Scenario::from_toml(&text, name, &[]).is_ok(), "{name}");
    }
    // optimal-slow-relay.toml documents a failure; validate draws that swarm itself.
    let mut embedded: Vec<String> = FILES.iter().map(|f| f.0.to_string()).collect();
    embedded.push("optimal-slow-relay.toml".into());
    embedded.sort();
    assert_eq!(on_disk, embedded);
    for (name, text) in FILES {
        let disk = std::fs::read_to_string(dir.join(name)).expect("readable");
        assert_eq!(&disk, text, "{name}");
    }
}

/// A row has one cell per header column and a failing row reads FAIL.
#[test]
fn cells_follow_the_header() {
    let c = Check {
        case: "1 bounds".into(),
        source: "s".into(),
        setting: "x".into(),
        expected: "1".into(),
        measured: "1".into(),
        tolerance: "0".into(),
        pass: false,
    };
    assert_eq!(c.cells()[6], "FAIL");
    assert_eq!(c.cells().len(), HEADER.len());
}
