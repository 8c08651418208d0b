//! A run that panics (a bug in the simulator): `run`, `sweep` and `validate` end at
//! once with an error naming the run, exit status 1, and leave no result that looks
//! complete. The panic is made on purpose by the test hook: a run whose seed is
//! `SWARMSIM_TEST_PANIC_SEED` panics when it starts (`swarmsim::model::catch_run`'s
//! module). Every command here runs under a time limit, so a hang fails the test
//! instead of stalling the suite.

use super::*;
use swarmsim::model::TEST_PANIC_SEED_VAR;
use swarmsim::stats::derive_seed;

/// The panic's message, as the hook words it.
const HOOK_MESSAGE: &str = "test panic: SWARMSIM_TEST_PANIC_SEED is this run's seed";

/// The note printed after the error of a panicked run.
const NOTE: &str = "note: a panic is a bug in swarmsim, not in the scenario: please report it \
                    with the scenario file and the command line";

/// The binary in `dir` with `args`, a run of seed `seed` set to panic.
fn panicking(dir: &std::path::Path, seed: u64, args: &[&str]) -> Command {
    let mut c = bin();
    c.current_dir(dir)
        .args(args)
        .env(TEST_PANIC_SEED_VAR, seed.to_string());
    c
}

#[test]
fn a_panicking_run_stops_the_sweep_at_once_naming_the_run() {
    // Two runs on two workers: run 0 is the client-server swarm of [`LONG`] (minutes
    // of CPU), run 1 has 10 peers and panics as it starts. The sweep prints its
    // progress lines (no --quiet, standard error not a terminal). Before the fix the
    // panic reached the command's scope while the progress printer never stopped:
    // the sweep hung for good, and a SIGTERM only set the flag nobody read.
    let t = LONG.replacen("name = \"long\"\n", "name = \"long\"\nseed = 11\n", 1)
        + "[sweep]\n[[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [3000, 10]\n";
    let d = scratch(&t);
    let p = d.path();
    // Run 1 is point 1, replication 0 (run order: point-major).
    let seed = derive_seed(11, 1, 0);
    let start = Instant::now();
    let o = output_within(
        &mut panicking(
            p,
            seed,
            &["sweep", "scenario.toml", "--out", "out", "--jobs", "2"],
        ),
        60,
    );
    let took = start.elapsed();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: the sweep stopped: 0 of 2 runs are finished and kept in out/journal.csv; \
             runs.csv was not written: run 1 (point 1: peers.0.count = 10, replication 0): \
             the run of scenario `long` (seed {seed}) panicked: {HOOK_MESSAGE}\n{NOTE}\n"
        )),
        "{err}"
    );
    // The run in flight (minutes of work) was stopped, not waited for.
    eprintln!("sweep ended {took:?} after it started");
    // Nothing looks complete: no runs.csv or points.csv; a journal of its header only.
    assert_eq!(files(&p.join("out")), STOPPED_SWEEP_FILES);
    assert_eq!(read(&p.join("out/journal.csv")).lines().count(), 1);
}

#[test]
fn after_a_panicking_run_the_finished_runs_are_kept_and_resume_completes() {
    // Four short runs on one worker, which takes them in order: runs 0 and 1 finish,
    // run 2 panics, run 3 never starts.
    let t = BASE.replacen("name = \"base\"\n", "name = \"base\"\nseed = 3\n", 1)
        + "[sweep]\n[[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [2, 3, 4, 5]\n";
    let d = scratch(&t);
    let p = d.path();
    let seed = derive_seed(3, 2, 0);
    let args = ["sweep", "scenario.toml", "--out", "out", "--jobs", "1"];
    let o = output_within(&mut panicking(p, seed, &args), 60);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "2 of 4 runs are finished and kept in out/journal.csv; runs.csv was not written: \
             run 2 (point 2: peers.0.count = 4, replication 0): the run of scenario `base` \
             (seed {seed}) panicked: {HOOK_MESSAGE}"
        )),
        "{err}"
    );
    assert!(!p.join("out/runs.csv").exists());
    let journal = read(&p.join("out/journal.csv"));
    let runs: Vec<&str> = journal
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(runs, ["0", "1"]);
    // The folder is a sweep to resume, as after a signal: without the panic the
    // same command with --resume simulates runs 2 and 3 and writes the tables.
    let mut again = args.to_vec();
    again.push("--resume");
    let o = output_within(bin().current_dir(p).args(&again), 60);
    ok(&o);
    assert!(
        stdout(&o).contains("4 (2 simulated now, 2 from the journal)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(read(&p.join("out/runs.csv")).lines().count(), 1 + 4);
}

#[test]
fn a_panicking_run_is_an_error_and_writes_nothing() {
    // Before the fix the panic reached `main`: exit status 101 and Rust's own
    // message only.
    let d = scratch(BASE);
    let o = output_within(
        &mut panicking(
            d.path(),
            7,
            &["run", "scenario.toml", "--seed", "7", "--out", "out"],
        ),
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "error: the run stopped and nothing was written to out: the run of scenario \
             `base` (seed 7) panicked: {HOOK_MESSAGE}\n{NOTE}\n"
        )),
        "{err}"
    );
    assert_eq!(files(&d.path().join("out")), Vec::<String>::new());
    assert_eq!(files(d.path()), ["scenario.toml"]);
}

#[test]
fn a_panicking_validation_run_is_an_error_and_writes_no_table() {
    // Case 7 runs models-agree-cs.toml (and models-agree.toml) as shipped, seed 7.
    // Before the fix the panic reached `main`: exit status 101.
    let d = tempfile::tempdir().expect("tempdir");
    let o = output_within(
        &mut panicking(d.path(), 7, &["validate", "--quick", "--out", "v"]),
        300,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: a validation case stopped; validation.csv was not written: the run of scenario `"),
        "{err}"
    );
    assert!(
        err.contains(&format!("(seed 7) panicked: {HOOK_MESSAGE}\n{NOTE}\n")),
        "{err}"
    );
    assert_eq!(files(&d.path().join("v")), Vec::<String>::new());
}

#[test]
fn sigterm_stops_a_sweep_that_prints_progress_lines() {
    // The sweep of the SIGINT test in robust.rs, without --quiet: its progress
    // printer runs beside the workers and must end with them.
    let t = LONG.to_string()
        + "[sweep]\nreplications = 4\n[[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [3000]\n";
    let d = scratch(&t);
    let mut child = spawn_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "out", "--jobs", "2"],
    );
    let journal = d.path().join("out/journal.csv");
    assert!(wait_for(60, || journal.exists()), "the sweep did not start");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "finished too early");
    let (status, took) = signal_and_wait(&mut child, libc::SIGTERM);
    let status = status.expect("stops after the signal");
    let o = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&o));
    assert!(
        took < std::time::Duration::from_secs(1),
        "stopped {took:?} after the signal"
    );
    eprintln!("sweep stopped {took:?} after SIGTERM");
    assert!(!d.path().join("out/runs.csv").exists());
}
