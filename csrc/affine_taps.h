// The per-row source taps of the affine warp (csrc/affine.cpp), computed by
// the per-ISA row kernels affine_nearest_taps / affine_bilinear_taps (isa.h,
// bodies in affine_kernels.h).
#pragma once

#include <cstdint>

namespace datagen_gpu {

// Output row i of one sample reads its source at
//   x = (m0 j + ci) + m2,  y = (m3 j + di) + m5    (ci = m1 i, di = m4 i)
// evaluated in float64 in that order (the reference's).
struct AffineRow {
  double m0, ci, m2, m3, di, m5;
  int64_t W, H;    // image size (source and output)
  int64_t sH, sW;  // source element strides (>= 0)
};

// Tap arrays are indexed by the output column j and hold W + kAffinePad
// elements: the kernels write whole vectors.
constexpr int64_t kAffinePad = 8;

// 1.5 * 2^52: (v + K) - K is v rounded half to even for |v| < 2^51.
constexpr double kAffineRound = 6755399441055744.0;

// Bilinear taps of the inner pixels of a row (all four neighbours inside):
// o[j] = the element offset of the top-left neighbour (row y0, column x0),
// the weights (wx0, wx1) = (1 - fx, fx), (wy0, wy1) and the fill's mask
// (wx0 + wx1) (wy0 + wy1), only needed with a fill (mask may be null without).
struct BilinearTaps {
  int64_t* o;
  float *wx0, *wx1, *wy0, *wy1, *mask;
};

}  // namespace datagen_gpu
