"""Benchmarks and the demo: one home for ``datagen-gpu bench``, ``datagen-gpu demo``, benchmarks/ and the GPU check.

Modules (nothing here is imported by ``import datagen_gpu``; peers are optional imports):

- ``cases``: the pipelines (SimCLR, BYOL, MoCo v2, ImageNet + TrivialAugment /
  RandAugment, SpecAugment, Mixup) and how datagen_gpu runs them;
- ``inputs``: the inputs every library gets (sample photos, procedural images,
  a folder; spectrograms);
- ``peers`` and ``peers_*``: torchvision, timm, kornia, DALI, torchaudio and
  plain torch, each built for a pipeline or skipped with the reason;
- ``timing``: interleaved rounds, CUDA events, copy bandwidth, progress bar;
- ``run``: one comparison (every pipeline, every library, every sweep point);
- ``report``: the table, the JSON record, RESULTS.md's generated section
  (``python -m datagen_gpu.bench.report --markdown FILES``);
- ``plots``: sweep / bar charts (matplotlib), PNG files (Pillow);
- ``ops``: single-op cases (the demo, benchmarks/compare.py, bench_ops.py);
- ``demo``, ``audio_demo``: ``datagen-gpu demo``'s grid, table and spectrogram picture;
- ``main``: the ``bench`` command.
"""
