"""Registrations for the MoCHi ops: fake kernels, CUDA kernels, and the
autograd of mochi_logits (gradient to the query only: the synthetic points
are constants, as in the paper)."""
import torch

from ._registry import register_cuda, register_fake


@register_fake("mochi_negatives")
def _mochi_negatives_fake(query, negatives, hard_index, pair_index, alpha, query_index, beta):
    dtype = torch.promote_types(query.dtype, negatives.dtype)
    S = pair_index.shape[1] + query_index.shape[1]
    return query.new_empty((query.shape[0], S, query.shape[1]), dtype=dtype)


@register_fake("mochi_logits")
def _mochi_logits_fake(query, negatives, hard_index, pair_index, alpha, query_index, beta, temperature):
    dtype = torch.promote_types(query.dtype, negatives.dtype)
    return query.new_empty((query.shape[0], pair_index.shape[1] + query_index.shape[1]), dtype=dtype)


@register_fake("mochi_logits_backward")
def _mochi_logits_backward_fake(grad, query, negatives, hard_index, pair_index, alpha, query_index, beta,
                                temperature):
    return torch.empty_like(query, memory_format=torch.contiguous_format)


def _setup_context(ctx, inputs, output):
    query, negatives, hard_index, pair_index, alpha, query_index, beta, temperature = inputs
    ctx.save_for_backward(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    ctx.temperature = temperature


def _backward(ctx, grad):
    grad_query = None
    if ctx.needs_input_grad[0]:
        grad_query = torch.ops.datagen_gpu.mochi_logits_backward(grad, *ctx.saved_tensors, ctx.temperature)
    return grad_query, None, None, None, None, None, None, None


torch.library.register_autograd("datagen_gpu::mochi_logits", _backward, setup_context=_setup_context)

for _name in ("mochi_negatives", "mochi_logits", "mochi_logits_backward"):
    register_cuda(_name, "mochi")
