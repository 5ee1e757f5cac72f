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
// Work items are (sample, block of rows). Per output row the taps (element
// offsets and weights) are computed once, in double, in loops without calls
// or branches that vectorize; then every channel gathers its row through them
// (one template over the source dtype) and stores it with store_row.
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common.h"
#include "row_io_simd.h"

namespace datagen_gpu {
namespace {

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

// The taps of one output row, shared by its channels. Offsets are element
// offsets inside a channel plane, always inside the image (clamped), so a
// tap outside reads a real pixel with weight 0 (nearest: with inside 0).
struct RowTaps {
  std::vector<double> x, y;
  std::vector<int64_t> o00, o01, o10, o11;  // nearest: o00 only
  std::vector<float> wx0, wx1, wy0, wy1, mask;  // nearest: mask = 1 inside, 0 outside
  explicit RowTaps(int64_t W)
      : x(W), y(W), o00(W), o01(W), o10(W), o11(W), wx0(W), wx1(W), wy0(W), wy1(W), mask(W) {}
};

// Source coordinates of row i, clamped to [-2, size + 1] (NaN -> -2: outside), so every
// derived index fits int32 and stays a few pixels from the image.
void row_coords(const float* m, int64_t i, int64_t W, int64_t H, RowTaps& t) {
  const double m0 = m[0], m2 = m[2], m3 = m[3], m5 = m[5];
  const double ci = static_cast<double>(m[1]) * static_cast<double>(i);
  const double di = static_cast<double>(m[4]) * static_cast<double>(i);
  const double xmax = static_cast<double>(W) + 1.0, ymax = static_cast<double>(H) + 1.0;
  double* __restrict x = t.x.data();
  double* __restrict y = t.y.data();
  for (int64_t j = 0; j < W; ++j) {
    const double jd = static_cast<double>(static_cast<int32_t>(j));  // packed int32 -> double
    double u = m0 * jd + ci + m2;  // the reference's order: (m0 j + m1 i) + m2
    double v = m3 * jd + di + m5;
    u = u > -2.0 ? u : -2.0;
    v = v > -2.0 ? v : -2.0;
    x[j] = u < xmax ? u : xmax;
    y[j] = v < ymax ? v : ymax;
  }
}

// Exact floor of v in [-2, size + 1]: truncation of v + 2 >= 0, one down where that rounded up.
inline double floor_small(double v) {
  const double t = static_cast<double>(static_cast<int32_t>(v + 2.0)) - 2.0;
  return t > v ? t - 1.0 : t;
}

void nearest_taps(const ImageView& src, const float* m, int64_t i, RowTaps& t) {
  const int64_t W = src.W, H = src.H;
  row_coords(m, i, W, H, t);
  // round half to even: adding and subtracting 1.5 * 2^52 rounds |v| < 2^51 to an integer
  // in the default rounding mode (vectorizes at any ISA, unlike nearbyint before SSE4.1)
  constexpr double kRound = 6755399441055744.0;
  const double wmax = static_cast<double>(W - 1), hmax = static_cast<double>(H - 1);
  const int64_t sH = src.sH, sW = src.sW;
  const double* __restrict x = t.x.data();
  const double* __restrict y = t.y.data();
  int64_t* __restrict o = t.o00.data();
  float* __restrict mask = t.mask.data();
  for (int64_t j = 0; j < W; ++j) {
    const double rx = (x[j] + kRound) - kRound;
    const double ry = (y[j] + kRound) - kRound;
    const bool inside = (rx >= 0.0) & (rx <= wmax) & (ry >= 0.0) & (ry <= hmax);
    const int64_t cx = static_cast<int32_t>(std::min(std::max(rx, 0.0), wmax));
    const int64_t cy = static_cast<int32_t>(std::min(std::max(ry, 0.0), hmax));
    o[j] = cy * sH + cx * sW;
    mask[j] = inside ? 1.0f : 0.0f;
  }
}

void bilinear_taps(const ImageView& src, const float* m, int64_t i, RowTaps& t) {
  const int64_t W = src.W, H = src.H;
  row_coords(m, i, W, H, t);
  const double wmax = static_cast<double>(W - 1), hmax = static_cast<double>(H - 1);
  for (int64_t j = 0; j < W; ++j) {
    const double x0 = floor_small(t.x[j]), y0 = floor_small(t.y[j]);
    const double fx = t.x[j] - x0, fy = t.y[j] - y0;
    const float wx0 = x0 >= 0.0 && x0 <= wmax ? static_cast<float>(1.0 - fx) : 0.0f;
    const float wx1 = x0 >= -1.0 && x0 + 1.0 <= wmax ? static_cast<float>(fx) : 0.0f;
    const float wy0 = y0 >= 0.0 && y0 <= hmax ? static_cast<float>(1.0 - fy) : 0.0f;
    const float wy1 = y0 >= -1.0 && y0 + 1.0 <= hmax ? static_cast<float>(fy) : 0.0f;
    const int64_t cx0 = static_cast<int32_t>(std::min(std::max(x0, 0.0), wmax));
    const int64_t cx1 = static_cast<int32_t>(std::min(std::max(x0 + 1.0, 0.0), wmax));
    const int64_t cy0 = static_cast<int32_t>(std::min(std::max(y0, 0.0), hmax));
    const int64_t cy1 = static_cast<int32_t>(std::min(std::max(y0 + 1.0, 0.0), hmax));
    t.o00[j] = cy0 * src.sH + cx0 * src.sW;
    t.o01[j] = cy0 * src.sH + cx1 * src.sW;
    t.o10[j] = cy1 * src.sH + cx0 * src.sW;
    t.o11[j] = cy1 * src.sH + cx1 * src.sW;
    t.wx0[j] = wx0;
    t.wx1[j] = wx1;
    t.wy0[j] = wy0;
    t.wy1[j] = wy1;
    t.mask[j] = (wx0 + wx1) * (wy0 + wy1);  // exactly 1 where all four are inside
  }
}

// One channel row: the gather through the taps, then the fill.
template <typename T>
void gather_row(const ImageView& src, int64_t plane, const RowTaps& t, bool bilinear, float fill,
                int64_t W, float* __restrict out) {
  const T* p = reinterpret_cast<const T*>(src.data) + plane;
  const float* mask = t.mask.data();
  if (!bilinear) {
    const float f = std::isnan(fill) ? 0.0f : fill;  // no fill: zero padding, the same for nearest
    const int64_t* o = t.o00.data();
    for (int64_t j = 0; j < W; ++j) out[j] = mask[j] != 0.0f ? value_of<T>(p[o[j]]) : f;
    return;
  }
  const int64_t *o00 = t.o00.data(), *o01 = t.o01.data(), *o10 = t.o10.data(), *o11 = t.o11.data();
  const float *wx0 = t.wx0.data(), *wx1 = t.wx1.data(), *wy0 = t.wy0.data(), *wy1 = t.wy1.data();
  for (int64_t j = 0; j < W; ++j) {
    out[j] = wy0[j] * (wx0[j] * value_of<T>(p[o00[j]]) + wx1[j] * value_of<T>(p[o01[j]])) +
             wy1[j] * (wx0[j] * value_of<T>(p[o10[j]]) + wx1[j] * value_of<T>(p[o11[j]]));
  }
  if (std::isnan(fill)) return;
  for (int64_t j = 0; j < W; ++j) out[j] = out[j] * mask[j] + fill * (1.0f - mask[j]);
}

void gather(const ImageView& src, int64_t plane, const RowTaps& t, bool bilinear, float fill,
            int64_t W, float* out) {
  switch (src.dtype) {
    case at::kByte: gather_row<uint8_t>(src, plane, t, bilinear, fill, W, out); break;
    case at::kFloat: gather_row<float>(src, plane, t, bilinear, fill, W, out); break;
    case at::kHalf: gather_row<c10::Half>(src, plane, t, bilinear, fill, W, out); break;
    case at::kBFloat16: gather_row<c10::BFloat16>(src, plane, t, bilinear, fill, W, out); break;
    default: TORCH_CHECK_TYPE(false, "images: unsupported dtype ", src.dtype);
  }
}

// Rows per work item: about 16K pixels, at least one row.
int64_t rows_per_block(const ImageView& v) {
  return std::max<int64_t>(1, std::min<int64_t>(v.H, 16384 / std::max<int64_t>(v.W, 1)));
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
  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const float* mat = matrix.const_data_ptr<float>();
  const float* fills = fill.const_data_ptr<float>();
  const bool bilinear = interpolation == kBilinear;
  const int64_t rb = rows_per_block(dst);
  const int64_t nblk = (dst.H + rb - 1) / rb;
  at::parallel_for(0, B * nblk, 1, [&](int64_t begin, int64_t end) {
    RowTaps taps(dst.W);
    std::vector<float> row(dst.W);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk;
      const float* m = mat + b * 6;
      const int64_t h1 = std::min(dst.H, (item % nblk + 1) * rb);
      for (int64_t i = (item % nblk) * rb; i < h1; ++i) {
        if (bilinear) {
          bilinear_taps(src, m, i, taps);
        } else {
          nearest_taps(src, m, i, taps);
        }
        for (int64_t c = 0; c < C; ++c) {
          gather(src, b * src.sB + c * src.sC, taps, bilinear, fills[b * C + c], dst.W,
                 row.data());
          store_row(dst, dst.offset(b, c, i, 0), dst.sW, dst.W, row.data());
        }
      }
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) { m.impl("affine_warp", &datagen_gpu::affine_warp_cpu); }
