// Pixel ops CPU kernel: pixel_ops_cpu, the per-sample operations of the
// learned policies (op codes = datagen_gpu.functional.PixelOp), behind
// posterize / equalize / autocontrast / adjust_sharpness / invert.
//
// Two passes over (sample, block of rows) work items (at::parallel_for):
// 1. statistics, only for the samples whose op needs them: per item and
//    channel the histogram of the uint8 levels (EQUALIZE), the minimum and
//    maximum (AUTOCONTRAST), or the grayscale's sum (CONTRAST); the partials
//    of a sample are then combined in item order (sums in double), so the
//    result does not depend on the number of threads;
// 2. the ops, row by row on float buffers in [0, 1] (common.h load_row /
//    store_row: one rounding on store). BRIGHTNESS / SATURATION / CONTRAST /
//    SOLARIZE are one-step color plans (color_plan.h, isa.h); the others are
//    written here. The formulas are those of datagen_gpu/kernels/pixel.py.
//
// uint8 inputs skip the float rows where they can, with the same results:
// the statistics read the levels (EQUALIZE's histogram, AUTOCONTRAST's extreme
// levels); every op that maps each channel's levels on their own (all but
// SATURATION of RGB and SHARPNESS) is a 256-entry table per (sample, channel),
// the float path's value at each level, applied level -> level (or -> float
// for other output dtypes); SHARPNESS sums the levels as integers
// (isa.h sharpen_u8_row). IDENTITY into the input's dtype copies the rows.
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "color_plan.h"
#include "common.h"
#include "isa.h"
#include "row_io_simd.h"

