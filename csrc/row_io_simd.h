// Contiguous uint8 <-> float row conversion, hand-vectorized for SSE2.
//
// SSE2 is part of the x86-64 baseline, so these need no runtime ISA
// dispatch. Compilers do not vectorize the scalar forms well at that ISA:
// the store needs a float -> int32 -> saturating pack chain that GCC does not
// find, and the load's two-step zero extension costs it a shuffle per lane.
// The vector paths compute exactly what the scalar tails compute:
//   load:  x = level * (1 / 255)
//   store: level = trunc(clamp(255 x + 0.5, 0, 255))   (round half up; NaN -> 0)
// Other architectures use the scalar loops.
#pragma once

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace datagen_gpu {
namespace rowio {

inline float u8_to_float(uint8_t x) { return static_cast<float>(x) * (1.0f / 255.0f); }

inline uint8_t float_to_u8(float x) {
  float v = x * 255.0f + 0.5f;
  // max(v, 0) as `v > 0 ? v : 0` maps NaN to 0, as the vector path's maxps.
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return static_cast<uint8_t>(static_cast<int32_t>(v));  // v >= 0: truncation == floor
}

inline void load_u8(const uint8_t* __restrict p, int64_t n, float* __restrict dst) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 scale = _mm_set1_ps(1.0f / 255.0f);
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i lo = _mm_unpacklo_epi8(v, zero);
    const __m128i hi = _mm_unpackhi_epi8(v, zero);
    const __m128i q[4] = {_mm_unpacklo_epi16(lo, zero), _mm_unpackhi_epi16(lo, zero),
                          _mm_unpacklo_epi16(hi, zero), _mm_unpackhi_epi16(hi, zero)};
    for (int j = 0; j < 4; ++j) {
      _mm_storeu_ps(dst + i + 4 * j, _mm_mul_ps(_mm_cvtepi32_ps(q[j]), scale));
    }
  }
#endif
  for (; i < n; ++i) dst[i] = u8_to_float(p[i]);
}

inline void store_u8(uint8_t* __restrict p, int64_t n, const float* __restrict src) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 scale = _mm_set1_ps(255.0f);
  const __m128 half = _mm_set1_ps(0.5f);
  const __m128 zero = _mm_setzero_ps();
  const __m128 top = _mm_set1_ps(255.0f);
  for (; i + 16 <= n; i += 16) {
    __m128i q[4];
    for (int j = 0; j < 4; ++j) {
      __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(src + i + 4 * j), scale), half);
      v = _mm_min_ps(_mm_max_ps(v, zero), top);  // maxps(NaN, 0) = 0
      q[j] = _mm_cvttps_epi32(v);
    }
    // 0..255 fit the signed 16-bit pack; the unsigned 8-bit pack is exact.
    const __m128i a = _mm_packs_epi32(q[0], q[1]);
    const __m128i b = _mm_packs_epi32(q[2], q[3]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), _mm_packus_epi16(a, b));
  }
#endif
  for (; i < n; ++i) p[i] = float_to_u8(src[i]);
}

// dst[i] = src[n - 1 - i] for bytes (hflip of uint8 rows without conversion).
inline void reverse_u8(const uint8_t* __restrict src, int64_t n, uint8_t* __restrict dst) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n - 16 - i));
    v = _mm_shuffle_epi32(v, _MM_SHUFFLE(0, 1, 2, 3));      // reverse the 32-bit lanes
    v = _mm_shufflelo_epi16(v, _MM_SHUFFLE(2, 3, 0, 1));    // swap 16-bit halves of each
    v = _mm_shufflehi_epi16(v, _MM_SHUFFLE(2, 3, 0, 1));
    v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));  // swap bytes of each
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), v);
  }
#endif
  for (; i < n; ++i) dst[i] = src[n - 1 - i];
}

// x[0..n) reversed in place.
inline void reverse(float* x, int64_t n) {
  for (int64_t i = 0, j = n - 1; i < j; ++i, --j) {
    const float t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
}

}  // namespace rowio
}  // namespace datagen_gpu
