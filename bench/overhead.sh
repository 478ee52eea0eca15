#!/usr/bin/env bash
# The cost of the analysis over the bare forward pass, and what batching buys, side by side in
# one run on one checkpoint:
#
#   bench/overhead.sh MODEL T N [T N ...]
#
# For each pair, N sequences of T pseudo-random token ids (the same every run) go through
#   bare     sinkscope bench: one sequence a forward, after a warm-up (the median of 3 repeats);
#   heads    sinkscope heads --batch-rows 1: the same sequences one at a time, every reducer;
#   batched  sinkscope heads with its default --batch-rows: equal-length sequences together.
# It prints one line per pair: the times in seconds (heads and batched are whole runs, opening
# the checkpoint included), heads/bare, tokens/s one at a time and batched, and each run's
# peak RSS in MB. Environment: SINKSCOPE (the binary, default: sinkscope on PATH), THREADS
# (default 0: all cores), VOCAB (ids are below it, default 1000).
set -euo pipefail
if [ $# -lt 3 ] || [ $(( ($# - 1) % 2 )) -ne 0 ]; then
  echo "usage: $0 MODEL T N [T N ...]" >&2; exit 2
fi
bin=${SINKSCOPE:-sinkscope}
threads=${THREADS:-0}
vocab=${VOCAB:-1000}
model=$1; shift
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# ids T N FORMAT: N rows of T ids from a fixed linear congruential sequence, as bench's JSON
# ({"input_ids": [[...], ...]}) or as a heads domain (one {"ids": [...]} per line).
ids() {
  awk -v T="$1" -v N="$2" -v V="$vocab" -v fmt="$3" 'BEGIN {
    x = 12345; if (fmt == "bench") printf "{\"input_ids\": ["
    for (n = 0; n < N; n++) {
      if (fmt == "bench") printf "%s[", (n ? "," : ""); else printf "{\"ids\": ["
      for (t = 0; t < T; t++) { x = (x * 16807) % 2147483647; printf "%s%d", (t ? "," : ""), 1 + x % (V - 1) }
      if (fmt == "bench") printf "]"; else printf "]}\n"
    }
    if (fmt == "bench") printf "]}\n" }'
}
# timed OUT CMD...: runs CMD with its stdout to OUT, prints "wall_s rss_mb".
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" > "$out"
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$tmp/time"
}

printf "%-6s %-4s %-8s %-8s %-10s %-9s %-11s %-13s %-9s %-9s %-9s\n" \
  T N bare_s heads_s heads/bare batched_s tok/s_alone tok/s_batched rss_bare rss_heads rss_batch
while [ $# -gt 0 ]; do
  T=$1 N=$2; shift 2
  ids "$T" "$N" bench > "$tmp/ids.json"
  ids "$T" "$N" heads > "$tmp/ids.jsonl"
  read -r _ rb < <(timed "$tmp/bench.out" "$bin" bench "$model" --ids "$tmp/ids.json" --threads "$threads" --warmup 1 --repeat 3)
  bare=$(sed -n 's/.*"forward_s_median":\([0-9.e+-]*\).*/\1/p' "$tmp/bench.out")
  read -r heads rh < <(timed /dev/null "$bin" heads "$model" --domain "seq=$tmp/ids.jsonl" --batch-rows 1 --threads "$threads")
  read -r batched rt < <(timed /dev/null "$bin" heads "$model" --domain "seq=$tmp/ids.jsonl" --threads "$threads")
  awk -v T="$T" -v N="$N" -v b="$bare" -v h="$heads" -v t="$batched" -v rb="$rb" -v rh="$rh" -v rt="$rt" 'BEGIN {
    printf "%-6d %-4d %-8.3f %-8.2f %-10.3f %-9.2f %-11.0f %-13.0f %-9d %-9d %-9d\n", T, N, b, h, h / b, t, T * N / h, T * N / t, rb, rh, rt }'
done
