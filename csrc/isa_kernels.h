// The body of the per-ISA row kernels (see isa.h). Included by
// isa_default.cpp and isa_avx2.cpp with DATAGEN_ISA naming
// the namespace; the AVX2 file includes it under `#pragma GCC target`.
// Only functions of that namespace may be defined here: an inline function
// shared with other files would otherwise be emitted with the ISA's
// instructions and could be the copy the linker keeps for every caller.
// isa_vector.h, color_pixels.h, affine_kernels.h (the affine warp's taps and
// blend) and normal_noise.h (erase's noise) are included inside the namespace
// for that reason.
#ifndef DATAGEN_ISA
#error "define DATAGEN_ISA before including isa_kernels.h"
#endif
// counter.h (shared inline functions, used by normal_noise.h) must come before
// the AVX2 file's target pragma, so that their out-of-line copies are baseline.
#ifndef DATAGEN_COUNTER_H
#error "include counter.h before the ISA target pragma and isa_kernels.h"
#endif
#include <cstring>

namespace datagen_gpu {
namespace DATAGEN_ISA {

#include "isa_vector.h"
#include "color_pixels.h"
#include "affine_kernels.h"
#include "normal_noise.h"

// Steps [begin, end) of the plan on one RGB pixel (or kVec of them).
template <typename T>
inline void rgb_steps(const Plan& plan, int begin, int end, float mean, T& r, T& g, T& b) {
  for (int k = begin; k < end; ++k) {
    const Step& s = plan.steps[k];
    switch (s.op) {
      case kBrightness:
        r = brightness_px(r, s.factor);
        g = brightness_px(g, s.factor);
        b = brightness_px(b, s.factor);
        break;
      case kContrast: {
        const float c = (1.0f - s.factor) * mean;
        r = contrast_px(r, s.factor, c);
        g = contrast_px(g, s.factor, c);
        b = contrast_px(b, s.factor, c);
        break;
      }
      case kSaturation: {
        const T y = gray_px(r, g, b, s.quantized);
        const float f = s.factor, k1 = 1.0f - f;
        r = blend_px(r, y, f, k1);
        g = blend_px(g, y, f, k1);
        b = blend_px(b, y, f, k1);
        break;
      }
      case kHue:
        hue_px(r, g, b, s.factor);
        break;
      case kSolarize:
        r = solarize_px(r, s.factor);
        g = solarize_px(g, s.factor);
        b = solarize_px(b, s.factor);
        break;
    }
  }
}

// Steps [begin, end) on one channel of a non-RGB image (brightness,
// contrast, solarize: the steps that need no other channel).
template <typename T>
inline T plane_steps(const Plan& plan, int begin, int end, float mean, T x) {
  for (int k = begin; k < end; ++k) {
    const Step& s = plan.steps[k];
    if (s.op == kBrightness) x = brightness_px(x, s.factor);
    if (s.op == kContrast) x = contrast_px(x, s.factor, (1.0f - s.factor) * mean);
    if (s.op == kSolarize) x = solarize_px(x, s.factor);
  }
  return x;
}

// RGB rows: all the steps on kVec pixels at a time, kept in registers
// between the steps; other channel counts: plane by plane.
void apply_steps(const Plan& plan, int begin, int end, float mean, Rows& rows) {
  const int64_t n = rows.W;
  if (rows.C == 3) {
    float* pr = rows.plane(0);
    float* pg = rows.plane(1);
    float* pb = rows.plane(2);
    int64_t i = 0;
    for (; i + kVec <= n; i += kVec) {
      FV r = loadv(pr + i), g = loadv(pg + i), b = loadv(pb + i);
      rgb_steps(plan, begin, end, mean, r, g, b);
      storev(pr + i, r);
      storev(pg + i, g);
      storev(pb + i, b);
    }
    for (; i < n; ++i) rgb_steps(plan, begin, end, mean, pr[i], pg[i], pb[i]);
    return;
  }
  for (int64_t c = 0; c < rows.C; ++c) {
    float* x = rows.plane(c);
    int64_t i = 0;
    for (; i + kVec <= n; i += kVec) storev(x + i, plane_steps(plan, begin, end, mean, loadv(x + i)));
    for (; i < n; ++i) x[i] = plane_steps(plan, begin, end, mean, x[i]);
  }
}

float gray_sum(Rows& rows, bool quantized) {
  if (rows.C != 3) return color::sum_row(rows.plane(0), rows.W);
  const float* r = rows.plane(0);
  const float* g = rows.plane(1);
  const float* b = rows.plane(2);
  float* y = rows.gray();
  int64_t i = 0;
  for (; i + kVec <= rows.W; i += kVec) {
    storev(y + i, gray_px(loadv(r + i), loadv(g + i), loadv(b + i), quantized));
  }
  for (; i < rows.W; ++i) y[i] = gray_px(r[i], g[i], b[i], quantized);
  return color::sum_row(y, rows.W);
}

// SHARPNESS of one interior uint8 row (isa.h). Per pixel, with x the centre's
// level / 255 and S the integer 3x3 sum of levels plus 4 * the centre (<= 3315):
//   blur = L / 255, L = round(S / 13) = floor((2 S + 13) / 26)   (S / 13 is never a tie)
//   y    = clamp(x + k (blur - x), 0, 1)
// with the float operations of the float-row form in pixel.cpp, so the levels and
// floats stored equal those of loading the rows and sharpening them as floats
// (whose rounded blur is that L: the float sum is within 1e-4 of S / 13, the
// nearest tie 1 / 26 away). L is computed as floor(S * (1 / 13) + 0.5) in float,
// or on AVX2 as ((2 S + 13) * 40330) >> 20 in 16-bit lanes; both equal
// floor((2 S + 13) / 26) for every S <= 3315 (tests/test_pixel.py checks them).

// y from the centre's level and the blurred level L (floats holding integers).
template <typename T>
inline T sharpen_blend(T centre, T blurred, float k) {
  const T x = centre * (1.0f / 255.0f);
  const T blur = blurred * (1.0f / 255.0f);
  return clamp01(x + k * (blur - x));
}

template <typename T>
inline T blurred_level(T sum) {
  return trunc_nonneg(sum * (1.0f / 13.0f) + 0.5f);
}

// y in [0, 1] -> y * 255 + 0.5, whose truncation is store_row's level (the
// clamp to 255 there changes no truncation: y * 255 + 0.5 <= 255.5).
template <typename T>
inline T level_of_unit(T y) {
  return y * 255.0f + 0.5f;
}

#if defined(DATAGEN_ISA_AVX2)
// 16 pixels of sharpen_u8_row from lane i (uint8 output): the 3x3 sums and L in
// 16-bit lanes, the blend in two 8-lane float halves.
inline __m256i widen16(const uint8_t* p) {  // 16 levels as 16-bit lanes
  return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256i row3(__m256i u, __m256i v, __m256i x) {
  return _mm256_add_epi16(_mm256_add_epi16(u, v), x);
}

inline __m128i sharpen16(const uint8_t* a, const uint8_t* r, const uint8_t* z, int64_t i,
                         float k) {
  const __m256i c = widen16(r + i);
  __m256i s = row3(widen16(a + i - 1), widen16(a + i), widen16(a + i + 1));
  s = _mm256_add_epi16(s, row3(widen16(r + i - 1), c, widen16(r + i + 1)));
  s = _mm256_add_epi16(s, row3(widen16(z + i - 1), widen16(z + i), widen16(z + i + 1)));
  s = _mm256_add_epi16(s, _mm256_slli_epi16(c, 2));
  const __m256i t = _mm256_add_epi16(_mm256_add_epi16(s, s), _mm256_set1_epi16(13));
  const __m256i l = _mm256_srli_epi16(_mm256_mulhi_epu16(t, _mm256_set1_epi16(-25206)), 4);
  __m256i q[2];
  for (int h = 0; h < 2; ++h) {
    const __m128i lh = h ? _mm256_extracti128_si256(l, 1) : _mm256_castsi256_si128(l);
    const __m128i ch = h ? _mm256_extracti128_si256(c, 1) : _mm256_castsi256_si128(c);
    const FV x = FV(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(ch)));
    const FV b = FV(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(lh)));
    q[h] = _mm256_cvttps_epi32(__m256(level_of_unit(sharpen_blend(x, b, k))));
  }
  const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
  return _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
}
#endif

void sharpen_u8_row(const uint8_t* __restrict above, const uint8_t* __restrict row,
                    const uint8_t* __restrict below, int64_t W, float k,
                    uint8_t* __restrict out8, float* __restrict outf) {
  constexpr float kScale = 1.0f / 255.0f;
  int64_t i = 1;
#if defined(DATAGEN_ISA_AVX2)
  if (out8) {
    for (; i + 16 < W; i += 16) {  // lanes i .. i + 15, all <= W - 2
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out8 + i), sharpen16(above, row, below, i, k));
    }
  }
