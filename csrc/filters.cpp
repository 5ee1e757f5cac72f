// Filter CPU kernels: gaussian_blur_cpu and normalize_cpu.
//
// gaussian_blur follows torchvision.transforms.v2.functional.gaussian_blur
// (_get_gaussian_kernel1d / gaussian_blur_image): per sample i a 1-D kernel
//   w[t] = exp(-0.5 * ((t - r) / sigma[i])^2) / sum_u exp(-0.5 * ((u - r) / sigma[i])^2),
//   t = 0 .. k-1, r = k / 2,
// torch "reflect" padding of r on every side (edge pixel not repeated), and
// the 2-D kernel w_y ⊗ w_x. Being an outer product, it is applied here as two
// separable passes (blur.h: vertical, then horizontal, one float32 row between).
//
// Optional, per sample: `apply` (samples where it is false are copied, not
// blurred) and a normalize epilogue `(x - mean[c]) / std[c]` before the
// store, so RandomApply(GaussianBlur) followed by Normalize is one pass
// (Compose fusion, datagen_gpu/transforms/fused.py).
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "blur.h"
#include "color_math.h"
#include "common.h"

namespace datagen_gpu {

// out[b, c] = normalize(blur of images[b, c] with the k x k Gaussian of sigma[b]
// where apply[b], else images[b, c]) (see top of file).
at::Tensor gaussian_blur_cpu(const at::Tensor& images, int64_t kernel_size,
                             const at::Tensor& sigma, const std::optional<at::Tensor>& apply,
                             const std::optional<at::Tensor>& mean,
                             const std::optional<at::Tensor>& std, at::ScalarType out_dtype) {
  check_images(images, "images");
  TORCH_CHECK_VALUE(kernel_size > 0 && kernel_size % 2 == 1,
                    "kernel_size: expected a positive odd integer, got ", kernel_size);
  check_param(sigma, images, "sigma", at::kFloat);
  check_out_dtype(out_dtype, "out_dtype");
  const int64_t k = kernel_size;
  const int64_t r = k / 2;
  if (images.numel() > 0) {
    TORCH_CHECK_VALUE(r < images.size(2) && r < images.size(3), "kernel_size: ", k,
                      " needs kernel_size // 2 < H and < W for reflect padding, got H = ",
                      images.size(2), ", W = ", images.size(3));
  }
  const float* sig = param_ptr<float>(sigma);
  for (int64_t b = 0; b < sigma.size(0); ++b) {
    TORCH_CHECK_VALUE(sig[b] > 0.0f, "sigma: expected values > 0, got ", sig[b], " at sample ",
                      b);
  }
  if (apply) check_param(*apply, images, "apply", at::kBool);
  TORCH_CHECK_VALUE(mean.has_value() == std.has_value(),
                    "mean, std: give both (normalize) or neither");
  const float* shift = nullptr;  // normalize's mean; null: no normalize
  std::vector<float> inv_std;
  if (mean) {
    inv_std = normalize_inv_std(*mean, *std, images.size(1), images.device());
    check_float_out_dtype(out_dtype, "out_dtype");
    shift = mean->const_data_ptr<float>();
  }
  at::Tensor out = new_output_like(images, out_dtype);
  if (images.numel() == 0) return out;
  const bool* applied = apply ? apply->const_data_ptr<bool>() : nullptr;
  // the epilogue and the store of one output row
  auto finish = [&](const ImageView& dst, int64_t b, int64_t c, int64_t y, float* row) {
    if (shift == nullptr) {
      store_row(dst, dst.offset(b, c, y, 0), dst.sW, dst.W, row);
    } else {
      store_row_normalized(dst, dst.offset(b, c, y, 0), dst.sW, dst.W, row, shift[c], inv_std[c]);
    }
  };

  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const int64_t B = src.B, C = src.C, H = src.H, W = src.W;

  std::vector<float> weights(B * k);
  std::vector<int64_t> reach(B);
  for (int64_t b = 0; b < B; ++b) {
    gaussian_weights(k, sig[b], weights.data() + b * k);
    reach[b] = effective_radius(weights.data() + b * k, k);
  }

  // Tasks: (plane, block of output rows). Whole planes when there are enough
  // of them and the rows a block reads (converted to float when the input is
  // not float32) stay cache-sized (~512 KiB); otherwise split rows (each block
  // rereads its 2r halo rows, so blocks keep at least max(32, 2r) rows).
  const int64_t planes = B * C;
  const int64_t want = 4 * static_cast<int64_t>(at::get_num_threads());
  const int64_t min_rows = std::max<int64_t>(2 * r, 32);
  int64_t blocks = 1;
  if (planes < want) {
    blocks = std::min((want + planes - 1) / planes, std::max<int64_t>(1, H / min_rows));
  }
  const int64_t cache_rows = std::max(min_rows, (int64_t{1} << 17) / W - 2 * r);
  blocks = std::max(blocks, (H + cache_rows - 1) / cache_rows);
  const int64_t rows_per_block = (H + blocks - 1) / blocks;
  blocks = (H + rows_per_block - 1) / rows_per_block;

  at::parallel_for(0, planes * blocks, 1, [&](int64_t begin, int64_t end) {
    BlurScratch scratch;
    std::vector<float> row(W);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t plane = task / blocks;
      const int64_t b = plane / C;
      const int64_t c = plane % C;
      const int64_t y0 = (task % blocks) * rows_per_block;
      const int64_t y1 = std::min(H, y0 + rows_per_block);
      if (applied && !applied[b]) {  // not blurred: copied (and normalized)
        for (int64_t y = y0; y < y1; ++y) {
          load_row(src, src.offset(b, c, y, 0), src.sW, W, row.data());
          finish(dst, b, c, y, row.data());
        }
        continue;
      }
      blur_rows(src, b, c, y0, y1, weights.data() + b * k, k, reach[b], scratch,
                [&](int64_t y, float* blurred) { finish(dst, b, c, y, blurred); });
    }
  });
  return out;
}

