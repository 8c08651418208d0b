//! The docs test: every command shown in `README.md`, `docs/*.md` and the scenario
//! headers runs as written. The convention (docs/TESTING.md, "Commands in the docs"):
//!
//! - **Markdown.** A fenced code block whose info string starts with `sh` holds
//!   commands, one per line; a line ending in `\` continues on the next. Blank lines
//!   and lines starting with `#` are not commands. Other blocks (`toml`, `text`, none)
//!   are not commands.
//! - **Scenario headers.** In the comment block that opens a `.toml` file under
//!   `scenarios/` or `benches/`, a line whose text after `#` (and an optional `Run:`)
//!   starts with `swarmsim ` is a command, to the end of the line.
//! - **What runs.** A command whose program is `swarmsim` runs through `sh -c`, with
//!   the binary under test first on `PATH`, in a temporary copy of `scenarios/` and
//!   `benches/`; the commands of one document run in order in one folder, so a
//!   follow-up can read what an earlier one wrote. Each must exit with status 0, and
//!   the output it names must exist afterwards (`--out DIR`, or `results/<name>/` of
//!   a `run` or `sweep` without `--out`). Any other command (`cargo ...`, a script,
//!   a profiler) builds, tests or measures the project and is not run here; when its
//!   program is a path inside the repository (`scripts/bench.sh`, `fuzz/run.sh`) that
//!   file must exist and be executable.
//! - **Long commands.** A command that takes more than a few seconds ends in a shell
//!   comment starting with `# long`. A long `run` or `sweep` is replaced by `check`
//!   on the same scenario and `--set`s (which reads the scenario and checks every
//!   sweep point, in a fraction of a second); any other long command is checked by
//!   `swarmsim SUBCOMMAND --help` (the subcommand exists).

use super::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One command shown in a document.
#[derive(Debug, Clone, PartialEq)]
struct DocCommand {
    /// The command line as shown (continuations joined, the `# long` comment kept).
    line: String,
    /// 1-based line in the document where it starts.
    at: usize,
}

impl DocCommand {
    /// The line without a trailing shell comment (a `#` after white space, outside
    /// quotes).
    fn without_comment(&self) -> &str {
        let (mut single, mut double) = (false, false);
        let mut prev_space = true;
        for (i, c) in self.line.char_indices() {
            match c {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && prev_space => return self.line[..i].trim_end(),
                _ => {}
            }
            prev_space = c.is_whitespace();
        }
        self.line.trim_end()
    }

    /// Marked `# long`: too slow for the test suite.
    fn is_long(&self) -> bool {
        let rest = &self.line[self.without_comment().len()..];
        rest.trim_start()
            .trim_start_matches('#')
            .trim_start()
            .starts_with("long")
    }
}

/// The commands of a Markdown document: the lines of its `sh` code blocks.
fn markdown_commands(text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut in_sh: Option<bool> = None; // Some(is sh) inside a fence
    let mut pending: Option<DocCommand> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            in_sh = match in_sh {
                None => Some(
                    trimmed
                        .trim_start_matches('`')
                        .trim_start()
                        .starts_with("sh"),
                ),
                Some(_) => None,
            };
            continue;
        }
        if in_sh != Some(true) {
            continue;
        }
        if let Some(mut p) = pending.take() {
            let piece = trimmed.trim_end();
            match piece.strip_suffix('\\') {
                Some(head) => {
                    p.line = format!("{} {}", p.line, head.trim());
                    pending = Some(p);
                }
                None => {
                    p.line = format!("{} {}", p.line, piece.trim());
                    out.push(p);
                }
            }
            continue;
        }
        let line = trimmed.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cmd = DocCommand {
            line: line.trim_end_matches('\\').trim_end().to_string(),
            at: i + 1,
        };
        if line.ends_with('\\') {
            pending = Some(cmd);
        } else {
            out.push(cmd);
        }
    }
    out.extend(pending);
    out
}

/// The commands of a scenario file's header: `# [Run:] swarmsim ...` lines in the
/// comment block before the first line that is not a comment.
fn header_commands(text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let Some(comment) = raw.strip_prefix('#') else {
            break;
        };
        let body = comment.trim_start();
        let body = body.strip_prefix("Run:").unwrap_or(body).trim_start();
        if body.starts_with("swarmsim ") {
            out.push(DocCommand {
                line: body.trim_end().to_string(),
                at: i + 1,
            });
        }
    }
    out
}

