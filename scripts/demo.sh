#!/usr/bin/env bash
# Sets up (with the demo extras) and runs the main job on the built-in sample
# images: every op on a batch, a PNG grid of the results and a throughput table.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=demo bash scripts/setup.sh
"${VENV:-.venv}/bin/datagen-gpu" demo --out out "$@"
