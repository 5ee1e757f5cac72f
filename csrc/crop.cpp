// resized_crop's CPU building blocks (see crop.h).
#include "crop.h"
#include "isa.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace datagen_gpu {

void check_src_meta(const at::Tensor& src, const at::Tensor& meta, int64_t channels) {
  TORCH_CHECK_VALUE(meta.dim() == 2 && meta.size(1) == kMetaCols,
                    "src_meta: expected shape (B, 6), got ", meta.sizes());
  TORCH_CHECK_TYPE(meta.scalar_type() == at::kLong, "src_meta: expected int64, got ",
                   meta.scalar_type());
  TORCH_CHECK_VALUE(meta.device() == src.device() && meta.is_contiguous(),
                    "src_meta: expected a contiguous tensor on the images' device");
  const int64_t* m = meta.const_data_ptr<int64_t>();
  const __int128 extent =
      static_cast<__int128>(src.storage().nbytes()) / src.element_size() - src.storage_offset();
  for (int64_t b = 0; b < meta.size(0); ++b) {
    const int64_t* r = m + b * kMetaCols;
    TORCH_CHECK_VALUE(r[0] >= 0 && r[1] >= 1 && r[2] >= 1 && r[3] >= 0 && r[4] >= 0 && r[5] >= 0,
                      "src_meta: row ", b, " must have offset >= 0, H >= 1, W >= 1 and ",
                      "strides >= 0");
    const __int128 last = static_cast<__int128>(r[0]) +
                          static_cast<__int128>(channels - 1) * r[3] +
                          static_cast<__int128>(r[1] - 1) * r[4] +
                          static_cast<__int128>(r[2] - 1) * r[5];
    TORCH_CHECK_VALUE(channels == 0 || last < extent, "src_meta: row ", b,
                      " addresses elements outside src");
  }
}

void check_boxes(const at::Tensor& boxes, int64_t batch, const at::Tensor& src) {
  TORCH_CHECK_VALUE(boxes.dim() == 2 && boxes.size(0) == batch && boxes.size(1) == 4,
                    "boxes: expected shape (", batch, ", 4), got ", boxes.sizes());
  TORCH_CHECK_TYPE(boxes.scalar_type() == at::kFloat, "boxes: expected float32, got ",
                   boxes.scalar_type());
  TORCH_CHECK_VALUE(boxes.device() == src.device(), "boxes: expected device ", src.device(),
                    " (the images' device), got ", boxes.device());
  TORCH_CHECK_VALUE(boxes.is_contiguous(), "boxes: expected a contiguous tensor");
  const float* p = boxes.const_data_ptr<float>();
  for (int64_t i = 0; i < batch * 4; ++i) {
    TORCH_CHECK_VALUE(std::isfinite(p[i]), "boxes: expected finite values, got ", p[i]);
    TORCH_CHECK_VALUE(i % 4 < 2 || p[i] > 0.0f, "boxes: height and width must be > 0, got ",
                      p[i]);
  }
}

void check_flip(const at::Tensor& flip, int64_t batch, const at::Tensor& src) {
  TORCH_CHECK_VALUE(flip.dim() == 1 && flip.size(0) == batch, "flip: expected shape (", batch,
                    ",), got ", flip.sizes());
  TORCH_CHECK_TYPE(flip.scalar_type() == at::kBool, "flip: expected bool, got ",
                   flip.scalar_type());
  TORCH_CHECK_VALUE(flip.device() == src.device() && flip.is_contiguous(),
                    "flip: expected a contiguous tensor on the images' device");
}

void check_resample_args(const at::Tensor& src, const at::Tensor& meta, int64_t channels,
                         int64_t out_h, int64_t out_w, at::ScalarType out_dtype) {
  check_out_dtype(src.scalar_type(), "images");
  TORCH_CHECK_VALUE(channels >= 0, "channels: expected >= 0, got ", channels);
  TORCH_CHECK_VALUE(out_h >= 1 && out_w >= 1, "size: expected positive (h, w), got (", out_h,
                    ", ", out_w, ")");
  check_out_dtype(out_dtype, "out_dtype");
  check_src_meta(src, meta, channels);
}

ImageView sample_view(const at::Tensor& src, const int64_t* meta, int64_t b, int64_t channels) {
  const int64_t* r = meta + b * kMetaCols;
  ImageView s;
  s.elem_size = static_cast<int64_t>(src.element_size());
  s.data = const_cast<char*>(static_cast<const char*>(src.const_data_ptr())) + r[0] * s.elem_size;
  s.dtype = src.scalar_type();
  s.B = 1;
  s.C = channels;
  s.H = r[1];
  s.W = r[2];
  s.sB = 0;
  s.sC = r[3];
  s.sH = r[4];
  s.sW = r[5];
  return s;
}

