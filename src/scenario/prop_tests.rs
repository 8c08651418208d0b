//! Property tests: replace (or remove) one field of a valid scenario with an arbitrary
//! TOML value and check that checking never panics and either accepts the scenario
//! (with every invariant of [`Scenario`] holding) or refuses it naming that field.

use super::*;
use crate::engine::Time;
use proptest::prelude::*;
use toml::{Table, Value};

/// Two classes, every field given, so that each can be perturbed.
const BASE: &str = r#"
name = "base"
seed = 5
[file]
size = "10 MB"
chunk = "256 KiB"
[server]
upload = "10 Mbit/s"
[[peers]]
name = "a"
count = 3
upload = "1 Mbit/s"
download = "10 Mbit/s"
[[peers]]
name = "b"
count = 2
upload = "0 bit/s"
download = "unlimited"
[protocol]
kind = "client-server"
[network]
model = "max-min"
"#;

/// Every field of the schema (and every table), as a `--set` path, with the other
/// fields an error may rightly name when this one changes: a new file size can make
/// the chunk too large or too many; a larger count can push the total over the
/// limit, which is reported at the last class.
const FIELDS: &[(&str, &[&str])] = &[
    ("name", &[]),
    ("seed", &[]),
    ("file", &[]),
    ("file.size", &["file.chunk"]),
    ("file.chunk", &[]),
    ("server", &[]),
    ("server.upload", &[]),
    ("peers", &[]),
    ("peers.0", &["peers.1.count"]),
    ("peers.0.name", &[]),
    ("peers.0.count", &["peers.1.count"]),
    ("peers.0.upload", &[]),
    ("peers.0.download", &[]),
    ("peers.1", &[]),
    ("peers.1.count", &[]),
    ("peers.1.download", &[]),
    ("protocol", &[]),
    ("protocol.kind", &[]),
    ("network", &[]),
    ("network.model", &[]),
];

/// A BitTorrent scenario with every `[protocol]` field given: the defaults, except
/// `inactivity_timeout` (600 s, not 0), so that a new rechoke interval can make it,
/// like the rate window and the optimistic interval, invalid.
const BASE_BT: &str = r#"
name = "base-bt"
[file]
size = "10 MB"
[server]
upload = "10 Mbit/s"
[[peers]]
count = 3
upload = "1 Mbit/s"
download = "10 Mbit/s"
[protocol]
kind = "bittorrent"
max_peers = 50
max_connections = 80
min_peers = 20
reannounce_interval = "300 s"
picker = "rarest-first"
random_first = 4
endgame = true
choker = "tit-for-tat"
seed_choker = "fastest"
unchoke_slots = 4
rate_window = "20 s"
rechoke_interval = "10 s"
optimistic_interval = "30 s"
requests_in_flight = 1
inactivity_timeout = "600 s"
close_redundant = false
seed_quota_pieces = 20
seed_quota_time = "60 s"
requests = "blocks"
block_size = "16 KiB"
request_queue_time = "3 s"
request_queue_min = 2
request_queue_max = 500
optimistic_pick = "random"
lost_interest = "refill"
started_chunks = "by-rarity"
preset = "libtorrent-2.0"
"#;

/// Every `[protocol]` field of BitTorrent, with the fields an error may rightly name
/// when it changes: the rate window, the optimistic interval and the inactivity
/// timeout are checked against the rechoke interval, and reported as theirs.
const FIELDS_BT: &[(&str, &[&str])] = &[
    ("protocol.kind", &[]),
    ("protocol.max_peers", &[]),
    ("protocol.max_connections", &[]),
    ("protocol.min_peers", &[]),
    ("protocol.reannounce_interval", &[]),
    ("protocol.picker", &[]),
    ("protocol.random_first", &[]),
    ("protocol.endgame", &[]),
    ("protocol.choker", &[]),
    ("protocol.seed_choker", &[]),
    ("protocol.unchoke_slots", &[]),
    ("protocol.rate_window", &[]),
    (
        "protocol.rechoke_interval",
        &[
            "protocol.rate_window",
            "protocol.optimistic_interval",
            "protocol.inactivity_timeout",
        ],
    ),
    ("protocol.optimistic_interval", &[]),
    ("protocol.requests_in_flight", &[]),
    ("protocol.inactivity_timeout", &[]),
    ("protocol.close_redundant", &[]),
    ("protocol.seed_quota_pieces", &[]),
    ("protocol.seed_quota_time", &[]),
    ("protocol.requests", &[]),
    ("protocol.block_size", &[]),
    ("protocol.request_queue_time", &[]),
    ("protocol.request_queue_min", &[]),
    // (A maximum below the minimum is reported at the minimum.)
    (
        "protocol.request_queue_max",
        &["protocol.request_queue_min"],
    ),
    ("protocol.optimistic_pick", &[]),
    ("protocol.lost_interest", &[]),
    ("protocol.started_chunks", &[]),
    ("protocol.preset", &[]),
];