#endif
  for (; i + kVec < W; i += kVec) {  // lanes i .. i + kVec - 1, all <= W - 2
    const IV c = load_levels(row + i);
    const IV s = load_levels(above + i - 1) + load_levels(above + i) + load_levels(above + i + 1) +
                 load_levels(row + i - 1) + c + load_levels(row + i + 1) +
                 load_levels(below + i - 1) + load_levels(below + i) +
                 load_levels(below + i + 1) + (c << 2);
    const FV blurred = blurred_level(__builtin_convertvector(s, FV));
    const FV y = sharpen_blend(__builtin_convertvector(c, FV), blurred, k);
    if (out8) {
      store_levels(out8 + i, __builtin_convertvector(level_of_unit(y), IV));
    } else {
      storev(outf + i, y);
    }
  }
  for (; i + 1 < W; ++i) {
    const int c = row[i];
    const int s = above[i - 1] + above[i] + above[i + 1] + row[i - 1] + c + row[i + 1] +
                  below[i - 1] + below[i] + below[i + 1] + 4 * c;
    const float y = sharpen_blend(static_cast<float>(c), blurred_level(static_cast<float>(s)), k);
    if (out8) {
      out8[i] = static_cast<uint8_t>(static_cast<int32_t>(level_of_unit(y)));
    } else {
      outf[i] = y;
    }
  }
  for (const int64_t e : {int64_t{0}, W - 1}) {  // the first and last columns are kept
    if (out8) {
      out8[e] = row[e];
    } else {
      outf[e] = static_cast<float>(row[e]) * kScale;
    }
  }
}

