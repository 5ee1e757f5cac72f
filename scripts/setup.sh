#!/usr/bin/env bash
# Creates .venv (unless VENV is given), installs the pinned CPU torch, triton
# and the test tools, and builds datagen_gpu with its C++ extension.
#   EXTRAS=demo   also install the demo extras (pillow, scikit-image)
#   TORCH_SPEC    torch requirement (default torch==2.13.0, a CPU build)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip setuptools wheel
# torch first and pinned: anything unpinned would pull a multi-GB CUDA build.
"$PY" -m pip install -q "$TORCH_SPEC"
"$PY" -m pip install -q ninja numpy triton pytest pytest-benchmark scipy
if [[ ",${EXTRAS:-}," == *",demo,"* ]]; then
  "$PY" -m pip install -q pillow scikit-image
fi
# --no-build-isolation: build against the torch installed above. Skipped when the
# package is already installed and no C++ source is newer than the built library.
SO=$(ls datagen_gpu/_C*.so 2>/dev/null | head -n 1 || true)
if [ -n "$SO" ] && [ -z "$(find csrc setup.py -newer "$SO" 2>/dev/null)" ] \
   && "$PY" -m pip show -q datagen_gpu >/dev/null 2>&1 && "$PY" -c "import datagen_gpu" 2>/dev/null; then
  echo "datagen_gpu is built and up to date ($SO)"
else
  MAX_JOBS=${MAX_JOBS:-$(nproc)} "$PY" -m pip install -q --no-build-isolation --no-deps -e .
fi
echo "datagen_gpu built in $VENV (python: $PY)"
