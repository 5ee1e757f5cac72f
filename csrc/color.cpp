// Color CPU kernels: color_jitter_cpu (the one fused kernel behind
// adjust_brightness / adjust_contrast / adjust_saturation / adjust_hue /
// color_jitter / rgb_to_grayscale) and solarize_cpu.
//
// Fused jitter: each sample has a plan, the list of its non-identity steps in
// its own order (brightness 0, contrast 1, saturation 2, hue 3). Work items
// are (sample, block of rows); a row is loaded into planar float buffers, the
// steps run on it pixel by pixel (isa.h: compiled per CPU ISA), the row is
// stored once.
// Contrast needs the mean grayscale of the image as it is when contrast runs:
// a first pass applies the steps before contrast in registers and writes one
// partial sum per (sample, row block); the partials are added in a fixed
// order, so the result does not depend on the number of threads.
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "color_plan.h"
#include "isa.h"
#include "common.h"

namespace datagen_gpu {

void check_factor(const at::Tensor& p, int64_t batch, c10::Device device, const char* name,
                  float low, float high) {
  check_param(p, batch, device, name, at::kFloat);
  const float* v = p.const_data_ptr<float>();
  for (int64_t i = 0; i < p.numel(); ++i) {
    TORCH_CHECK_VALUE(v[i] >= low && v[i] <= high, name, ": expected values in [", low, ", ",
                      high, "], got ", v[i]);
  }
}

void check_order(const at::Tensor& order, int64_t batch, c10::Device device) {
  TORCH_CHECK_VALUE(order.dim() == 2 && order.size(0) == batch && order.size(1) == 4,
                    "order: expected shape (", batch, ", 4), got ", order.sizes());
  TORCH_CHECK_TYPE(order.scalar_type() == at::kLong, "order: expected dtype int64, got ",
                   order.scalar_type());
  TORCH_CHECK_VALUE(order.device() == device, "order: expected device ", device,
                    " (the images' device), got ", order.device());
  TORCH_CHECK_VALUE(order.is_contiguous(), "order: expected a contiguous tensor");
  const int64_t* o = order.const_data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    int seen = 0;
    for (int64_t k = 0; k < 4; ++k) {
      const int64_t v = o[b * 4 + k];
      TORCH_CHECK_VALUE(v >= 0 && v < 4, "order: expected a permutation of 0, 1, 2, 3 per "
                        "sample, got ", v, " in row ", b);
      seen |= 1 << v;
    }
    TORCH_CHECK_VALUE(seen == 15, "order: row ", b, " is not a permutation of 0, 1, 2, 3");
  }
}

namespace {

// Rows per work item: about 16K pixels, at least one row.
int64_t rows_per_block(const ImageView& v) {
  return std::max<int64_t>(1, std::min<int64_t>(v.H, 16384 / std::max<int64_t>(v.W, 1)));
}

// Mean grayscale, per sample, of the image as contrast sees it.
std::vector<float> contrast_means(const ImageView& src, const std::vector<Plan>& plans) {
  std::vector<float> means(src.B, 0.0f);
  const int64_t rb = rows_per_block(src);
  const int64_t nblk = (src.H + rb - 1) / rb;
  std::vector<double> partial(src.B * nblk, 0.0);
  at::parallel_for(0, src.B * nblk, 1, [&](int64_t begin, int64_t end) {
    Rows rows(src.C, src.W);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk;
      const Plan& plan = plans[b];
      if (plan.contrast < 0) continue;
      const Step& cs = plan.steps[plan.contrast];
      double acc = 0.0;
      const int64_t h1 = std::min(src.H, (item % nblk + 1) * rb);
      for (int64_t h = (item % nblk) * rb; h < h1; ++h) {
        load_pixels(src, b, h, rows);
        apply_steps(plan, plan.contrast, 0.0f, rows);
        acc += gray_sum(rows, cs.quantized);
      }
      partial[item] = acc;
    }
  });
  const double npix = static_cast<double>(src.H) * static_cast<double>(src.W);
  for (int64_t b = 0; b < src.B; ++b) {
    double s = 0.0;
    for (int64_t k = 0; k < nblk; ++k) s += partial[b * nblk + k];
    means[b] = static_cast<float>(s / npix);
  }
  return means;
}

