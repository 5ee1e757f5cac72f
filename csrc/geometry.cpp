// Geometry CPU kernels: hflip_cpu (and resized_crop_cpu).
#include <torch/library.h>

#include <vector>

#include "common.h"

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

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) { m.impl("hflip", &datagen_gpu::hflip_cpu); }
