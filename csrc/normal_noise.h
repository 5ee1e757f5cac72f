// Standard-normal noise rows of the counter-based generator (erase's random
// fill), written so that the loop vectorizes: the hash is uint32 arithmetic
// (counter.h's draw_word, inlined) and ln / cos are polynomials (libm calls
// would keep the loop scalar). Included by isa_kernels.h inside the ISA
// namespace (see there).
//
//   a = draw_word(s, 2d), b = draw_word(s, 2d + 1)            (counter.h)
//   u1 = ((a >> 8) + 1) 2^-24 in (0, 1], u2 = (b >> 8) 2^-24 in [0, 1)
//   z  = sqrt(-2 ln u1) cos(2 pi u2)                          (Box-Muller)
//
// ln u1: u1 = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(t),
// t = (m - 1) / (m + 1), |t| < 0.172, its odd series to t^11 (truncation
// < 1e-11); e ln 2 in two parts (Cody-Waite). cos(2 pi u2): the angle folded
// to a in [0, 1/4] turns (cos is even and cos(pi - x) = -cos x), then the
// Taylor series of cos to x^12 on [0, pi / 2] (truncation < 1e-8). Both are
// within a few float32 ulps of the float64 values; every ISA level runs the
// same operations in the same order (no contraction), so the levels agree bit
// for bit.
#pragma once

// ln u for u in (0, 1] (a normal float).
inline float noise_log_unit(float u) {
  uint32_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;
  const uint32_t mbits = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  float m;
  std::memcpy(&m, &mbits, sizeof m);
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = big ? e + 1 : e;
  const float t = (m - 1.0f) / (m + 1.0f);
  const float t2 = t * t;
  float p = 1.0f / 11.0f;
  p = p * t2 + 1.0f / 9.0f;
  p = p * t2 + 1.0f / 7.0f;
  p = p * t2 + 1.0f / 5.0f;
  p = p * t2 + 1.0f / 3.0f;
  p = p * t2 + 1.0f;
  const float ef = static_cast<float>(e);
  // ln 2 = 0.693145751953125 (exact in 16 bits) + 1.42860677e-06
  return ef * 0.693145751953125f + (2.0f * t * p + ef * 1.42860677e-06f);
}

// cos(2 pi u) for u in [0, 1).
inline float noise_cos_turns(float u) {
  const float t = u >= 0.5f ? u - 1.0f : u;  // [-1/2, 1/2), exact
  float a = t < 0.0f ? -t : t;               // [0, 1/2]
  const bool far = a > 0.25f;
  a = far ? 0.5f - a : a;                    // [0, 1/4], exact
  const float x = a * 6.28318530717958647692f;
  const float x2 = x * x;
  float c = 1.0f / 479001600.0f;
  c = c * x2 - 1.0f / 3628800.0f;
  c = c * x2 + 1.0f / 40320.0f;
  c = c * x2 - 1.0f / 720.0f;
  c = c * x2 + 1.0f / 24.0f;
  c = c * x2 - 0.5f;
  c = c * x2 + 1.0f;
  return far ? -c : c;
}

// out[x] = z(s, d0 + x) for x in [0, n) (counters wrap modulo 2^32).
void normal_noise_row(uint32_t s, uint32_t d0, int64_t n, float* __restrict out) {
  for (int64_t x = 0; x < n; ++x) {
    const uint32_t d = 2u * (d0 + static_cast<uint32_t>(x));
    const uint32_t a = draw_word(s, d);
    const uint32_t b = draw_word(s, d + 1u);
    const float u1 = static_cast<float>((a >> 8) + 1u) * 0x1p-24f;
    const float u2 = static_cast<float>(b >> 8) * 0x1p-24f;
    const float r = -2.0f * noise_log_unit(u1);
    out[x] = (r > 0.0f ? __builtin_sqrtf(r) : 0.0f) * noise_cos_turns(u2);
  }
}
