#!/usr/bin/env python3
"""The `python` variant of taskrec's benchmark: what a Python user of the
DataStax `cassandra-driver` would write for the same workloads, on the raw
variants' own table (`raw_tasks`, `PRIMARY KEY ((task_list, bucket), id)`,
created by the Rust harness) with the raw variants' CQL, and on task_rb's
table for `stream-task_rb`.

    bench.py --info
        prints the driver's version and whether its C extensions and libev
        are in use, as JSON.
    bench.py --variant python --workload W --concurrency C --n N --list L
             [--addr HOST:PORT] [--keyspace NAME]
        runs one workload and prints one JSON line with the keys
        `taskrec-bench one` prints (ops, secs, cpu_us, peak_rss_kib, p50_ns,
        p99_ns, p999_ns, max_ns, latency).

save, find and complete go through `execute_concurrent_with_args` with
`concurrency` requests in flight. A stream pages through every bucket with
the driver's asynchronous paging (`execute_async` and
`start_fetching_next_page`), `concurrency` buckets at a time, as the
driver's documentation shows. The data is JSON: `json.dumps` of a dict on
save, `json.loads` on find and stream, as the typed Rust variants encode and
decode their struct.

Latency: a request-init listener stamps each request as it is sent and a
callback on its future stamps the answer, so a find's latency is request to
response (its `json.loads` runs later, in the caller's loop). For a stream,
one sample is the wait from one record to the next, as in the Rust harness.
"""

import argparse
import json
import os
import resource
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

import cassandra
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

BUCKETS = 16
PAGE_SIZE = 1000
TYPE_NAME = "FetchFile"
# The state every save writes (taskrec's INITIAL_STATE_JSON).
PENDING_STATE = '{"status":"pending"}'
# The same data as the Rust harness's template (bench/src/payload.rs).
TEMPLATE = {
    "external_host": "files.example.com",
    "filename": "exports/2024/11/customer-4711/backup-0001.tar.zst",
    "size": 7340032,
    "retries": 0,
    "checksum": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "tags": ["nightly", "eu-west"],
}
MASK64 = (1 << 64) - 1


def bucket_of(task_id, buckets=BUCKETS):
    """The raw table's bucket of an id, as the Rust raw variant computes it
    (taskrec's hash, src/cassandra/shard.rs): FNV-1a 64 of the id's UTF-8
    bytes through MurmurHash3's fmix64, modulo the bucket count."""
    h = 0xCBF29CE484222325
    for byte in task_id.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    h ^= h >> 33
    return h % buckets


def task_id(i):
    return f"task-{i:09d}"


def info():
    import cassandra.cluster as cluster_module

    compiled = cluster_module.__file__.endswith(".so")
    try:
        from cassandra.io.libevreactor import LibevConnection  # noqa: F401

        libev = True
    except Exception as e:  # the driver raises ImportError or DependencyException
        libev = f"no: {e}"
    return {
        "driver": "cassandra-driver",
        "version": cassandra.__version__,
        "python": sys.version.split()[0],
        "cluster_module": os.path.basename(cluster_module.__file__),
        "c_extensions": compiled,
        "libev": libev,
        "connection_class": cluster_module.Cluster.connection_class.__name__,
    }


def cpu_us():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e6)


def reset_peak_rss():
    # Linux: VmHWM back to the current RSS, so the peak is the workload's own.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def percentile(sorted_values, q):
    if not sorted_values:
        return 0
    k = min(len(sorted_values) - 1, max(0, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Latencies:
    """Request-to-response times of every request the session sends."""

    def __init__(self):
        self.samples = []

    def on_request(self, future):
        started = time.perf_counter()
        samples = self.samples

        def done(_result):
            samples.append(time.perf_counter() - started)

        def failed(_error):
            pass

        future.add_callbacks(done, failed)


def connect(addr):
    host, _, port = addr.rpartition(":")
    profile = ExecutionProfile(
        consistency_level=ConsistencyLevel.LOCAL_QUORUM,
        request_timeout=10,
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc="datacenter1")),
    )
    # Protocol v4: what the Rust driver speaks, so both send the same frames.
    cluster = Cluster(
        [host],
        port=int(port),
        protocol_version=4,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    session = cluster.connect()
    session.default_fetch_size = PAGE_SIZE
    return cluster, session


def prepare(session, keyspace):
    table = f"{keyspace}.raw_tasks"
    statements = {
        # The Rust raw variant's insert, word for word: every save starts the task's state.
        "insert": f"INSERT INTO {table} (task_list, bucket, id, type, data, created_at, updated_at, state, state_token) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
        "find": f"SELECT type, data, created_at, updated_at FROM {table} "
        "WHERE task_list = ? AND bucket = ? AND id = ?",
        "delete": f"DELETE FROM {table} WHERE task_list = ? AND bucket = ? AND id = ?",
        "list": f"SELECT id, type, data, created_at, updated_at FROM {table} "
        "WHERE task_list = ? AND bucket = ?",
        "list_task_rb": f"SELECT id, type, data, WRITETIME(data) FROM {keyspace}.task_rb_tasks "
        "WHERE task_list = ?",
    }
    prepared = {}
    for name, cql in statements.items():
        statement = session.prepare(cql)
        statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        statement.is_idempotent = True
        statement.fetch_size = PAGE_SIZE
        prepared[name] = statement
    return prepared


def check(results, n):
    failed = [r for ok, r in results if not ok]
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} requests failed, first: {failed[0]!r}")


