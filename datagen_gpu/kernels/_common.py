"""Triton helpers shared by the kernel families: dtype-aware load and store,
64-bit index helpers, launch grids that fit CUDA's limits, block sizes.

Values are float32 in [0, 1] inside every kernel: uint8 loads are scaled by
1/255; uint8 stores compute floor(clamp(255 * x, 0, 255) + 0.5), exactly as
the C++ kernels (csrc/common.cpp) do.

Launch grids. CUDA allows 2^31 - 1 programs on grid axis 0 and 65,535 on
axes 1 and 2, so no launcher puts a count that grows with the image (tiles,
column blocks, time blocks) on axis 1 or 2: each numbers its n programs
0..n-1 in one flat index, ``flat_grid(n)`` lays them on axis 0 (spilling
onto axis 1 only past 2^31 - 1 programs) and the kernel recovers the index
with ``flat_program_id(n)`` (int64) or ``flat_program_index(n)`` and decodes
it with integer division.

Index types. Triton passes an int argument below 2^31 as int32, a larger one
as int64. A division of int64 values compiles to a call of a divide
subroutine, around which ptxas saves registers to the stack (spills) and
which a kernel pays per division; an int32 division is a short inline
sequence. So the kernels decode program indices in the type of the count
they lie below (``index_like`` / ``flat_program_index``: int32 for every
launch of fewer than 2^31 programs, int64 past it) and convert the decoded
indices to int64 (``i64``) before any product with a stride or a size, so
addresses never overflow.

Block sizes and grid limits are module-level settings read at every launch
(here and in each family module: ``color.BLOCK``, ``filters.TILE`` ...).
They are not API: tests lower them so that small images run every
multi-tile, multi-block and folded-grid path on the Triton interpreter.
"""
import torch
import triton
import triton.language as tl

from .._debug import empty_output  # noqa: F401  (re-exported for the launchers)

MAX_GRID_X = 2**31 - 1  # CUDA: programs on grid axis 0
MAX_GRID_YZ = 65535  # CUDA: programs on grid axes 1 and 2

# Settings read at launch (tests lower them; see the module docstring).
GRID_X_LIMIT = MAX_GRID_X  # programs flat_grid puts on axis 0 before spilling onto axis 1
ROW_BLOCK = 1024  # largest block of columns per program of a row_program kernel


@triton.jit
def load_f32(ptr, offsets, mask):
    x = tl.load(ptr + offsets, mask=mask, other=0)
    if ptr.dtype.element_ty == tl.uint8:
        return x.to(tl.float32) * (1.0 / 255.0)
    else:
        return x.to(tl.float32)


