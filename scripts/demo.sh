#!/usr/bin/env bash
# Sets up (with the demo extras) and runs the main job: the demo on the built-in
# sample photos (every op on a batch: a PNG grid, the SpecAugment picture, a
# per-op throughput table), then `datagen-gpu bench`: every training pipeline
# against the installed libraries (a table, out/bench.png, out/bench.json).
# Extra arguments go to the bench, e.g. bash scripts/demo.sh --pipeline simclr
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${EXTRAS:-demo} bash scripts/setup.sh
BIN="${VENV:-.venv}/bin"
"$BIN/datagen-gpu" demo --out out
"$BIN/datagen-gpu" bench --seconds "${BENCH_SECONDS:-5}" --plot out/bench.png --json out/bench.json "$@"
