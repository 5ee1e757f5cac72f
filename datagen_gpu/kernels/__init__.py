"""Triton kernels and their host launchers, one module per family.

Each launcher has the op's signature (``torch.ops.datagen_gpu.<name>``) and
returns a new tensor. On CUDA tensors it is what the op dispatches to. On CPU
tensors it runs under Triton's interpreter, which is how the Triton kernels
are tested without a GPU::

    TRITON_INTERPRET=1 python -c "
    import torch, datagen_gpu
    from datagen_gpu.kernels import triton_launcher
    x = torch.rand(2, 3, 8, 8)
    print(triton_launcher('hflip')(x, torch.tensor([True, False]), torch.float32))"

TRITON_INTERPRET=1 must be set before triton is first imported.
No torch.library code lives here.
"""
import importlib

# op name -> kernels module holding its launcher
LAUNCHERS = {
    "hflip": "geometry",
    "resized_crop": "geometry",
    "adjust_brightness": "color",
    "adjust_contrast": "color",
    "adjust_saturation": "color",
    "adjust_hue": "color",
    "color_jitter": "color",
    "rgb_to_grayscale": "color",
    "solarize": "color",
    "pixel_ops": "pixel",
    "gaussian_blur": "filters",
    "normalize": "filters",
    "fused_augment": "fused",
    # learned-policy geometry
    "affine_warp": "affine",
    # audio
    "time_mask": "audio",
    "freq_mask": "audio",
    "spec_mask": "audio",
    "freq_shift": "audio",
    "audio_mixup": "audio",
    # mixing
    "mix": "mixing",
    "mochi_negatives": "mochi",
    "mochi_logits": "mochi",
    "mochi_logits_backward": "mochi",
    # parameters
    "random_bits": "random",
    # learned policies
    "erase": "erase",
    "erase_": "erase",
}


def triton_launcher(name):
    """The Triton launcher for op ``name`` (same arguments as the op)."""
    module = importlib.import_module(f"{__name__}.{LAUNCHERS[name]}")
    return getattr(module, name)
