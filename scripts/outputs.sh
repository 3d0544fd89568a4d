#!/usr/bin/env bash
# Every output of every command on every input in the repository, one file each,
# so that two builds can be compared byte for byte:
#
#   scripts/outputs.sh OLD_BIN /tmp/before
#   scripts/outputs.sh target/release/aibnet /tmp/after
#   diff -r /tmp/before /tmp/after
#
# Used when a change must not move any output (a refactor): JSON is a contract.
# Exit codes are kept beside each output (`.rc`), stderr too (`.err`).
set -uo pipefail
bin=$(realpath "$1")
out=$2
cd "$(dirname "$0")/.."
mkdir -p "$out"
export NO_COLOR=1 COLUMNS=200

run() { # NAME ARGS...
    local name=$1
    shift
    "$bin" "$@" >"$out/$name" 2>"$out/$name.err"
    echo $? >"$out/$name.rc"
}

# The public traces and flow-log samples (tests/data/SOURCES.md). tests/data/zeek
# is compare.py's set and the busy-VNET fixtures are the benches': not run here.
data=tests/data

for d in captures/*/; do
    s=$(basename "$d")
    [ -f "$d/expected.json" ] || continue
    for f in json ndjson markdown table junit html; do
        run "diagnose.$s.$f" diagnose "$d" --format "$f"
    done
    run "diagnose.$s.flowlogs.json" diagnose "$d/flowlogs" --format json
    for p in "$d"/*.pcap; do
        run "diagnose.$s.$(basename "$p").json" diagnose "$p" --format json
        run "sessions.$s.$(basename "$p").ndjson" sessions "$p" --format ndjson
    done
    for f in json markdown table; do
        run "sessions.$s.$f" sessions "$d" --format "$f"
    done
    run "diagnose.$s.config.json" diagnose "$d" captures/config/nsg-denyall-quickstart.json captures/config/subnet-build.json --format json
done
for f in json ndjson markdown table junit html; do
    run "builds.captures.$f" builds captures/ --format "$f"
done
for f in captures/bad/*; do
    run "sessions.bad.$(basename "$f").json" sessions "$f" --format json --stats
done
run "sessions.bad.all.json" sessions captures/bad --format json
for f in "$data"/flowlogs/samples/* "$data"/flowlogs/*.json; do
    [ -f "$f" ] || continue
    run "sessions.flowlog.$(basename "$f").json" sessions "$f" --format json
    run "diagnose.flowlog.$(basename "$f").json" diagnose "$f" --format json
done
find "$data/traces" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.trace' -o -name '*.cap' \) | sort | while read -r f; do
    n=$(echo "$f" | tr '/' '_')
    run "sessions.trace.$n.ndjson" sessions "$f" --format ndjson
    run "diagnose.trace.$n.json" diagnose "$f" --format json
done
for f in json markdown table; do
    run "check.config.$f" check captures/config --format "$f"
done
for f in captures/config/*.json; do
    run "check.$(basename "$f").json" check "$f" --format json
done
for f in captures/errors/*; do
    [ -f "$f" ] || continue # logs/ is a folder of whole logs with its own spec
    for fmt in json markdown table; do
        run "explain.$(basename "$f").$fmt" explain "$f" --format "$fmt"
    done
done
run "explain.evidence.json" explain captures/errors/f3-windows-context-deadline.customization.log --evidence captures/winrm-blocked --format json
run "explain.text.json" explain 'Timeout waiting for WinRM.' --format json
run "explain.since.json" explain 'Timeout waiting for SSH.' --since 2024-08-19T10:00:00Z --until 2024-08-19T12:00:00Z --nsg nsg-aib --storage-account st --format json
run "builds.since.json" builds captures/ --since 2020-01-01T00:00:00Z --format json
echo "wrote $(ls "$out" | wc -l) files to $out"