namespace datagen_gpu {
namespace {

enum PixelCode : int64_t {
  kIdentity = 0, kBrightnessOp = 1, kSaturationOp = 2, kContrastOp = 3, kSharpness = 4,
  kPosterize = 5, kSolarizeOp = 6, kAutocontrast = 7, kEqualize = 8, kInvert = 9,
  kSolarizeAdd = 10, kNumCodes = 11
};

const char* const kNames[kNumCodes] = {"IDENTITY", "BRIGHTNESS", "SATURATION", "CONTRAST",
                                       "SHARPNESS", "POSTERIZE", "SOLARIZE", "AUTOCONTRAST",
                                       "EQUALIZE", "INVERT", "SOLARIZE_ADD"};

// Constants rounded from double, as the Triton kernel's Python literals are.
const float kInv255 = static_cast<float>(1.0 / 255.0);
const float kInv13 = static_cast<float>(1.0 / 13.0);
const float kToLevels = static_cast<float>(255.999);  // to_dtype's float -> uint8 scale
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------- argument checks

void check_pixel_values(const at::Tensor& images, const int64_t* op, const float* m) {
  const int64_t B = images.size(0), C = images.size(1);
  const bool u8 = images.scalar_type() == at::kByte;
  const float top = u8 ? 255.0f : 1.0f;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t code = op[b];
    TORCH_CHECK_VALUE(code >= 0 && code < kNumCodes, "op: unknown operation code ", code,
                      " for sample ", b, " (expected 0..", kNumCodes - 1,
                      ", datagen_gpu.functional.PixelOp)");
    const float v = m[b];
    const bool nan = std::isnan(v);
    const char* name = kNames[code];
    switch (code) {
      case kBrightnessOp: case kSaturationOp: case kContrastOp: case kSharpness:
        TORCH_CHECK_VALUE(!nan && v >= 0.0f, "magnitude: ", name,
                          " expects a non-negative factor, got ", v, " for sample ", b);
        break;
      case kPosterize:
        TORCH_CHECK_VALUE(!nan && v >= 0.0f && v <= 8.0f && v == std::floor(v), "magnitude: ",
                          name, " expects an integer number of bits in 0..8, got ", v,
                          " for sample ", b);
        break;
      case kSolarizeOp:
        TORCH_CHECK_VALUE(!nan && v <= top, "magnitude: ", name, " expects a threshold at most ",
                          top, " (", images.scalar_type(), "), got ", v, " for sample ", b);
        break;
      case kSolarizeAdd:
        TORCH_CHECK_VALUE(!nan && v >= 0.0f && v <= top, "magnitude: ", name,
                          " expects an addend in [0, ", top, "] (", images.scalar_type(),
                          "), got ", v, " for sample ", b);
        break;
      default: break;
    }
    if (code == kSaturationOp || code == kContrastOp) {
      TORCH_CHECK_VALUE(C == 1 || C == 3, "images: ", name, " (sample ", b,
                        ") needs 1 or 3 channels, got ", C);
    }
  }
}

// ---------------------------------------------------------------- per-pixel pieces

// The uint8 level equalize bins x at: a uint8 input's own level; a float input's
// to_dtype(x, uint8, scale=True): x * 255.999 in float32 rounded to the input
// dtype (torchvision multiplies in that dtype), truncated, at most 255.
inline int level_of(float x, at::ScalarType dtype) {
  if (dtype == at::kByte) return static_cast<int>(x * 255.0f + 0.5f);
  float v = x * kToLevels;
  if (dtype == at::kHalf) v = static_cast<float>(c10::Half(v));
  if (dtype == at::kBFloat16) v = static_cast<float>(c10::BFloat16(v));
  return static_cast<int>(std::min(std::max(std::floor(v), 0.0f), 255.0f));
}

// Solarize's threshold as color.cpp's solarize_cpu compares it.
float solarize_threshold(float t, at::ScalarType dtype) {
  switch (dtype) {
    case at::kByte: {  // level >= t  <=>  level >= ceil(t)
      const float k = std::ceil(t);
      return k > 255.0f ? 2.0f : k * (1.0f / 255.0f);
    }
    case at::kHalf: return static_cast<float>(c10::Half(t));
    case at::kBFloat16: return static_cast<float>(c10::BFloat16(t));
    default: return t;
  }
}

inline float clamp01(float x) { return std::min(std::max(x, 0.0f), 1.0f); }

// ---------------------------------------------------------------- statistics

struct Stats {
  std::vector<float> mean;  // (B,) contrast's mean grayscale
  std::vector<float> lo;    // (B, C) autocontrast's minimum
  std::vector<float> hi;    // (B, C) and maximum
  std::vector<float> lut;   // (B, C, 256) equalize's table, as level / 255
};

int64_t rows_per_block(const ImageView& v) {
  return std::max<int64_t>(1, std::min<int64_t>(v.H, 16384 / std::max<int64_t>(v.W, 1)));
}

// PIL's ImageOps.equalize table (as torchvision computes it) of one histogram:
// step = (pixels - count of the brightest level present) // 255,
// lut[k] = min((cum[k - 1] + step // 2) // step, 255), lut[0] = 0; step 0 keeps the levels.
void equalize_table(const int64_t* hist, float* lut) {
  int64_t total = 0, last = 0;
  for (int k = 0; k < 256; ++k) {
    total += hist[k];
    if (hist[k] > 0) last = hist[k];
  }
  const int64_t step = (total - last) / 255;
  int64_t cum = 0;
  for (int k = 0; k < 256; ++k) {
    const int64_t level = step == 0 ? k : std::min<int64_t>((cum + step / 2) / step, 255);
    lut[k] = static_cast<float>(level) * kInv255;
    cum += hist[k];
  }
}

// The levels of row (b, c, h) of a uint8 view.
inline const uint8_t* u8_row(const ImageView& v, int64_t b, int64_t c, int64_t h) {
  return reinterpret_cast<const uint8_t*>(v.data) + v.offset(b, c, h, 0);
}
inline uint8_t* u8_row_out(const ImageView& v, int64_t b, int64_t c, int64_t h) {
  return reinterpret_cast<uint8_t*>(v.data) + v.offset(b, c, h, 0);
}

// Counts of the n levels p[i * stride] into 4 tables, pixel i into table i % 4
// (independent increments when neighbouring pixels share a level).
void count_levels(const uint8_t* __restrict p, int64_t stride, int64_t n,
                  int32_t (*__restrict t)[256]) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    ++t[0][p[i * stride]];
    ++t[1][p[(i + 1) * stride]];
    ++t[2][p[(i + 2) * stride]];
    ++t[3][p[(i + 3) * stride]];
  }
  for (; i < n; ++i) ++t[0][p[i * stride]];
}

