//! What every integration-test binary shares: where the test inputs are (all
//! inside the repository) and running the built `aibnet` as a user would.
//!
//! Each area's binary includes this module (`#[path = "../common/mod.rs"]
//! mod common;`, or `mod common;` beside it) and uses part of it, so unused
//! items are expected in any one binary.

#![allow(dead_code)]

pub mod bytes;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository's root. Tests read nothing outside it (`.ci/run` checks),
/// so `cargo test` passes in a fresh clone.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `captures/REL`: the lab's recorded scenarios and the fixtures (`config/`,
/// `errors/`, `bad/`).
pub fn captures(rel: &str) -> PathBuf {
    repo().join("captures").join(rel)
}

/// A configuration fixture (NSG, subnet, VNET, route table, template as
/// `az` prints them), `captures/config/NAME`.
pub fn config_fixture(name: &str) -> PathBuf {
    captures(&format!("config/{name}"))
}

/// A build log or error text in its log noise, `captures/errors/NAME`.
pub fn error_fixture(name: &str) -> PathBuf {
    captures(&format!("errors/{name}"))
}

/// `tests/data/REL`: the third-party inputs (see `tests/data/SOURCES.md`).
/// Missing data is a failure, never a skipped check: a test that walks a
/// folder that is not there would otherwise pass on nothing.
pub fn data(rel: &str) -> PathBuf {
    let p = repo().join("tests/data").join(rel);
    assert!(
        p.exists(),
        "{} is missing: tests/data is part of the repository",
        p.display()
    );
    p
}

/// The public traces with their expected outputs, `tests/data/traces/`.
pub fn traces() -> PathBuf {
    data("traces")
}

/// A public trace or its expected output, `tests/data/traces/REL`.
pub fn trace(rel: &str) -> PathBuf {
    data(&format!("traces/{rel}"))
}

/// A flow-log sample, `tests/data/flowlogs/samples/NAME`.
pub fn flowlog_sample(name: &str) -> PathBuf {
    data(&format!("flowlogs/samples/{name}"))
}

/// A real AIB template, `tests/data/aib/NAME`.
pub fn aib_template(name: &str) -> PathBuf {
    data(&format!("aib/{name}"))
}

/// The `aibnet` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_aibnet");

/// `aibnet` as a command. `NO_COLOR` and `COLUMNS` are removed from the
/// caller's environment, so plain output at the default width is what a
/// pipe gets, not what the variables ask for.
pub fn aibnet() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("NO_COLOR").env_remove("COLUMNS");
    c
}

/// A finished run of the binary.
pub struct Run {
    /// Standard output (UTF-8).
    pub stdout: String,
    /// Standard error (UTF-8).
    pub stderr: String,
    /// Exit code.
    pub code: i32,
}

impl Run {
    /// Standard output as JSON; not JSON fails with both streams shown.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// A run killed by a signal, or output that is not UTF-8, fails the test.
impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
            code: out.status.code().expect("an exit code, not a signal"),
        }
    }
}

/// Runs `cmd` to its end.
pub fn finish(cmd: &mut Command) -> Run {
    Run::from(cmd.output().expect("run aibnet"))
}

/// `aibnet ARGS...`.
pub fn run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    finish(aibnet().args(args))
}

/// `aibnet ARGS...` run from the repository's root, so that outputs naming
/// their inputs (reports, snapshots) name `captures/...`, not where the
/// clone happens to be.
pub fn run_at_root<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    finish(aibnet().current_dir(repo()).args(args))
}

/// `aibnet ARGS...` with `input` on standard input.
pub fn run_stdin<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>, input: &[u8]) -> Run {
    let mut child = aibnet()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aibnet");
    // Written from another thread: the binary writes while it reads, and
    // both pipes are bounded. It may also stop reading early (not a
    // capture, say): a closed pipe is its answer, not a test failure.
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || match stdin.write_all(&input) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
        _ => {}
    });
    let out = child.wait_with_output().expect("wait for aibnet");
    writer.join().expect("stdin writer");
    Run::from(out)
}

/// Every file under `dir` (walked recursively), sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
