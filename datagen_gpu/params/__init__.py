"""All randomness: per-sample parameter tensors from a counter-based generator.

No kernel draws a random number; transforms draw their parameters here as a
pure function of (seed, sample id, op id, draw index) and pass them to the
deterministic functionals.
"""
from .counter import hash32, random_bits, uniform
from .erasing import erasing_boxes, standard_normals
from .samplers import coins, jitter_range, permutations, resized_crop_boxes, uniform_range

__all__ = ["hash32", "random_bits", "uniform", "coins", "jitter_range", "permutations",
           "resized_crop_boxes", "uniform_range", "erasing_boxes", "standard_normals"]