// lo = min(lo, levels), hi = max(hi, levels) of the n levels p[i * stride].
void level_range(const uint8_t* __restrict p, int64_t stride, int64_t n, uint8_t& lo,
                 uint8_t& hi) {
  uint8_t l = lo, h = hi;
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) {
      l = std::min(l, p[i]);
      h = std::max(h, p[i]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      l = std::min(l, p[i * stride]);
      h = std::max(h, p[i * stride]);
    }
  }
  lo = l;
  hi = h;
}

// EQUALIZE / AUTOCONTRAST statistics of rows [h0, h1) of a uint8 sample, read as
// levels: the same histogram and (as level / 255, monotone) the same extremes as
// the float rows give.
void u8_statistics(const ImageView& src, int64_t b, int64_t code, int64_t h0, int64_t h1,
                   int32_t* hist, float* lo, float* hi) {
  alignas(64) int32_t t[4][256];
  for (int64_t c = 0; c < src.C; ++c) {
    if (code == kEqualize) {
      std::fill(&t[0][0], &t[0][0] + 4 * 256, 0);
      for (int64_t h = h0; h < h1; ++h) count_levels(u8_row(src, b, c, h), src.sW, src.W, t);
      int32_t* hc = hist + c * 256;
      for (int k = 0; k < 256; ++k) hc[k] = (t[0][k] + t[1][k]) + (t[2][k] + t[3][k]);
    } else {
      uint8_t l = 255, m = 0;
      for (int64_t h = h0; h < h1; ++h) level_range(u8_row(src, b, c, h), src.sW, src.W, l, m);
      lo[c] = rowio::u8_to_float(l);
      hi[c] = rowio::u8_to_float(m);
    }
  }
}

