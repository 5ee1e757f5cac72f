// Row-level color math used outside the per-ISA kernels: the grayscale
// weights, normalize (common.cpp, filters.cpp) and the fixed-order row sum of
// contrast's mean. The color steps themselves (solarize included) are per
// pixel in color_pixels.h, compiled per CPU ISA (isa.h).
//
// The functions work in place on float row buffers.
//   normalize  = (x - mean) / std
#pragma once

#include <cstdint>

namespace datagen_gpu {
namespace color {

constexpr float kWeightR = 0.2989f;
constexpr float kWeightG = 0.587f;
constexpr float kWeightB = 0.114f;

// Sum of x[0..n) in 8 lanes, lane j summing x[j], x[j + 8], ..., the lanes
// added in a fixed order: the same result at every vector width (SSE2, AVX2).
inline float sum_row(const float* __restrict x, int64_t n) {
  float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  }
  for (int j = 0; i + j < n; ++j) acc[j] += x[i + j];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

// Normalize: x = (x - mean) * inv_std (torchvision's normalize, with the
// reciprocal of the standard deviation).
inline void normalize_row(float* __restrict x, int64_t n, float mean, float inv_std) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv_std;
}

}  // namespace color
}  // namespace datagen_gpu
