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
const float k255Over13 = static_cast<float>(255.0 / 13.0);
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

// SHARPNESS on row h of one channel (above, row, below: rows h - 1, h, h + 1;
// interior rows only): torchvision's 3x3 kernel (1 around, 5 at the centre, / 13),
// rounded to a level for uint8 inputs, blended with factor f; the first and last
// columns are kept. The sum runs in the Triton kernel's order.
void sharpen_row(const float* above, const float* row, const float* below, int64_t W, float f,
                 bool u8, float* out) {
  out[0] = row[0];
  out[W - 1] = row[W - 1];
  const float k = 1.0f - f;
  for (int64_t i = 1; i + 1 < W; ++i) {
    float acc = 4.0f * row[i];
    acc += above[i - 1]; acc += above[i]; acc += above[i + 1];
    acc += row[i - 1]; acc += row[i]; acc += row[i + 1];
    acc += below[i - 1]; acc += below[i]; acc += below[i + 1];
    const float blur = u8 ? std::floor(acc * k255Over13 + 0.5f) * kInv255 : acc * kInv13;
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
  const int64_t rb = rows_per_block(src);
  const int64_t nblk = (src.H + rb - 1) / rb;
  const int64_t C = src.C, H = src.H, W = src.W;
  at::parallel_for(0, src.B * nblk, 1, [&](int64_t begin, int64_t end) {
    Rows rows(C, W);
    std::vector<float> above(W), below(W), sharp(W);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk;
      const int64_t code = codes[b];
      const int64_t h0 = (item % nblk) * rb, h1 = std::min(H, h0 + rb);
      for (int64_t h = h0; h < h1; ++h) {
        load_pixels(src, b, h, rows);
        if (plans[b].n > 0) {
          apply_steps(plans[b], plans[b].n, stats.mean[b], rows);
        } else if (code == kSharpness) {
          if (h >= 1 && h + 1 < H && W >= 3) {
            for (int64_t c = 0; c < C; ++c) {
              load_row(src, src.offset(b, c, h - 1, 0), src.sW, W, above.data());
              load_row(src, src.offset(b, c, h + 1, 0), src.sW, W, below.data());
              sharpen_row(above.data(), rows.plane(c), below.data(), W, mag[b], u8,
                          sharp.data());
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
