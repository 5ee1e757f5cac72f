// Row-level color math shared by the color CPU kernels (csrc/color.cpp).
//
// Every function works in place on float row buffers in [0, 1]: planar
// r, g, b rows (or one plane for the single-channel paths) of n pixels.
// The loops are written to vectorize with plain -O3 (SSE2): no libm calls,
// branch-free selects, float->int conversions only on non-negative values
// (truncation == floor), `#pragma omp simd` on each loop.
//
// Formulas (torchvision.transforms.v2.functional._color):
//   gray       = 0.2989 r + 0.587 g + 0.114 b
//   brightness = clamp(f x, 0, 1)
//   blend      = clamp(f x + (1 - f) y, 0, 1)    (_blend; y = gray or its mean)
//   hue        = HSV rotation, see hue_row
//   solarize   = 1 - x where x >= t
//   normalize  = (x - mean) / std
#pragma once

#include <cstdint>

// GCC keeps -ftrapping-math by default and then does not if-convert a select
// whose arm needs arithmetic (hue_row, solarize_row would not vectorize). We
// do not use floating-point exceptions: setup.py and CMakeLists.txt compile
// with -fno-trapping-math. (A per-function optimize pragma would stop these
// functions from being inlined into the per-ISA kernels, isa.h.)

namespace datagen_gpu {
namespace color {

constexpr float kWeightR = 0.2989f;
constexpr float kWeightG = 0.587f;
constexpr float kWeightB = 0.114f;

// max / min written in the operand order of SSE maxps / minps, so each
// compiles to one instruction (other orders differ on -0 and NaN and cost a
// compare-and-blend).
inline float max_(float a, float b) { return a > b ? a : b; }
inline float min_(float a, float b) { return a < b ? a : b; }
inline float clamp01(float x) { return min_(max_(x, 0.0f), 1.0f); }

// out[i] = grayscale of pixel i.
//
// quantized: the pixels are exact uint8 levels (v / 255) and the grayscale
// is floored to a uint8 level as torchvision does for uint8 images:
//   floor((2989 R + 5870 G + 1140 B) / 10000) / 255,  R = 255 r, ...
// computed exactly: R, G, B are recovered as integers, the weighted sum is
// an integer S below 2^23 (exact in float), and floor((S + 0.5) * 1e-4)
// equals floor(S / 10000) for every such S (the exact quotient of S + 0.5 is
// at least 5e-5 away from an integer, float rounding moves it by < 3e-5;
// checked exhaustively), so the floor is that of the exact decimal-weighted
// grayscale.
inline void gray_row(const float* __restrict r, const float* __restrict g,
                     const float* __restrict b, int64_t n, bool quantized,
                     float* __restrict out) {
  if (quantized) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const float R = static_cast<float>(static_cast<int32_t>(r[i] * 255.0f + 0.5f));
      const float G = static_cast<float>(static_cast<int32_t>(g[i] * 255.0f + 0.5f));
      const float B = static_cast<float>(static_cast<int32_t>(b[i] * 255.0f + 0.5f));
      const float s = 2989.0f * R + 5870.0f * G + 1140.0f * B;
      const float q = static_cast<float>(static_cast<int32_t>((s + 0.5f) * 1e-4f));
      out[i] = q * (1.0f / 255.0f);
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      out[i] = kWeightR * r[i] + kWeightG * g[i] + kWeightB * b[i];
    }
  }
}

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

// x = clamp(f x, 0, 1)
inline void brightness_row(float* __restrict x, int64_t n, float f) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = clamp01(f * x[i]);
}

// x = clamp(f x + (1 - f) m, 0, 1), m a scalar (contrast: the mean grayscale)
inline void blend_scalar_row(float* __restrict x, int64_t n, float f, float m) {
  const float c = (1.0f - f) * m;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = clamp01(f * x[i] + c);
}

// x = clamp(f x + (1 - f) y, 0, 1), y a row (saturation: the grayscale)
inline void blend_row(float* __restrict x, const float* __restrict y, int64_t n, float f) {
  const float k = 1.0f - f;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = clamp01(f * x[i] + k * y[i]);
}

// Hue rotation by shift6 / 6 of a turn, shift6 in [0, 6).
//
// torchvision's _rgb_to_hsv / _hsv_to_rgb, rewritten without the HSV
// intermediate. With mx = max(r, g, b), mn = min(r, g, b), cr = mx - mn, the
// hue in sextants is
//   h6 = (g - b) / cr         if mx == r
//        2 + (b - r) / cr     elif mx == g
//        4 + (r - g) / cr     otherwise          (0 when cr == 0)
// then h6 += shift6, wrapped into [0, 6). HSV -> RGB with v = mx,
// v (1 - s) = mn and v s = cr gives, for channel offsets k0 = 5 (r), 3 (g), 1 (b),
//   channel = mx - cr * clamp(min(k, 4 - k), 0, 1),   k = (k0 + h6) mod 6,
// which is torchvision's table of v, p, q, t per sextant
// (p = mn, q = mx - cr f, t = mn + cr f, f = h6 - floor(h6)).
// k mod 6 for k in [0, 12)
inline float wrap6(float k) { return k - (k >= 6.0f ? 6.0f : 0.0f); }

inline float hue_weight(float h6, float k0) {
  const float k = wrap6(h6 + k0);
  return clamp01(min_(k, 4.0f - k));
}

inline void hue_row(float* __restrict r, float* __restrict g, float* __restrict b, int64_t n,
                    float shift6) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float R = r[i], G = g[i], B = b[i];
    const float mx = max_(R, max_(G, B));
    const float mn = min_(R, min_(G, B));
    const float cr = mx - mn;
    // cr == 0 gives h = 0 (the numerators vanish) and outputs mx, as
    // torchvision; tiny cr only scale h, whose error is multiplied by cr.
    const float inv = 1.0f / max_(cr, 1e-30f);
    const float hr = (G - B) * inv;
    const float hg = 2.0f + (B - R) * inv;
    const float hb = 4.0f + (R - G) * inv;
    const float h = (mx == R ? hr : (mx == G ? hg : hb)) + shift6;  // in [-1, 11)
    const float h6 = wrap6(h + (h < 0.0f ? 6.0f : 0.0f));
    r[i] = mx - cr * hue_weight(h6, 5.0f);
    g[i] = mx - cr * hue_weight(h6, 3.0f);
    b[i] = mx - cr * hue_weight(h6, 1.0f);
  }
}

// Solarize: x = 1 - x where x >= t.
inline void solarize_row(float* __restrict x, int64_t n, float t) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = v >= t ? 1.0f - v : v;
  }
}

// Normalize: x = (x - mean) * inv_std (torchvision's normalize, with the
// reciprocal of the standard deviation).
inline void normalize_row(float* __restrict x, int64_t n, float mean, float inv_std) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv_std;
}

}  // namespace color
}  // namespace datagen_gpu

