// Affine warp CPU kernel: affine_warp_cpu (behind datagen_gpu.functional.affine / rotate).
//
// Output pixel (row i, column j) of sample b reads its source at
//   x = m0 j + m1 i + m2 (column),  y = m3 j + m4 i + m5 (row)
// with m = matrix[b] (pixel-index space: source pixel (r, c) centred at y = r,
// x = c; see datagen_gpu/functional/affine.py, the float64 oracle is
// datagen_gpu/reference/affine.py):
//   nearest:  the pixel at (round(y), round(x)), rounded half to even; outside: f
//   bilinear: S = wy0 (wx0 v00 + wx1 v01) + wy1 (wx0 v10 + wx1 v11), with
//             (wx0, wx1) = (1 - fx, fx) and a neighbour outside the image
//             weighted 0; m = (wx0 + wx1) (wy0 + wy1) and out = S m + f (1 - m)
//             (torchvision's mask blend; exactly S where every neighbour is inside)
// f = fill[b, c] in [0, 1] units; a NaN fill is no fill: zero padding (out = S).
//
// Work items are (sample, block of rows); every output row is computed on its
// own, so results do not depend on the split or the number of threads.
// - A map that is a pure shift by integers (unit linear part, integer m2 and
//   m5; the identity is the shift by 0) takes every tap of both formulas from
//   one source pixel with weight 1, or from outside (then f, or 0 without
//   fill): its rows are shifted copies with fill, raw elements (memcpy) when
//   the dtypes match, load_row / store_row when they differ.
// - Other maps, per output row (affine_rows.h): the pixels whose source is
//   inside the image form one interval along the row, found exactly with a
//   few scalar evaluations (bilinear: the touched pixels, some neighbour
//   inside, and within them the inner ones, all four inside). The fill goes
//   outside; the per-ISA kernels (isa.h, affine_kernels.h) compute the taps of
//   the inside / inner pixels in float64, vectorized, without bounds checks;
//   the bilinear border band gets clamped taps with zero weights, made per
//   pixel. Then up to 4 channels at a time gather through one offset load per
//   pixel: nearest copies raw elements when the dtypes match (else converts
//   and stores with store_row); bilinear packs the four uint8 neighbours of a
//   pixel in 32 bits (or gathers floats) and the vectorized blend kernel
//   writes a float row for store_row, or the uint8 row itself.
// - The source box of the next work item is prefetched while the current one
//   runs (rotated rows read across many source rows, which the hardware
//   prefetchers do not follow).
// The results are the previous scalar kernel's bit for bit: the same float64
// coordinates, the same float32 operations in the same order.
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "affine_rows.h"
#include "common.h"
#include "isa.h"
#include "row_io_simd.h"

