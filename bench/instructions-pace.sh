#!/usr/bin/env bash
# User-space instructions one task costs on its path (issue 21): a save of a new task, a save of
# an id the caller chose and a completion by key, counted by callgrind: a client cost the load
# of a shared machine does not move. Not a worker's drain: under callgrind the client runs some
# 50 times slower than the leases, the clock checks and the parts' renewals assume, and a drain
# of 500 tasks stalls there (it takes under 2 s without it); the bench's CPU per drained task
# (getrusage) stands in for it.
#
# Usage: bench/instructions-pace.sh [--concurrency C] [HARNESS]
#          C: requests in flight (default 32; at 1 nothing is coalesced, and the counts hold
#             to within about 1 % between runs, where at 32 they move by about 8 %)
#          HARNESS: default $CARGO_TARGET_DIR or target, release/taskrec-bench
#
# Needs valgrind and a Cassandra whose keyspace a `taskrec-bench run` made (the schema), e.g.
#   target/release/taskrec-bench run --addr 127.0.0.1:9042 --keyspace ir --workloads save \
#     --variants raw,taskrec --n 100
# Environment: TASKREC_BENCH_ADDR (127.0.0.21:9042), TASKREC_BENCH_KEYSPACE (taskrec_bench).
# Each figure is (Ir(N=3000) - Ir(N=500)) / 2500 at C in flight, all the client's threads
# (callgrind runs them one at a time), not the kernel. Lists to complete are filled first by the
# same harness outside callgrind. A harness older than `save-new` (before issue 21) shows "-"
# there: its saves of new ids were saves like any other.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
concurrency=32
if [ "${1:-}" = "--concurrency" ]; then
  concurrency="${2:?--concurrency needs a number}"
  shift 2
fi
harness="${1:-${CARGO_TARGET_DIR:-$root/target}/release/taskrec-bench}"
addr="${TASKREC_BENCH_ADDR:-127.0.0.21:9042}"
keyspace="${TASKREC_BENCH_KEYSPACE:-taskrec_bench}"
small=500 big=3000
run_id="ir$(date +%s)"

one() { "$harness" one --addr "$addr" --keyspace "$keyspace" --concurrency "$concurrency" "$@"; }
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$harness" one --addr "$addr" --keyspace "$keyspace" --concurrency "$concurrency" "$@" 2>&1 |
    awk '/Collected/ { print $4 }'
}
# Instructions per task of WORKLOAD for VARIANT; FILL=1 saves the lists first, outside callgrind.
per_task() {
  local variant="$1" workload="$2" fill="$3" list counts=()
  for n in "$small" "$big"; do
    list="$run_id-$variant-$workload-$n"
    if [ "$fill" = 1 ]; then one --variant "$variant" --workload save --n "$n" --list "$list" >/dev/null; fi
    counts+=("$(ir --variant "$variant" --workload "$workload" --n "$n" --list "$list")")
  done
  if [ -z "${counts[0]}" ] || [ -z "${counts[1]}" ]; then echo "-"; return; fi
  echo $(( (counts[1] - counts[0]) / (big - small) ))
}
has_save_new() { one --variant raw --workload save-new --n 1 --list "$run_id-probe" >/dev/null 2>&1; }

printf '| variant | save-new Ir/op | save Ir/op | complete Ir/op |\n'
printf '|---|---:|---:|---:|\n'
raw_new="-" save_new="-"
if has_save_new; then
  raw_new="$(per_task raw save-new 0)"
  save_new="$(per_task taskrec save-new 0)"
fi
printf '| raw | %s | %s | %s |\n' "$raw_new" "$(per_task raw save 0)" "$(per_task raw complete 1)"
printf '| taskrec | %s | %s | %s |\n' "$save_new" "$(per_task taskrec save 0)" \
  "$(per_task taskrec complete 1)"