Stats statistics(const ImageView& src, const int64_t* op) {
  const int64_t B = src.B, C = src.C;
  Stats s;
  s.mean.assign(B, 0.0f);
  s.lo.assign(B * C, 0.0f);
  s.hi.assign(B * C, 0.0f);
  bool any_eq = false, any = false;
  for (int64_t b = 0; b < B; ++b) {
    any_eq = any_eq || op[b] == kEqualize;
    any = any || op[b] == kEqualize || op[b] == kAutocontrast || op[b] == kContrastOp;
  }
  if (!any) return s;
  const int64_t rb = rows_per_block(src);
  const int64_t nblk = (src.H + rb - 1) / rb;
  const int64_t items = B * nblk;
  std::vector<int32_t> hist(any_eq ? items * C * 256 : 0, 0);
  std::vector<float> plo(items * C), phi(items * C);
  std::vector<double> gray(items, 0.0);
  const bool quantized = src.dtype == at::kByte;
  at::parallel_for(0, items, 1, [&](int64_t begin, int64_t end) {
    Rows rows(C, src.W);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk;
      const int64_t code = op[b];
      if (code != kEqualize && code != kAutocontrast && code != kContrastOp) continue;
      const int64_t h0 = (item % nblk) * rb, h1 = std::min(src.H, h0 + rb);
      if (quantized && code != kContrastOp) {
        int32_t* part = any_eq ? hist.data() + item * C * 256 : nullptr;
        u8_statistics(src, b, code, h0, h1, part, plo.data() + item * C, phi.data() + item * C);
        continue;
      }
      double acc = 0.0;
      for (int64_t c = 0; c < C; ++c) {
        plo[item * C + c] = kInf;
        phi[item * C + c] = -kInf;
      }
      for (int64_t h = h0; h < h1; ++h) {
        load_pixels(src, b, h, rows);
        if (code == kContrastOp) {
          acc += gray_sum(rows, quantized);
          continue;
        }
        for (int64_t c = 0; c < C; ++c) {
          const float* x = rows.plane(c);
          if (code == kEqualize) {
            int32_t* hc = hist.data() + (item * C + c) * 256;
            for (int64_t i = 0; i < src.W; ++i) ++hc[level_of(x[i], src.dtype)];
          } else {
            float lo = plo[item * C + c], hi = phi[item * C + c];
            for (int64_t i = 0; i < src.W; ++i) {
              lo = std::min(lo, x[i]);
              hi = std::max(hi, x[i]);
            }
            plo[item * C + c] = lo;
            phi[item * C + c] = hi;
          }
        }
      }
      gray[item] = acc;
    }
  });
  if (any_eq) s.lut.assign(B * C * 256, 0.0f);
  const double npix = static_cast<double>(src.H) * static_cast<double>(src.W);
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> h(256);
    for (int64_t b = begin; b < end; ++b) {
      if (op[b] == kContrastOp) {
        double sum = 0.0;
        for (int64_t k = 0; k < nblk; ++k) sum += gray[b * nblk + k];
        s.mean[b] = static_cast<float>(sum / npix);
      }
      for (int64_t c = 0; c < C && op[b] == kAutocontrast; ++c) {
        float lo = kInf, hi = -kInf;
        for (int64_t k = 0; k < nblk; ++k) {
          lo = std::min(lo, plo[(b * nblk + k) * C + c]);
          hi = std::max(hi, phi[(b * nblk + k) * C + c]);
        }
        s.lo[b * C + c] = lo;
        s.hi[b * C + c] = hi;
      }
      for (int64_t c = 0; c < C && op[b] == kEqualize; ++c) {
        std::fill(h.begin(), h.end(), 0);
        for (int64_t k = 0; k < nblk; ++k) {
          const int32_t* part = hist.data() + ((b * nblk + k) * C + c) * 256;
          for (int i = 0; i < 256; ++i) h[i] += part[i];
        }
        equalize_table(h.data(), s.lut.data() + (b * C + c) * 256);
      }
    }
  });
  return s;
}

// ---------------------------------------------------------------- the ops on rows

// SHARPNESS on row h of one channel of a float image (above, row, below: rows
// h - 1, h, h + 1; interior rows only): torchvision's 3x3 kernel (1 around, 5 at
// the centre, / 13), blended with factor f; the first and last columns are kept.
// The sum runs in the Triton kernel's order. (uint8 images: isa.h sharpen_u8_row,
// which rounds the blur to a level.)
void sharpen_row(const float* above, const float* row, const float* below, int64_t W, float f,
                 float* out) {
  out[0] = row[0];
  out[W - 1] = row[W - 1];
  const float k = 1.0f - f;
  for (int64_t i = 1; i + 1 < W; ++i) {
    float acc = 4.0f * row[i];
    acc += above[i - 1]; acc += above[i]; acc += above[i + 1];
    acc += row[i - 1]; acc += row[i]; acc += row[i + 1];
    acc += below[i - 1]; acc += below[i]; acc += below[i + 1];
    const float blur = acc * kInv13;
    out[i] = clamp01(row[i] + k * (blur - row[i]));
  }
}

