// The per-row source taps of the affine warp (csrc/affine.cpp), computed by
// the per-ISA row kernels affine_nearest_taps / affine_bilinear_taps (isa.h,
// bodies in affine_kernels.h).
#pragma once

#include <cstdint>

namespace datagen_gpu {

// Output row i of one sample reads its source at
//   x = (m0 j + ci) + m2,  y = (m3 j + di) + m5    (ci = m1 i, di = m4 i)
// evaluated in float64 in that order (the reference's), then clamped to
// [-2, size + 1] (NaN -> -2: outside), so every index made from it is small.
struct AffineRow {
  double m0, ci, m2, m3, di, m5;
  int64_t W, H;    // image size (source and output)
  int64_t sH, sW;  // source element strides (>= 0)
};

// Tap arrays hold W + kAffinePad elements: the kernels write whole vectors.
constexpr int64_t kAffinePad = 8;

// Bilinear taps of one row. o[j] >= 0: the offset of the top-left neighbour
// (row y0, column x0), all four neighbours inside the image ("inner");
// o[j] = -1: some neighbour may be inside (the border band, computed per
// pixel by the caller); o[j] = -2: every neighbour is outside (weights 0).
// Weights and mask are those of the inner formula; valid where o[j] >= 0.
struct BilinearTaps {
  int64_t* o;
  float *wx0, *wx1, *wy0, *wy1, *mask;
};

}  // namespace datagen_gpu
