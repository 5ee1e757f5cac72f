// The blur's kernel weights (see blur.h).
#include "blur.h"

#include <cmath>

namespace datagen_gpu {

// Weights below this are skipped: with at most 2r of them, on values in
// [0, 1], they change a result by < 1e-8 in all, below float32's rounding
// step at 1 (6e-8): the output equals the full kernel's within float32
// rounding. Small sigmas (SimCLR draws sigma in [0.1, 2]) then cost a few
// taps instead of all k (sigma = 1 keeps 13 of 23, sigma = 0.5 keeps 7).
constexpr float kNegligibleWeight = 2e-10f;

// The radius e <= k / 2 of the taps that matter: w[r + d] < kNegligibleWeight
// for every d > e (the weights fall with the distance d from the centre r).
int64_t effective_radius(const float* w, int64_t k) {
  const int64_t r = k / 2;
  int64_t e = r;
  while (e > 0 && w[r + e] < kNegligibleWeight && w[r - e] < kNegligibleWeight) --e;
  return e;
}

// The normalized 1-D Gaussian of torchvision, in float32.
void gaussian_weights(int64_t k, float sigma, float* w) {
  const int64_t r = k / 2;
  float sum = 0.0f;
  for (int64_t t = 0; t < k; ++t) {
    const float d = static_cast<float>(t - r) / sigma;
    w[t] = std::exp(-0.5f * d * d);
    sum += w[t];
  }
  const float inv = 1.0f / sum;  // sum >= 1: the centre tap is exp(0) = 1
  for (int64_t t = 0; t < k; ++t) w[t] *= inv;
}

}  // namespace datagen_gpu
