//! File-system safety: what swarmsim writes, replaces and reads. Nothing outside the
//! output folder is touched, nothing of the user's is replaced without --force, a
//! refused or failed command leaves the folder as it was, one writer at a time, and
//! only regular files are read.

use super::*;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

/// BASE with a two-point, two-replication grid over the number of peers.
fn grid() -> String {
    format!(
        "{BASE}[sweep]\nreplications = 2\n[[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [3, 5]\n"
    )
}

/// Every file under `dir` (recursively, links not followed) with its bytes, or the
/// link's target for a symbolic link: a snapshot to compare before and after.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        let p = e.path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        let name = p.display().to_string();
        if m.file_type().is_symlink() {
            let t = std::fs::read_link(&p).unwrap();
            out.push((name, format!("-> {}", t.display()).into_bytes()));
        } else if m.is_dir() {
            out.push((name, b"<dir>".to_vec()));
            out.extend(snapshot(&p));
        } else {
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn refused(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(o), stderr(o));
    stderr(o)
}

#[test]
fn a_symlink_planted_in_the_output_folder_is_never_followed() {
    let d = scratch(BASE);
    let p = d.path();
    std::fs::write(p.join("grid.toml"), grid()).unwrap();
    let victim = p.join("victim.txt");
    std::fs::write(&victim, "the user's file\n").unwrap();
    // Links at every temporary name swarmsim ever used (".NAME.tmp"), at the lock
    // file and at a stale staging folder's name, all pointing outside the folder.
    let plant = |dir: &str| {
        std::fs::create_dir_all(p.join(dir)).unwrap();
        for n in [
            "summary.csv",
            "peers.csv",
            "timeseries.csv",
            "manifest.toml",
            "sweep.toml",
            "runs.csv",
            "points.csv",
            "journal.csv",
            "completion_cdf.png",
            "swarm.png",
        ] {
            std::os::unix::fs::symlink(&victim, p.join(dir).join(format!(".{n}.tmp"))).unwrap();
        }
        for n in [
            ".d_vs_n.tmp.png",
            ".completion_cdf.tmp.png",
            ".swarm.tmp.png",
        ] {
            std::os::unix::fs::symlink(&victim, p.join(dir).join(n)).unwrap();
        }
    };
    plant("out");
    ok(&run_in(
        p,
        &["run", "scenario.toml", "--out", "out", "--plot"],
    ));
    plant("sw");
    ok(&run_in(
        p,
        &["sweep", "grid.toml", "--out", "sw", "--quiet"],
    ));
    plant("m");
    ok(&run_in(p, &["merge", "sw", "--out", "m", "--force"]));
    ok(&run_in(p, &["plot", "sw", "--out", "sw/d_vs_n.png"]));
    // The victim outside the folders is as it was, and every result is a regular
    // file, not a link to it.
    assert_eq!(read(&victim), "the user's file\n");
    for (dir, names) in [
        (
            "out",
            &[
                "summary.csv",
                "peers.csv",
                "timeseries.csv",
                "manifest.toml",
                "completion_cdf.png",
                "swarm.png",
            ][..],
        ),
        (
            "sw",
            &["runs.csv", "points.csv", "manifest.toml", "d_vs_n.png"][..],
        ),
        (
            "m",
            &["runs.csv", "points.csv", "manifest.toml", "d_vs_n.png"][..],
        ),
    ] {
        for n in names {
            let m = std::fs::symlink_metadata(p.join(dir).join(n)).unwrap();
            assert!(m.is_file(), "{dir}/{n} is a regular file");
        }
    }
    // A link where the lock file goes is not followed either: refused, victim intact.
    std::os::unix::fs::symlink(&victim, p.join("out/.swarmsim.lock")).unwrap();
    let o = run_in(p, &["run", "scenario.toml", "--out", "out"]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(".swarmsim.lock"), "{}", stderr(&o));
    assert_eq!(read(&victim), "the user's file\n");
}

#[test]
fn a_refused_resume_leaves_the_journal_untouched() {
    let d = scratch(&grid());
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "sw", "--quiet"],
    ));
    // An unrelated file whose last line has no newline, copied over the journal:
    // refused (other columns), and not one byte of it cut.
    let unrelated = "a,b,c\n1,2,3\n4,5,6";
    std::fs::write(p.join("sw/journal.csv"), unrelated).unwrap();
    let o = run_in(p, &["sweep", "scenario.toml", "--out", "sw", "--resume"]);
    refused(&o);
    assert_eq!(read(&p.join("sw/journal.csv")), unrelated);
    // The same file outside the folder, linked as the journal: refused, not cut.
    std::fs::write(p.join("elsewhere.csv"), unrelated).unwrap();
    std::fs::remove_file(p.join("sw/journal.csv")).unwrap();
    std::os::unix::fs::symlink(p.join("elsewhere.csv"), p.join("sw/journal.csv")).unwrap();
    let o = run_in(p, &["sweep", "scenario.toml", "--out", "sw", "--resume"]);
    refused(&o);
    assert_eq!(read(&p.join("elsewhere.csv")), unrelated);
}

