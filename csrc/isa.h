// Row kernels compiled once per CPU instruction set and picked at run time:
// the color steps of color_jitter / fused_augment, the Gaussian blur's FIR,
// the resampling passes of resized_crop / fused_augment and the affine warp's
// float64 source coordinates.
//
// The x86-64 baseline is SSE2. With AVX2 (8 float lanes, blendv) the hue
// rotation's selects, the blends and the multiply-add loops run about 2-2.5x
// faster. The same source (isa_kernels.h) is compiled for each ISA into its
// own namespace (isa_default.cpp, isa_avx2.cpp); the variants perform the same
// IEEE operations in the same order (no FMA contraction, fixed-order sums),
// so every level returns bit-identical results.
#pragma once

#include <cstdint>

#include "affine_taps.h"
#include "color_plan.h"

namespace datagen_gpu {

// Runs steps [begin, end) of the plan on the loaded row; `mean` is contrast's.
void apply_steps(const Plan& plan, int begin, int end, float mean, Rows& rows);

inline void apply_steps(const Plan& plan, int end, float mean, Rows& rows) {
  apply_steps(plan, 0, end, mean, rows);
}

// Sum of the row's grayscale (contrast's mean), accumulated in 8 fixed lanes.
float gray_sum(Rows& rows, bool quantized);

// d[i] = table[s[i]] for i < n: a 256-entry table on uint8 levels (pixel_ops).
void map_levels(const uint8_t* s, uint8_t* d, int64_t n, const uint8_t* table);

// SHARPNESS (pixel_ops) of an interior row of a uint8 channel: above, row, below
// are rows h - 1, h, h + 1 (W >= 3 contiguous levels); k = 1 - factor. Interior
// pixels y = clamp(x + k (blur - x), 0, 1), x = level / 255, blur the 3x3 mean
// weighted 1 around and 5 at the centre rounded to a level; the first and last
// columns keep x. Writes y as levels to out8 (rounded as store_row) or, when out8
// is null, as floats to outf.
void sharpen_u8_row(const uint8_t* above, const uint8_t* row, const uint8_t* below, int64_t W,
                    float k, uint8_t* out8, float* outf);

// out[x] = sum_t w[t] * src[x + t * step], x in [0, n), t in [0, k) (the
// resampling's vertical pass).
void fir(const float* src, int64_t step, const float* w, int64_t k, int64_t n, float* out);

// The symmetric FIR of the blur: with wc the centre tap (wc[j] weighs both
// row[e - j] and row[e + j], j = 1 .. e),
//   out[x] = wc[0] * row[e][x] + sum_j wc[j] * (row[e - j][x] + row[e + j][x]).
// row holds 2e + 1 row pointers: rows of an image (vertical pass) or one
// padded row shifted by -e .. e (horizontal pass).
void fir_symmetric(const float* const* row, const float* wc, int64_t e, int64_t n, float* out);

// ib[x * 8 + r] = rows[r][x] for x in [0, n), r < 8: 8 input rows interleaved
// for resample_lanes; the uint8 form scales by 1 / 255 as load_row.
void interleave8(const float* const* rows, int64_t n, float* ib);
void interleave8_u8(const uint8_t* const* rows, int64_t n, float* ib);

// Horizontal resampling of 8 interleaved rows (lane r of column x at
// in[x * 8 + r]): acc[ox, r] = sum_t weight[ox * taps + t] * in[(start[ox] - lo + t) * 8 + r],
// stored to tmp[r * out_w + ox] for the first `lanes` lanes.
void resample_lanes(const float* in, const int64_t* start, int64_t lo, const float* weight,
                    int64_t taps, int64_t out_w, int64_t lanes, float* tmp);

// The affine warp's taps of one row (affine_taps.h) for the columns j in
// [lo, hi), all of whose sources are inside the image. Nearest: o[j] = the
// element offset of the source pixel at (round(y), round(x)), half to even.
void affine_nearest_taps(const AffineRow& row, int64_t lo, int64_t hi, int64_t* o);
void affine_bilinear_taps(const AffineRow& row, int64_t lo, int64_t hi, const BilinearTaps& taps);

// out[j], j in [lo, hi): the bilinear blend of the four neighbours with the
// taps' weights, then the fill's mask blend unless fill is NaN. The uint8
// form reads them packed, v00 | v01 << 8 | v10 << 16 | v11 << 24, scales by
// 1 / 255 as load_row and writes out, or out_u8 (when not null) converted as
// store_row; the float form reads v[0..3][j] = v00, v01, v10, v11.
void affine_blend_u8(const BilinearTaps& taps, const uint32_t* v, int64_t lo, int64_t hi,
                     float fill, float* out, uint8_t* out_u8);
void affine_blend(const BilinearTaps& taps, const float* const* v, int64_t lo, int64_t hi,
                  float fill, float* out);

// out[x] = the standard normal of counter d0 + x of sample hash s (erase's
// random fill; the formula and its polynomials: normal_noise.h), x in [0, n).
void normal_noise_row(uint32_t s, uint32_t d0, int64_t n, float* out);

// CPU ISA levels of the row kernels.
enum CpuIsa : int64_t { kIsaDefault = 0, kIsaAvx2 = 1 };

// The best level this CPU supports.
int64_t best_cpu_isa();

// Selects the level the row kernels use (clamped to best_cpu_isa(); a
// negative level selects the best) and returns the level now in use. Tests
// use it to compare the variants.
int64_t set_cpu_isa(int64_t level);

}  // namespace datagen_gpu
