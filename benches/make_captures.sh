#!/usr/bin/env bash
# Build the two benchmark captures into benches/data/ (gitignored):
#   mixed.pcap  ≥ 520 MiB: every flow of the reference traces replayed with
#               shifted addresses and times (full sessions, unanswered SYNs
#               with retransmissions, resets, UDP answered by ICMP errors ...)
#   small.pcap  ≥ 520 MiB: the small-packet flows only, ~100 B a record,
#               over 1.6 million flows.
# See benches/gen_captures.rs for how. Seeds: tests/data/traces.
# Usage: benches/make_captures.sh [SIZE_MB]   (about 1.1 GB of disk at 520)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${1:-520}"
out=benches/data
mkdir -p "$out"
avail_mb=$(df -Pm "$out" | awk 'NR==2 {print $4}')
if (( avail_mb < 3 * size_mb )); then
    echo "make_captures: need about $((2 * size_mb)) MB free in $out, have $avail_mb MB" >&2
    exit 1
fi
cargo run --release --quiet --example gen_captures -- "$out" "$size_mb"
ls -l "$out"