void crop_taps(const float* box, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
               bool antialias, bool flip, CropTaps& t) {
  axis_taps(box[0], box[2], in_h, out_h, antialias, false, t.rows);
  axis_taps(box[1], box[3], in_w, out_w, antialias, flip, t.cols);
}

void input_rows(const AxisTaps& rows, int64_t oy0, int64_t oy1, int64_t* y0, int64_t* y1) {
  int64_t lo = rows.hi, hi = rows.lo;
  for (int64_t oy = oy0; oy < oy1; ++oy) {
    if (rows.count[oy] == 0) continue;
    lo = std::min(lo, rows.start[oy]);
    hi = std::max(hi, rows.start[oy] + rows.count[oy]);
  }
  if (hi <= lo) lo = hi = rows.lo;
  *y0 = lo;
  *y1 = hi;
}

namespace {

constexpr int64_t kLanes = 8;  // input rows resampled together by the horizontal pass
static_assert(kLanes == 8, "resample_lanes (isa.h) works on 8 interleaved rows");

// Horizontal pass of `lanes` (<= kLanes) input rows at once: the rows are
// interleaved so that every tap is one kLanes-wide multiply-add (vectorizes
// without gathers). Lanes past the last row repeat it (finite values, never
// stored). Contiguous uint8 and float32 rows are interleaved straight from the
// source; other rows are converted to float first.
void horizontal_lanes(const ImageView& src, int64_t c, int64_t y0, int64_t lanes,
                      const AxisTaps& cols, int64_t out_w, CropScratch& s, float* tmp) {
  const int64_t n_cols = cols.hi - cols.lo;
  float* ib = s.interleaved.data();
  auto at = [&](int64_t r) {
    return src.data + src.offset(0, c, y0 + std::min(r, lanes - 1), cols.lo) * src.elem_size;
  };
  if (src.sW == 1 && src.dtype == at::kByte) {
    const uint8_t* rows[kLanes];
    for (int64_t r = 0; r < kLanes; ++r) rows[r] = reinterpret_cast<const uint8_t*>(at(r));
    interleave8_u8(rows, n_cols, ib);
  } else {
    const float* rows[kLanes];
    if (src.sW == 1 && src.dtype == at::kFloat) {
      for (int64_t r = 0; r < kLanes; ++r) rows[r] = reinterpret_cast<const float*>(at(r));
    } else {
      for (int64_t r = 0; r < lanes; ++r) {
        load_row(src, src.offset(0, c, y0 + r, cols.lo), src.sW, n_cols,
                 s.row.data() + r * n_cols);
      }
      for (int64_t r = 0; r < kLanes; ++r) rows[r] = s.row.data() + std::min(r, lanes - 1) * n_cols;
    }
    interleave8(rows, n_cols, ib);
  }
  resample_lanes(ib, cols.start.data(), cols.lo, cols.weight.data(), cols.taps, out_w, lanes,
                 tmp);
}

}  // namespace

void horizontal_rows(const ImageView& src, int64_t c, int64_t y0, int64_t y1,
                     const AxisTaps& cols, int64_t out_w, CropScratch& s, float* tmp) {
  if (y1 <= y0) return;
  const int64_t n_cols = cols.hi - cols.lo;
  if (n_cols <= 0) {  // the box misses the image horizontally
    std::fill(tmp, tmp + (y1 - y0) * out_w, 0.0f);
    return;
  }
  s.row.resize(kLanes * n_cols);
  // taps zero columns past the end for the zero-padded taps (finite, weight 0)
  s.interleaved.resize((n_cols + cols.taps) * kLanes);
  std::fill(s.interleaved.begin() + n_cols * kLanes, s.interleaved.end(), 0.0f);
  for (int64_t y = y0; y < y1; y += kLanes) {
    horizontal_lanes(src, c, y, std::min(kLanes, y1 - y), cols, out_w, s, tmp + (y - y0) * out_w);
  }
}

void vertical_row(const AxisTaps& rows, int64_t oy, const float* tmp, int64_t y0, int64_t out_w,
                  float* out) {
  fir(tmp + (rows.start[oy] - y0) * out_w, out_w, rows.weight.data() + oy * rows.taps,
      rows.count[oy], out_w, out);
}

}  // namespace datagen_gpu
