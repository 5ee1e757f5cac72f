#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite: the C++ kernels and,
# under TRITON_INTERPRET=1 on CPU tensors, every Triton kernel, against the
# float64 reference; plus a one-shot run of every benchmark (--benchmark-disable).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY="${VENV:-.venv}/bin/python"
# pyproject's addopts disable benchmark timing: each benchmark runs once, as a test.
"$PY" -m pytest tests benchmarks -q "$@"