#[test]
fn a_refused_resume_writes_nothing() {
    let d = scratch(&grid());
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "sw", "--quiet"],
    ));
    let before = snapshot(&p.join("sw"));
    // The folder holds the whole grid, not shard 1 of 2.
    let o = run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--out",
            "sw",
            "--resume",
            "--shard",
            "1/2",
        ],
    );
    assert!(refused(&o).contains("holds shard 1/1"), "{}", stderr(&o));
    assert_eq!(snapshot(&p.join("sw")), before, "the folder changed");
    // Another scenario: refused, nothing written either.
    let o = run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--out",
            "sw",
            "--resume",
            "--set",
            "seed=9",
        ],
    );
    refused(&o);
    assert_eq!(snapshot(&p.join("sw")), before, "the folder changed");
}

#[test]
fn the_users_own_figures_are_not_deleted_without_force() {
    let d = scratch(BASE);
    let p = d.path();
    std::fs::write(p.join("grid.toml"), grid()).unwrap();
    std::fs::create_dir(p.join("figs")).unwrap();
    for f in ["swarm.png", "completion_cdf.png", "d_vs_n.png"] {
        std::fs::write(p.join("figs").join(f), format!("my own {f}")).unwrap();
    }
    let before = snapshot(&p.join("figs"));
    let o = run_in(p, &["run", "scenario.toml", "--out", "figs"]);
    assert!(refused(&o).contains("figs already holds"), "{}", stderr(&o));
    assert_eq!(snapshot(&p.join("figs")), before);
    let o = run_in(p, &["sweep", "grid.toml", "--out", "figs", "--quiet"]);
    refused(&o);
    assert_eq!(snapshot(&p.join("figs")), before);
    // A folder holding only the user's manifest.toml is not swarmsim's either.
    std::fs::create_dir(p.join("mine")).unwrap();
    std::fs::write(p.join("mine/manifest.toml"), "title = \"my notes\"\n").unwrap();
    refused(&run_in(p, &["run", "scenario.toml", "--out", "mine"]));
    assert_eq!(
        read(&p.join("mine/manifest.toml")),
        "title = \"my notes\"\n"
    );
    // Unrelated files are no obstacle; --force replaces.
    std::fs::create_dir(p.join("notes")).unwrap();
    std::fs::write(p.join("notes/todo.txt"), "x").unwrap();
    ok(&run_in(p, &["run", "scenario.toml", "--out", "notes"]));
    assert_eq!(read(&p.join("notes/todo.txt")), "x");
    ok(&run_in(
        p,
        &["run", "scenario.toml", "--out", "figs", "--force"],
    ));
    assert!(!p.join("figs/d_vs_n.png").exists());
}

