// The separable Gaussian blur of gaussian_blur (csrc/filters.cpp), shared with
// fused_augment (csrc/fused.cpp), which blurs from a per-thread image buffer.
//
// Per sample a normalized k-tap kernel (torchvision's _get_gaussian_kernel1d,
// float32), torch "reflect" padding of k / 2, a horizontal then a vertical
// pass (isa.h's fir) with a float32 row-block intermediate. Taps whose weight
// is negligible are skipped (effective_radius).
#pragma once

#include <cstdint>
#include <vector>

#include "common.h"
#include "isa.h"

namespace datagen_gpu {

// w[0..k) = torchvision's normalized 1-D Gaussian of sigma, in float32.
void gaussian_weights(int64_t k, float sigma, float* w);

// The radius e <= k / 2 of the taps that matter (see blur.cpp).
int64_t effective_radius(const float* w, int64_t k);

// torch "reflect" index for p in [-(n - 1), 2n - 2]: -1 -> 1, n -> n - 2.
inline int64_t reflect(int64_t p, int64_t n) {
  if (p < 0) p = -p;
  if (p >= n) p = 2 * (n - 1) - p;
  return p;
}

// Per-thread buffers of blur_rows.
struct BlurScratch {
  std::vector<float> padded, horiz, row;
};

// Blurs output rows [y0, y1) of plane (b, c) of src with the k-tap kernel w
// (radius r = k / 2 < H, W; taps r - e .. r + e used) and calls
// finish(y, row) with each blurred row of src.W floats.
template <typename Finish>
void blur_rows(const ImageView& src, int64_t b, int64_t c, int64_t y0, int64_t y1,
               const float* w, int64_t k, int64_t e, BlurScratch& s, Finish&& finish) {
  const int64_t r = k / 2, H = src.H, W = src.W;
  s.padded.resize(W + 2 * r);
  s.horiz.resize((y1 - y0 + 2 * e) * W);
  s.row.resize(W);
  const float* we = w + (r - e);
  // Horizontal pass over padded rows y0 - e .. y1 + e - 1.
  for (int64_t p = y0 - e; p < y1 + e; ++p) {
    float* line = s.padded.data() + r;
    load_row(src, src.offset(b, c, reflect(p, H), 0), src.sW, W, line);
    for (int64_t j = 1; j <= e; ++j) {
      line[-j] = line[j];
      line[W - 1 + j] = line[W - 1 - j];
    }
    fir(line - e, 1, we, 2 * e + 1, W, s.horiz.data() + (p - (y0 - e)) * W);
  }
  // Vertical pass: output row y reads horizontal rows y - e .. y + e.
  for (int64_t y = y0; y < y1; ++y) {
    fir(s.horiz.data() + (y - y0) * W, W, we, 2 * e + 1, W, s.row.data());
    finish(y, s.row.data());
  }
}

}  // namespace datagen_gpu
