#!/usr/bin/env bash
# Creates .venv (unless VENV is given), installs the pinned CPU torch, triton,
# the test tools and what `datagen-gpu bench` draws with (matplotlib, tqdm),
# and builds datagen_gpu with its C++ extension.
#   EXTRAS=demo   also install the demo extras (scikit-image's sample photos)
#   EXTRAS=peers  also install the libraries `datagen-gpu bench` compares against
#                 (torchvision, kornia, timm; DALI is installed anyway), resolved
#                 against the pinned torch (EXTRAS=demo,peers for both)
#   WITH_DALI=0   skip nvidia-dali-cuda120 (the DALI source's tests and bench peer then skip)
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
"$PY" -m pip install -q ninja numpy triton pytest pytest-benchmark scipy matplotlib tqdm
# datagen_gpu.data: Pillow (the decoder that takes every format, and the test files'
# encoder) and simplejpeg (libjpeg-turbo); DALI's CPU pipelines feed DeviceLoader in
# the tests (x86-64 Linux wheels; WITH_DALI=0 skips the ~500 MB download).
"$PY" -m pip install -q pillow simplejpeg
if [ "${WITH_DALI:-1}" = "1" ] && [ "$(uname -sm)" = "Linux x86_64" ]; then
  "$PY" -m pip install -q nvidia-dali-cuda120==2.4.0
fi
if [[ ",${EXTRAS:-}," == *",demo,"* ]]; then
  "$PY" -m pip install -q scikit-image
fi
if [[ ",${EXTRAS:-}," == *",peers,"* ]]; then
  # the torch requirement on the same command line keeps the resolver on the installed
  # torch (a torchvision for another torch would replace it with a multi-GB CUDA build)
  "$PY" -m pip install -q "$TORCH_SPEC" torchvision kornia timm
fi
# torchvision's Python package alone (no dependencies, 23 MB): the parity tests run its
# transforms on this torch (tests/_backends.py torchvision_or_skip; scripts/test.sh points
# them at it). Not an import path of the venv: nothing else sees it.
if ! "$PY" -c "import torchvision" 2>/dev/null && [ ! -d "$VENV/torchvision-py/torchvision" ]; then
  "$PY" -m pip install -q --no-deps --target "$VENV/torchvision-py" torchvision==0.29.1
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