namespace datagen_gpu {
namespace {

using affine_rows::bilinear_spans;
using affine_rows::border_taps;
using affine_rows::Prefetcher;
using affine_rows::row_interval;
using affine_rows::row_of;
using affine_rows::shift_of;

constexpr int64_t kNearest = 0;
constexpr int64_t kBilinear = 1;

template <typename T>
inline float value_of(T x) {
  return static_cast<float>(x);
}
template <>
inline float value_of<uint8_t>(uint8_t x) {
  return rowio::u8_to_float(x);
}

// The bits of f stored in `dtype` (as store_row converts it), in an element of size <= 4.
uint32_t element_bits(at::ScalarType dtype, float f) {
  switch (dtype) {
    case at::kByte: return rowio::float_to_u8(f);
    case at::kHalf: return c10::Half(f).x;
    case at::kBFloat16: return c10::BFloat16(f).x;
    default: {
      uint32_t u;
      std::memcpy(&u, &f, sizeof(u));
      return u;
    }
  }
}

// A (rows, cols) float32 parameter tensor on `device` (matrix, fill).
void check_table(const at::Tensor& p, int64_t rows, int64_t cols, c10::Device device,
                 const char* name, const char* cols_name) {
  TORCH_CHECK_VALUE(p.dim() == 2 && p.size(0) == rows && p.size(1) == cols, name,
                    ": expected shape (", rows, ", ", cols, ")", cols_name, ", got ", p.sizes());
  TORCH_CHECK_TYPE(p.scalar_type() == at::kFloat, name, ": expected dtype float32, got ",
                   p.scalar_type());
  TORCH_CHECK_VALUE(p.device() == device, name, ": expected device ", device,
                    " (the images' device), got ", p.device());
  TORCH_CHECK_VALUE(p.is_contiguous(), name, ": expected a contiguous tensor");
}

struct Warp {
  ImageView src, dst;
  const float* mat;
  const float* fills;
  bool bilinear;
};

// ------------------------------------------------------------------ integer shifts

// The fill of an output pixel that no source pixel reaches: f, or 0 without fill.
inline float outside_value(float f) { return std::isnan(f) ? 0.0f : f; }

// Rows [i0, i1) of sample b shifted by (dx, dy), raw elements E (same dtype in and out).
template <typename E>
void shift_rows_raw(const Warp& w, int64_t b, int64_t i0, int64_t i1, int64_t dx, int64_t dy) {
  const ImageView &src = w.src, &dst = w.dst;
  const int64_t W = dst.W, C = dst.C;
  const E* sp = reinterpret_cast<const E*>(src.data);
  E* dp = reinterpret_cast<E*>(dst.data);
  E fill[16];
  std::vector<E> many;
  E* fe = C <= 16 ? fill : (many.resize(C), many.data());
  for (int64_t c = 0; c < C; ++c) {
    fe[c] = static_cast<E>(element_bits(dst.dtype, outside_value(w.fills[b * C + c])));
  }
  // channels-last pixels on both sides: a row is one run of W * C elements
  const bool pixels = C > 1 && src.sC == 1 && dst.sC == 1 && src.sW == C && dst.sW == C;
  const auto rows = [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const int64_t y = i + dy;
      int64_t lo = std::clamp<int64_t>(-dx, 0, W), hi = std::clamp<int64_t>(W - dx, lo, W);
      if (y < 0 || y >= dst.H) lo = hi = 0;
      if (pixels) {
        E* d = dp + dst.offset(b, 0, i, 0);
        for (int64_t j = 0; j < lo; ++j) std::memcpy(d + j * C, fe, C * sizeof(E));
        if (hi > lo) {
          std::memcpy(d + lo * C, sp + src.offset(b, 0, y, lo + dx), (hi - lo) * C * sizeof(E));
        }
        for (int64_t j = hi; j < W; ++j) std::memcpy(d + j * C, fe, C * sizeof(E));
        continue;
      }
      for (int64_t c = 0; c < C; ++c) {
        E* d = dp + dst.offset(b, c, i, 0);
        const int64_t ds = dst.sW, ss = src.sW;
        for (int64_t j = 0; j < lo; ++j) d[j * ds] = fe[c];
        if (hi > lo) {
          const E* s = sp + src.offset(b, c, y, lo + dx);
          if (ds == 1 && ss == 1) {
            std::memcpy(d + lo, s, (hi - lo) * sizeof(E));
          } else {
            for (int64_t j = 0; j < hi - lo; ++j) d[(lo + j) * ds] = s[j * ss];
          }
        }
        for (int64_t j = hi; j < W; ++j) d[j * ds] = fe[c];
      }
    }
  };
  // a vertical shift of dense rows (the identity too): the rows that have a source
  // are one run per plane (per sample when channels-last), the others the fill
  const int64_t run = pixels ? W * C : W;
  if (dx == 0 && src.sH == run && dst.sH == run && (pixels || (src.sW == 1 && dst.sW == 1))) {
    const int64_t r0 = std::clamp(-dy, i0, i1), r1 = std::clamp(dst.H - dy, r0, i1);
    for (int64_t c = 0; c < (pixels ? 1 : C) && r1 > r0; ++c) {
      std::memcpy(dp + dst.offset(b, c, r0, 0), sp + src.offset(b, c, r0 + dy, 0),
                  (r1 - r0) * run * sizeof(E));
    }
    rows(i0, r0);
    rows(r1, i1);
    return;
  }
  rows(i0, i1);
}

// The same through float rows (the dtypes differ).
void shift_rows_float(const Warp& w, int64_t b, int64_t i0, int64_t i1, int64_t dx, int64_t dy,
                      float* row) {
  const ImageView &src = w.src, &dst = w.dst;
  const int64_t W = dst.W, C = dst.C;
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t y = i + dy;
    int64_t lo = std::clamp<int64_t>(-dx, 0, W), hi = std::clamp<int64_t>(W - dx, lo, W);
    if (y < 0 || y >= dst.H) lo = hi = 0;
    for (int64_t c = 0; c < C; ++c) {
      const float f = outside_value(w.fills[b * C + c]);
      std::fill(row, row + lo, f);
      if (hi > lo) load_row(src, src.offset(b, c, y, lo + dx), src.sW, hi - lo, row + lo);
      std::fill(row + hi, row + W, f);
      store_row(dst, dst.offset(b, c, i, 0), dst.sW, W, row);
    }
  }
}

