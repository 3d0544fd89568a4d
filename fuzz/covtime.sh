#!/usr/bin/env bash
# Regions of src/ the corpus reached over a run: the corpus as it stood at
# each mark (its files by modification time, from fuzz/corpus-start/TARGET,
# kept when the run began, and fuzz/corpus/TARGET), replayed by coverage.sh.
# Inputs the fuzzer made and deleted again (reduced) during the run are
# missing from the marks in between, so those may read a little low; the
# first and last are exact.
# Usage: fuzz/covtime.sh TARGET START MINUTES...   (START as `date -d` reads it)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
t="$1"
start=$(date -d "$2" +%s)
shift 2
for m in "$@"; do
  cut=$((start + m * 60))
  dir="$here/corpus-at/$m/$t"
  rm -rf "$here/corpus-at/$m"
  mkdir -p "$dir"
  for src in "$here/corpus-start/$t" "$here/corpus/$t"; do
    [ -d "$src" ] || continue
    find "$src" -type f ! -newermt "@$cut" -exec ln -f -t "$dir" {} + 2>/dev/null || true
  done
  CORPUS="$here/corpus-at/$m" TAG="at$m" "$here/coverage.sh" "$t" >/dev/null
  awk -v m="$m" -v n="$(ls "$dir" | wc -l)" \
    '/^TOTAL/ {printf "%4d min: %6d inputs, %5d of %5d regions of src/ reached\n", m, n, $2 - $3, $2}' \
    "$here/logs/cov-at$m/$t.txt"
  rm -rf "$here/corpus-at/$m"
done