/// Splits a command line into words as a POSIX shell would for the plain cases the
/// docs use (single and double quotes, backslash escapes outside single quotes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let (mut single, mut double) = (false, false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => {
                single = !single;
                in_word = true;
            }
            '"' if !single => {
                double = !double;
                in_word = true;
            }
            '\\' if !single => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            c if c.is_whitespace() && !single && !double => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The program a command line starts with, after `VAR=value` assignments.
fn program(words: &[String]) -> Option<&str> {
    words
        .iter()
        .map(String::as_str)
        .find(|w| !(w.contains('=') && !w.starts_with('-') && !w.contains('/')))
}

/// The value of `--out` in a swarmsim command, if given.
fn out_arg(words: &[String]) -> Option<&str> {
    words
        .windows(2)
        .find(|w| w[0] == "--out")
        .map(|w| w[1].as_str())
}

/// What a `long` swarmsim command is checked with instead: `check` on the same
/// scenario and `--set`s for `run` and `sweep`, else `SUBCOMMAND --help`.
fn stand_in(words: &[String]) -> Vec<String> {
    let sub = words.get(1).map(String::as_str).unwrap_or("");
    if sub != "run" && sub != "sweep" {
        return vec![sub.to_string(), "--help".to_string()];
    }
    let mut args = vec!["check".to_string()];
    let mut rest = words[2..].iter();
    while let Some(w) = rest.next() {
        if w == "--set" {
            args.push(w.clone());
            args.extend(rest.next().cloned());
        } else if let Some(v) = w.strip_prefix("--set=") {
            args.push(format!("--set={v}"));
        } else if w.starts_with("--") {
            // Flags that take a value: skip it too.
            if ["--out", "--seed", "--jobs", "--shard"].contains(&w.as_str()) {
                rest.next();
            }
        } else if args.len() == 1 {
            args.push(w.clone());
        }
    }
    args
}

/// The folder holding the binary under test, to put first on `PATH`.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_swarmsim"))
        .parent()
        .expect("the binary has a folder")
        .to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A temporary folder holding copies of `scenarios/` and `benches/`.
fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for sub in ["scenarios", "benches"] {
        copy_tree(&root().join(sub), &d.path().join(sub));
    }
    d
}

/// The scenario name of the file a swarmsim command reads (for its default folder).
fn scenario_name(dir: &Path, words: &[String]) -> Option<String> {
    let file = words.iter().skip(2).find(|w| !w.starts_with('-'))?;
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("name")?.as_str().map(str::to_string)
}

/// The outputs of the `run` and `sweep` commands already run, by command line: a
/// command shown again in another document (the quick start in README.md and in its
/// scenario's header) is not simulated twice; its output is copied instead.
#[derive(Default)]
struct Ran {
    /// Command line -> the output folder it wrote (in a workspace still alive).
    outputs: std::collections::HashMap<String, PathBuf>,
    /// The workspaces holding them.
    keep: Vec<tempfile::TempDir>,
}

/// Runs the commands of one document in order in `dir`; returns one line per failure.
/// A `run` or `sweep` without `--resume` or `--force` that `ran` holds, whose
/// output is not in `dir` yet, gets that output copied in instead of running again:
/// it reads the same scenario files and writes into an empty folder, so it would
/// write the same.
fn run_commands(doc: &str, commands: &[DocCommand], dir: &Path, ran: &mut Ran) -> Vec<String> {
    let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let mut failures = Vec::new();
    for c in commands {
        let shown = c.without_comment();
        let words = shell_words(shown);
        let Some(prog) = program(&words) else {
            continue;
        };
        if prog != "swarmsim" {
            // Building, testing and profiling are not run here; a script named by
            // its path must exist and be executable.
            if prog.contains('/') && !prog.starts_with('/') {
                let p = root().join(prog);
                let executable = std::fs::metadata(&p)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                    .unwrap_or(false);
                if !executable {
                    failures.push(format!(
                        "{doc}:{}: `{prog}` is not an executable file in the repository",
                        c.at
                    ));
                }
            }
            continue;
        }
        let sub = words.get(1).map(String::as_str).unwrap_or("");
        let named = match out_arg(&words) {
            Some(o) => Some(PathBuf::from(o)),
            None if sub == "run" || sub == "sweep" => {
                scenario_name(dir, &words).map(|n| Path::new("results").join(n))
            }
            None => None,
        };
        let reusable = !c.is_long()
            && (sub == "run" || sub == "sweep")
            && !words.iter().any(|w| w == "--resume" || w == "--force");
        if reusable
            && let Some(out) = &named
            && !dir.join(out).exists()
            && let Some(earlier) = ran.outputs.get(shown)
        {
            copy_tree(earlier, &dir.join(out));
            continue;
        }
        let output = if c.is_long() {
            Command::new(env!("CARGO_BIN_EXE_swarmsim"))
                .args(stand_in(&words))
                .current_dir(dir)
                .output()
        } else {
            Command::new("sh")
                .arg("-c")
                .arg(shown)
                .env("PATH", &path)
                .current_dir(dir)
                .output()
        }
        .expect("the command starts");
        if !output.status.success() {
            failures.push(format!(
                "{doc}:{}: `{}` exited with {}{}: {}",
                c.at,
                shown,
                output.status,
                if c.is_long() {
                    " (checked as `check`/`--help`)"
                } else {
                    ""
                },
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            continue;
        }
        if c.is_long() {
            continue;
        }
        if let Some(out) = named {
            if !dir.join(&out).exists() {
                failures.push(format!(
                    "{doc}:{}: `{shown}` exited with 0 but wrote no {}",
                    c.at,
                    out.display()
                ));
            } else if reusable {
                ran.outputs.insert(shown.to_string(), dir.join(&out));
            }
        }
    }
    failures
}

/// `README.md` and every `docs/*.md`, with their text.
fn markdown_documents() -> Vec<(String, String)> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("docs entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            (name, std::fs::read_to_string(&p).expect("read document"))
        })
        .collect()
}

