// Geometry CPU kernels: hflip_cpu and resized_crop_cpu.
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"
#include "resample.h"

namespace datagen_gpu {

// out[b, c, h, w] = images[b, c, h, W - 1 - w] where apply[b], else images[b, c, h, w].
at::Tensor hflip_cpu(const at::Tensor& images, const at::Tensor& apply,
                     at::ScalarType out_dtype) {
  check_images(images, "images");
  check_param(apply, images, "apply", at::kBool);
  check_out_dtype(out_dtype, "out_dtype");
  at::Tensor out = new_output_like(images, out_dtype);
  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const bool* flip = param_ptr<bool>(apply);
  const int64_t rows = src.B * src.C * src.H;
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(src.W);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (src.C * src.H);
      const int64_t c = (r / src.H) % src.C;
      const int64_t h = r % src.H;
      if (flip[b]) {
        // read the row backwards: start at the last column, negative stride
        load_row(src, src.offset(b, c, h, src.W - 1), -src.sW, src.W, buf.data());
      } else {
        load_row(src, src.offset(b, c, h, 0), src.sW, src.W, buf.data());
      }
      store_row(dst, dst.offset(b, c, h, 0), dst.sW, dst.W, buf.data());
    }
  });
  return out;
}

namespace {

constexpr int64_t kMetaCols = 6;  // [element offset, H, W, stride C, stride H, stride W]

// Validates src_meta against src's storage so no row can be read out of bounds.
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

// The per-sample part of resized_crop: tap tables of both axes.
struct SampleTaps {
  int64_t b = -1;
  AxisTaps rows, cols;
};

constexpr int64_t kLanes = 8;  // input rows resampled together by the horizontal pass

struct Buffers {
  std::vector<float> row;         // one input row (crop columns)
  std::vector<float> interleaved; // kLanes rows, column-major: [x * kLanes + lane]
  std::vector<float> tmp;         // horizontal pass output, (needed rows, out_w)
  std::vector<float> acc;         // one output row
};

// Horizontal pass of kLanes input rows at once: the rows are interleaved so
// that every tap is one kLanes-wide multiply-add (vectorizes without gathers).
void horizontal_pass(const ImageView& src, int64_t c, int64_t y0, int64_t lanes,
                     const AxisTaps& cols, int64_t out_w, Buffers& buf, float* tmp) {
  const int64_t n_cols = cols.hi - cols.lo;
  const int64_t K = cols.taps;
  float* ib = buf.interleaved.data();
  for (int64_t r = 0; r < lanes; ++r) {
    load_row(src, src.offset(0, c, y0 + r, cols.lo), src.sW, n_cols, buf.row.data());
    const float* row = buf.row.data();
    for (int64_t x = 0; x < n_cols; ++x) ib[x * kLanes + r] = row[x];
  }
  const float* weights = cols.weight.data();
  for (int64_t ox = 0; ox < out_w; ++ox) {
    const float* in = ib + (cols.start[ox] - cols.lo) * kLanes;
    const float* w = weights + ox * K;
    float acc[kLanes] = {};
    for (int64_t k = 0; k < K; ++k) {
      const float wk = w[k];
      for (int64_t r = 0; r < kLanes; ++r) acc[r] += wk * in[k * kLanes + r];
    }
    for (int64_t r = 0; r < lanes; ++r) tmp[r * out_w + ox] = acc[r];
  }
}

// Resamples channel c of one sample: horizontal pass over the input rows the
// output needs (into buf.tmp, float), then vertical pass into the output rows.
void resample_channel(const ImageView& src, const ImageView& dst, int64_t b, int64_t c,
                      const SampleTaps& st, Buffers& buf) {
  const AxisTaps& rows = st.rows;
  const AxisTaps& cols = st.cols;
  const int64_t out_h = dst.H, out_w = dst.W;
  buf.acc.assign(out_w, 0.0f);
  if (rows.hi == rows.lo || cols.hi == cols.lo) {  // the box misses the image
    for (int64_t oy = 0; oy < out_h; ++oy) {
      store_row(dst, dst.offset(b, c, oy, 0), dst.sW, out_w, buf.acc.data());
    }
    return;
  }
  const int64_t n_rows = rows.hi - rows.lo;
  const int64_t n_cols = cols.hi - cols.lo;
  buf.row.resize(n_cols);
  // K zero columns past the end for the zero-padded taps; zero lanes stay finite
  buf.interleaved.assign((n_cols + cols.taps) * kLanes, 0.0f);
  buf.tmp.resize(n_rows * out_w);
  for (int64_t y = 0; y < n_rows; y += kLanes) {
    horizontal_pass(src, c, rows.lo + y, std::min(kLanes, n_rows - y), cols, out_w, buf,
                    buf.tmp.data() + y * out_w);
  }
  for (int64_t oy = 0; oy < out_h; ++oy) {
    float* a = buf.acc.data();
    std::fill(a, a + out_w, 0.0f);
    const float* w = rows.weight.data() + oy * rows.taps;
    const float* base = buf.tmp.data() + (rows.start[oy] - rows.lo) * out_w;
    for (int64_t k = 0; k < rows.count[oy]; ++k) {
      const float wk = w[k];
      const float* t = base + k * out_w;
      for (int64_t ox = 0; ox < out_w; ++ox) a[ox] += wk * t[ox];
    }
    store_row(dst, dst.offset(b, c, oy, 0), dst.sW, out_w, a);
  }
}

}  // namespace