// d[i] = table[s[i]], i < n (isa.h). AVX2: 32 levels at a time, the table as
// 16 rows of 16 (vpshufb looks up a row, zero where the index has bit 7 set).
// Levels below 128 take lo_k = s - 16 k, k = 0..7: row k's lookup counts for
// k <= s / 16 only (larger k wrap to bit 7), so the rows are stored as XOR
// differences, and the XOR of the lookups telescopes to row s / 16. Levels
// from 128 do the same with s ^ 128 and rows 8..15; the sign of s picks.
void map_levels(const uint8_t* __restrict s, uint8_t* __restrict d, int64_t n,
                const uint8_t* __restrict table) {
  int64_t i = 0;
#if defined(DATAGEN_ISA_AVX2)
  if (n >= 32) {
    __m256i t[16];
    __m128i prev = _mm_setzero_si128();
    for (int k = 0; k < 16; ++k) {
      const __m128i row = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * k));
      t[k] = _mm256_broadcastsi128_si256(k == 8 ? row : _mm_xor_si128(row, prev));
      prev = row;
    }
    const __m256i step = _mm256_set1_epi8(16);
    const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
    for (;; i += 32) {
      if (i + 32 > n) i = n - 32;  // the last block overlaps the one before
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
      __m256i lo = v, hi = _mm256_xor_si256(v, sign);
      __m256i a = _mm256_shuffle_epi8(t[0], lo), b = _mm256_shuffle_epi8(t[8], hi);
      for (int k = 1; k < 8; ++k) {
        lo = _mm256_sub_epi8(lo, step);
        hi = _mm256_sub_epi8(hi, step);
        a = _mm256_xor_si256(a, _mm256_shuffle_epi8(t[k], lo));
        b = _mm256_xor_si256(b, _mm256_shuffle_epi8(t[8 + k], hi));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), _mm256_blendv_epi8(a, b, v));
      if (i + 32 == n) return;
    }
  }
#endif
  for (; i + 8 <= n; i += 8) {  // 8 levels per load and per store
    uint64_t v, o = 0;
    __builtin_memcpy(&v, s + i, 8);
    for (int j = 0; j < 8; ++j) o |= uint64_t{table[(v >> (8 * j)) & 255]} << (8 * j);
    __builtin_memcpy(d + i, &o, 8);
  }
  for (; i < n; ++i) d[i] = table[s[i]];
}

// The FIRs keep blocks of kFirBlock outputs in registers across all taps
// (4 AVX2 or 8 SSE2 accumulators, enough independent sums to hide the add
// latency); every lane does the scalar tail's operations in the same order.
constexpr int kFirBlock = 32, kAcc = kFirBlock / kVec;

void fir(const float* __restrict src, int64_t step, const float* __restrict w, int64_t k,
         int64_t n, float* __restrict out) {
  int64_t x0 = 0;
  for (; x0 + kFirBlock <= n; x0 += kFirBlock) {
    FV acc[kAcc] = {};
    for (int64_t t = 0; t < k; ++t) {
      const float* s = src + x0 + t * step;
      const FV wt = FV{} + w[t];
      for (int q = 0; q < kAcc; ++q) acc[q] += wt * loadv(s + kVec * q);
    }
    for (int q = 0; q < kAcc; ++q) storev(out + x0 + kVec * q, acc[q]);
  }
  for (int64_t x = x0; x < n; ++x) {
    float acc = 0.0f;
    for (int64_t t = 0; t < k; ++t) acc += w[t] * src[x + t * step];
    out[x] = acc;
  }
}