// The per-channel ops on one channel row x of (sample b, channel c), in place.
void channel_row(int64_t code, float f, float* x, int64_t n, const Stats& s, int64_t b,
                 int64_t c, int64_t C, at::ScalarType dtype) {
  const bool u8 = dtype == at::kByte;
  switch (code) {
    case kPosterize: {
      const int bits = static_cast<int>(std::min(std::max(f, 0.0f), 8.0f));
      if (u8) {
        const int keep = 255 - ((1 << (8 - bits)) - 1);
        for (int64_t i = 0; i < n; ++i) {
          x[i] = static_cast<float>(static_cast<int>(x[i] * 255.0f + 0.5f) & keep) * kInv255;
        }
      } else {
        const float levels = static_cast<float>(1 << bits), inv = 1.0f / levels;  // exact
        for (int64_t i = 0; i < n; ++i) {
          x[i] = std::min(std::max(std::floor(x[i] * levels), 0.0f), levels - 1.0f) * inv;
        }
      }
      break;
    }
    case kAutocontrast: {  // (x - min) * (1 / (max - min)), as the Triton kernel
      const float lo = s.lo[b * C + c], hi = s.hi[b * C + c];
      if (!(hi > lo)) break;
      const float scale = 1.0f / (hi - lo);
      for (int64_t i = 0; i < n; ++i) x[i] = clamp01((x[i] - lo) * scale);
      break;
    }
    case kEqualize: {
      const float* lut = s.lut.data() + (b * C + c) * 256;
      for (int64_t i = 0; i < n; ++i) x[i] = lut[level_of(x[i], dtype)];
      break;
    }
    case kInvert:
      for (int64_t i = 0; i < n; ++i) x[i] = 1.0f - x[i];
      break;
    case kSolarizeAdd: {  // below 128 levels (0.5): both are x < 0.5
      const float add = u8 ? f * kInv255 : f;
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.5f ? clamp01(x[i] + add) : x[i];
      break;
    }
    default: break;  // IDENTITY (and nothing else reaches here)
  }
}

// ---------------------------------------------------------------- uint8 paths

// Tables of the per-channel ops of uint8 samples: at (b, c), entry v is the float
// path's value at level v (levels: that value stored as uint8).
struct LevelTables {
  std::vector<char> used;       // (B,)
  std::vector<float> values;    // (B, C, 256)
  std::vector<uint8_t> levels;  // (B, C, 256)
};

bool maps_levels(int64_t code, int64_t C) {
  return code != kSharpness && !(code == kSaturationOp && C == 3);
}

LevelTables level_tables(const ImageView& src, const int64_t* codes, const float* mag,
                         const Stats& stats, const std::vector<Plan>& plans, bool copy_identity) {
  const int64_t B = src.B, C = src.C;
  LevelTables t;
  t.used.assign(B, 0);
  if (src.dtype != at::kByte) return t;
  bool any = false;
  for (int64_t b = 0; b < B; ++b) {
    t.used[b] = maps_levels(codes[b], C) && !(copy_identity && codes[b] == kIdentity);
    any = any || t.used[b];
  }
  if (!any) return t;
  t.values.resize(B * C * 256);
  t.levels.resize(B * C * 256);
  at::parallel_for(0, B, 16, [&](int64_t begin, int64_t end) {
    Rows rows(1, 256);
    float* x = rows.plane(0);
    for (int64_t b = begin; b < end; ++b) {
      for (int64_t c = 0; c < C && t.used[b]; ++c) {
        for (int v = 0; v < 256; ++v) x[v] = rowio::u8_to_float(static_cast<uint8_t>(v));
        if (plans[b].n > 0) {  // one channel's rows: the steps that need no other channel
          apply_steps(plans[b], plans[b].n, stats.mean[b], rows);
        } else {
          channel_row(codes[b], mag[b], x, 256, stats, b, c, C, src.dtype);
        }
        const int64_t base = (b * C + c) * 256;
        std::copy(x, x + 256, t.values.begin() + base);
        for (int v = 0; v < 256; ++v) t.levels[base + v] = rowio::float_to_u8(x[v]);
      }
    }
  });
  return t;
}

// d[i * ds] = table[s[i * ss]], i < n (contiguous rows: isa.h map_levels).
void map_strided(const uint8_t* __restrict s, int64_t ss, uint8_t* __restrict d, int64_t ds,
                 int64_t n, const uint8_t* __restrict table) {
  if (ss == 1 && ds == 1) return map_levels(s, d, n, table);
  for (int64_t i = 0; i < n; ++i) d[i * ds] = table[s[i * ss]];
}

// The n levels s[i * stride] as a contiguous row: s itself when stride is 1.
const uint8_t* contiguous_levels(const uint8_t* s, int64_t stride, int64_t n, uint8_t* buf) {
  if (stride == 1) return s;
  for (int64_t i = 0; i < n; ++i) buf[i] = s[i * stride];
  return buf;
}

