#!/usr/bin/env bash
# Build the fuzz corpora (gitignored, under fuzz/corpus/TARGET) from the
# project's fixtures, the adversarial corpus and the third-party inputs of
# tests/data (public traces, flow-log samples, AIB templates).
# Usage: fuzz/seed.sh [TARGET...]   (default: all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="$root/tests/data"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(capture decode_sessions shards check_json explain_text flowlog flow_tuple)

copy() { # dir, files...
  local d="$1"; shift
  mkdir -p "$d"
  for f in "$@"; do
    [ -f "$f" ] || continue
    # Skip big files: they slow every mutation and add little coverage.
    [ "$(stat -c %s "$f")" -le 262144 ] || continue
    # Named after where it comes from and a hash of its path: flow-log blobs
    # are all PT1H.json, and the lab's scenarios share MAC addresses.
    local rel="${f#"$root"/}"
    rel="${rel#tests/data/}"
    local h
    h=$(printf '%s' "$rel" | cksum | cut -d' ' -f1)
    cp -f "$f" "$d/$(printf '%s' "$rel" | cut -d/ -f1-2 | tr / _)_${h}_$(basename "$f")"
  done
}

for t in "${targets[@]}"; do
  d="$here/corpus/$t"
  case "$t" in
    capture)
      copy "$d" $(find "$root/captures" "$data/traces" "$here/regressions/capture" -type f \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.bin' -o -name '*.cap' \) 2>/dev/null) ;;
    decode_sessions | shards)
      # (shards reads the same format.) The first 64 frames of every
      # classic pcap, in the target's format, and one input per lab scenario (both capture points merged, every
      # flow's first and last frames), so the diagnose rules are reached.
      mkdir -p "$d"
      python3 "$here/pcap2frames.py" "$d" $(find "$root/captures" "$data/traces" -type f -name '*.pcap' 2>/dev/null)
      python3 "$here/pcap2frames.py" --scenario "$d" $(find "$root/captures" -mindepth 2 -maxdepth 2 -name expected.json -printf '%h\n')
      copy "$d" $(find "$here/regressions/$t" -type f 2>/dev/null) ;;
    check_json)
      copy "$d" $(find "$root/captures/config" "$data/aib" "$here/regressions/check_json" -type f -name '*.json' 2>/dev/null)
      # Whole configurations, files joined by NUL as the target splits
      # them: the scenes of tests/check/rules.rs, so the evaluation and the
      # findings are reached, not only the readers. Minified, to stay under
      # run.sh's -max_len.
      c="$root/captures/config"
      combo() { # name, files...
        local name="$1"; shift
        python3 - "$c" "$@" > "$d/combo_$name" <<'PY'
import json, sys
d = sys.argv[1]
sys.stdout.write('\0'.join(json.dumps(json.load(open(f'{d}/{f}')), separators=(',', ':'))
                            for f in sys.argv[2:]))
PY
      }
      combo denyall template-linux.json subnet-build.json vnet.json nsg-denyall-1000.json
      combo quickstart template-linux.json subnet-build.json vnet.json nsg-denyall-quickstart.json
      combo strict template-linux.json subnet-build.json vnet.json nsg-strict-arm.json
      combo unknowns template-linux.json subnet-build.json vnet.json nsg-unknowns.json nsg-partial-prefix.json
      combo effective template-linux.json subnet-build.json vnet.json effective-nsg-build-nic.json nsg-default-only.json
      combo rt-none template-linux.json subnet-build-rt-none.json route-table-none.json nsg-default-only.json
      combo rt-nva template-linux.json subnet-build-rt-nva.json route-table-nva.json nsg-default-only.json vnet-onprem-dns.json
      combo rt-isolate template-linux.json subnet-build-rt-isolate.json route-table-build-none.json nsg-default-only.json vnet.json
      combo rt-spoke template-linux.json subnet-build-rt-spoke-nva.json route-table-spoke-nva.json nsg-default-only.json vnet-custom-dns.json
      combo private template-linux.json subnet-build-private.json nsg-default-only.json
      combo pls-region template-linux.json subnet-build-pls-enabled.json vnet-eastus.json nsg-default-only.json
      combo small template-linux.json subnet-build-small.json nsg-default-only.json
      combo isolated template-isolated.json subnet-build.json subnet-aci-undelegated.json nsg-default-only.json nsg-aci.json vnet.json
      combo isolated-rt template-isolated.json subnet-build.json subnet-aci-rt-isolate.json route-table-build-none.json nsg-default-only.json vnet.json
      combo aci-size template-isolated-proxy-size.json subnet-build.json subnet-aci-overlapping.json nsg-default-only.json
      combo windows template-az-show-windows.json subnet-build.json vnet.json nsg-strict-arm.json ;;
    explain_text)
      copy "$d" $(find "$root/captures/errors" "$here/regressions/explain_text" -type f 2>/dev/null)
      # Long inputs (libFuzzer raises its length limit slowly, and the seeds
      # are short): every log at once, as text and as the message of an
      # `az image builder show` document, so several classes compete.
      logs=$(find "$root/captures/errors" -name '*.log' | sort)
      cat $logs > "$d/long_all-logs"
      python3 - "$root/captures/errors/f13-az-image-builder-show.json" $logs > "$d/long_all-logs.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc['lastRunStatus']['message'] = ''.join(open(p).read() for p in sys.argv[2:])
print(json.dumps(doc, indent=2))
PY
      ;;
    flowlog)
      copy "$d" $(find "$data/flowlogs/samples" "$root/captures" "$here/regressions/flowlog" -type f -name '*.json' 2>/dev/null)
      # Each lab scenario's blobs of one kind (NSG v2, VNet) at both NICs,
      # minified and joined by NUL as the target splits them, so the
      # diagnosis sees the proxy's and the build VM's side at once.
      python3 - "$d" "$root/captures" <<'PY'
import glob, json, os, sys
out, root = sys.argv[1], sys.argv[2]
for scen in sorted(glob.glob(f'{root}/*/flowlogs')):
    name = os.path.basename(os.path.dirname(scen))
    for kind in sorted(os.listdir(scen)):
        blobs = sorted(glob.glob(f'{scen}/{kind}/**/PT1H.json', recursive=True))[:2]
        text = '\0'.join(json.dumps(json.load(open(b)), separators=(',', ':')) for b in blobs)
        # run.sh's -max_len for this target.
        if len(blobs) == 2 and len(text) <= 16384:
            open(f'{out}/pair_{name}_{kind}', 'w').write(text)
PY
      ;;
    flow_tuple)
      mkdir -p "$d"
      # One tuple per file, taken from the samples.
      i=0
      { grep -rhoE '"[0-9]{9,13},[^"]{10,200}"' "$data/flowlogs/samples" 2>/dev/null || true; } |
        sort -u | sed -n 1,200p |
        while read -r line; do i=$((i+1)); printf '%s' "${line//\"/}" > "$d/tuple-$i"; done
      copy "$d" $(find "$here/regressions/flow_tuple" -type f 2>/dev/null) ;;
  esac
  echo "$t: $(ls "$d" | wc -l) seeds"
done