/// `swarmsim ARGS` with stdout (and stderr too if `both`) on /dev/full.
fn to_dev_full(dir: &Path, args: &[&str], both: bool) -> Output {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let mut c = bin();
    c.current_dir(dir).args(args).stdout(full());
    if both {
        c.stderr(full());
        let st = c.status().unwrap();
        return Output {
            status: st,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
    }
    c.stderr(Stdio::piped());
    c.output().unwrap()
}

#[test]
fn output_that_cannot_be_written_is_an_error_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let d = scratch(BASE);
    let p = d.path();
    std::fs::write(p.join("grid.toml"), grid()).unwrap();
    for args in [
        &["run", "scenario.toml", "--out", "r"][..],
        &["check", "scenario.toml"],
        &["bounds", "scenario.toml"],
        &["sweep", "grid.toml", "--out", "s", "--quiet"],
    ] {
        let o = to_dev_full(p, args, false);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("error: cannot write to standard output"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // Neither stream writable: still exit status 1, not a panic's 101.
        let o = to_dev_full(p, args, true);
        assert_eq!(o.status.code(), Some(1), "{args:?} with stderr full too");
    }
}

/// `swarmsim ARGS` with every file it writes limited to `limit` bytes (RLIMIT_FSIZE;
/// SIGXFSZ ignored, so a write past the limit fails with EFBIG as a full disk would).
fn run_with_file_limit(dir: &Path, args: &[&str], limit: u64) -> Output {
    let mut c = bin();
    c.current_dir(dir).args(args);
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
    unsafe {
        c.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    c.output().unwrap()
}

/// No staging folder or temporary file is left in `dir`.
fn no_leftovers(dir: &Path) {
    let f = files(dir);
    assert!(
        !f.iter().any(|n| n.starts_with('.')),
        "leftovers in {}: {f:?}",
        dir.display()
    );
}

#[test]
fn a_failed_write_leaves_the_earlier_results_whole() {
    // 300 peers: peers.csv is about 100 bytes a peer, 30 kB; summary.csv 600 bytes.
    // With every file limited to 8 kB, summary.csv can be written, peers.csv cannot.
    let d = scratch(BASE);
    let p = d.path();
    ok(&run_in(p, &["run", "scenario.toml", "--out", "out"]));
    let before = snapshot(&p.join("out"));
    let big = [
        "run",
        "scenario.toml",
        "--out",
        "out",
        "--force",
        "--set",
        "peers.0.count=300",
    ];
    let o = run_with_file_limit(p, &big, 8192);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("peers.csv"), "{}", stderr(&o));
    assert_eq!(snapshot(&p.join("out")), before, "the old run is not whole");
    no_leftovers(&p.join("out"));
    // Into a new folder (and parent): nothing at all is left, not even the folders,
    // and the same command then runs.
    let fresh = [
        "run",
        "scenario.toml",
        "--out",
        "new/run",
        "--set",
        "peers.0.count=300",
    ];
    let o = run_with_file_limit(p, &fresh, 8192);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!p.join("new").exists(), "{:?}", files(&p.join("new")));
    ok(&run_in(p, &fresh));
}

/// Mounts a tmpfs of `kb` kilobytes at `at`; false if this process may not mount.
fn mount_tmpfs(at: &Path, kb: u32) -> bool {
    std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={kb}k"), "tmpfs"])
        .arg(at)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_full_disk_leaves_the_earlier_results_whole() {
    let d = scratch(BASE);
    let p = d.path();
    let disk = p.join("disk");
    std::fs::create_dir(&disk).unwrap();
    if !mount_tmpfs(&disk, 64) {
        // (Mounting needs root; the file-size limit test covers the same path.)
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Unmount(disk.clone());
    // A 64 kB disk: a 5-peer run fits (about 2 kB); 2000 peers (peers.csv about
    // 200 kB) do not.
    ok(&run_in(p, &["run", "scenario.toml", "--out", "disk/out"]));
    let before = snapshot(&disk.join("out"));
    let o = run_in(
        p,
        &[
            "run",
            "scenario.toml",
            "--out",
            "disk/out",
            "--force",
            "--set",
            "peers.0.count=2000",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));
    assert_eq!(
        snapshot(&disk.join("out")),
        before,
        "the old run is not whole"
    );
    no_leftovers(&disk.join("out"));
    let fresh = [
        "run",
        "scenario.toml",
        "--out",
        "disk/new",
        "--set",
        "peers.0.count=2000",
    ];
    let o = run_in(p, &fresh);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(files(&disk.join("new")), Vec::<String>::new());
    // With room again (the old run removed), the same command is not refused.
    std::fs::remove_dir_all(disk.join("out")).unwrap();
    let small = ["run", "scenario.toml", "--out", "disk/new"];
    ok(&run_in(p, &small));
}

#[test]
fn a_second_writer_into_the_same_folder_is_refused_naming_the_first() {
    let d = scratch(LONG);
    let p = d.path();
    std::fs::write(p.join("base.toml"), BASE).unwrap();
    std::fs::write(p.join("grid.toml"), grid()).unwrap();
    let mut first = spawn_in(p, &["run", "scenario.toml", "--out", "out"]);
    // Let it load the scenario and simulate for a while.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(first.try_wait().unwrap().is_none(), "finished too early");
    let pid = first.id().to_string();
    for args in [
        &["run", "base.toml", "--out", "out"][..],
        &["run", "base.toml", "--out", "out", "--force"],
        &["sweep", "grid.toml", "--out", "out", "--quiet", "--force"],
    ] {
        let o = run_in(p, args);
        let err = refused(&o);
        assert!(err.contains("being written by"), "{args:?}: {err}");
        assert!(err.contains(&format!("pid {pid}")), "{args:?}: {err}");
        assert!(
            err.contains("swarmsim run scenario.toml --out out"),
            "{args:?}: {err}"
        );
    }
    let (status, _) = signal_and_wait(&mut first, libc::SIGINT);
    assert_eq!(status.and_then(|s| s.code()), Some(130));
    // The lock went with it: the folder is free again.
    ok(&run_in(p, &["run", "base.toml", "--out", "out"]));
    no_leftovers(&p.join("out"));
}

#[test]
fn plot_out_refuses_to_replace_a_file_it_did_not_draw() {
    let d = scratch(&grid());
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "sw", "--quiet"],
    ));
    for name in ["mine.png", "mine.svg"] {
        std::fs::write(p.join(name), "the user's picture").unwrap();
        let o = run_in(p, &["plot", "sw", "--out", name]);
        assert!(refused(&o).contains(name), "{}", stderr(&o));
        assert_eq!(read(&p.join(name)), "the user's picture");
        ok(&run_in(p, &["plot", "sw", "--out", name, "--force"]));
        assert_ne!(std::fs::read(p.join(name)).unwrap(), b"the user's picture");
        // A figure swarmsim drew is its own to redraw.
        ok(&run_in(p, &["plot", "sw", "--out", name]));
    }
    // The sweep's own figure, and a new file, need no --force.
    ok(&run_in(p, &["plot", "sw"]));
    ok(&run_in(p, &["plot", "sw", "--out", "new.svg"]));
    ok(&run_in(p, &["plot", "sw", "--out", "new.svg"]));
}

