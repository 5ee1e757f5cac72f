"""Argument checks of the mixing ops (mix, mochi_*), shared by the functional
API and the Triton launchers; they mirror the C++ checks (csrc/mixing.cpp,
csrc/mochi.cpp) and raise ValueError / TypeError naming the argument.
"""
import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_boxes(boxes, images, name="boxes"):
    batch = images.shape[0]
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[0] != batch or boxes.shape[1] != 4:
        raise ValueError(f"{name}: expected shape ({batch}, 4) (top, left, height, width), "
                         f"got {tuple(boxes.shape)}")
    if boxes.dtype != torch.int64:
        raise TypeError(f"{name}: expected dtype torch.int64, got {boxes.dtype}")
    if boxes.device != images.device:
        raise ValueError(f"{name}: expected device {images.device} (the images' device), got {boxes.device}")
    if not boxes.is_contiguous():
        raise ValueError(f"{name}: expected a contiguous tensor")


def _check(t, name, shape, shape_text, dtype, query):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {shape_text} = {tuple(shape)}, got {tuple(t.shape)}")
    if t.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {t.dtype}")
    if t.device != query.device:
        raise ValueError(f"{name}: expected device {query.device} (the query's device), got {t.device}")
    if not t.is_contiguous():
        raise ValueError(f"{name}: expected a contiguous tensor")


def check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta):
    """Shape / dtype / device checks of the MoCHi ops; returns (B, D, K, N, s, s')."""
    for name, t in (("query", query), ("negatives", negatives)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a tensor, got {type(t).__name__}")
    if query.dim() != 2:
        raise ValueError(f"query: expected a (B, D) tensor, got shape {tuple(query.shape)}")
    if query.dtype not in FLOAT_DTYPES:
        raise TypeError(f"query: expected float16, bfloat16, float32 or float64, got {query.dtype}")
    if negatives.dim() != 2 or negatives.shape[1] != query.shape[1]:
        raise ValueError(f"negatives: expected a (K, D) tensor with D = {query.shape[1]}, "
                         f"got shape {tuple(negatives.shape)}")
    if negatives.dtype not in FLOAT_DTYPES:
        raise TypeError(f"negatives: expected float16, bfloat16, float32 or float64, got {negatives.dtype}")
    if negatives.device != query.device:
        raise ValueError(f"negatives: expected device {query.device} (the query's device), "
                         f"got {negatives.device}")
    B, D = query.shape
    K = negatives.shape[0]
    for name, t, text in (("hard_index", hard_index, "(B, N)"), ("pair_index", pair_index, "(B, s, 2)"),
                          ("query_index", query_index, "(B, s')")):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a tensor, got {type(t).__name__}")
        if t.dim() != len(text.split(",")):
            raise ValueError(f"{name}: expected a {text} tensor, got shape {tuple(t.shape)}")
    N, S1, S2 = hard_index.shape[1], pair_index.shape[1], query_index.shape[1]
    _check(hard_index, "hard_index", (B, N), "(B, N)", torch.int64, query)
    _check(pair_index, "pair_index", (B, S1, 2), "(B, s, 2)", torch.int64, query)
    _check(alpha, "alpha", (B, S1), "(B, s)", torch.float32, query)
    _check(query_index, "query_index", (B, S2), "(B, s')", torch.int64, query)
    _check(beta, "beta", (B, S2), "(B, s')", torch.float32, query)
    if N == 0 and S1 + S2 > 0 and B > 0:
        raise ValueError("hard_index: expected at least one hard negative per query (N > 0) when "
                         "synthetic negatives are requested")
    if K == 0 and N > 0 and B > 0:
        raise ValueError(f"negatives: the queue is empty but hard_index selects N = {N} rows")
    return B, D, K, N, S1, S2


def check_temperature(temperature):
    t = float(temperature)
    if not (t > 0 and t != float("inf")):
        raise ValueError(f"temperature: expected a positive finite number, got {temperature!r}")
    return t


def check_grad(grad, B, S):
    if not isinstance(grad, torch.Tensor) or grad.dim() != 2 or tuple(grad.shape) != (B, S):
        shape = tuple(grad.shape) if isinstance(grad, torch.Tensor) else type(grad).__name__
        raise ValueError(f"grad: expected shape ({B}, {S}), got {shape}")
    if grad.dtype not in FLOAT_DTYPES:
        raise TypeError(f"grad: expected a floating point tensor, got {grad.dtype}")


def check_values(value, name, low, high, what=None):
    """Range check of a CPU tensor in one min/max pass (large index tensors); NaN fails.

    Skipped on other devices, where it would synchronize with the host (the
    kernels clamp every index they read, so any value stays memory-safe).
    """
    if value.device.type != "cpu" or value.numel() == 0:
        return
    lo, hi = torch.aminmax(value.reshape(-1))  # flat: the fast full-reduction path
    lo, hi = lo.item(), hi.item()
    if not (lo >= low and hi <= high):
        bad = lo if not lo >= low else hi
        raise ValueError(f"{name}: expected values in [{low}, {high}]{' (' + what + ')' if what else ''}, "
                         f"got {bad}")