// ------------------------------------------------------------------ general maps

// Per-thread buffers of one output row: the taps, a float row, and for up to
// kGroup channels at a time their gathered raw pixels (nearest) or neighbours
// (bilinear: packed uint8 quads, or four float planes for one channel).
constexpr int kGroup = 4;

struct Scratch {
  int64_t n;  // W + kAffinePad
  std::vector<int64_t> o, border;
  std::vector<float> w, row, quad;
  std::vector<uint32_t> raw;
  std::vector<uint8_t> bytes;
  explicit Scratch(int64_t W)
      : n(W + kAffinePad), o(n), border(4 * n), w(5 * n), row(n), quad(4 * n), raw(kGroup * n),
        bytes(kGroup * n) {}
  uint8_t* byte_row(int k) { return bytes.data() + k * n; }
  BilinearTaps taps() {
    float* p = w.data();
    return {o.data(), p, p + n, p + 2 * n, p + 3 * n, p + 4 * n};
  }
  template <typename E>
  E* raw_row(int k) {
    return reinterpret_cast<E*>(raw.data() + k * n);
  }
};

// f(std::integral_constant<int, nc>{}) for nc in [1, kGroup]: channel groups as a
// compile-time count, so their pointers stay in registers.
template <typename F>
void with_group(int nc, const F& f) {
  switch (nc) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    default: f(std::integral_constant<int, 4>{}); break;
  }
}

// d[k][j * ds] = p[k][o[j]] for the NC channels k, j in [lo, hi): one pass over the
// pixels, the offset loaded once for all channels.
template <typename E, int NC>
void gather_group(const E* const* p, E* const* d, int64_t ds, const int64_t* __restrict o,
                  int64_t lo, int64_t hi) {
  const E* s[NC];
  E* t[NC];
  for (int k = 0; k < NC; ++k) s[k] = p[k], t[k] = d[k];
  for (int64_t j = lo; j < hi; ++j) {
    const int64_t q = o[j];
    for (int k = 0; k < NC; ++k) t[k][j * ds] = s[k][q];
  }
}

// d[k][j * ds] = rows[k][j], j in [0, n): NC rows into strided output rows, pixel by pixel.
template <typename E, int NC>
void scatter_group(const E* const* rows, E* const* d, int64_t ds, int64_t n) {
  const E* s[NC];
  E* t[NC];
  for (int k = 0; k < NC; ++k) s[k] = rows[k], t[k] = d[k];
  for (int64_t j = 0; j < n; ++j) {
    for (int k = 0; k < NC; ++k) t[k][j * ds] = s[k][j];
  }
}

// raw[lo, hi) of the source dtype -> values in out[lo, hi) (as load_row).
template <typename T>
void raw_to_float(const T* raw, int64_t lo, int64_t hi, float* out) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    rowio::load_u8(raw + lo, hi - lo, out + lo);
  } else {
    for (int64_t j = lo; j < hi; ++j) out[j] = value_of<T>(raw[j]);
  }
}

