// The body of the per-ISA color row kernels (see isa.h). Included by
// isa_default.cpp and isa_avx2.cpp with DATAGEN_ISA naming
// the namespace; the AVX2 file includes it under `#pragma GCC target`.
// Only functions of that namespace may be defined here: an inline function
// shared with other files would otherwise be emitted with the ISA's
// instructions and could be the copy the linker keeps for every caller.
// The color_math.h row functions are defined (default ISA) before the pragma
// and inlined here, where they are vectorized for the ISA.
#ifndef DATAGEN_ISA
#error "define DATAGEN_ISA before including isa_kernels.h"
#endif

namespace datagen_gpu {
namespace DATAGEN_ISA {

void apply_steps(const Plan& plan, int begin, int end, float mean, Rows& rows) {
  const int64_t n = rows.W;
  float* r = rows.plane(0);
  for (int k = begin; k < end; ++k) {
    const Step& s = plan.steps[k];
    switch (s.op) {
      case kBrightness:
        for (int64_t c = 0; c < rows.C; ++c) color::brightness_row(rows.plane(c), n, s.factor);
        break;
      case kContrast:
        for (int64_t c = 0; c < rows.C; ++c) color::blend_scalar_row(rows.plane(c), n, s.factor, mean);
        break;
      case kSaturation: {
        float* gray = rows.gray();
        color::gray_row(r, rows.plane(1), rows.plane(2), n, s.quantized, gray);
        for (int64_t c = 0; c < 3; ++c) color::blend_row(rows.plane(c), gray, n, s.factor);
        break;
      }
      case kHue:
        color::hue_row(r, rows.plane(1), rows.plane(2), n, s.factor);
        break;
      case kSolarize:
        for (int64_t c = 0; c < rows.C; ++c) color::solarize_row(rows.plane(c), n, s.factor);
        break;
    }
  }
}

float gray_sum(Rows& rows, bool quantized) {
  if (rows.C != 3) return color::sum_row(rows.plane(0), rows.W);
  color::gray_row(rows.plane(0), rows.plane(1), rows.plane(2), rows.W, quantized, rows.gray());
  return color::sum_row(rows.gray(), rows.W);
}

// Blocks of kBlock outputs stay in registers across all taps; the j-loops
// have a fixed trip count, so they vectorize along x (4 SSE2 / 2 AVX2
// accumulator registers), each lane summing its taps in order t = 0 .. k-1.
constexpr int64_t kFirBlock = 16;

void fir(const float* __restrict src, int64_t step, const float* __restrict w, int64_t k,
         int64_t n, float* __restrict out) {
  int64_t x0 = 0;
  for (; x0 + kFirBlock <= n; x0 += kFirBlock) {
    float acc[kFirBlock] = {};
    for (int64_t t = 0; t < k; ++t) {
      const float wt = w[t];
      const float* s = src + x0 + t * step;
#pragma omp simd
      for (int64_t j = 0; j < kFirBlock; ++j) acc[j] += wt * s[j];
    }
    for (int64_t j = 0; j < kFirBlock; ++j) out[x0 + j] = acc[j];
  }
  if (x0 < n) {
    float acc[kFirBlock] = {};
    const int64_t m = n - x0;
    for (int64_t t = 0; t < k; ++t) {
      const float wt = w[t];
      const float* s = src + x0 + t * step;
      for (int64_t j = 0; j < m; ++j) acc[j] += wt * s[j];
    }
    for (int64_t j = 0; j < m; ++j) out[x0 + j] = acc[j];
  }
}

void resample_lanes(const float* __restrict in, const int64_t* __restrict start, int64_t lo,
                    const float* __restrict weight, int64_t taps, int64_t out_w, int64_t lanes,
                    float* __restrict tmp) {
  for (int64_t ox = 0; ox < out_w; ++ox) {
    const float* x = in + (start[ox] - lo) * 8;
    const float* w = weight + ox * taps;
    float acc[8] = {};
    for (int64_t t = 0; t < taps; ++t) {
      const float wt = w[t];
      for (int64_t r = 0; r < 8; ++r) acc[r] += wt * x[t * 8 + r];
    }
    for (int64_t r = 0; r < lanes; ++r) tmp[r * out_w + ox] = acc[r];
  }
}

void resample_column(const float* __restrict rows, const float* __restrict w, int64_t count,
                     int64_t out_w, float* __restrict out) {
  for (int64_t ox = 0; ox < out_w; ++ox) out[ox] = 0.0f;
  for (int64_t t = 0; t < count; ++t) {
    const float wt = w[t];
    const float* __restrict x = rows + t * out_w;
    for (int64_t ox = 0; ox < out_w; ++ox) out[ox] += wt * x[ox];
  }
}

}  // namespace DATAGEN_ISA
}  // namespace datagen_gpu