at::Tensor jitter_core(const at::Tensor& images, const Factors& f, at::ScalarType out_dtype) {
  at::Tensor out = new_output_like(images, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const bool uint8_input = images.scalar_type() == at::kByte;
  std::vector<Plan> plans(src.B);
  bool any_contrast = false;
  for (int64_t b = 0; b < src.B; ++b) {
    plans[b] = make_plan(f, b, uint8_input);
    any_contrast = any_contrast || plans[b].contrast >= 0;
  }
  std::vector<float> means = any_contrast ? contrast_means(src, plans)
                                          : std::vector<float>(src.B, 0.0f);
  const int64_t rb = rows_per_block(src);
  const int64_t nblk = (src.H + rb - 1) / rb;
  at::parallel_for(0, src.B * nblk, 1, [&](int64_t begin, int64_t end) {
    Rows rows(src.C, src.W);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / nblk;
      const int64_t h1 = std::min(src.H, (item % nblk + 1) * rb);
      for (int64_t h = (item % nblk) * rb; h < h1; ++h) {
        load_pixels(src, b, h, rows);
        apply_steps(plans[b], plans[b].n, means[b], rows);
        store_pixels(dst, b, h, rows);
      }
    }
  });
  return out;
}

// ---------------------------------------------------------------- argument checks

void check_factor(const at::Tensor& p, const at::Tensor& images, const char* name,
                  float low, float high) {
  datagen_gpu::check_factor(p, images.size(0), images.device(), name, low, high);
}

constexpr float kInf = std::numeric_limits<float>::infinity();

void check_rgb(const at::Tensor& images) { check_images(images, "images", 3); }

void check_contrast_channels(const at::Tensor& images) {
  check_images(images, "images");
  TORCH_CHECK_VALUE(images.size(1) == 1 || images.size(1) == 3,
                    "images: adjust_contrast expects 1 or 3 channels, got ", images.size(1));
}

void check_order(const at::Tensor& order, const at::Tensor& images) {
  datagen_gpu::check_order(order, images.size(0), images.device());
}

// ---------------------------------------------------------------- ops

// One adjustment with per-sample factors in [low, high]: the fused jitter
// kernel with only that step (`slot` picks the Factors member).
at::Tensor single_adjustment(const at::Tensor& images, const at::Tensor& factor,
                             at::ScalarType out_dtype, const float* Factors::*slot, float low,
                             float high) {
  check_factor(factor, images, "factor", low, high);
  check_out_dtype(out_dtype, "out_dtype");
  Factors f;
  f.*slot = factor.const_data_ptr<float>();
  return jitter_core(images, f, out_dtype);
}

at::Tensor adjust_brightness_cpu(const at::Tensor& images, const at::Tensor& factor,
                                 at::ScalarType out_dtype) {
  check_images(images, "images");
  return single_adjustment(images, factor, out_dtype, &Factors::brightness, 0.0f, kInf);
}

at::Tensor adjust_contrast_cpu(const at::Tensor& images, const at::Tensor& factor,
                               at::ScalarType out_dtype) {
  check_contrast_channels(images);
  return single_adjustment(images, factor, out_dtype, &Factors::contrast, 0.0f, kInf);
}

at::Tensor adjust_saturation_cpu(const at::Tensor& images, const at::Tensor& factor,
                                 at::ScalarType out_dtype) {
  check_rgb(images);
  return single_adjustment(images, factor, out_dtype, &Factors::saturation, 0.0f, kInf);
}

at::Tensor adjust_hue_cpu(const at::Tensor& images, const at::Tensor& factor,
                          at::ScalarType out_dtype) {
  check_rgb(images);
  return single_adjustment(images, factor, out_dtype, &Factors::hue, -0.5f, 0.5f);
}

