#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build (run.sh sets it): turns coverage
# instrumentation off in the dependencies below. They keep ASan, debug
# assertions and overflow checks; only the coverage counters and compare
# tracing go (the last -sanitizer-coverage-level wins over cargo-fuzz's 4).
# See "Instrumentation" in README.md.
rustc="$1"; shift
uninstrumented=" regex regex_automata regex_syntax aho_corasick memchr comfy_table unicode_segmentation unicode_width rayon rayon_core crossbeam_deque crossbeam_epoch crossbeam_utils "
prev=""
for a in "$@"; do
  if [ "$prev" = "--crate-name" ] && [[ "$uninstrumented" == *" $a "* ]]; then
    exec "$rustc" "$@" -Cllvm-args=-sanitizer-coverage-level=0
  fi
  prev="$a"
done
exec "$rustc" "$@"
