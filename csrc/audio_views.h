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

inline void check_float_out_dtype(at::ScalarType dtype, const char* name) {
  TORCH_CHECK_TYPE(is_audio_dtype(dtype), name, ": expected float32, float16 or bfloat16, got ",
                   dtype);
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

// Sum of n floats in double, in 8 independent lanes (vectorizes).
inline double sum_floats(const float* x, int64_t n) {
  constexpr int64_t kLanes = 8;
  double acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t k = 0; k < kLanes; ++k) acc[k] += static_cast<double>(x[i + k]);
  }
  double s = 0.0;
  for (; i < n; ++i) s += static_cast<double>(x[i]);
  for (int64_t k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

// Mean of sample b of a (B, C, F, T) view; buf holds T floats.
inline double sample_mean(const ImageView& v, int64_t b, float* buf) {
  double s = 0.0;
  for (int64_t c = 0; c < v.C; ++c) {
    for (int64_t f = 0; f < v.H; ++f) {
      load_row(v, v.offset(b, c, f, 0), v.sW, v.W, buf);
      s += sum_floats(buf, v.W);
    }
  }
  return s / static_cast<double>(v.C * v.H * v.W);
}

}  // namespace datagen_gpu