// The work of one thread on the rows of uint8 samples (and IDENTITY copies).
struct RowWork {
  const ImageView& src;
  const ImageView& dst;
  std::vector<float> f;                         // (W,) a float row
  std::vector<uint8_t> above, row, below, out;  // (W,) level rows of strided views

  RowWork(const ImageView& s, const ImageView& d)
      : src(s), dst(d), f(s.W), above(s.W), row(s.W), below(s.W), out(s.W) {}

  // Rows [h0, h1) of (b, c) copied (IDENTITY into the input's dtype): one run of
  // bytes when both are contiguous, else row by row.
  void copy(int64_t b, int64_t c, int64_t h0, int64_t h1) {
    const int64_t W = src.W;
    if (src.sW == 1 && dst.sW == 1 && src.sH == W && dst.sH == W) {
      copy_row(src, src.offset(b, c, h0, 0), dst, dst.offset(b, c, h0, 0), (h1 - h0) * W, false);
      return;
    }
    for (int64_t h = h0; h < h1; ++h) copy(b, c, h);
  }

  // Row (b, c, h) unchanged into the output dtype: bytes when the dtypes match and
  // both rows are contiguous, else through a float row (exact for every dtype).
  void copy(int64_t b, int64_t c, int64_t h) {
    if (src.dtype == dst.dtype && src.sW == 1 && dst.sW == 1) {
      copy_row(src, src.offset(b, c, h, 0), dst, dst.offset(b, c, h, 0), src.W, false);
      return;
    }
    load_row(src, src.offset(b, c, h, 0), src.sW, src.W, f.data());
    store_row(dst, dst.offset(b, c, h, 0), dst.sW, dst.W, f.data());
  }

  // Rows [h0, h1) of (b, c) through the table of (b, c).
  void map(const LevelTables& t, int64_t b, int64_t c, int64_t h0, int64_t h1) {
    const int64_t base = (b * src.C + c) * 256, W = src.W;
    if (dst.dtype == at::kByte) {
      const uint8_t* table = t.levels.data() + base;
      if (src.sW == 1 && dst.sW == 1 && src.sH == W && dst.sH == W) {  // one run of levels
        map_levels(u8_row(src, b, c, h0), u8_row_out(dst, b, c, h0), (h1 - h0) * W, table);
        return;
      }
      for (int64_t h = h0; h < h1; ++h) {
        map_strided(u8_row(src, b, c, h), src.sW, u8_row_out(dst, b, c, h), dst.sW, W, table);
      }
      return;
    }
    const float* values = t.values.data() + base;
    for (int64_t h = h0; h < h1; ++h) {
      const uint8_t* s = u8_row(src, b, c, h);
      for (int64_t i = 0; i < W; ++i) f[i] = values[s[i * src.sW]];
      store_row(dst, dst.offset(b, c, h, 0), dst.sW, W, f.data());
    }
  }

  // SHARPNESS of row (b, c, h) of a uint8 sample; k = 1 - factor.
  void sharpen(int64_t b, int64_t c, int64_t h, float k) {
    const int64_t H = src.H, W = src.W;
    if (h == 0 || h == H - 1 || H < 3 || W < 3) return copy(b, c, h);
    const int64_t ss = src.sW;
    const uint8_t* a = contiguous_levels(u8_row(src, b, c, h - 1), ss, W, above.data());
    const uint8_t* r = contiguous_levels(u8_row(src, b, c, h), ss, W, row.data());
    const uint8_t* z = contiguous_levels(u8_row(src, b, c, h + 1), ss, W, below.data());
    if (dst.dtype != at::kByte) {
      sharpen_u8_row(a, r, z, W, k, nullptr, f.data());
      store_row(dst, dst.offset(b, c, h, 0), dst.sW, W, f.data());
    } else if (dst.sW == 1) {
      sharpen_u8_row(a, r, z, W, k, u8_row_out(dst, b, c, h), nullptr);
    } else {
      sharpen_u8_row(a, r, z, W, k, out.data(), nullptr);
      uint8_t* d = u8_row_out(dst, b, c, h);
      for (int64_t i = 0; i < W; ++i) d[i * dst.sW] = out[i];  // channels-last
    }
  }
};