/// Strings that look like quantities, names and choices, valid or nearly so.
fn quantity_string() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just("0".to_string()),
        Just("-0".to_string()),
        Just("1".to_string()),
        Just("1e30".to_string()),
        Just("1e400".to_string()),
        Just("-1e400".to_string()),
        Just("18446744073709551615".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("1e-320".to_string()),
        Just("".to_string()),
        any::<f64>().prop_map(|x| x.to_string()),
        any::<i64>().prop_map(|x| x.to_string()),
        (0u32..100_000).prop_map(|x| x.to_string()),
    ];
    let unit = prop_oneof![
        Just("B"),
        Just("KiB"),
        Just("MB"),
        Just("EiB"),
        Just("bit"),
        Just("Mbit/s"),
        Just("bit/s"),
        Just("Gbit/s"),
        Just("MB/s"),
        Just("s"),
        Just(""),
        Just("furlongs"),
        Just("\u{200b}MB"),
    ];
    let word = prop_oneof![
        Just("unlimited".to_string()),
        Just("client-server".to_string()),
        Just("max-min".to_string()),
        Just("fast".to_string()),
        Just("bittorrent".to_string()),
        Just("rarest-first".to_string()),
        Just("global-rarest".to_string()),
        Just("tit-for-tat".to_string()),
        Just("round-robin".to_string()),
        Just("fastest".to_string()),
        Just("".to_string()),
        "[a-z.\\-_]{1,12}",
    ];
    // Plausible quantities, small and large, so that valid values and the limits
    // between fields (chunk larger than file, too many chunks) are reached often.
    let plausible = (
        prop_oneof![(1u64..2000).boxed(), (1u64..=u64::MAX).boxed()],
        prop_oneof![
            Just("B"),
            Just("kB"),
            Just("KiB"),
            Just("MB"),
            Just("GiB"),
            Just("TiB"),
            Just("EiB"),
            Just("bit/s"),
            Just("Mbit/s"),
            Just("Gbit/s"),
            Just("ms"),
            Just("s"),
            Just("min"),
        ],
    )
        .prop_map(|(n, u)| format!("{n} {u}"));
    prop_oneof![
        3 => plausible,
        3 => (number, prop_oneof![Just(""), Just(" "), Just("\t")], unit)
            .prop_map(|(n, s, u)| format!("{n}{s}{u}")),
        1 => word,
        1 => any::<String>(),
    ]
}

/// Any TOML value: every scalar kind (with NaN, infinities, extreme integers) and
/// nested arrays and tables whose keys are sometimes the schema's own.
fn toml_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        6 => quantity_string().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::Integer),
        1 => prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(10_000_000),
            Just(10_000_001)
        ]
        .prop_map(Value::Integer),
        1 => any::<f64>().prop_map(Value::Float),
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0)
        ]
        .prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Boolean),
    ];
    let key = prop_oneof![
        Just("size".to_string()),
        Just("chunk".to_string()),
        Just("upload".to_string()),
        Just("download".to_string()),
        Just("count".to_string()),
        Just("name".to_string()),
        Just("kind".to_string()),
        Just("model".to_string()),
        "[a-z]{1,6}",
    ];
    let leaf = leaf.boxed();
    let nested = leaf.clone().prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..4)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    });
    // Mostly scalars (where most mistakes are), sometimes nested values.
    prop_oneof![4 => leaf, 1 => nested]
}

/// Replaces (or, for `None`, removes) the value at a dotted path of `root`.
fn perturb(root: &mut Table, path: &str, value: Option<Value>) {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, init) = parts.split_last().expect("non-empty path");
    let mut tree = Value::Table(std::mem::take(root));
    let mut here = &mut tree;
    for p in init {
        here = match here {
            Value::Array(a) => &mut a[p.parse::<usize>().expect("index")],
            Value::Table(t) => t.get_mut(*p).expect("path exists in BASE"),
            _ => panic!("path goes through a scalar"),
        };
    }
    match (here, value) {
        (Value::Array(a), Some(x)) => a[last.parse::<usize>().expect("index")] = x,
        (Value::Array(a), None) => {
            a.remove(last.parse::<usize>().expect("index"));
        }
        (Value::Table(t), Some(x)) => {
            t.insert(last.to_string(), x);
        }
        (Value::Table(t), None) => {
            t.remove(*last);
        }
        _ => panic!("path goes through a scalar"),
    }
    let Value::Table(t) = tree else {
        unreachable!()
    };
    *root = t;
}

