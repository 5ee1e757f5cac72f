// Helpers of the audio CPU kernels (csrc/audio.cpp): (B, C, F, T) views of
// spectrograms and waveforms, layout-keeping outputs, argument checks, mask
// intervals and float sums.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common.h"

namespace datagen_gpu {

inline bool is_audio_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kHalf || t == at::kBFloat16;
}

// (B, F, T) or (B, C, F, T) float spectrograms.
inline void check_specs(const at::Tensor& specs, const char* name) {
  TORCH_CHECK_VALUE(specs.dim() == 3 || specs.dim() == 4, name,
                    ": expected a (B, F, T) or (B, C, F, T) spectrogram, got ", specs.dim(),
                    " dimensions");
  TORCH_CHECK_TYPE(is_audio_dtype(specs.scalar_type()), name,
                   ": expected float32, float16 or bfloat16, got ", specs.scalar_type());
}

// (B, T), (B, C, T), (B, F, T) or (B, C, F, T) float waveforms or spectrograms.
inline void check_audio(const at::Tensor& x, const char* name) {
  TORCH_CHECK_VALUE(x.dim() >= 2 && x.dim() <= 4, name,
                    ": expected a (B, T), (B, C, T), (B, F, T) or (B, C, F, T) tensor, got ",
                    x.dim(), " dimensions");
  TORCH_CHECK_TYPE(is_audio_dtype(x.scalar_type()), name,
                   ": expected float32, float16 or bfloat16, got ", x.scalar_type());
}

// (B, M) int64 mask starts or widths on the spectrograms' device.
inline void check_mask_param(const at::Tensor& p, const at::Tensor& specs, const char* name) {
  TORCH_CHECK_VALUE(p.dim() == 2 && p.size(0) == specs.size(0), name, ": expected shape (",
                    specs.size(0), ", M), got ", p.sizes());
  TORCH_CHECK_TYPE(p.scalar_type() == at::kLong, name, ": expected dtype int64, got ",
                   p.scalar_type());
  TORCH_CHECK_VALUE(p.device() == specs.device(), name, ": expected device ", specs.device(),
                    " (the spectrograms' device), got ", p.device());
  TORCH_CHECK_VALUE(p.is_contiguous(), name, ": expected a contiguous tensor");
}

// A (B, C, F, T) view: (B, T) -> (B, 1, 1, T), (B, X, T) -> (B, 1, X, T).
inline at::Tensor as_bcft(const at::Tensor& t) {
  if (t.dim() == 2) return t.unsqueeze(1).unsqueeze(1);
  if (t.dim() == 3) return t.unsqueeze(1);
  return t;
}

// A new output of t's sizes whose dimensions have t's order in memory (by
// decreasing stride, ties in dimension order; datagen_gpu/ops/audio.py's fake
// kernels use the same rule), allocated through new_output (poisoning).
inline at::Tensor new_output_like_layout(const at::Tensor& t, at::ScalarType dtype) {
  const int64_t d = t.dim();
  std::vector<int64_t> order(d);
  for (int64_t i = 0; i < d; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return t.stride(a) > t.stride(b); });
  std::vector<int64_t> sizes(d), inverse(d);
  for (int64_t i = 0; i < d; ++i) {
    sizes[i] = t.size(order[i]);
    inverse[order[i]] = i;
  }
  return new_output(sizes, dtype, false).permute(inverse);
}

// Half-open index interval [lo, hi).
struct Interval {
  int64_t lo, hi;
};

// [start, start + width) clipped to [0, size); empty when width <= 0. No
// intermediate can overflow for any int64 start and width.
inline Interval clip_mask(int64_t start, int64_t width, int64_t size) {
  if (width <= 0 || start >= size) return {0, 0};
  // start < 0: start + width cannot overflow; 0 <= start < size: size - start cannot
  const int64_t hi = start < 0 ? std::min(start + width, size)
                               : (width >= size - start ? size : start + width);
  const int64_t lo = std::max<int64_t>(start, 0);
  return hi > lo ? Interval{lo, hi} : Interval{0, 0};
}

// Sum of n floats: blocks of 1024 summed in float with an OpenMP SIMD
// reduction (vector lanes), the blocks accumulated in double.
inline double sum_floats(const float* x, int64_t n) {
  constexpr int64_t kBlock = 1024;
  double total = 0.0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = std::min(n, b0 + kBlock);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b0; i < b1; ++i) s += x[i];
    total += static_cast<double>(s);
  }
  return total;
}

// Row (b, c, f) of a (B, C, F, T) view as floats: a pointer into the tensor
// when it is float32 with unit stride along T, else loaded into buf.
inline const float* row_floats(const ImageView& v, int64_t b, int64_t c, int64_t f, float* buf) {
  const int64_t offset = v.offset(b, c, f, 0);
  if (v.dtype == at::kFloat && v.sW == 1) {
    return reinterpret_cast<const float*>(v.data) + offset;
  }
  load_row(v, offset, v.sW, v.W, buf);
  return buf;
}

}  // namespace datagen_gpu