// Nearest row i of sample b: [lo, hi) the inside pixels, o their offsets (the fill
// elsewhere). Same dtypes: raw elements gathered straight into the output; else
// gathered, converted and stored with store_row.
template <typename T>
void nearest_row(const Warp& w, int64_t b, int64_t i, const int64_t* o, int64_t lo, int64_t hi,
                 Scratch& s) {
  using E = std::conditional_t<sizeof(T) == 1, uint8_t,
                               std::conditional_t<sizeof(T) == 2, uint16_t, uint32_t>>;
  const ImageView &src = w.src, &dst = w.dst;
  const int64_t W = dst.W, C = dst.C, ds = dst.sW;
  const bool raw = src.dtype == dst.dtype;
  for (int64_t c0 = 0; c0 < C; c0 += kGroup) {
    const int nc = static_cast<int>(std::min<int64_t>(kGroup, C - c0));
    const E* p[kGroup] = {};
    E* d[kGroup] = {};
    for (int k = 0; k < nc; ++k) {
      p[k] = reinterpret_cast<const E*>(src.data) + b * src.sB + (c0 + k) * src.sC;
      d[k] = raw ? reinterpret_cast<E*>(dst.data) + dst.offset(b, c0 + k, i, 0) : s.raw_row<E>(k);
    }
    with_group(nc, [&](auto g) {
      gather_group<E, decltype(g)::value>(p, d, raw ? ds : 1, o, lo, hi);
    });
    for (int k = 0; k < nc; ++k) {
      const float f = outside_value(w.fills[b * C + c0 + k]);
      if (raw) {
        const E fe = static_cast<E>(element_bits(dst.dtype, f));
        for (int64_t j = 0; j < lo; ++j) d[k][j * ds] = fe;
        for (int64_t j = hi; j < W; ++j) d[k][j * ds] = fe;
        continue;
      }
      float* row = s.row.data();
      raw_to_float<T>(reinterpret_cast<const T*>(d[k]), lo, hi, row);
      std::fill(row, row + lo, f);
      std::fill(row + hi, row + W, f);
      store_row(dst, dst.offset(b, c0 + k, i, 0), dst.sW, W, row);
    }
  }
}

inline uint32_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The four uint8 neighbours of the touched pixels [c0, d0) of NC channels, packed
// v00 | v01 << 8 | v10 << 16 | v11 << 24: inner pixels from o (two 16-bit loads on
// unit-stride rows), border pixels from the clamped offsets bo[4 j ..].
template <int NC>
void gather_quads(const uint8_t* const* p, int64_t sH, int64_t sW, const int64_t* __restrict o,
                  const int64_t* bo, const int64_t* span, uint32_t* const* out) {
  const uint8_t* s[NC];
  uint32_t* t[NC];
  for (int k = 0; k < NC; ++k) s[k] = p[k], t[k] = out[k];
  const int64_t lo = span[1], hi = span[2];
  if (sW == 1) {
    for (int64_t j = lo; j < hi; ++j) {
      const int64_t q = o[j];
      for (int k = 0; k < NC; ++k) t[k][j] = load_u16(s[k] + q) | load_u16(s[k] + q + sH) << 16;
    }
  } else {
    for (int64_t j = lo; j < hi; ++j) {
      for (int k = 0; k < NC; ++k) {
        const uint8_t* r = s[k] + o[j];
        t[k][j] = uint32_t{r[0]} | uint32_t{r[sW]} << 8 | uint32_t{r[sH]} << 16 |
                  uint32_t{r[sH + sW]} << 24;
      }
    }
  }
  for (const auto& [b0, b1] : {std::pair{span[0], span[1]}, std::pair{span[2], span[3]}}) {
    for (int64_t j = b0; j < b1; ++j) {
      const int64_t* q = bo + 4 * j;
      for (int k = 0; k < NC; ++k) {
        t[k][j] = uint32_t{s[k][q[0]]} | uint32_t{s[k][q[1]]} << 8 | uint32_t{s[k][q[2]]} << 16 |
                  uint32_t{s[k][q[3]]} << 24;
      }
    }
  }
}

// The neighbours of the touched pixels [c0, d0) of one channel: inner ones at
// o, o + sW, o + sH, o + sH + sW; border ones at the clamped offsets bo[4 j ..].
template <typename T>
void gather_floats(const T* p, int64_t sH, int64_t sW, const int64_t* o, const int64_t* bo,
                   const int64_t* span, float* const* v) {
  for (int64_t j = span[1]; j < span[2]; ++j) {
    const T* q = p + o[j];
    v[0][j] = value_of<T>(q[0]);
    v[1][j] = value_of<T>(q[sW]);
    v[2][j] = value_of<T>(q[sH]);
    v[3][j] = value_of<T>(q[sH + sW]);
  }
  for (const auto& [lo, hi] : {std::pair{span[0], span[1]}, std::pair{span[2], span[3]}}) {
    for (int64_t j = lo; j < hi; ++j) {
      for (int k = 0; k < 4; ++k) v[k][j] = value_of<T>(p[bo[4 * j + k]]);
    }
  }
}

