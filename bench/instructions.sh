#!/usr/bin/env bash
# User-space instructions per operation of each Rust variant, counted by callgrind: a client
# cost that, unlike CPU time, does not move with the load of a shared machine.
#
# Usage: bench/instructions.sh [HARNESS]   (default: $CARGO_TARGET_DIR or target, release/taskrec-bench)
#
# Needs valgrind and the benchmark's Cassandra with a seeded `stream` list, e.g. right after
# `scripts/bench --keep-server ...` or `taskrec-bench run --workloads stream,stream-task_rb`.
# save and find: (Ir(N=3000) - Ir(N=500)) / 2500 at 32 in flight. stream: (Ir(whole list) -
# Ir(one save)) / rows; the list's length is read from the server. The driver's threads are
# counted too (callgrind runs them one at a time); the kernel's work is not.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
harness="${1:-${CARGO_TARGET_DIR:-$root/target}/release/taskrec-bench}"
addr="${TASKREC_BENCH_ADDR:-127.0.0.21:9042}"
rows="${TASKREC_BENCH_STREAM_ROWS:?set TASKREC_BENCH_STREAM_ROWS to the length of the seeded stream list}"

ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$harness" one --addr "$addr" "$@" 2>&1 |
    awk '/Collected/ { print $4 }'
}

printf '| variant | save Ir/op | find Ir/op | stream Ir/row | stream-task_rb Ir/row |\n|---|---:|---:|---:|---:|\n'
for v in raw raw+serde taskrec taskrec-dyn; do
  list="instructions-$v"
  s0=$(ir --variant "$v" --workload save --concurrency 32 --n 500 --list "$list")
  s1=$(ir --variant "$v" --workload save --concurrency 32 --n 3000 --list "$list")
  f0=$(ir --variant "$v" --workload find --concurrency 32 --n 500 --list "$list")
  f1=$(ir --variant "$v" --workload find --concurrency 32 --n 3000 --list "$list")
  base=$(ir --variant "$v" --workload save --concurrency 1 --n 1 --list "$list-base")
  st=$(ir --variant "$v" --workload stream --concurrency 32 --n "$rows" --list stream)
  rb=$(ir --variant "$v" --workload stream-task_rb --concurrency 1 --n "$rows" --list stream)
  printf '| %s | %d | %d | %d | %d |\n' "$v" $(( (s1 - s0) / 2500 )) $(( (f1 - f0) / 2500 )) \
    $(( (st - base) / rows )) $(( (rb - base) / rows ))
done