/// Every `.toml` file under `scenarios/` and `benches/`, with its text.
fn scenario_files() -> Vec<(String, String)> {
    let mut files = super::files_under(&root().join("scenarios"), "toml");
    files.extend(super::files_under(&root().join("benches"), "toml"));
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            (name, std::fs::read_to_string(&p).expect("read scenario"))
        })
        .collect()
}

#[test]
fn commands_in_docs_and_scenario_headers_run_as_written() {
    // One test, so that a command shown in a document and in a scenario header (the
    // quick start) runs once.
    let mut ran = Ran::default();
    let mut failures = Vec::new();
    let mut found = 0;
    for (doc, text) in markdown_documents() {
        let commands = markdown_commands(&text);
        found += commands.len();
        let dir = workspace();
        failures.extend(run_commands(&doc, &commands, dir.path(), &mut ran));
        ran.keep.push(dir);
    }
    // README.md alone shows more than this; a parser that finds nothing fails here.
    assert!(
        found >= 5,
        "only {found} commands found in the Markdown documents"
    );
    let mut without = Vec::new();
    for (doc, text) in scenario_files() {
        let commands = header_commands(&text);
        if commands.is_empty() {
            without.push(doc.clone());
        }
        let dir = workspace();
        failures.extend(run_commands(&doc, &commands, dir.path(), &mut ran));
        ran.keep.push(dir);
    }
    // Every shipped scenario says how to run it (DESIGN.md, "scenarios/").
    assert!(
        without.is_empty(),
        "no command in the header of {without:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_convention_reads_blocks_headers_and_long_marks() {
    // Hand-written documents: what counts as a command, per the module's convention.
    let md = "text `swarmsim run x` in prose\n\n```sh\n# a comment\nswarmsim run a.toml  # the run\n\
              swarmsim sweep b.toml \\\n    --set 'k=v w' --out r   # long: minutes\n```\n\n\
              ```toml\nswarmsim = 1\n```\n```\nswarmsim run c.toml\n```\n";
    let got = markdown_commands(md);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].at, 5);
    assert_eq!(got[0].without_comment(), "swarmsim run a.toml");
    assert!(!got[0].is_long());
    assert_eq!(
        got[1].without_comment(),
        "swarmsim sweep b.toml --set 'k=v w' --out r"
    );
    assert!(got[1].is_long());
    let words = shell_words(got[1].without_comment());
    assert_eq!(words[4], "k=v w");
    assert_eq!(stand_in(&words), ["check", "b.toml", "--set", "k=v w"]);
    assert_eq!(out_arg(&words), Some("r"));

    let toml = "# Question: why?\n# Run: swarmsim run s.toml\n#      swarmsim run s.toml --set 'a=1 s' --out o\n\
                #   (a note, not a command)\nname = \"s\"\n# swarmsim run after.toml\n";
    let got = header_commands(toml);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].line, "swarmsim run s.toml --set 'a=1 s' --out o");
    assert_eq!(
        program(&shell_words("PROPTEST_CASES=5 cargo test")),
        Some("cargo")
    );
}

