//! Limits on what a run or a figure may cost: figures of extreme values, signals
//! while drawing, timer intervals, idle swarms and the event estimate of `check`.

use super::*;
use std::time::{Duration, Instant};

/// Runs the binary in `dir`; kills it and fails if it has not exited after `secs`.
fn run_bounded(dir: &Path, args: &[&str], secs: u64) -> Output {
    output_within(bin().current_dir(dir).args(args), secs)
}

/// A figure was drawn (exit 0, the file exists), or a note says why not (a sweep
/// goes on without it), or the values are refused (exit 2, an error that says
/// why); no temporary file is left either way.
fn figure_or_note(dir: &Path, o: &Output, figure: &str) {
    let fig = dir.join(figure);
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    if fig.exists() {
        assert!(o.status.success(), "{err}");
    } else if o.status.success() {
        assert!(err.contains("note: no figure"), "{err}");
    } else {
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("cannot be drawn") || err.contains("a log axis needs values above zero"),
            "{err}"
        );
    }
}

#[test]
fn plot_of_extreme_values_ends_with_a_figure_or_a_note() {
    // x and distribution times at the ends of f64: each used to spin for ever in
    // plotters' tick search (a log axis spanning more than f64's range, a linear
    // one narrower than a subnormal, or one of width +inf).
    let cases = [
        ("1", "1e-308", "2", "1e-308"),
        ("-1e308", "4", "1e308", "5"),
        ("1e-310", "4", "1", "5"),
        ("0", "1e-308", "1", "1e-308"),
        ("1", "5e-324", "2", "5e-324"),
        ("1", "1e-200", "2", "1e300"),
        ("1e-300", "4", "1e300", "5"),
        ("1", "4", "1.0000000000000002", "5"),
        ("1e300", "4", "1.0000000000001e300", "5"),
        ("1", "4", "2", "1e308"),
    ];
    for (x0, y0, x1, y1) in cases {
        let d = tempfile::tempdir().unwrap();
        let header = "point,param_x,protocol,runs,completed,mean_distribution_time_s,\
                      sd_distribution_time_s,ci95_half_width_s,ci95_low_s,ci95_high_s,\
                      d_cs_bound_s,d_p2p_bound_s,mean_bound_ratio";
        let text = format!(
            "{header}\n0,{x0},bittorrent,1,1,{y0},,,,,5,3,1\n1,{x1},bittorrent,1,1,{y1},,,,,5,3,1\n"
        );
        std::fs::write(d.path().join("points.csv"), text).unwrap();
        let o = run_bounded(d.path(), &["plot", "."], 60);
        figure_or_note(d.path(), &o, "d_vs_n.png");
        for log in ["--log-x", "--log-y"] {
            let o = run_bounded(d.path(), &["plot", ".", log, "--out", "f.svg"], 60);
            figure_or_note(d.path(), &o, "f.svg");
            let _ = std::fs::remove_file(d.path().join("f.svg"));
        }
    }
}

#[test]
fn sweeps_over_extreme_values_finish_with_a_figure_or_a_note() {
    // A latency of 1e-310 s (subnormal) beside 1 s made the figure's log x axis span
    // 1e310; a server upload of 1.79e308 B/s beside 1 MB/s made the linear one
    // +inf wide. Both spun at 100 % CPU after writing runs.csv and points.csv.
    for (key, values) in [
        ("peers.0.latency", r#"["1e-310 s", "1 s"]"#),
        ("server.upload", r#"["1 MB/s", "1.79e308 B/s"]"#),
    ] {
        let t = format!("{BASE}[sweep]\n[[sweep.vary]]\nkey = \"{key}\"\nvalues = {values}\n");
        let d = scratch(&t);
        let o = run_bounded(
            d.path(),
            &["sweep", "scenario.toml", "--out", "out", "--quiet"],
            60,
        );
        assert!(o.status.success(), "{key}: {}", stderr(&o));
        let out = d.path().join("out");
        assert!(out.join("points.csv").exists());
        figure_or_note(&out, &o, "d_vs_n.png");
    }
}

#[test]
fn sigterm_while_drawing_a_figure_stops_the_run() {
    // `run --plot` with a time series of about 500,000 rows (a sample every 8 us of
    // a 4 s run; the series keeps at most 10^6): its swarm.png took about 3 s to
    // read and draw (release build), and a SIGTERM then was ignored: the run went on
    // drawing and exited 0. It now stops drawing at once: exit 130, the results
    // written, no figure and no temporary file.
    let t = format!("{BASE}[output]\nsample_interval = \"4 us\"\n");
    let d = scratch(&t);
    let mut child = spawn_in(
        d.path(),
        &["run", "scenario.toml", "--out", "out", "--plot"],
    );
    // The CDF is drawn first, into the run's staging folder inside `out` (the files
    // move into place together at the end); the swarm figure right after it.
    let out = d.path().join("out");
    let staged_cdf = || {
        std::fs::read_dir(&out)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".swarmsim-staging")
                    && e.path().join("completion_cdf.png").exists()
            })
    };
    let t = Instant::now();
    while !staged_cdf() {
        assert!(t.elapsed() < Duration::from_secs(300), "no CDF drawn");
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before its figures"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let sent = Instant::now();
    let mut status = None;
    while sent.elapsed() < Duration::from_secs(30) {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = sent.elapsed();
    if status.is_none() {
        let _ = child.kill();
    }
    let o = child.wait_with_output().unwrap();
    eprintln!("stopped {took:?} after SIGTERM");
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(2),
        "stopped {took:?} after the signal"
    );
    assert!(!out.join("swarm.png").exists());
    for f in std::fs::read_dir(&out).unwrap() {
        let n = f.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.contains(".tmp"), "{n} left behind");
    }
    assert!(out.join("summary.csv").exists());
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
}

