// Erase CPU kernels: erase_cpu (a new output) and erase__cpu (in place), the
// per-sample torchvision v2 `erase` behind RandomErasing (Zhong et al., 2020).
//
//   out[i, c, y, x] = fill_i(c, y - y0, x - x0)   (y, x) in box_i
//                   = images[i, c, y, x]           elsewhere (converted to out_dtype)
//
// box_i = (top, left, height, width) clipped to the image: [y0, y1) x [x0, x1),
// h = y1 - y0, w = x1 - x0. fill_i is value[i, c] (in the output's value range:
// uint8 levels, rounded half up and clamped to [0, 255]; floats as given), or,
// where random[i], a standard normal per pixel from the counter-based generator
// (counter.h), a pure function of (key, sample_ids[i], c, dy, dx):
//
//   d  = (c * h + dy) * w + dx                  (mod 2^32)
//   a  = draw_word(s_i, 2d), b = draw_word(s_i, 2d + 1),  s_i = sample_hash(id_i, key)
//   u1 = ((a >> 8) + 1) * 2^-24  in (0, 1],  u2 = (b >> 8) * 2^-24  in [0, 1)
//   z  = sqrt(-2 ln u1) * cos(2 pi u2)          (Box-Muller, float32)
//
// i.e. words 2d and 2d + 1 of counter.random_bits(seed, ids, op_id, 2 C h w);
// ln and cos as float32 polynomials (normal_noise.h), so a row vectorizes.
// Work items are image rows (sample, channel, row); a row is loaded as float,
// its part inside the box overwritten, and stored once. The in-place kernel
// touches only the rows and columns inside the boxes.
#include <ATen/MemoryOverlap.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "counter.h"
#include "isa.h"

namespace datagen_gpu {
namespace {

void check_erase_args(const at::Tensor& images, const at::Tensor& boxes, const at::Tensor& value,
                      const at::Tensor& random, const at::Tensor& sample_ids, int64_t key,
                      at::ScalarType out_dtype) {
  check_images(images, "images");
  check_boxes(boxes, images);
  const int64_t B = images.size(0), C = images.size(1);
  TORCH_CHECK_VALUE(value.dim() == 2 && value.size(0) == B && value.size(1) == C,
                    "value: expected shape (", B, ", ", C, ") (one value per sample and channel), got ",
                    value.sizes());
  TORCH_CHECK_TYPE(value.scalar_type() == at::kFloat, "value: expected dtype float32, got ",
                   value.scalar_type());
  TORCH_CHECK_VALUE(value.device() == images.device(), "value: expected device ", images.device(),
                    " (the images' device), got ", value.device());
  TORCH_CHECK_VALUE(value.is_contiguous(), "value: expected a contiguous tensor");
  check_param(random, images, "random", at::kBool);
  check_param(sample_ids, images, "sample_ids", at::kLong);
  TORCH_CHECK_VALUE(key >= 0 && key <= 0xFFFFFFFFll, "key: expected a 32-bit word, got ", key);
  check_out_dtype(out_dtype, "out_dtype");
  if (out_dtype != at::kByte) return;
  // uint8 outputs: levels in [0, 255], no noise (it is not a uint8 value)
  const float* v = value.const_data_ptr<float>();
  for (int64_t k = 0; k < value.numel(); ++k) {
    TORCH_CHECK_VALUE(v[k] >= 0.0f && v[k] <= 255.0f,
                      "value: expected uint8 levels in [0, 255] for a uint8 output, got ", v[k]);
  }
  const bool* r = random.const_data_ptr<bool>();
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK_VALUE(!r[b], "random: standard-normal noise needs a floating output, got out_dtype "
                      "uint8 (sample ", b, ")");
  }
}

// Erases the box of every sample of `src` into `dst` (same shape; dst may be src).
// full_rows: every row is written (a new output), else only the boxes' pixels.
void erase_rows(const ImageView& src, const ImageView& dst, const at::Tensor& boxes,
                const at::Tensor& value, const at::Tensor& random, const at::Tensor& sample_ids,
                uint32_t key, bool full_rows) {
  const int64_t* box = param_ptr<int64_t>(boxes);
  const float* val = value.const_data_ptr<float>();
  const bool* rnd = param_ptr<bool>(random);
  const int64_t* ids = param_ptr<int64_t>(sample_ids);
  const bool u8 = dst.dtype == at::kByte;
  const int64_t C = src.C, H = src.H, W = src.W;
  const int64_t rows = src.B * C * H;
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(W, 1)),
                   [&](int64_t begin, int64_t end) {
    std::vector<float> row(W);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (C * H);
      const int64_t c = (r / H) % C;
      const int64_t y = r % H;
      int64_t y0, y1, x0, x1;
      clip_range(box[4 * b + 0], box[4 * b + 2], H, y0, y1);
      clip_range(box[4 * b + 1], box[4 * b + 3], W, x0, x1);
      const bool hit = y >= y0 && y < y1 && x1 > x0;
      if (!hit && !full_rows) continue;
      if (full_rows) load_row(src, src.offset(b, c, y, 0), src.sW, W, row.data());
      if (hit) {
        float* fill = row.data() + x0;
        const int64_t w = x1 - x0;
        if (rnd[b]) {
          const uint32_t d0 = static_cast<uint32_t>((c * (y1 - y0) + (y - y0)) * w);
          normal_noise_row(sample_hash(ids[b], key), d0, w, fill);
        } else {
          float v = val[b * C + c];
          if (u8) v = std::floor(std::clamp(v, 0.0f, 255.0f) + 0.5f) * (1.0f / 255.0f);
          std::fill(fill, fill + w, v);
        }
      }
      if (full_rows) {
        store_row(dst, dst.offset(b, c, y, 0), dst.sW, W, row.data());
      } else {
        store_row(dst, dst.offset(b, c, y, x0), dst.sW, x1 - x0, row.data() + x0);
      }
    }
  });
}

}  // namespace

at::Tensor erase_cpu(const at::Tensor& images, const at::Tensor& boxes, const at::Tensor& value,
                     const at::Tensor& random, const at::Tensor& sample_ids, int64_t key,
                     at::ScalarType out_dtype) {
  check_erase_args(images, boxes, value, random, sample_ids, key, out_dtype);
  at::Tensor out = new_output_like(images, out_dtype);
  if (out.numel() == 0) return out;
  erase_rows(image_view(images), image_view(out), boxes, value, random, sample_ids,
             static_cast<uint32_t>(key), true);
  return out;
}

void erase__cpu(const at::Tensor& images, const at::Tensor& boxes, const at::Tensor& value,
                const at::Tensor& random, const at::Tensor& sample_ids, int64_t key) {
  check_erase_args(images, boxes, value, random, sample_ids, key, images.scalar_type());
  TORCH_CHECK_VALUE(at::has_internal_overlap(images) != at::MemOverlap::Yes,
                    "images: erase_ writes in place and needs a tensor without internal overlap "
                    "(an expanded view shares memory between samples; clone it first)");
  if (images.numel() == 0) return;
  const ImageView view = image_view(images);
  erase_rows(view, view, boxes, value, random, sample_ids, static_cast<uint32_t>(key), false);
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("erase", &datagen_gpu::erase_cpu);
  m.impl("erase_", &datagen_gpu::erase__cpu);
}