/// Makes a FIFO at `p`.
fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[test]
fn a_fifo_given_as_the_scenario_is_refused_at_once() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    mkfifo(&p.join("s.toml"));
    for cmd in ["check", "bounds", "run", "sweep"] {
        let mut c = bin();
        c.current_dir(p).args([cmd, "s.toml"]);
        let o = output_within(&mut c, 10);
        let err = refused(&o);
        assert!(
            err.contains("s.toml") && err.contains("FIFO"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn fifos_sockets_and_devices_are_refused_wherever_a_file_is_expected() {
    let d = scratch(&grid());
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "sw", "--quiet"],
    ));
    // A socket and a device as the scenario.
    let _sock = std::os::unix::net::UnixListener::bind(p.join("sock.toml")).unwrap();
    let err = refused(&output_within(&mut bin_in(p, &["check", "sock.toml"]), 10));
    assert!(err.contains("sock.toml") && err.contains("socket"), "{err}");
    let err = refused(&output_within(&mut bin_in(p, &["check", "/dev/null"]), 10));
    assert!(err.contains("/dev/null") && err.contains("device"), "{err}");
    // A FIFO as points.csv (plot) and as a shard's runs.csv and sweep.toml (merge),
    // and as the manifest of an output folder.
    for (dir, file, args) in [
        ("p", "points.csv", &["plot", "p", "--out", "f.png"][..]),
        ("q", "runs.csv", &["merge", "q", "--out", "mq"]),
        ("r", "sweep.toml", &["merge", "r", "--out", "mr"]),
        (
            "t",
            "manifest.toml",
            &["run", "scenario.toml", "--out", "t"],
        ),
    ] {
        std::fs::create_dir(p.join(dir)).unwrap();
        for f in ["sweep.toml", "runs.csv", "points.csv"] {
            if f != file {
                std::fs::copy(p.join("sw").join(f), p.join(dir).join(f)).unwrap();
            }
        }
        mkfifo(&p.join(dir).join(file));
        let err = refused(&output_within(&mut bin_in(p, args), 10));
        assert!(
            err.contains(&format!("{dir}/{file}")) || err.contains(dir),
            "{args:?}: {err}"
        );
    }
}

fn bin_in(dir: &Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.current_dir(dir).args(args);
    c
}

#[test]
fn an_unfinished_write_is_overwritten_by_the_same_command_only() {
    // What a crash while a run's files are renamed into place leaves: the marker
    // holding the new manifest, no manifest yet, a mix of files.
    let d = scratch(BASE);
    let p = d.path();
    ok(&run_in(p, &["run", "scenario.toml", "--out", "out"]));
    let m = read(&p.join("out/manifest.toml"));
    std::fs::write(p.join("out/.swarmsim-incomplete"), &m).unwrap();
    std::fs::remove_file(p.join("out/manifest.toml")).unwrap();
    std::fs::write(p.join("out/summary.csv"), "torn").unwrap();
    let o = run_in(p, &["run", "scenario.toml", "--out", "out", "--seed", "2"]);
    assert!(
        refused(&o).contains("an unfinished write of the run of scenario `base` (seed 1)"),
        "{}",
        stderr(&o)
    );
    // The same command finishes it: the files are whole and the marker is gone.
    ok(&run_in(p, &["run", "scenario.toml", "--out", "out"]));
    assert_eq!(read(&p.join("out/manifest.toml")), m);
    assert!(read(&p.join("out/summary.csv")).starts_with("scenario,"));
    no_leftovers(&p.join("out"));
}
