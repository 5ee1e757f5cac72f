"""The sections of ``benchmarks/gpu_check.py`` (its only entry point): data, audio, mixing, pipeline,
image ops (``images``) and the device sections; ``common`` holds what they share."""
