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
  (cd "$here/.." && nice -n 19 cargo fuzz coverage -O -a -s none "$t" "$corpus/$t") \
    >"$out/$t.log" 2>&1 || { echo "$t: coverage run failed, see $out/$t.log"; exit 1; }
  # cargo fuzz coverage builds under the parent crate's target directory.
  bin="$here/../target/$host/coverage/$host/release/$t"
  prof="$here/coverage/$t/coverage.profdata"
  "$tools/llvm-cov" report "$bin" -instr-profile="$prof" "$src" >"$out/$t.txt"
  echo "$t: $(tail -n 1 "$out/$t.txt")"
  # llvm-cov takes the first binary as an argument, the others by -object.
  if [ ${#objs[@]} -eq 0 ]; then objs=("$bin"); else objs+=(-object "$bin"); fi
  profs+=("$prof")
done
"$tools/llvm-profdata" merge -o "$out/all.profdata" "${profs[@]}"
"$tools/llvm-cov" report "${objs[@]}" -instr-profile="$out/all.profdata" "$src" >"$out/all.txt"
echo "all: $(tail -n 1 "$out/all.txt")"