// The symmetric FIR: per lane the centre product first, then the pairs
// j = 1 .. e, each pair's two inputs added before the multiply.
void fir_symmetric(const float* const* __restrict row, const float* __restrict wc, int64_t e,
                   int64_t n, float* __restrict out) {
  const float* centre = row[e];
  int64_t x0 = 0;
  for (; x0 + kFirBlock <= n; x0 += kFirBlock) {
    const FV w0 = FV{} + wc[0];
    FV acc[kAcc];
    for (int q = 0; q < kAcc; ++q) acc[q] = w0 * loadv(centre + x0 + kVec * q);
    for (int64_t t = 1; t <= e; ++t) {
      const FV wt = FV{} + wc[t];
      const float* a = row[e - t] + x0;
      const float* b = row[e + t] + x0;
      for (int q = 0; q < kAcc; ++q) acc[q] += wt * (loadv(a + kVec * q) + loadv(b + kVec * q));
    }
    for (int q = 0; q < kAcc; ++q) storev(out + x0 + kVec * q, acc[q]);
  }
  for (int64_t x = x0; x < n; ++x) {
    float acc = wc[0] * centre[x];
    for (int64_t t = 1; t <= e; ++t) acc += wc[t] * (row[e - t][x] + row[e + t][x]);
    out[x] = acc;
  }
}

#if defined(DATAGEN_ISA_AVX2)
// In-register 8x8 transpose: r[j] lane i -> r[i] lane j.
inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
#endif

// ib[x * 8 + r] = value of rows[r][x], x in [0, n): 8 rows interleaved for
// resample_lanes (AVX2: 8x8 blocks loaded, transposed in registers, stored
// whole). The uint8 form converts as load_row does: level * (1 / 255).
void interleave8(const float* const* __restrict rows, int64_t n, float* __restrict ib) {
  int64_t x = 0;
#if defined(DATAGEN_ISA_AVX2)
  for (; x + 8 <= n; x += 8) {
    __m256 v[8];
    for (int r = 0; r < 8; ++r) v[r] = _mm256_loadu_ps(rows[r] + x);
    transpose8x8(v);
    for (int j = 0; j < 8; ++j) _mm256_storeu_ps(ib + (x + j) * 8, v[j]);
  }
#endif
  for (; x < n; ++x) {
    for (int r = 0; r < 8; ++r) ib[x * 8 + r] = rows[r][x];
  }
}

void interleave8_u8(const uint8_t* const* __restrict rows, int64_t n, float* __restrict ib) {
  constexpr float kScale = 1.0f / 255.0f;
  int64_t x = 0;
#if defined(DATAGEN_ISA_AVX2)
  const __m256 scale = _mm256_set1_ps(kScale);
  for (; x + 8 <= n; x += 8) {
    __m256 v[8];
    for (int r = 0; r < 8; ++r) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(rows[r] + x));
      v[r] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)), scale);
    }
    transpose8x8(v);
    for (int j = 0; j < 8; ++j) _mm256_storeu_ps(ib + (x + j) * 8, v[j]);
  }
#endif
  for (; x < n; ++x) {
    for (int r = 0; r < 8; ++r) ib[x * 8 + r] = static_cast<float>(rows[r][x]) * kScale;
  }
}

void resample_lanes(const float* __restrict in, const int64_t* __restrict start, int64_t lo,
                    const float* __restrict weight, int64_t taps, int64_t out_w, int64_t lanes,
                    float* __restrict tmp) {
  int64_t ox0 = 0;
#if defined(DATAGEN_ISA_AVX2)
  // 8 output columns at a time: each column's 8 lanes (rows) are one vector,
  // summed over the taps in order from zero (the same operations as the loop
  // below), then transposed so every row's 8 columns are one contiguous store.
  for (; ox0 + 8 <= out_w; ox0 += 8) {
    __m256 acc[8];
    for (int64_t j = 0; j < 8; ++j) {
      const float* x = in + (start[ox0 + j] - lo) * 8;
      const float* w = weight + (ox0 + j) * taps;
      __m256 a = _mm256_setzero_ps();
      for (int64_t t = 0; t < taps; ++t) {
        a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(w[t]), _mm256_loadu_ps(x + t * 8)));
      }
      acc[j] = a;
    }
    transpose8x8(acc);
    for (int64_t r = 0; r < lanes; ++r) _mm256_storeu_ps(tmp + r * out_w + ox0, acc[r]);
  }
#endif
  for (int64_t ox = ox0; ox < out_w; ++ox) {
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

}  // namespace DATAGEN_ISA
}  // namespace datagen_gpu
