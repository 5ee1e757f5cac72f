// Geometry CPU kernels: hflip_cpu and resized_crop_cpu.
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"
#include "crop.h"

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
  if (src.dtype == dst.dtype && src.sW == 1 && dst.sW == 1) {
    // same dtype, contiguous rows: copy the bytes (reversed where flipped)
    at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t b = r / (src.C * src.H);
        const int64_t c = (r / src.H) % src.C;
        const int64_t h = r % src.H;
        copy_row(src, src.offset(b, c, h, 0), dst, dst.offset(b, c, h, 0), src.W, flip[b]);
      }
    });
    return out;
  }
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

// Resamples channel c of one sample: horizontal pass over all the input rows
// the output needs (into tmp, float), then the vertical pass per output row.
void resample_channel(const ImageView& src, const ImageView& dst, int64_t b, int64_t c,
                      const CropTaps& taps, CropScratch& scratch, std::vector<float>& tmp,
                      std::vector<float>& acc) {
  const int64_t out_h = dst.H, out_w = dst.W;
  int64_t y0, y1;
  input_rows(taps.rows, 0, out_h, &y0, &y1);
  tmp.resize(std::max<int64_t>(y1 - y0, 1) * out_w);
  acc.resize(out_w);
  horizontal_rows(src, c, y0, y1, taps.cols, out_w, scratch, tmp.data());
  for (int64_t oy = 0; oy < out_h; ++oy) {
    vertical_row(taps.rows, oy, tmp.data(), y0, out_w, acc.data());
    store_row(dst, dst.offset(b, c, oy, 0), dst.sW, out_w, acc.data());
  }
}

}  // namespace

// out[i] = hflip^flip[i](resize(crop(image i, boxes[i]), (out_h, out_w))), bilinear,
// antialiased or not; see resample.h for the exact tap definition.
at::Tensor resized_crop_cpu(const at::Tensor& src, const at::Tensor& src_meta, int64_t channels,
                            const at::Tensor& boxes, const at::Tensor& flip, int64_t out_h,
                            int64_t out_w, bool antialias, at::ScalarType out_dtype,
                            bool channels_last) {
  check_resample_args(src, src_meta, channels, out_h, out_w, out_dtype);
  const int64_t batch = src_meta.size(0);
  check_boxes(boxes, batch, src);
  check_flip(flip, batch, src);

  at::Tensor out = new_output({batch, channels, out_h, out_w}, out_dtype, channels_last);
  if (out.numel() == 0) return out;
  const ImageView dst = image_view(out);
  const int64_t* meta = src_meta.const_data_ptr<int64_t>();
  const float* box = boxes.const_data_ptr<float>();
  const bool* flips = flip.const_data_ptr<bool>();

  at::parallel_for(0, batch * channels, 1, [&](int64_t begin, int64_t end) {
    CropTaps taps;
    CropScratch scratch;
    std::vector<float> tmp, acc;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / channels, c = item % channels;
      const ImageView s = sample_view(src, meta, b, channels);
      if (taps.b != b) {  // tables are shared by the channels of a sample
        crop_taps(box + b * 4, s.H, s.W, out_h, out_w, antialias, flips[b], taps);
        taps.b = b;
      }
      resample_channel(s, dst, b, c, taps, scratch, tmp, acc);
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("hflip", &datagen_gpu::hflip_cpu);
  m.impl("resized_crop", &datagen_gpu::resized_crop_cpu);
}