#[test]
fn a_one_nanosecond_rechoke_is_refused() {
    // 1 ns rechokes (with optimistic_interval and rate_window 1 ns) gave 1.1e10
    // events per virtual second; every timer interval is now at least 100 ms.
    let t = format!(
        "{BASE}rechoke_interval = \"1 ns\"\noptimistic_interval = \"1 ns\"\nrate_window = \"1 ns\"\n"
    );
    let d = scratch(&t);
    let o = run_bounded(d.path(), &["run", "scenario.toml", "--out", "out"], 60);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    insta::assert_snapshot!(stderr(&o).trim_end(), @r#"error: scenario.toml: field `protocol.rate_window` = "1 ns": must be at least 0.1 s (a timer interval; real clients rechoke every 10 to 15 s and announce every few minutes)"#);
    assert!(!d.path().join("out").exists());
}

#[test]
fn a_late_arrival_does_not_tick_through_the_gap() {
    // The second of two peers arrives after 106751 days (9.2e9 s): the server's and
    // the first peer's rechokes every 10 s used to tick through the gap, 1.86e9
    // events in 161 s. They now sleep until the last tick before the arrival.
    let t = BASE.replace("count = 5", "count = 1")
        + "[[peers]]\nname = \"late\"\ncount = 1\nupload = \"100 kB/s\"\ndownload = \"unlimited\"\n\
           arrival = { process = \"times\", times = [\"106751 d\"] }\n";
    let t = t.replace(
        "name = \"base\"",
        "name = \"base\"\nmax_time = \"106751.9 d\"",
    );
    let d = scratch(&t);
    let o = run_bounded(d.path(), &["run", "scenario.toml", "--out", "out"], 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = std::fs::read_to_string(d.path().join("out/summary.csv")).unwrap();
    let mut l = summary.lines();
    let h: Vec<&str> = l.next().unwrap().split(',').collect();
    let r: Vec<&str> = l.next().unwrap().split(',').collect();
    let get = |k: &str| r[h.iter().position(|x| *x == k).unwrap()];
    assert_eq!(get("status"), "completed");
    let events: u64 = get("events").parse().unwrap();
    // Two peers of 10 chunks each, their rechokes while they download: hundreds.
    assert!(events < 1000, "{events} events");
}

#[test]
fn check_estimates_the_events_of_a_large_run() {
    // 63 peers, a 1 bit/s server and 1 s rechokes took 2.0e9 events. `check` now
    // says so before the run: 64 nodes rechoking every second for at least the
    // lower bound F / u_s = 8e6 s (1 MB at 1 bit/s) is 5e8 rechokes.
    let t = BASE
        .replace("count = 5", "count = 63")
        .replace("upload = \"1 MB/s\"", "upload = \"1 bit/s\"")
        + "rechoke_interval = \"1 s\"\noptimistic_interval = \"3 s\"\nrate_window = \"2 s\"\n";
    let d = scratch(&t);
    let o = run_bounded(d.path(), &["check", "scenario.toml"], 60);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("events"))
        .unwrap_or_else(|| panic!("no estimate in {out}"));
    assert!(line.contains("e8") || line.contains("e9"), "{line}");
    // A small scenario gets no such line.
    let d = scratch(BASE);
    let o = run_bounded(d.path(), &["check", "scenario.toml"], 60);
    assert!(!stdout(&o).contains("events"), "{}", stdout(&o));
}