#[test]
fn a_broken_command_fails_the_docs_test() {
    // The runner must report what the docs test exists to catch: a command refused
    // as written (a follow-up writing into the base command's folder), a missing
    // scenario, a script that is not in the repository, a flag the command lacks.
    let dir = workspace();
    let md = "```sh\nswarmsim run scenarios/kurose-ross-30.toml\n\
              swarmsim run scenarios/kurose-ross-30.toml --set protocol.kind=client-server\n\
              swarmsim run scenarios/no-such-file.toml\n\
              scripts/no-such-script.sh\n\
              swarmsim bounds scenarios/kurose-ross-30.toml --out nowhere\n```\n";
    let failures = run_commands(
        "test.md",
        &markdown_commands(md),
        dir.path(),
        &mut Ran::default(),
    );
    assert_eq!(failures.len(), 4, "{failures:#?}");
    assert!(failures[0].contains("test.md:3:") && failures[0].contains("already holds"));
    assert!(failures[1].contains("test.md:4:"));
    assert!(failures[2].contains("no-such-script.sh"));
    assert!(failures[3].contains("test.md:6:"));
}

/// Every name in each enum's name table (the table the parser, the printer and the
/// error message read) is listed, quoted, in the row of its field in
/// docs/SCENARIOS.md: a value added to a table and not to the docs fails here.
#[test]
fn every_named_value_is_in_the_field_reference() {
    use swarmsim::network::ModelKind;
    use swarmsim::scenario::{
        ChokerKind, IdleRetry, LostInterest, OptimisticPick, PickerKind, Preset, ProtocolKind,
        RequestModel, RequestRate, SeedChoker, StartedOrder,
    };
    let doc = std::fs::read_to_string(root().join("docs/SCENARIOS.md")).expect("read docs");
    let row = |field: &str| -> &str {
        doc.lines()
            .find(|l| l.starts_with(&format!("| {field} |")))
            .unwrap_or_else(|| panic!("docs/SCENARIOS.md has no row for {field}"))
    };
    let names = |t: &[&'static str]| t.to_vec();
    let fields: [(&str, Vec<&str>); 12] = [
        ("`[protocol] kind`", names(&ProtocolKind::ALL.map(|p| p.0))),
        ("`[network] model`", names(&ModelKind::ALL.map(|p| p.0))),
        ("`preset`", names(&Preset::ALL.map(|p| p.0))),
        ("`picker`", names(&PickerKind::ALL.map(|p| p.0))),
        ("`choker`", names(&ChokerKind::ALL.map(|p| p.0))),
        ("`seed_choker`", names(&SeedChoker::ALL.map(|p| p.0))),
        ("`requests`", names(&RequestModel::ALL.map(|p| p.0))),
        (
            "`optimistic_pick`",
            names(&OptimisticPick::ALL.map(|p| p.0)),
        ),
        ("`lost_interest`", names(&LostInterest::ALL.map(|p| p.0))),
        ("`started_chunks`", names(&StartedOrder::ALL.map(|p| p.0))),
        ("`request_rate`", names(&RequestRate::ALL.map(|p| p.0))),
        ("`idle_retry`", names(&IdleRetry::ALL.map(|p| p.0))),
    ];
    for (field, values) in fields {
        let r = row(field);
        for v in values {
            assert!(
                r.contains(&format!("`\"{v}\"`")),
                "{field}: \"{v}\" missing in: {r}"
            );
        }
    }
}

#[test]
fn a_command_shown_twice_runs_once() {
    // A run shown in two documents: the second gets the first's output copied, so a
    // file put into the first output after it ran appears in the second; the same
    // command with --force is run (it may replace what is there) and writes its own.
    let mut ran = Ran::default();
    let md = "```sh\nswarmsim run scenarios/kurose-ross-30.toml --out r\n```\n";
    let first = workspace();
    let failures = run_commands("a.md", &markdown_commands(md), first.path(), &mut ran);
    assert!(failures.is_empty(), "{failures:?}");
    std::fs::write(first.path().join("r/marker"), "from a.md").expect("write marker");
    let second = workspace();
    let failures = run_commands("b.md", &markdown_commands(md), second.path(), &mut ran);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        std::fs::read_to_string(second.path().join("r/marker")).ok(),
        Some("from a.md".to_string())
    );
    let forced = "```sh\nswarmsim run scenarios/kurose-ross-30.toml --out f --force\n```\n";
    for dir in [&first, &second] {
        let failures = run_commands("c.md", &markdown_commands(forced), dir.path(), &mut ran);
        assert!(failures.is_empty(), "{failures:?}");
        assert!(dir.path().join("f/summary.csv").exists());
    }
}
