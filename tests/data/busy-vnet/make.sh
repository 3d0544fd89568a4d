#!/usr/bin/env bash
# Regenerates the busy-VNET fixtures described in README.md with benches/gen_busy_vnet.py
# (deterministic: the same bytes every time), then prints what aibnet says of each with
# benches/busy_vnet_check.py when given a binary: `tests/data/busy-vnet/make.sh [AIBNET]`.
set -euo pipefail
cd "$(dirname "$0")"
GEN=../../../benches/gen_busy_vnet.py
CHECK=../../../benches/busy_vnet_check.py

gen() {
  local name=$1
  shift
  rm -rf "$name"
  mkdir -p "$name"
  python3 "$GEN" "$name/flowlogs" --truth "$name/truth.json" --gzip -j 1 "$@"
}

# (a) and (b): one hour of the same VNET, with and without an AIB build.
VNET=(--hours 1 --vms 40 --build-subnet-vms 12 --rate 0.5 --probe-interval 15 --sweep 5 --seed 1701)
gen one-build "${VNET[@]}" --build-hour 0
gen no-build "${VNET[@]}" --no-build
# (c) two builds at once in the build subnet, one blob for every NIC of the hour.
gen concurrent-builds --hours 1 --vms 30 --build-subnet-vms 8 --rate 0.5 --probe-interval 15 --sweep 5 \
  --seed 1703 --one-blob --builds 0 --concurrent --concurrent-hour 0
# (d) three hours, no build, a jump box in the build subnet sweeping its three dozen VMs.
gen jumpbox-no-build --hours 3 --vms 48 --build-subnet-vms 36 --jump-boxes 1 --rate 0.3 --probe-interval 15 \
  --sweep 5 --seed 1704 --no-build
# (e) adversarial: every tuple its own flow, every address on the AIB ports, no build.
gen adversarial --adversarial --hours 1 --gb 0.002 --addresses 60 --nics 30 --seed 1705

if [ $# -ge 1 ]; then
  for name in one-build no-build concurrent-builds jumpbox-no-build adversarial; do
    echo "== $name"
    "$1" builds "$name/flowlogs" --format json --fail-on never 2>/dev/null > "/tmp/busy-vnet-$name-builds.json" || true
    "$1" diagnose "$name/flowlogs" --format json --fail-on never 2>/dev/null > "/tmp/busy-vnet-$name-diagnose.json" || true
    python3 "$CHECK" "$name/truth.json" --builds "/tmp/busy-vnet-$name-builds.json" \
      --diagnose "/tmp/busy-vnet-$name-diagnose.json" || true
  done
fi
