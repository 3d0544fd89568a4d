#!/usr/bin/env bash
# Source coverage of aibnet's library by the fuzz corpora: each target's
# corpus (fuzz/corpus/TARGET) is replayed through a build instrumented for
# source coverage (`cargo fuzz coverage`, no sanitizer), then llvm-cov counts
# the lines and regions of src/ it reached, per file: logs/TARGET.cov.txt for
# each target and logs/all.cov.txt for their union (the profiles merged, the
# binaries given together). Needs `rustup component add llvm-tools`.
# Usage: fuzz/coverage.sh TARGET...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../src" && pwd)"
export RUSTC_BOOTSTRAP=1
host="$(rustc -vV | sed -n 's/^host: //p')"
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
mkdir -p "$here/logs"
objs=(); profs=()
for t in "$@"; do
  (cd "$here/.." && nice -n 19 cargo fuzz coverage -O -a -s none "$t" "$here/corpus/$t") \
    >"$here/logs/$t.cov.log" 2>&1 || { echo "$t: coverage run failed, see logs/$t.cov.log"; exit 1; }
  # cargo fuzz coverage builds under the parent crate's target directory.
  bin="$here/../target/$host/coverage/$host/release/$t"
  prof="$here/coverage/$t/coverage.profdata"
  "$tools/llvm-cov" report "$bin" -instr-profile="$prof" "$src" >"$here/logs/$t.cov.txt"
  echo "$t: $(tail -n 1 "$here/logs/$t.cov.txt")"
  # llvm-cov takes the first binary as an argument, the others by -object.
  if [ ${#objs[@]} -eq 0 ]; then objs=("$bin"); else objs+=(-object "$bin"); fi
  profs+=("$prof")
done
"$tools/llvm-profdata" merge -o "$here/coverage/all.profdata" "${profs[@]}"
"$tools/llvm-cov" report "${objs[@]}" -instr-profile="$here/coverage/all.profdata" "$src" \
  >"$here/logs/all.cov.txt"
echo "all: $(tail -n 1 "$here/logs/all.cov.txt")"