@triton.jit
def store_f32(ptr, offsets, value, mask):
    if ptr.dtype.element_ty == tl.uint8:
        v = tl.minimum(tl.maximum(value * 255.0, 0.0), 255.0)
        tl.store(ptr + offsets, (v + 0.5).to(tl.uint8), mask=mask)
    else:
        tl.store(ptr + offsets, value.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def i64(x):
    """x as int64 before it is multiplied: an int32 kernel argument (or a
    constant, which Triton makes of an argument equal to 1) times another can
    pass 2^31 on a large batch; ``x.to`` fails on such constants, tl.cast does not."""
    return tl.cast(x, tl.int64)


@triton.jit
def flat_program_id(n):
    """This program's index in [0, n) of a ``flat_grid(n)`` launch, as int64.

    The padding programs of a grid spilled onto axis 1 (index >= n) repeat
    program n - 1: they write the same values to the same addresses.
    """
    pid = tl.program_id(1).to(tl.int64) * tl.num_programs(0) + tl.program_id(0)
    return tl.minimum(pid, i64(n) - 1)


@triton.jit
def index_like(x, n):
    """x, an index in [0, n), in n's integer type: int32 when n is an int32
    argument (Triton passes ints below 2^31 as i32) or a constant, int64 when n
    is int64. Decided at compile time. Divisions of the result by counts that are
    themselves below n (int32 then) compile to inline 32-bit code instead of the
    64-bit divide subroutine; products with strides still need ``i64``."""
    if tl.to_tensor(n).dtype.primitive_bitwidth > 32:
        return tl.cast(x, tl.int64)
    else:
        return tl.cast(x, tl.int32)


@triton.jit
def flat_program_index(n):
    """``flat_program_id(n)`` in n's type (``index_like``): int32 for a launch of
    fewer than 2^31 programs, int64 for a larger one. Decode it with divisions by
    the launch's per-axis counts (all below n), then ``i64`` the decoded indices
    before multiplying them by strides."""
    return index_like(flat_program_id(n), n)


@triton.jit
def split_program(pid, C, M, N):
    """(b, c, m, k) with pid = ((b * C + c) * M + m) * N + k: a flat program index of a
    (B, C, M, N) launch decoded in pid's type (``flat_program_index``'s: no 64-bit
    division below 2^31 programs); ``i64`` the results before multiplying by strides."""
    rows = pid // N
    k = pid - rows * N
    plane = rows // M
    m = rows - plane * M
    b = plane // C
    c = plane - b * C
    return b, c, m, k


def flat_grid(n: int):
    """Grid of n programs for ``flat_program_id``: (n,) up to GRID_X_LIMIT programs,
    else (GRID_X_LIMIT, ceil(n / GRID_X_LIMIT)) (up to 1.4e14 programs)."""
    limit = min(int(GRID_X_LIMIT), MAX_GRID_X)
    if n <= limit:
        return (n,)
    rows = triton.cdiv(n, limit)
    if rows > MAX_GRID_YZ:
        raise OverflowError(f"{n} programs do not fit a CUDA grid")
    return (limit, rows)


@triton.jit
def row_tile(pid, C, H, W, BLOCK_W: tl.constexpr):
    """(b, c, h, w, mask) of program ``pid`` over (image row, block of columns) of
    a (B, C, H, W) batch: program row * ceil(W / BLOCK_W) + j takes column block j
    of row ``row`` of the B * C * H rows; 64-bit indices."""
    blocks = tl.cdiv(W, BLOCK_W)
    row = pid // blocks
    w = (pid % blocks) * BLOCK_W + tl.arange(0, BLOCK_W)
    return row // (i64(C) * H), (row // H) % C, row % H, w, w < W


@triton.jit
def row_program(C, H, W, BLOCK_W: tl.constexpr):
    """``row_tile`` of this program of a 1-D ``row_launch`` grid (not padded)."""
    return row_tile(tl.program_id(0).to(tl.int64), C, H, W, BLOCK_W)


def strides(t: torch.Tensor):
    """The four element strides of a (B, C, H, W) tensor."""
    return tuple(int(s) for s in t.stride())


def row_launch(images: torch.Tensor, out_dtype: torch.dtype, padded: bool = False):
    """(output like images, grid, BLOCK_W) of a row_program kernel; grid None when empty.

    The B * C * H * ceil(W / BLOCK_W) programs lie on grid axis 0 (exact, at most
    2^31 - 1 of them, for ``row_program``), or with ``padded`` on ``flat_grid(n)``,
    which fits any size (the kernel takes ``row_tile(flat_program_id(n), ...)``
    with n = B * C * H * ceil(W / BLOCK_W)).
    """
    from .._checks import is_channels_last

    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    block = row_block(W)
    if not out.numel():
        return out, None, block
    n = B * C * H * triton.cdiv(W, block)
    if padded:
        return out, flat_grid(n), block
    if n > MAX_GRID_X:
        raise OverflowError(f"{B * C * H} image rows of {W} pixels: more than 2^31 - 1 programs")
    return out, (n,), block


def row_block(width: int, max_block=None) -> int:
    """Power-of-two block covering one image row (at least 16, at most max_block,
    by default ROW_BLOCK)."""
    max_block = ROW_BLOCK if max_block is None else max_block
    return max(16, min(max_block, triton.next_power_of_2(max(int(width), 1))))
