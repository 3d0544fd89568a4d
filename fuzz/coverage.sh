#!/usr/bin/env bash
# Source coverage of aibnet's library by the fuzz corpora: each target's
# corpus (fuzz/corpus/TARGET) is replayed through a build instrumented for
# source coverage (`cargo fuzz coverage`, no sanitizer), then llvm-cov counts
# the lines and regions of src/ it reached, per file: logs/cov/TARGET.txt for
# each target and logs/cov/all.txt for their union (the profiles merged, the
# binaries given together). Needs `rustup component add llvm-tools`.
# CORPUS=DIR replays DIR/TARGET instead of fuzz/corpus/TARGET (e.g. a copy
# kept from the start of a run) and TAG=NAME writes to logs/cov-NAME/.
# Usage: [CORPUS=DIR] [TAG=NAME] fuzz/coverage.sh TARGET...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../src" && pwd)"
export RUSTC_BOOTSTRAP=1
host="$(rustc -vV | sed -n 's/^host: //p')"
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
corpus="${CORPUS:-$here/corpus}"
out="$here/logs/cov${TAG:+-$TAG}"
mkdir -p "$out"
objs=(); profs=()
for t in "$@"; do
  # A running fuzzer deletes inputs it has reduced: replay a snapshot (hard
  # links; a file deleted while it is taken is only left out).
  snap="$out/snapshot-$t"
  rm -rf "$snap"
  cp -al "$corpus/$t" "$snap" 2>/dev/null || true
  (cd "$here/.." && nice -n 19 cargo fuzz coverage -O -a -s none "$t" "$snap") \
    >"$out/$t.log" 2>&1 || { echo "$t: coverage run failed, see $out/$t.log"; exit 1; }
  rm -rf "$snap"
  # cargo fuzz coverage builds under the parent crate's target directory.
  bin="$here/../target/$host/coverage/$host/release/$t"
  # Kept beside the reports: the next run of the target overwrites cargo
  # fuzz's copy.
  prof="$out/$t.profdata"
  cp "$here/coverage/$t/coverage.profdata" "$prof"
  "$tools/llvm-cov" report "$bin" -instr-profile="$prof" "$src" >"$out/$t.txt"
  # Every instrumented file, dependencies and std's generics included, for
  # covdiff.py: where a run's new edges are.
  "$tools/llvm-cov" report "$bin" -instr-profile="$prof" >"$out/$t.files.txt"
  echo "$t: $(tail -n 1 "$out/$t.txt")"
  # llvm-cov takes the first binary as an argument, the others by -object.
  if [ ${#objs[@]} -eq 0 ]; then objs=("$bin"); else objs+=(-object "$bin"); fi
  profs+=("$prof")
done
"$tools/llvm-profdata" merge -o "$out/all.profdata" "${profs[@]}"
"$tools/llvm-cov" report "${objs[@]}" -instr-profile="$out/all.profdata" "$src" >"$out/all.txt"
echo "all: $(tail -n 1 "$out/all.txt")"