// ---------------------------------------------------------------- op

at::Tensor pixel_ops_cpu(const at::Tensor& images, const at::Tensor& op,
                         const at::Tensor& magnitude, at::ScalarType out_dtype) {
  check_images(images, "images");
  check_param(op, images, "op", at::kLong);
  check_param(magnitude, images, "magnitude", at::kFloat);
  check_out_dtype(out_dtype, "out_dtype");
  const int64_t* codes = op.const_data_ptr<int64_t>();
  const float* mag = magnitude.const_data_ptr<float>();
  check_pixel_values(images, codes, mag);
  at::Tensor out = new_output_like(images, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const bool u8 = src.dtype == at::kByte;
  const Stats stats = statistics(src, codes);
  // the color steps: one-step plans
  std::vector<Plan> plans(src.B);
  for (int64_t b = 0; b < src.B; ++b) {
    const float f = mag[b];
    switch (codes[b]) {
      case kBrightnessOp: plans[b].add(Step{kBrightness, f, false}); break;
      case kSaturationOp: plans[b].add(Step{kSaturation, f, u8}); break;  // C = 1: no-op
      case kContrastOp: plans[b].add(Step{kContrast, f, false}); break;
      case kSolarizeOp:
        plans[b].add(Step{kSolarize, solarize_threshold(f, src.dtype), false});
        break;
      default: break;
    }
  }
  const bool copy_identity = src.dtype == dst.dtype;
  const LevelTables tables = level_tables(src, codes, mag, stats, plans, copy_identity);
  const int64_t rb = rows_per_block(src);
  const int64_t nblk = (src.H + rb - 1) / rb;
  const int64_t C = src.C, H = src.H, W = src.W;
  at::parallel_for(0, src.B * nblk, 1, [&](int64_t begin, int64_t end) {
    Rows rows(C, W);
    std::vector<float> above(W), below(W), sharp(W);
    RowWork work(src, dst);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk;
      const int64_t code = codes[b];
      const int64_t h0 = (item % nblk) * rb, h1 = std::min(H, h0 + rb);
      const bool copy = copy_identity && code == kIdentity;
      if (copy || tables.used[b] || (u8 && code == kSharpness)) {
        for (int64_t c = 0; c < C; ++c) {
          if (copy) {
            work.copy(b, c, h0, h1);
          } else if (tables.used[b]) {
            work.map(tables, b, c, h0, h1);
          } else {
            for (int64_t h = h0; h < h1; ++h) work.sharpen(b, c, h, 1.0f - mag[b]);
          }
        }
        continue;
      }
      for (int64_t h = h0; h < h1; ++h) {
        load_pixels(src, b, h, rows);
        if (plans[b].n > 0) {
          apply_steps(plans[b], plans[b].n, stats.mean[b], rows);
        } else if (code == kSharpness) {
          if (h >= 1 && h + 1 < H && W >= 3) {
            for (int64_t c = 0; c < C; ++c) {
              load_row(src, src.offset(b, c, h - 1, 0), src.sW, W, above.data());
              load_row(src, src.offset(b, c, h + 1, 0), src.sW, W, below.data());
              sharpen_row(above.data(), rows.plane(c), below.data(), W, mag[b], sharp.data());
              std::copy(sharp.begin(), sharp.end(), rows.plane(c));
            }
          }
        } else {
          for (int64_t c = 0; c < C; ++c) {
            channel_row(code, mag[b], rows.plane(c), W, stats, b, c, C, src.dtype);
          }
        }
        store_pixels(dst, b, h, rows);
      }
    }
  });
  return out;
}

}  // namespace
}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("pixel_ops", &datagen_gpu::pixel_ops_cpu);
}
