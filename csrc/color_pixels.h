// The color steps on one pixel (T = float) or kVec pixels (T = FV), for the
// per-ISA row kernels: included by isa_kernels.h inside namespace
// datagen_gpu::DATAGEN_ISA after isa_vector.h.
//
// Values are floats in [0, 1]. Formulas (torchvision.transforms.v2.functional._color):
//   gray       = 0.2989 r + 0.587 g + 0.114 b
//   brightness = clamp(f x, 0, 1)
//   blend      = clamp(f x + (1 - f) y, 0, 1)    (_blend; y = gray or its mean)
//   hue        = HSV rotation, see hue_px
//   solarize   = 1 - x where x >= t

template <typename T>
inline T clamp01(T x) {
  return vmin(vmax(x, splat<T>(0.0f)), splat<T>(1.0f));
}

// quantized: the pixels are exact uint8 levels (v / 255) and the grayscale is
// floored to a uint8 level as torchvision does for uint8 images:
//   floor((2989 R + 5870 G + 1140 B) / 10000) / 255,  R = 255 r, ...
// computed exactly: R, G, B are recovered as integers, the weighted sum is an
// integer S below 2^23 (exact in float), and floor((S + 0.5) * 1e-4) equals
// floor(S / 10000) for every such S (the exact quotient of S + 0.5 is at least
// 5e-5 away from an integer, float rounding moves it by < 3e-5; checked
// exhaustively), so the floor is that of the exact decimal-weighted grayscale.
template <typename T>
inline T gray_px(T r, T g, T b, bool quantized) {
  if (!quantized) return color::kWeightR * r + color::kWeightG * g + color::kWeightB * b;
  const T R = trunc_nonneg(r * 255.0f + 0.5f);
  const T G = trunc_nonneg(g * 255.0f + 0.5f);
  const T B = trunc_nonneg(b * 255.0f + 0.5f);
  const T s = 2989.0f * R + 5870.0f * G + 1140.0f * B;
  return trunc_nonneg((s + 0.5f) * 1e-4f) * (1.0f / 255.0f);
}

template <typename T>
inline T brightness_px(T x, float f) {
  return clamp01(x * f);
}

// contrast: c = (1 - f) * mean
template <typename T>
inline T contrast_px(T x, float f, float c) {
  return clamp01(x * f + c);
}

// x = clamp(f x + k y, 0, 1), k = 1 - f: saturation, y the grayscale
template <typename T>
inline T blend_px(T x, T y, float f, float k) {
  return clamp01(x * f + y * k);
}

template <typename T>
inline T solarize_px(T x, float t) {
  return select(x >= t, 1.0f - x, x);
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
template <typename T>
inline T wrap6(T k) {  // k mod 6 for k in [0, 12)
  return k - select(k >= 6.0f, splat<T>(6.0f), splat<T>(0.0f));
}

template <typename T>
inline T hue_weight(T h6, float k0) {
  const T k = wrap6(h6 + k0);
  return clamp01(vmin(k, 4.0f - k));
}

template <typename T>
inline void hue_px(T& r, T& g, T& b, float shift6) {
  const T mx = vmax(r, vmax(g, b));
  const T mn = vmin(r, vmin(g, b));
  const T cr = mx - mn;
  // cr == 0 gives h = 0 (the numerators vanish) and outputs mx, as
  // torchvision; tiny cr only scale h, whose error is multiplied by cr.
  const T inv = 1.0f / vmax(cr, splat<T>(1e-30f));
  const T hr = (g - b) * inv;
  const T hg = 2.0f + (b - r) * inv;
  const T hb = 4.0f + (r - g) * inv;
  const T h = select(mx == r, hr, select(mx == g, hg, hb)) + shift6;  // in [-1, 11)
  const T h6 = wrap6(h + select(h < 0.0f, splat<T>(6.0f), splat<T>(0.0f)));
  r = mx - cr * hue_weight(h6, 5.0f);
  g = mx - cr * hue_weight(h6, 3.0f);
  b = mx - cr * hue_weight(h6, 1.0f);
}
