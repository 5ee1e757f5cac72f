// random_bits: the counter-based generator's per-sample words in one pass
// (datagen_gpu/params/counter.py holds the definition and a plain-torch
// version of the same arithmetic; the tests require bit equality).
//
//   h[i]     = hash32(hash32(lo32(id[i]) ^ key) ^ hi32(id[i]))
//   out[i,d] = hash32(h[i] ^ hash32(d ^ 0x9E3779B9))
//
// `key` is the hash chain of the scalar words (seed, op id), computed on the
// host. hash32 and the per-sample / per-draw steps are in counter.h.
#include <ATen/core/Tensor.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <cstdint>

#include "counter.h"

namespace datagen_gpu {
namespace {

at::Tensor random_bits_cpu(const at::Tensor& ids, int64_t key, int64_t n_draws) {
  TORCH_CHECK_VALUE(ids.dim() == 1, "sample_ids: expected shape (B,), got ", ids.sizes());
  TORCH_CHECK_TYPE(ids.scalar_type() == at::kLong, "sample_ids: expected int64, got ",
                   ids.scalar_type());
  TORCH_CHECK_VALUE(n_draws >= 0, "n_draws: expected >= 0, got ", n_draws);
  TORCH_CHECK_VALUE(key >= 0 && key <= 0xFFFFFFFFll, "key: expected a 32-bit word, got ", key);
  const int64_t B = ids.size(0);
  at::Tensor out = at::empty({B, n_draws}, ids.options());
  if (out.numel() == 0) return out;
  const at::Tensor c = ids.contiguous();
  const int64_t* id = c.const_data_ptr<int64_t>();
  int64_t* o = out.mutable_data_ptr<int64_t>();
  const uint32_t k = static_cast<uint32_t>(key);
  at::parallel_for(0, B, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const uint32_t h = sample_hash(id[i], k);
      for (int64_t d = 0; d < n_draws; ++d) {
        o[i * n_draws + d] = draw_word(h, static_cast<uint32_t>(d));
      }
    }
  });
  return out;
}

}  // namespace
}  // namespace datagen_gpu

TORCH_LIBRARY_FRAGMENT(datagen_gpu, m) {
  // (B, n_draws) int64 words in [0, 2^32) of the counter-based generator
  m.def("random_bits(Tensor sample_ids, int key, int n_draws) -> Tensor");
}

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("random_bits", &datagen_gpu::random_bits_cpu);
}
