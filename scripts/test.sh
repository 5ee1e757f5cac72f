#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite: the C++ kernels and,
# under TRITON_INTERPRET=1 on CPU tensors, every Triton kernel, against the
# float64 reference; plus a one-shot run of every benchmark (--benchmark-disable).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY="${VENV:-.venv}/bin/python"
# torchvision's Python package alone (setup.sh): the parity tests run its transforms on this
# torch (tests/_backends.py torchvision_or_skip); an installed torchvision takes precedence.
TV_DIR="${VENV:-.venv}/torchvision-py"
case "$TV_DIR" in /*) ;; *) TV_DIR="$(pwd)/$TV_DIR" ;; esac  # VENV may be absolute (.ci/run)
if [ -d "$TV_DIR" ]; then
  export DATAGEN_TEST_TORCHVISION="${DATAGEN_TEST_TORCHVISION:-$TV_DIR}"
fi
# pyproject's addopts disable benchmark timing: each benchmark runs once, as a test.
"$PY" -m pytest tests benchmarks -q "$@"