at::Tensor color_jitter_cpu(const at::Tensor& images, const at::Tensor& brightness,
                            const at::Tensor& contrast, const at::Tensor& saturation,
                            const at::Tensor& hue, const at::Tensor& order,
                            at::ScalarType out_dtype) {
  check_rgb(images);
  check_factor(brightness, images, "brightness", 0.0f, kInf);
  check_factor(contrast, images, "contrast", 0.0f, kInf);
  check_factor(saturation, images, "saturation", 0.0f, kInf);
  check_factor(hue, images, "hue", -0.5f, 0.5f);
  check_order(order, images);
  check_out_dtype(out_dtype, "out_dtype");
  Factors f;
  f.brightness = brightness.const_data_ptr<float>();
  f.contrast = contrast.const_data_ptr<float>();
  f.saturation = saturation.const_data_ptr<float>();
  f.hue = hue.const_data_ptr<float>();
  f.order = order.const_data_ptr<int64_t>();
  return jitter_core(images, f, out_dtype);
}

// Grayscale is saturation 0 (blend with weight 1 on the grayscale); for uint8
// the floored grayscale is exactly torchvision's truncating cast.
at::Tensor rgb_to_grayscale_cpu(const at::Tensor& images, const at::Tensor& apply,
                                at::ScalarType out_dtype) {
  check_rgb(images);
  check_param(apply, images, "apply", at::kBool);
  check_out_dtype(out_dtype, "out_dtype");
  const int64_t B = images.size(0);
  std::vector<float> sat(B);
  const bool* a = apply.const_data_ptr<bool>();
  for (int64_t b = 0; b < B; ++b) sat[b] = a[b] ? 0.0f : 1.0f;
  Factors f;
  f.saturation = sat.data();
  return jitter_core(images, f, out_dtype);
}

// out = 1 - x where apply[b] and x >= threshold[b] (threshold in the input's
// value range, compared as torchvision compares: uint8 levels against the
// float threshold, floats against the threshold rounded to their dtype).
at::Tensor solarize_cpu(const at::Tensor& images, const at::Tensor& threshold,
                        const at::Tensor& apply, at::ScalarType out_dtype) {
  check_images(images, "images");
  check_param(threshold, images, "threshold", at::kFloat);
  check_param(apply, images, "apply", at::kBool);
  check_out_dtype(out_dtype, "out_dtype");
  const float max_value = images.scalar_type() == at::kByte ? 255.0f : 1.0f;
  check_factor(threshold, images, "threshold", -kInf, max_value);
  at::Tensor out = new_output_like(images, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(images);
  const ImageView dst = image_view(out);
  const float* t = threshold.const_data_ptr<float>();
  const bool* a = apply.const_data_ptr<bool>();
  std::vector<Plan> plans(src.B);
  for (int64_t b = 0; b < src.B; ++b) {
    float v = t[b];
    switch (src.dtype) {
      case at::kByte: {  // level >= t  <=>  level >= ceil(t)
        const float k = std::ceil(v);
        v = k > 255.0f ? 2.0f : k * (1.0f / 255.0f);
        break;
      }
      case at::kHalf: v = static_cast<float>(c10::Half(v)); break;
      case at::kBFloat16: v = static_cast<float>(c10::BFloat16(v)); break;
      default: break;
    }
    if (a[b]) plans[b].add(Step{kSolarize, v, false});  // not applied: no step (a copy)
  }
  // one channel row at a time: the solarize step of the plan (isa.h)
  const int64_t rows = src.B * src.C * src.H;
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    Rows buf(1, src.W);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (src.C * src.H);
      const int64_t c = (r / src.H) % src.C;
      const int64_t h = r % src.H;
      load_row(src, src.offset(b, c, h, 0), src.sW, src.W, buf.plane(0));
      apply_steps(plans[b], plans[b].n, 0.0f, buf);
      store_row(dst, dst.offset(b, c, h, 0), dst.sW, dst.W, buf.plane(0));
    }
  });
  return out;
}

}  // namespace
}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("adjust_brightness", &datagen_gpu::adjust_brightness_cpu);
  m.impl("adjust_contrast", &datagen_gpu::adjust_contrast_cpu);
  m.impl("adjust_saturation", &datagen_gpu::adjust_saturation_cpu);
  m.impl("adjust_hue", &datagen_gpu::adjust_hue_cpu);
  m.impl("color_jitter", &datagen_gpu::color_jitter_cpu);
  m.impl("rgb_to_grayscale", &datagen_gpu::rgb_to_grayscale_cpu);
  m.impl("solarize", &datagen_gpu::solarize_cpu);
}
