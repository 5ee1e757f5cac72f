// The separable Gaussian blur of gaussian_blur (csrc/filters.cpp), shared with
// fused_augment (csrc/fused.cpp), which blurs from a per-thread image buffer.
//
// Per sample a normalized k-tap kernel (torchvision's _get_gaussian_kernel1d,
// float32), torch "reflect" padding of k / 2, a vertical then a horizontal
// pass (isa.h's fir_symmetric), one float32 row in between. Taps whose weight
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
  std::vector<float> rows;          // input rows as float (sources not float32 contiguous)
  std::vector<const float*> taps;   // 2e + 1 row pointers of one pass
  std::vector<float> line, out;     // the vertical pass's row, padded by e; the output row
};

// Blurs output rows [y0, y1) of plane (b, c) of src with the k-tap kernel w
// (radius r = k / 2 < H, W; taps r - e .. r + e used) and calls
// finish(y, row) with each blurred row of src.W floats.
//
// Per output row: the vertical pass reads the 2e + 1 reflected input rows in
// place (float32 rows with unit stride; others are converted once per call),
// then the horizontal pass runs on that one row, reflect-padded by e. Both
// passes are fir_symmetric (the kernel is symmetric: w[r - j] == w[r + j]).
template <typename Finish>
void blur_rows(const ImageView& src, int64_t b, int64_t c, int64_t y0, int64_t y1,
               const float* w, int64_t k, int64_t e, BlurScratch& s, Finish&& finish) {
  const int64_t H = src.H, W = src.W, lo = y0 - e;
  const float* wc = w + k / 2;
  const bool in_place = src.dtype == at::kFloat && src.sW == 1;
  if (!in_place) {
    s.rows.resize((y1 - y0 + 2 * e) * W);
    for (int64_t p = lo; p < y1 + e; ++p) {
      load_row(src, src.offset(b, c, reflect(p, H), 0), src.sW, W, s.rows.data() + (p - lo) * W);
    }
  }
  auto input_row = [&](int64_t p) -> const float* {
    if (!in_place) return s.rows.data() + (p - lo) * W;
    return reinterpret_cast<const float*>(src.data) + src.offset(b, c, reflect(p, H), 0);
  };
  s.taps.resize(2 * e + 1);
  s.line.resize(W + 2 * e);
  s.out.resize(W);
  float* line = s.line.data() + e;
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t j = 0; j <= 2 * e; ++j) s.taps[j] = input_row(y - e + j);
    fir_symmetric(s.taps.data(), wc, e, W, line);
    for (int64_t j = 1; j <= e; ++j) {
      line[-j] = line[j];
      line[W - 1 + j] = line[W - 1 - j];
    }
    for (int64_t j = 0; j <= 2 * e; ++j) s.taps[j] = line + (j - e);
    fir_symmetric(s.taps.data(), wc, e, W, s.out.data());
    finish(y, s.out.data());
  }
}

}  // namespace datagen_gpu