// out[i] = hflip^flip[i](resize(crop(image i, boxes[i]), (out_h, out_w))), bilinear,
// antialiased or not; see resample.h for the exact tap definition.
at::Tensor resized_crop_cpu(const at::Tensor& src, const at::Tensor& src_meta, int64_t channels,
                            const at::Tensor& boxes, const at::Tensor& flip, int64_t out_h,
                            int64_t out_w, bool antialias, at::ScalarType out_dtype,
                            bool channels_last) {
  TORCH_CHECK_TYPE(src.scalar_type() == at::kByte || src.scalar_type() == at::kFloat ||
                       src.scalar_type() == at::kHalf || src.scalar_type() == at::kBFloat16,
                   "images: expected uint8, float16, bfloat16 or float32, got ",
                   src.scalar_type());
  TORCH_CHECK_VALUE(channels >= 0, "channels: expected >= 0, got ", channels);
  TORCH_CHECK_VALUE(out_h >= 1 && out_w >= 1, "size: expected positive (h, w), got (", out_h,
                    ", ", out_w, ")");
  check_out_dtype(out_dtype, "out_dtype");
  check_src_meta(src, src_meta, channels);
  const int64_t batch = src_meta.size(0);
  check_boxes(boxes, batch, src);
  TORCH_CHECK_VALUE(flip.dim() == 1 && flip.size(0) == batch, "flip: expected shape (", batch,
                    ",), got ", flip.sizes());
  TORCH_CHECK_TYPE(flip.scalar_type() == at::kBool, "flip: expected bool, got ",
                   flip.scalar_type());
  TORCH_CHECK_VALUE(flip.device() == src.device() && flip.is_contiguous(),
                    "flip: expected a contiguous tensor on the images' device");

  at::Tensor out = new_output({batch, channels, out_h, out_w}, out_dtype, channels_last);
  if (out.numel() == 0) return out;
  const ImageView dst = image_view(out);
  const int64_t* meta = src_meta.const_data_ptr<int64_t>();
  const float* box = boxes.const_data_ptr<float>();
  const bool* flips = flip.const_data_ptr<bool>();
  const char* base = static_cast<const char*>(src.const_data_ptr());
  const int64_t elem = static_cast<int64_t>(src.element_size());

  at::parallel_for(0, batch * channels, 1, [&](int64_t begin, int64_t end) {
    SampleTaps st;
    Buffers buf;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / channels, c = item % channels;
      const int64_t* r = meta + b * kMetaCols;
      if (st.b != b) {  // tables are shared by the channels of a sample
        const float* bx = box + b * 4;
        axis_taps(bx[0], bx[2], r[1], out_h, antialias, false, st.rows);
        axis_taps(bx[1], bx[3], r[2], out_w, antialias, flips[b], st.cols);
        st.b = b;
      }
      ImageView s;
      s.data = const_cast<char*>(base) + r[0] * elem;
      s.dtype = src.scalar_type();
      s.elem_size = elem;
      s.B = 1;
      s.C = channels;
      s.H = r[1];
      s.W = r[2];
      s.sB = 0;
      s.sC = r[3];
      s.sH = r[4];
      s.sW = r[5];
      resample_channel(s, dst, b, c, st, buf);
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("hflip", &datagen_gpu::hflip_cpu);
  m.impl("resized_crop", &datagen_gpu::resized_crop_cpu);
}
