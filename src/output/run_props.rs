//! Property test: random small scenarios, written as TOML text, go the whole way a
//! user's file goes (parse and check, simulate, write the CSV files, draw both run
//! figures) with no panic, a bounded number of events, never faster than the lower
//! bound, every byte accounted for. 32 cases by default (`PROPTEST_CASES` for more;
//! TESTING.md).

use super::plot;
use crate::model::{RunStatus, simulate};
use crate::scenario::Scenario;
use proptest::prelude::*;
use std::sync::atomic::AtomicBool;

/// One `[[peers]]` table.
fn class() -> impl Strategy<Value = String> {
    (
        1u32..12,
        prop::sample::select(vec!["0 B/s", "30 kB/s", "100 kB/s", "1 Mbit/s", "1 MB/s"]),
        prop::sample::select(vec!["unlimited", "50 kB/s", "2 Mbit/s", "10 MB/s"]),
        prop::sample::select(vec![
            "",
            "arrival = { process = \"poisson\", rate = \"20 /min\" }\n",
            "arrival = { process = \"poisson\", rate = \"1 /h\" }\n",
        ]),
        prop::sample::select(vec![
            "",
            "seeding = { fixed = \"0 s\" }\n",
            "seeding = { exponential = \"30 s\" }\n",
        ]),
        prop::sample::select(vec!["", "latency = \"20 ms\"\n", "latency = \"3 min\"\n"]),
    )
        .prop_map(|(count, up, down, arrival, seeding, latency)| {
            format!(
                "[[peers]]\ncount = {count}\nupload = \"{up}\"\ndownload = \"{down}\"\n{arrival}{seeding}{latency}"
            )
        })
}

/// A whole scenario file.
fn scenario_text() -> impl Strategy<Value = String> {
    (
        (
            prop::sample::select(vec!["1 B", "100 kB", "1 MB", "3 MiB"]),
            prop::sample::select(vec!["", "chunk = \"16 KiB\"\n", "chunk = \"100 kB\"\n"]),
            prop::sample::select(vec!["1 bit/s", "100 kB/s", "1 MB/s", "1 Gbit/s"]),
            prop::collection::vec(class(), 1..4),
            0u64..1000,
            prop::sample::select(vec!["", "max_time = \"1 h\"\n"]),
        ),
        (
            prop::sample::select(vec!["client-server", "bittorrent", "optimal"]),
            prop::sample::select(vec!["max-min", "fast"]),
            prop::sample::select(vec!["rarest-first", "random", "sequential", "global-rarest"]),
            prop::sample::select(vec!["tit-for-tat", "unchoke-all", "round-robin"]),
            prop::sample::select(vec![
                "",
                "rechoke_interval = \"100 ms\"\noptimistic_interval = \"300 ms\"\nrate_window = \"200 ms\"\n",
                "inactivity_timeout = \"30 s\"\nclose_redundant = true\n",
                "max_connections = 3\nmin_peers = 3\n",
            ]),
            prop::sample::select(vec![
                "",
                "requests = \"blocks\"\n",
                "preset = \"libtorrent-2.0\"\n",
                "preset = \"transmission-4\"\n",
                "requests = \"blocks\"\nblock_size = \"5 kB\"\nrequest_queue_time = \"0 s\"\nrequest_queue_min = 1\nrequest_queue_max = 3\n",
            ]),
        ),
    )
        .prop_map(
            |((size, chunk, server, classes, seed, max_time), (kind, model, picker, choker, extra, requests))| {
                let mut t = format!(
                    "name = \"prop\"\nseed = {seed}\n{max_time}[file]\nsize = \"{size}\"\n{chunk}\
                     [server]\nupload = \"{server}\"\n"
                );
                for c in classes {
                    t.push_str(&c);
                }
                t.push_str(&format!("[network]\nmodel = \"{model}\"\n[protocol]\nkind = \"{kind}\"\n"));
                if kind == "bittorrent" {
                    t.push_str(&format!(
                        "picker = \"{picker}\"\nchoker = \"{choker}\"\n{extra}{requests}"
                    ));
                }
                t
            },
        )
}

proptest! {
    #![proptest_config(crate::test_util::cases(32))]

    #[test]
    fn random_scenarios_run_write_and_draw(text in scenario_text()) {
        let s = match Scenario::from_toml(&text, "prop.toml", &[]) {
            Ok(s) => s,
            Err(e) => {
                // Refused input names the file (a chunk larger than a 1 B file, say).
                prop_assert!(e.to_string().starts_with("prop.toml"), "{e}");
                return Ok(());
            }
        };
        // Only what a unit test can afford (the 1 bit/s server makes runs of 1e5
        // events and more; they are refused here, not run).
        let estimate = crate::estimate::events(&s);
        prop_assume!(estimate <= 2e4);
        let r = simulate(&s);
        let m = &r.summary;
        // Bounded: within 100 times the estimate (an order of magnitude, within 10
        // times the events of every shipped scenario, docs/LIMITS.md; a 1 ns timer
        // gave 1e10 times), and a run that did not complete says why.
        prop_assert!((m.events as f64) <= 100.0 * estimate + 10_000.0,
            "{} events, estimate {estimate}\n{text}", m.events);
        if m.status != RunStatus::Completed {
            prop_assert!(!m.note.is_empty(), "{text}");
        } else {
            // Never faster than the bound of its architecture.
            let b = s.bounds();
            let bound = if s.protocol.is_p2p() { b.d_p2p } else { b.d_cs };
            prop_assert!(m.distribution_time_s >= bound * (1.0 - 1e-9),
                "{} < {bound}\n{text}", m.distribution_time_s);
        }
        // Every byte accounted for: downloaded = uploaded by peers + sent by the
        // server, and, when every peer completed, N F + wasted.
        if let Err(e) = r.check_bytes_conserved() {
            prop_assert!(false, "{e}\n{text}");
        }
        // Written and drawn.
        let dir = tempfile::tempdir().unwrap();
        super::write_run(dir.path(), &r, 0.0).unwrap();
        let never = AtomicBool::new(false);
        plot::plot_completion_cdf(&r, &dir.path().join("cdf.png"), &never).unwrap();
        plot::plot_timeseries(&dir.path().join("timeseries.csv"), &dir.path().join("swarm.svg"), &never).unwrap();
    }
}