// out[b, c] = (images[b, c] - mean[c]) / std[c], images in [0, 1] (uint8 / 255).
at::Tensor normalize_cpu(const at::Tensor& images, const at::Tensor& mean, const at::Tensor& std,
                         at::ScalarType out_dtype) {
  check_images(images, "images");
  const int64_t C = images.size(1);
  const std::vector<float> inv = normalize_inv_std(mean, std, C, images.device());
  check_float_out_dtype(out_dtype, "out_dtype");
  const float* m = param_ptr<float>(mean);
  at::Tensor out = new_output_like(images, out_dtype);
  if (images.numel() == 0) return out;

  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const int64_t B = src.B, H = src.H, W = src.W;
  // Channels-last (both sides): a pixel row is W * C contiguous values whose
  // channel cycles, so it is processed as one row with tiled parameters.
  const bool pixel_rows = src.sC == 1 && src.sW == C && dst.sC == 1 && dst.sW == C;
  const int64_t n = pixel_rows ? W * C : W;
  const int64_t rows = pixel_rows ? B * H : B * C * H;
  std::vector<float> shift(n), scale(n);  // per position of a row (pixel_rows only)
  if (pixel_rows) {
    for (int64_t i = 0; i < n; ++i) {
      shift[i] = m[i % C];
      scale[i] = inv[i % C];
    }
  }
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(n);
    float* __restrict__ x = buf.data();
    for (int64_t row = begin; row < end; ++row) {
      int64_t so, dso, sstride, dstride;
      if (pixel_rows) {
        const int64_t b = row / H, h = row % H;
        so = src.offset(b, 0, h, 0);
        dso = dst.offset(b, 0, h, 0);
        sstride = dstride = 1;
        load_row(src, so, sstride, n, x);
        const float* __restrict__ sh = shift.data();
        const float* __restrict__ sc = scale.data();
        for (int64_t i = 0; i < n; ++i) x[i] = (x[i] - sh[i]) * sc[i];
      } else {
        const int64_t b = row / (C * H), c = (row / H) % C, h = row % H;
        so = src.offset(b, c, h, 0);
        dso = dst.offset(b, c, h, 0);
        sstride = src.sW;
        dstride = dst.sW;
        load_row(src, so, sstride, n, x);
        color::normalize_row(x, n, m[c], inv[c]);
      }
      store_row(dst, dso, dstride, n, x);
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("gaussian_blur", &datagen_gpu::gaussian_blur_cpu);
  m.impl("normalize", &datagen_gpu::normalize_cpu);
}
