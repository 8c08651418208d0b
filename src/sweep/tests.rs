use super::*;

fn spec(text: &str) -> Result<Option<SweepSpec>, ScenarioError> {
    let t: Table = text.parse().unwrap();
    parse_spec(&t, "s.toml")
}

#[test]
fn a_field_added_at_its_default_keeps_the_fingerprint() {
    // A version of swarmsim without `seed_quota_time` wrote that line neither in
    // a run's canonical TOML nor in the reference's: simulated by removing it
    // from both. A run at the default value then contributes the same text, so
    // the same fingerprint, in both versions; a run at another value does not.
    let reference =
        crate::scenario::to_toml(&Scenario::from_toml(FINGERPRINT_REFERENCE, "r", &[]).unwrap());
    let sets = [
        "peers.0.count=7".to_string(),
        "protocol.unchoke_slots=3".into(),
    ];
    let run = Scenario::from_toml(FINGERPRINT_REFERENCE, "r", &sets).unwrap();
    let full = crate::scenario::to_toml(&run);
    assert!(full.contains("\nseed_quota_time = "), "{full}");
    let older = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.starts_with("seed_quota_time = "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let text = run_fingerprint_text(&full, &reference);
    assert_eq!(
        text,
        run_fingerprint_text(&older(&full), &older(&reference))
    );
    // What is kept: the table headers and the two values set above.
    assert_eq!(
        text,
        "[file]\n[server]\n[[peers]]\ncount = 7\n[protocol]\nunchoke_slots = 3\n\
         [network]\n[output]\n"
    );
    let mut other = run.clone();
    other.bittorrent.seed_quota_time *= 2.0;
    assert_ne!(
        run_fingerprint_text(&crate::scenario::to_toml(&other), &reference),
        text
    );
    // Through a whole plan: the same sweep written with the field at its default
    // spelled out has the same fingerprint; another value changes it.
    let base = FINGERPRINT_REFERENCE; // ends in its [protocol] table
    let plan = |extra: &str| Plan::from_toml(&format!("{base}{extra}"), "s.toml", &[]).unwrap();
    let spelled = format!(
        "seed_quota_time = \"{}s\"\n",
        run.bittorrent.seed_quota_time
    );
    assert_eq!(plan("").fingerprint, plan(&spelled).fingerprint);
    assert_ne!(
        plan("").fingerprint,
        plan("seed_quota_time = \"1s\"\n").fingerprint
    );
}

#[test]
fn log_range_of_integers_rounds_and_dedupes() {
    // 1 to 1000 in 7 log steps: 10^(0, 0.5, 1, ..., 3) = 1, 3.16, 10, 31.6, 100,
    // 316.2, 1000 -> rounded 1, 3, 10, 32, 100, 316, 1000.
    let s = spec("[[sweep.vary]]\nkey = \"peers.0.count\"\nrange = { from = 1, to = 1000, steps = 7, scale = \"log\" }").unwrap().unwrap();
    let v: Vec<i64> = s.vary[0]
        .values
        .iter()
        .map(|v| v.as_integer().unwrap())
        .collect();
    assert_eq!(v, [1, 3, 10, 32, 100, 316, 1000]);
    // 1 to 4 in 7 log steps: 4^(k/6) = 1, 1.26, 1.59, 2, 2.52, 3.17, 4 -> rounded
    // 1, 1, 2, 2, 3, 3, 4 -> deduplicated 1, 2, 3, 4.
    let s = spec("[[sweep.vary]]\nkey = \"peers.0.count\"\nrange = { from = 1, to = 4, steps = 7, scale = \"log\" }").unwrap().unwrap();
    let v: Vec<i64> = s.vary[0]
        .values
        .iter()
        .map(|v| v.as_integer().unwrap())
        .collect();
    assert_eq!(v, [1, 2, 3, 4]);
    // Linear floats: 0.5 to 1.5 in 3 steps = 0.5, 1.0, 1.5.
    let s = spec("[[sweep.vary]]\nkey = \"x\"\nrange = { from = 0.5, to = 1.5, steps = 3 }")
        .unwrap()
        .unwrap();
    assert_eq!(
        s.vary[0].values,
        [Value::Float(0.5), Value::Float(1.0), Value::Float(1.5)]
    );
}

#[test]
fn grid_order_is_first_key_slowest() {
    let s = spec("[sweep]\nreplications = 2\n[[sweep.vary]]\nkey = \"a\"\nvalues = [1, 2]\n[[sweep.vary]]\nkey = \"b\"\nvalues = [\"x\", \"y\", \"z\"]").unwrap().unwrap();
    assert_eq!(s.points(), 6);
    assert_eq!(s.replications, 2);
    let p4: Vec<String> = s.point(4).iter().map(|v| value_text(v)).collect();
    // Point 4 = (a index 4 / 3 = 1, b index 4 % 3 = 1) = (2, "y").
    assert_eq!(p4, ["2", "y"]);
}

#[test]
fn zipped_keys_step_together() {
    // Two zipped keys of 3 values and one varied key of 2: 3 x 2 = 6 points;
    // point 3 = (zip step 3 / 2 = 1, c index 3 % 2 = 1) = (a 20, b "y", c 2).
    let s = spec(
        "[[sweep.zip]]\nkey = \"a\"\nvalues = [10, 20, 30]\n[[sweep.zip]]\nkey = \"b\"\n\
         values = [\"x\", \"y\", \"z\"]\n[[sweep.vary]]\nkey = \"c\"\nvalues = [1, 2]",
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.points(), 6);
    let p3: Vec<String> = s.point(3).iter().map(|v| value_text(v)).collect();
    assert_eq!(p3, ["20", "y", "2"]);
    // Unequal lengths and a key both zipped and varied are refused.
    let e = spec(
        "[[sweep.zip]]\nkey = \"a\"\nvalues = [1, 2]\n[[sweep.zip]]\nkey = \"b\"\nvalues = [1]",
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sweep.zip"));
    assert!(e.message.contains("as many values"), "{}", e.message);
    let e =
        spec("[[sweep.zip]]\nkey = \"a\"\nvalues = [1]\n[[sweep.vary]]\nkey = \"a\"\nvalues = [1]")
            .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sweep.vary.0.key"));
}

#[test]
fn bad_sweep_tables_name_field_and_value() {
    let e = spec("[sweep]\nreplications = 0").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sweep.replications"));
    assert_eq!(e.value.as_deref(), Some("0"));
    let e = spec(
        "[[sweep.vary]]\nkey = \"a\"\nrange = { from = 0, to = 10, steps = 3, scale = \"log\" }",
    )
    .unwrap_err();
    assert!(e.message.contains("above zero"), "{}", e.message);
    let e =
        spec("[[sweep.vary]]\nkey = \"a\"\nvalues = [1]\nrange = { from = 1, to = 2, steps = 2 }")
            .unwrap_err();
    assert!(e.message.contains("exactly one"), "{}", e.message);
    let e = spec(
        "[[sweep.vary]]\nkey = \"a\"\nrange = { from = 1, to = 2, steps = 2, scale = \"cubic\" }",
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sweep.vary.0.range.scale"));
    assert_eq!(e.value.as_deref(), Some("\"cubic\""));
}

#[test]
fn shard_parse() {
    assert_eq!(Shard::parse("2/3"), Ok(Shard { part: 2, count: 3 }));
    assert!(Shard::parse("0/3").is_err());
    assert!(Shard::parse("4/3").is_err());
    assert!(Shard::parse("x").is_err());
    let s = Shard { part: 2, count: 3 };
    assert!(s.owns(1) && s.owns(4) && !s.owns(0) && !s.owns(2));
}

/// Under the block pipeline a run's canonical TOML spells out every pipeline field,
/// at its default too, so its fingerprint pins them: a sweep resumed after a
/// pipeline default changed does not match runs made with the old one. Simulated
/// by a run whose `whole_pieces_threshold` is the previous default, 0 s: its
/// fingerprint differs from the default's. Whole-chunk runs write none of them, so
/// theirs stay as they were.
#[test]
fn a_pipeline_run_fingerprint_pins_every_pipeline_field() {
    let reference =
        crate::scenario::to_toml(&Scenario::from_toml(FINGERPRINT_REFERENCE, "r", &[]).unwrap());
    let run = |sets: &[&str]| {
        let v: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let s = Scenario::from_toml(FINGERPRINT_REFERENCE, "r", &v).unwrap();
        run_fingerprint_text(&crate::scenario::to_toml(&s), &reference)
    };
    let blocks = run(&["protocol.requests=blocks"]);
    for line in [
        "whole_pieces_threshold = \"20 s\"",
        "whole_pieces_rule = \"adjacent-runs\"",
        "started_chunks = \"first\"",
        "request_rate = \"current\"",
        "idle_retry = \"at-once\"",
        "allowed_fast = 0",
    ] {
        assert!(blocks.contains(line), "{line} in\n{blocks}");
    }
    assert_ne!(
        blocks,
        run(&[
            "protocol.requests=blocks",
            "protocol.whole_pieces_threshold=0 s"
        ])
    );
    let chunks = run(&[]);
    assert!(!chunks.contains("whole_pieces"), "{chunks}");
}