/// What every accepted scenario promises to the code after it.
fn invariants(s: &Scenario) -> Result<(), TestCaseError> {
    prop_assert!(!s.name.is_empty() && s.name.len() <= MAX_NAME_CHARS);
    prop_assert!(s.file_bytes >= 1 && s.file_bytes <= 1 << 62);
    prop_assert!(s.chunk_bytes >= 1 && s.chunk_bytes <= s.file_bytes);
    prop_assert!(s.chunks() <= MAX_CHUNKS);
    prop_assert!(s.server_upload.is_finite() && s.server_upload > 0.0);
    prop_assert!(!s.classes.is_empty() && s.peers() <= MAX_PEERS);
    for c in &s.classes {
        prop_assert!(c.count >= 1);
        prop_assert!(!c.name.chars().any(char::is_control));
        prop_assert!(c.upload.is_finite() && c.upload >= 0.0 && c.upload.is_sign_positive());
        prop_assert!(c.download > 0.0 && !c.download.is_nan());
    }
    let b = s.bounds();
    prop_assert!(b.d_cs < Time::MAX.as_secs_f64());
    // What the BitTorrent model relies on (rate buckets and idle checks are whole
    // numbers of rechoke periods).
    let c = &s.bittorrent;
    for d in [
        c.reannounce_interval,
        c.rate_window,
        c.rechoke_interval,
        c.optimistic_interval,
    ] {
        prop_assert!(d.is_finite() && d > 0.0);
    }
    prop_assert!(c.inactivity_timeout.is_finite() && c.inactivity_timeout >= 0.0);
    let k = c.rate_window / c.rechoke_interval;
    prop_assert!((k - k.round()).abs() <= 1e-9 && (1.0..=8.0).contains(&k.round()));
    let o = c.optimistic_interval / c.rechoke_interval;
    prop_assert!((o - o.round()).abs() <= 1e-9);
    prop_assert!(
        c.inactivity_timeout / c.rechoke_interval <= f64::from(protocol::MAX_IDLE_CHECKS) + 1e-9
    );
    prop_assert_eq!(c.idle_checks() == 0, c.inactivity_timeout == 0.0);
    prop_assert!(c.max_connections >= 1 && c.unchoke_slots >= 1);
    prop_assert!((1..=64).contains(&c.requests_in_flight));
    Ok(())
}

/// Replaces (or removes) the field at `path` of `base` and checks the result: no
/// panic, and either an accepted scenario that keeps the invariants or an error
/// naming the field (or one of `related`).
fn perturbed_is_accepted_or_named(
    base: &str,
    path: &str,
    related: &[&str],
    value: Option<Value>,
) -> Result<(), TestCaseError> {
    let mut root: Table = base.parse().expect("the base is valid TOML");
    perturb(&mut root, path, value.clone());
    let checked = std::panic::catch_unwind(|| {
        Checker {
            file: "p.toml".into(),
        }
        .scenario(&root)
    });
    let Ok(checked) = checked else {
        return Err(TestCaseError::fail(format!("panicked: {path} = {value:?}")));
    };
    match checked {
        Ok(s) => invariants(&s)?,
        Err(e) => {
            prop_assert_eq!(&e.file, "p.toml");
            let f = e.field.clone().unwrap_or_default();
            let names_it =
                f == path || f.starts_with(&format!("{path}.")) || related.contains(&f.as_str());
            prop_assert!(
                names_it,
                "{} = {:?} gave an error about `{}`: {}",
                path,
                value,
                f,
                e
            );
            prop_assert!(!e.message.is_empty());
            // The message reaches a terminal: no raw control characters.
            prop_assert!(
                !e.to_string().chars().any(|c| c.is_control() && c != '\n'),
                "{}",
                e
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::test_util::cases(1000))]

    #[test]
    fn one_perturbed_field_is_accepted_or_named(
        field in 0..FIELDS.len(),
        value in prop::option::weighted(0.9, toml_value()),
    ) {
        let (path, related) = FIELDS[field];
        perturbed_is_accepted_or_named(BASE, path, related, value)?;
    }

    #[test]
    fn one_perturbed_bittorrent_field_is_accepted_or_named(
        field in 0..FIELDS_BT.len(),
        value in prop::option::weighted(0.9, toml_value()),
    ) {
        let (path, related) = FIELDS_BT[field];
        perturbed_is_accepted_or_named(BASE_BT, path, related, value)?;
    }

    #[test]
    fn arbitrary_toml_text_never_panics(text in "(name|seed|size|chunk|upload|download|count|\\[file\\]|\\[server\\]|\\[\\[peers\\]\\]|[ =\"\n0-9a-zA-Z/.\\-])*") {
        if let Ok(s) = Scenario::from_toml(&text, "t.toml", &[]) {
            invariants(&s)?;
        }
    }

    #[test]
    fn any_set_override_is_accepted_or_refused(kv in "(name|seed|file|size|chunk|server|upload|peers|0|1|2|count|download|protocol|network|[.=\" ]|[a-z0-9/]){0,40}") {
        if let Ok(s) = Scenario::from_toml(BASE, "b.toml", &[kv]) {
            invariants(&s)?;
        }
    }
}

#[test]
fn the_perturbation_helper_reaches_every_field() {
    // Sanity check of the test itself: setting each field to a boolean where a
    // string, integer or table is expected (an integer where a boolean is) must be
    // refused naming that field.
    let all = FIELDS
        .iter()
        .map(|f| (BASE, f.0))
        .chain(FIELDS_BT.iter().map(|f| (BASE_BT, f.0)));
    for (base, path) in all {
        let mut root: Table = base.parse().expect("the base is valid TOML");
        let wrong = if path == "protocol.endgame" || path == "protocol.close_redundant" {
            Value::Integer(7)
        } else {
            Value::Boolean(true)
        };
        perturb(&mut root, path, Some(wrong));
        let e = Checker {
            file: "p.toml".into(),
        }
        .scenario(&root)
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some(path), "{e}");
    }
}