// Bilinear row i of sample b: span = (c0, a0, b0, d0), the touched pixels [c0, d0)
// (some neighbour inside), of which [a0, b0) are inner (all four inside); the
// fill (or 0 without fill) elsewhere. The taps of the border pixels are made here
// (border_taps) and every touched pixel goes through the blend kernel.
template <typename T>
void bilinear_row(const Warp& w, int64_t b, const AffineRow& r, int64_t i, const BilinearTaps& t,
                  const int64_t* span, Scratch& s) {
  const ImageView &src = w.src, &dst = w.dst;
  const int64_t W = dst.W, C = dst.C;
  const int64_t c0 = span[0], a0 = span[1], b0 = span[2], d0 = span[3];
  int64_t* bo = s.border.data();
  for (int64_t j = c0; j < a0; ++j) border_taps(r, j, t, bo + 4 * j);
  for (int64_t j = b0; j < d0; ++j) border_taps(r, j, t, bo + 4 * j);
  float* row = s.row.data();
  // uint8 rows out of uint8 images: the blend writes the bytes (into a buffer first
  // when the output row is strided, e.g. channels-last)
  const bool bytes = std::is_same_v<T, uint8_t> && dst.dtype == at::kByte;
  for (int64_t cg = 0; cg < C; cg += kGroup) {
    const int nc = static_cast<int>(std::min<int64_t>(kGroup, C - cg));
    const T* p[kGroup] = {};
    uint8_t* out8[kGroup] = {};  // the uint8 output rows (bytes)
    for (int k = 0; k < nc; ++k) {
      p[k] = reinterpret_cast<const T*>(src.data) + b * src.sB + (cg + k) * src.sC;
      if (bytes) out8[k] = reinterpret_cast<uint8_t*>(dst.data) + dst.offset(b, cg + k, i, 0);
    }
    uint32_t* packed[kGroup] = {};
    if constexpr (std::is_same_v<T, uint8_t>) {
      for (int k = 0; k < nc; ++k) packed[k] = s.raw_row<uint32_t>(k);
      with_group(nc, [&](auto g) {
        gather_quads<decltype(g)::value>(p, src.sH, src.sW, t.o, bo, span, packed);
      });
    }
    for (int k = 0; k < nc; ++k) {
      const float f = w.fills[b * C + cg + k];
      if (bytes) {
        uint8_t* d = dst.sW == 1 ? out8[k] : s.byte_row(k);
        const uint8_t fe = rowio::float_to_u8(outside_value(f));
        std::memset(d, fe, c0);
        affine_blend_u8(t, packed[k], c0, d0, f, nullptr, d);
        std::memset(d + d0, fe, W - d0);
        continue;
      }
      std::fill(row, row + c0, outside_value(f));
      if constexpr (std::is_same_v<T, uint8_t>) {
        affine_blend_u8(t, packed[k], c0, d0, f, row, nullptr);
      } else {
        float* v[4] = {s.quad.data(), s.quad.data() + s.n, s.quad.data() + 2 * s.n,
                       s.quad.data() + 3 * s.n};
        gather_floats<T>(p[k], src.sH, src.sW, t.o, bo, span, v);
        affine_blend(t, v, c0, d0, f, row);
      }
      std::fill(row + d0, row + W, outside_value(f));
      store_row(dst, dst.offset(b, cg + k, i, 0), dst.sW, W, row);
    }
    if (bytes && dst.sW != 1) {  // strided rows: the group's bytes, pixel by pixel
      const uint8_t* rows[kGroup] = {};
      for (int k = 0; k < nc; ++k) rows[k] = s.byte_row(k);
      with_group(nc, [&](auto g) {
        scatter_group<uint8_t, decltype(g)::value>(rows, out8, dst.sW, W);
      });
    }
  }
}

