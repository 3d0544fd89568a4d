//! The progress bar of long reads (`builds`, `diagnose`): on stderr, only
//! when it is a terminal, and never with `--no-progress`.

use aibnet::analyze::scan::{NoProgress, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A bar on a terminal's stderr, else nothing.
pub fn bar(no_progress: bool) -> Box<dyn Progress> {
    if !no_progress && std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(NoProgress)
    }
}

/// A progress bar on stderr: bytes and files done, rate, time left.
struct Bar {
    bar: ProgressBar,
    files: AtomicUsize,
    done: AtomicUsize,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar {
            bar,
            files: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }
    }
}

impl Progress for Bar {
    fn begin(&self, files: usize, bytes: u64) {
        self.files.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar.set_message(format!("0/{files} files"));
    }

    fn file_done(&self, bytes: u64) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.inc(bytes);
        self.bar
            .set_message(format!("{n}/{} files", self.files.load(Ordering::Relaxed)));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