def save(session, st, lst, n, c, new_ids=False):
    def params():
        for i in range(n):
            # save-new: an id made per task (a random UUID: Python 3.11 has no
            # version 7), as the other variants make one.
            tid = str(uuid.uuid4()) if new_ids else task_id(i)
            now = datetime.now(timezone.utc)
            # Compact, as serde_json writes it: every variant stores the same 241 bytes.
            data = json.dumps(TEMPLATE, separators=(",", ":"))
            yield (lst, bucket_of(tid), tid, TYPE_NAME, data, now, now, PENDING_STATE, uuid.uuid4(), 0)

    results = execute_concurrent_with_args(
        session, st["insert"], params(), concurrency=c, raise_on_first_error=False, results_generator=True
    )
    check(results, n)


def find(session, st, lst, n, c):
    params = ((lst, bucket_of(task_id(i)), task_id(i)) for i in range(n))
    found = 0
    for ok, result in execute_concurrent_with_args(
        session, st["find"], params, concurrency=c, raise_on_first_error=True, results_generator=True
    ):
        row = result.one()
        if row is not None:
            json.loads(row.data)
            found += 1
    if found != n:
        raise RuntimeError(f"found {found} of {n}")


def complete(session, st, lst, n, c):
    params = ((lst, bucket_of(task_id(i)), task_id(i)) for i in range(n))
    results = execute_concurrent_with_args(
        session, st["delete"], params, concurrency=c, raise_on_first_error=False, results_generator=True
    )
    check(results, n)


class Pager:
    """Pages through several partitions, `concurrency` at a time, with the
    driver's asynchronous paging; rows are decoded in the driver's event
    loop thread as their page arrives."""

    def __init__(self, session, statement, params, concurrency):
        self.session, self.statement = session, statement
        self.pending = list(params)
        self.active = 0
        self.items = 0
        self.gaps = []
        self.last = time.perf_counter()
        self.error = None
        self.lock = threading.Lock()
        self.done = threading.Event()
        with self.lock:
            for _ in range(min(concurrency, len(self.pending))):
                self._start()

    def _start(self):
        self.active += 1
        future = self.session.execute_async(self.statement, self.pending.pop(0))
        future.add_callbacks(self._page, self._failed, callback_args=(future,))

    def _page(self, rows, future):
        gaps, last = self.gaps, self.last
        for row in rows:
            json.loads(row.data)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        self.last = last
        with self.lock:
            self.items += len(rows)
            if future.has_more_pages:
                future.start_fetching_next_page()
                return
            self.active -= 1
            if self.pending:
                self._start()
            elif self.active == 0:
                self.done.set()

    def _failed(self, error, _future):
        self.error = error
        self.done.set()

    def wait(self):
        self.done.wait()
        if self.error is not None:
            raise RuntimeError(f"listing failed: {self.error!r}")
        return self.items, self.gaps


def stream(session, st, lst, c, task_rb):
    if task_rb:
        pager = Pager(session, st["list_task_rb"], [(lst,)], 1)
    else:
        pager = Pager(session, st["list"], [(lst, b) for b in range(BUCKETS)], max(1, c))
    return pager.wait()


def run(args):
    cluster, session = connect(args.addr)
    try:
        st = prepare(session, args.keyspace)
        latencies = Latencies()
        reset_peak_rss()
        cpu0, t0 = cpu_us(), time.perf_counter()
        if args.workload in ("stream", "stream-task_rb"):
            ops, samples = stream(session, st, args.list, args.concurrency, args.workload == "stream-task_rb")
            unit = "item"
        else:
            session.add_request_init_listener(latencies.on_request)
            workloads = {
                "save": save,
                "save-new": lambda *a: save(*a, new_ids=True),
                "find": find,
                "complete": complete,
            }
            workloads[args.workload](session, st, args.list, args.n, args.concurrency)
            ops, samples, unit = args.n, latencies.samples, "op"
        secs = time.perf_counter() - t0
        cpu = cpu_us() - cpu0
        rss = peak_rss_kib()
    finally:
        cluster.shutdown()
    if ops != args.n:
        raise RuntimeError(f"{args.workload} saw {ops} records, expected {args.n}")
    samples = sorted(samples)
    return {
        "ops": ops,
        "secs": secs,
        "cpu_us": cpu,
        "peak_rss_kib": rss,
        "p50_ns": int(percentile(samples, 0.50) * 1e9),
        "p99_ns": int(percentile(samples, 0.99) * 1e9),
        "p999_ns": int(percentile(samples, 0.999) * 1e9),
        "max_ns": int((samples[-1] if samples else 0) * 1e9),
        "latency": unit,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--info", action="store_true")
    parser.add_argument("--variant", default="python")
    parser.add_argument("--workload", choices=["save", "save-new", "find", "stream", "stream-task_rb", "complete"])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--list")
    parser.add_argument("--addr", default="127.0.0.21:9042")
    parser.add_argument("--keyspace", default="taskrec_bench")
    args = parser.parse_args()
    if args.info:
        print(json.dumps(info()))
        return
    if args.variant != "python" or not args.workload or not args.list:
        parser.error("--variant python, --workload and --list are required")
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