template <typename T>
void general_rows(const Warp& w, int64_t b, int64_t i0, int64_t i1, Scratch& s, Prefetcher& pf) {
  const float* m = w.mat + b * 6;
  const float* f = w.fills + b * w.dst.C;
  const bool masked = std::any_of(f, f + w.dst.C, [](float v) { return !std::isnan(v); });
  const double wmax = static_cast<double>(w.src.W - 1), hmax = static_cast<double>(w.src.H - 1);
  for (int64_t i = i0; i < i1; ++i) {
    pf.step(i1 - i);
    const AffineRow r = row_of(w.src, m, i);
    if (!w.bilinear) {
      int64_t lo, hi;
      row_interval<false>(r, 0.0, wmax, 0.0, hmax, lo, hi);
      affine_nearest_taps(r, lo, hi, s.o.data());
      nearest_row<T>(w, b, i, s.o.data(), lo, hi, s);
      continue;
    }
    int64_t span[4];
    bilinear_spans(r, span);
    BilinearTaps t = s.taps();
    if (!masked) t.mask = nullptr;  // no fill: no mask blend
    affine_bilinear_taps(r, span[1], span[2], t);
    bilinear_row<T>(w, b, r, i, t, span, s);
  }
}

// Rows per work item: about 16K pixels, at least one row.
int64_t rows_per_block(const ImageView& v) {
  return std::max<int64_t>(1, std::min<int64_t>(v.H, 16384 / std::max<int64_t>(v.W, 1)));
}

void warp_rows(const Warp& w, int64_t b, int64_t i0, int64_t i1, Scratch& s, Prefetcher& pf) {
  int64_t dx, dy;
  const bool same = w.src.dtype == w.dst.dtype;
  if (shift_of(w.mat + b * 6, w.dst.H, w.dst.W, dx, dy)) {
    pf.step(1);
    if (!same) {
      shift_rows_float(w, b, i0, i1, dx, dy, s.row.data());
    } else if (w.dst.elem_size == 1) {
      shift_rows_raw<uint8_t>(w, b, i0, i1, dx, dy);
    } else if (w.dst.elem_size == 2) {
      shift_rows_raw<uint16_t>(w, b, i0, i1, dx, dy);
    } else {
      shift_rows_raw<uint32_t>(w, b, i0, i1, dx, dy);
    }
    return;
  }
  switch (w.src.dtype) {
    case at::kByte: general_rows<uint8_t>(w, b, i0, i1, s, pf); break;
    case at::kFloat: general_rows<float>(w, b, i0, i1, s, pf); break;
    case at::kHalf: general_rows<c10::Half>(w, b, i0, i1, s, pf); break;
    case at::kBFloat16: general_rows<c10::BFloat16>(w, b, i0, i1, s, pf); break;
    default: TORCH_CHECK_TYPE(false, "images: unsupported dtype ", w.src.dtype);
  }
}

}  // namespace

// out[b] = images[b] warped by the inverse map matrix[b] (see the top of this file).
at::Tensor affine_warp_cpu(const at::Tensor& images, const at::Tensor& matrix,
                           const at::Tensor& fill, int64_t interpolation,
                           at::ScalarType out_dtype) {
  check_images(images, "images");
  const int64_t B = images.size(0), C = images.size(1);
  check_table(matrix, B, 6, images.device(), "matrix", ", one inverse map per sample");
  check_table(fill, B, C, images.device(), "fill", ", one value per sample and channel");
  TORCH_CHECK_VALUE(interpolation == kNearest || interpolation == kBilinear,
                    "interpolation: expected 0 (nearest) or 1 (bilinear), got ", interpolation);
  check_out_dtype(out_dtype, "out_dtype");
  at::Tensor out = new_output_like(images, out_dtype);
  if (out.numel() == 0) return out;
  const Warp w{image_view(images), image_view(out), matrix.const_data_ptr<float>(),
               fill.const_data_ptr<float>(), interpolation == kBilinear};
  const int64_t rb = rows_per_block(w.dst);
  const int64_t nblk = (w.dst.H + rb - 1) / rb;
  at::parallel_for(0, B * nblk, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch(w.dst.W);
    Prefetcher pf;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk, i0 = (item % nblk) * rb;
      pf.step(1);  // the rest of this item's lines
      if (item + 1 < end) {
        const int64_t nb = (item + 1) / nblk, n0 = ((item + 1) % nblk) * rb;
        pf.plan(w.src, w.mat + nb * 6, nb, n0, std::min(w.dst.H, n0 + rb));
      }
      warp_rows(w, b, i0, std::min(w.dst.H, i0 + rb), scratch, pf);
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) { m.impl("affine_warp", &datagen_gpu::affine_warp_cpu); }
