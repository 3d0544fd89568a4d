#!/usr/bin/env bash
# Fourteenth session: base (5df9baf) vs new, interleaved, same run.
# B: main at 5df9baf built to /tmp/aibnet-b14, N: d643028 to /tmp/aibnet-h9.
B=/tmp/aibnet-b14; N=/tmp/aibnet-h9
ADV=/work/data/adv/insights-logs-networksecuritygroupflowevent
CAP=/work/main/benches/data
echo "== load: $(uptime)"
# Both binaries on one command, alternating: pair TITLE ROUNDS ARGS.
pair() {
  echo "== $1 ($2 rounds)"
  python3 "$(dirname "$0")/ab.py" "$2" "$B $3" "$N $3"
}
pair "adv sessions --format ndjson" 9 "sessions --format ndjson $ADV"
pair "adv sessions --format parquet" 3 "sessions --format parquet -o /tmp/x.parquet $ADV"
pair "small.pcap sessions --format ndjson" 5 "sessions --format ndjson $CAP/small.pcap"
pair "mixed.pcap sessions --format ndjson" 5 "sessions --format ndjson $CAP/mixed.pcap"
pair "adv diagnose" 3 "diagnose --format json $ADV"
pair "month builds" 3 "builds --format json /work/data/month"
pair "month sessions --format ndjson" 2 "sessions --format ndjson /work/data/month"
echo "== peak RSS (one run each)"
for X in $B $N; do
  for c in "sessions --format ndjson /work/data/month" "sessions --format ndjson $ADV" "sessions --format parquet -o /tmp/x.parquet $ADV" "sessions --format ndjson $CAP/small.pcap" "sessions --format ndjson $CAP/mixed.pcap" "diagnose --format json $ADV" "builds --format json /work/data/month"; do
    /usr/bin/time -f "%e s %U u %S s %M KB  $(basename $X) $c" $X $c 2>&1 >/dev/null | tail -1
  done
done
echo "== outputs identical"
for c in "sessions --format ndjson $ADV" "sessions --format json $ADV" "sessions --format ndjson $CAP/small.pcap" "sessions --format ndjson $CAP/mixed.pcap" "diagnose --format json $ADV" "builds --format json /work/data/month" "sessions --format ndjson --port 22 --since 2024-08-19T08:20:00Z --until 2024-08-19T08:40:00Z $ADV"; do
  a=$($B $c 2>/dev/null | md5sum); b=$($N $c 2>/dev/null | md5sum); echo "$([ "$a" = "$b" ] && echo same || echo DIFFERENT) $c"
done
echo "== python baseline (three runs)"
for i in 1 2 3; do
  /usr/bin/time -f "%e s %U u %S s %M KB python" python3 /work/main/benches/flowlog_baseline.py $ADV 2>&1 >/dev/null | tail -1
done
echo "== load: $(uptime)"
