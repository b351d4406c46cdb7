#!/usr/bin/env python3
"""Prints the ratios of the pure-code benches (benches/pure.rs) from
criterion's estimates: each taskrec bench against its serde or std
baseline, and the issue's targets beside them.

    cargo bench --bench pure && python3 bench/criterion_ratios.py [CRITERION_DIR]

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
Times are criterion's median estimates.
"""

import json
import os
import sys

# (group, ours, baseline, target ratio or None)
PAIRS = [
    ("hash", "taskrec/to_json", "serde/to_json", None),
    ("hash", "taskrec/to_json_direct", "serde/to_json", None),
    ("hash", "taskrec/from_json", "serde/from_json", None),
    ("hash", "taskrec/from_json_direct", "serde/from_json", None),
    ("hash", "taskrec/round_trip", "serde/round_trip", 1.5),
    ("hash", "taskrec/round_trip_json", "serde/round_trip", 1.5),
    ("data_json", "taskrec/to_record", "serde/to_string", None),
    ("data_json", "taskrec/from_record", "serde/from_str", None),
    ("derive", "task_data/serialize", "serde/serialize", None),
    ("derive", "task_data/deserialize", "serde/deserialize", None),
    ("memory", "adapter/store", "bare_map/store", 2.0),
    ("memory", "adapter/find", "bare_map/find", 2.0),
]


def median_ns(root, group, bench):
    path = os.path.join(root, group, bench.replace("/", "_"), "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "criterion")
    print("| group | taskrec | ns | baseline | ns | ratio | target |")
    print("|---|---|---:|---|---:|---:|---|")
    for group, ours, base, target_ratio in PAIRS:
        try:
            a, b = median_ns(root, group, ours), median_ns(root, group, base)
        except FileNotFoundError as e:
            print(f"| {group} | {ours} | – | {base} | – | – | missing: {e.filename} |")
            continue
        ratio = a / b
        verdict = ""
        if target_ratio is not None:
            verdict = f"≤ {target_ratio}x: {'met' if ratio <= target_ratio else 'MISSED'}"
        print(f"| {group} | {ours} | {a:.0f} | {base} | {b:.0f} | {ratio:.2f} | {verdict} |")


if __name__ == "__main__":
    main()
