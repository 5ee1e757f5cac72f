// Large CPU kernel outputs come from a cache of idle buffers.
//
// A training loop allocates a batch-sized output every step (B=64 float32
// 224x224 is 38.5 MB) and frees it a step later. From the system allocator
// each one is a fresh mapping whose pages the kernel zeroes on first touch,
// which costs as much as writing the batch. Outputs of at least
// kMinCachedBytes are served from, and returned to, a cache of idle buffers
// (sizes rounded to 64 KiB, from 2 MiB on to whole huge pages, which are
// requested with madvise(MADV_HUGEPAGE) on these buffers only). Idle bytes
// are capped (default 256 MiB, environment DATAGEN_GPU_CPU_CACHE_MB, or
// datagen_gpu.set_cpu_cache_limit); a buffer that does not fit is freed.
// Smaller outputs use torch's CPU allocator. The tensors are ordinary CPU
// tensors (resizable; their storage returns to the cache when freed).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace datagen_gpu {

constexpr size_t kMinCachedBytes = size_t{1} << 20;
constexpr int64_t kDefaultCacheLimit = int64_t{256} << 20;
constexpr int64_t kEmptyCache = -2;  // cpu_output_cache: drop every idle buffer

// An uninitialized CPU tensor from the cache.
at::Tensor cached_empty(at::IntArrayRef sizes, at::ScalarType dtype, bool channels_last);

// limit >= 0: sets the cap on idle bytes (dropping idle buffers above it);
// kEmptyCache: drops every idle buffer; -1: no change. Returns
// {idle bytes held, limit}.
std::vector<int64_t> cpu_output_cache(int64_t limit);

// A flat uninitialized CPU tensor of numel elements from the cache (the op
// _cpu_cached_empty: the data pipeline packs ragged batches into it).
at::Tensor cpu_cached_empty(int64_t numel, at::ScalarType dtype);

}  // namespace datagen_gpu
