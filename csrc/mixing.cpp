// Mixing CPU kernel: mix_cpu, the one kernel behind Mixup and CutMix.
//
//   out[i, c, y, x] = images[perm[i], c, y, x]                          if (y, x) in box_i
//                   = lam[i] * images[i, c, y, x]
//                     + (1 - lam[i]) * images[perm[i], c, y, x]         otherwise
//
// Mixup (Zhang et al., 2018) is the case of empty boxes; CutMix (Yun et al.,
// 2019) the case lam = 1; timm's per-element mode mixes both in one batch.
// box_i = (top, left, height, width) in integer pixels, clipped to the image:
// no mask tensor is ever built, the kernel tests the row and column range.
// A sample whose partner is itself is copied unchanged (lam treated as 1).
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "common.h"

namespace datagen_gpu {

at::Tensor mix_cpu(const at::Tensor& images, const at::Tensor& lam, const at::Tensor& boxes,
                   const at::Tensor& perm, at::ScalarType out_dtype) {
  check_images(images, "images");
  check_param(lam, images, "lam", at::kFloat);
  check_boxes(boxes, images);
  check_param(perm, images, "perm", at::kLong);
  check_out_dtype(out_dtype, "out_dtype");
  at::Tensor out = new_output_like(images, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const float* w = param_ptr<float>(lam);
  const int64_t* box = param_ptr<int64_t>(boxes);
  const int64_t* partner = param_ptr<int64_t>(perm);
  const int64_t rows = src.B * src.C * src.H;
  const int64_t W = src.W;
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(W, 1)),
                   [&](int64_t begin, int64_t end) {
    std::vector<float> self(W), other(W);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (src.C * src.H);
      const int64_t c = (r / src.H) % src.C;
      const int64_t h = r % src.H;
      const int64_t p = std::clamp(partner[b], int64_t(0), src.B - 1);
      const float l = p == b ? 1.0f : w[b];  // a sample mixed with itself stays exact
      int64_t y0, y1, x0, x1;
      clip_range(box[4 * b + 0], box[4 * b + 2], src.H, y0, y1);
      clip_range(box[4 * b + 1], box[4 * b + 3], W, x0, x1);
      const bool row_in_box = h >= y0 && h < y1 && x1 > x0;
      const bool whole_row = row_in_box && x0 == 0 && x1 == W;
      if (!whole_row) {
        load_row(src, src.offset(b, c, h, 0), src.sW, W, self.data());
      }
      const bool need_other = row_in_box || l != 1.0f;
      if (need_other) {
        load_row(src, src.offset(p, c, h, 0), src.sW, W, other.data());
      }
      if (!whole_row && l != 1.0f) {
        const float l2 = 1.0f - l;
        for (int64_t x = 0; x < W; ++x) self[x] = l * self[x] + l2 * other[x];
      }
      if (row_in_box) {
        std::copy(other.begin() + x0, other.begin() + x1, self.begin() + x0);
      }
      store_row(dst, dst.offset(b, c, h, 0), dst.sW, W, self.data());
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_FRAGMENT(datagen_gpu, m) {
  // lam (B,) float32, boxes (B, 4) int64 (top, left, height, width), perm (B,) int64
  m.def(
      "mix(Tensor images, Tensor lam, Tensor boxes, Tensor perm, ScalarType out_dtype) -> Tensor");
}

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) { m.impl("mix", &datagen_gpu::mix_cpu); }
