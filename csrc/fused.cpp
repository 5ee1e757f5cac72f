// fused_augment: resized crop + flip -> color jitter -> grayscale -> solarize
// -> normalize -> store, per sample, in one pass over the output. The public
// definition is documented in datagen_gpu/functional/fused.py; the float64
// oracle is datagen_gpu/reference.py (fused_augment).
//
// A block of output rows of a sample is resampled with resized_crop's
// separable passes (crop.h; identity: the rows are loaded as they are,
// flipped where asked), giving planar float rows of the output; the sample's
// plan (color_plan.h: its jitter steps in its order, then grayscale as
// saturation 0, then solarize) runs on them, then normalize, and the rows are
// stored once in the output dtype.
//
// With a blur stage (after solarize, before normalize; samples picked by
// blur_apply), a sample is finished into a per-thread one-image float buffer
// and blurred from it (blur.h), so no batch-sized intermediate is written.
//
// Contrast needs the mean grayscale of the image as it is when contrast runs.
// The Triton kernel computes it in a first pass that recomputes everything in
// registers; on the CPU a sample with contrast is instead resampled once into
// a per-thread buffer of one output image, its mean summed in a fixed order
// on the way, and finished from that buffer (see buffered_sample): no second
// resampling, no batch-sized intermediate, results independent of threads.
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <optional>
#include <vector>

#include "blur.h"
#include "color_plan.h"
#include "common.h"
#include "crop.h"
#include "isa.h"

namespace datagen_gpu {
namespace {

using OptTensor = std::optional<at::Tensor>;

template <typename T>
const T* opt_ptr(const OptTensor& t) {
  return t.has_value() ? t->const_data_ptr<T>() : nullptr;
}

struct Fused {
  // source and geometry
  at::Tensor src;
  const int64_t* meta;
  int64_t C, out_h, out_w;
  const float* boxes;  // null: no crop (identity resampling)
  const bool* flip;
  bool antialias;
  // pixel stages
  Factors factors;
  const bool* gray;
  const float* threshold;
  const bool* solarize;  // null with a threshold: every sample
  int64_t blur_k = 0;    // 0: no blur
  std::vector<float> blur_w;    // (B, blur_k) kernel weights
  std::vector<int64_t> blur_e;  // (B,) effective radius
  const bool* blur_apply;       // null with a blur: every sample
  const float* mean;     // null: no normalize
  std::vector<float> inv_std;
  ImageView dst;
  int64_t rows_per_block;

  bool blurred(int64_t b) const { return blur_k > 0 && (!blur_apply || blur_apply[b]); }

  Plan plan(int64_t b) const {
    Plan p = make_plan(factors, b, false);  // intermediates are not rounded: no uint8 levels
    if (gray && gray[b]) p.add(Step{kSaturation, 0.0f, false});
    if (threshold && (!solarize || solarize[b])) p.add(Step{kSolarize, threshold[b], false});
    return p;
  }
};

// Per-thread state: the current sample's tap tables and the row buffers.
struct Worker {
  CropTaps taps;
  CropScratch scratch;
  std::vector<float> tmp;    // C planes of (input rows of the block) x out_w
  std::vector<float> image;  // C planes of out_h x out_w (samples with contrast or blur)
  BlurScratch blur;
  Rows rows;
  explicit Worker(const Fused& f) : rows(f.C, f.out_w) {}
};

// Calls fn(oy) for output rows [oy0, oy1) of sample b with the resampled
// (cropped, resized, flipped) pixels of that row in w.rows: the worker's own
// row buffer, or with `image` (a planar C x out_h x out_w float buffer) row
// oy of it, written in place.
template <typename Fn>
void resample_block(const Fused& f, int64_t b, int64_t oy0, int64_t oy1, Worker& w, float* image,
                    Fn&& fn) {
  const ImageView s = sample_view(f.src, f.meta, b, f.C);
  auto rows_at = [&](int64_t oy) {
    if (image) w.rows.view_of(image, oy, f.out_h * f.out_w);
  };
  if (!f.boxes) {  // identity: the image is out_h x out_w (checked)
    for (int64_t oy = oy0; oy < oy1; ++oy) {
      rows_at(oy);
      for (int64_t c = 0; c < f.C; ++c) {
        if (f.flip[b]) {
          load_row(s, s.offset(0, c, oy, s.W - 1), -s.sW, s.W, w.rows.plane(c));
        } else {
          load_row(s, s.offset(0, c, oy, 0), s.sW, s.W, w.rows.plane(c));
        }
      }
      fn(oy);
    }
    w.rows.own();
    return;
  }
  if (w.taps.b != b) {
    crop_taps(f.boxes + b * 4, s.H, s.W, f.out_h, f.out_w, f.antialias, f.flip[b], w.taps);
    w.taps.b = b;
  }
  int64_t y0, y1;
  input_rows(w.taps.rows, oy0, oy1, &y0, &y1);
  const int64_t plane = std::max<int64_t>(y1 - y0, 1) * f.out_w;
  w.tmp.resize(f.C * plane);
  for (int64_t c = 0; c < f.C; ++c) {
    horizontal_rows(s, c, y0, y1, w.taps.cols, f.out_w, w.scratch, w.tmp.data() + c * plane);
  }
  for (int64_t oy = oy0; oy < oy1; ++oy) {
    rows_at(oy);
    for (int64_t c = 0; c < f.C; ++c) {
      vertical_row(w.taps.rows, oy, w.tmp.data() + c * plane, y0, f.out_w, w.rows.plane(c));
    }
    fn(oy);
  }
  w.rows.own();
}

// Normalize and the store of row y of channel c of sample b.
void store_channel(const Fused& f, int64_t b, int64_t c, int64_t y, float* row) {
  const int64_t at = f.dst.offset(b, c, y, 0);
  if (f.mean) {
    store_row_normalized(f.dst, at, f.dst.sW, f.out_w, row, f.mean[c], f.inv_std[c]);
  } else {
    store_row(f.dst, at, f.dst.sW, f.out_w, row);
  }
}

void store_normalized(const Fused& f, int64_t b, int64_t oy, Rows& rows) {
  for (int64_t c = 0; c < f.C; ++c) store_channel(f, b, c, oy, rows.plane(c));
}

// A sample with a contrast step or a blur is one work item, finished in the
// worker's one-image buffer: its rows are resampled into the buffer and the
// steps before contrast (all of them without contrast) applied there, while
// the grayscale row sums accumulate (float rows, double total, in row order:
// deterministic, whatever the threads). The remaining steps then run on the
// buffered rows with the sample's mean; without a blur each row is then
// normalized and stored, with one every plane is blurred from the buffer,
// normalized and stored.
void buffered_sample(const Fused& f, const Plan& plan, int64_t b, Worker& w) {
  const int64_t plane = f.out_h * f.out_w;
  w.image.resize(f.C * plane);
  float* image = w.image.data();
  const bool blur = f.blurred(b);
  const bool contrast = plan.contrast >= 0;
  double sum = 0.0;
  for (int64_t oy0 = 0; oy0 < f.out_h; oy0 += f.rows_per_block) {
    const int64_t oy1 = std::min(f.out_h, oy0 + f.rows_per_block);
    resample_block(f, b, oy0, oy1, w, image, [&](int64_t) {
      apply_steps(plan, 0, contrast ? plan.contrast : plan.n, 0.0f, w.rows);
      if (contrast) sum += gray_sum(w.rows, false);
    });
  }
  if (contrast) {
    const float mean =
        static_cast<float>(sum / (static_cast<double>(f.out_h) * static_cast<double>(f.out_w)));
    for (int64_t oy = 0; oy < f.out_h; ++oy) {
      w.rows.view_of(image, oy, plane);
      apply_steps(plan, plan.contrast, plan.n, mean, w.rows);
      if (!blur) store_normalized(f, b, oy, w.rows);
    }
    w.rows.own();
  }
  if (!blur) return;
  const ImageView buf = planar_view(image, f.C, f.out_h, f.out_w);
  const float* weights = f.blur_w.data() + b * f.blur_k;
  for (int64_t c = 0; c < f.C; ++c) {
    blur_rows(buf, 0, c, 0, f.out_h, weights, f.blur_k, f.blur_e[b], w.blur,
              [&](int64_t y, float* row) { store_channel(f, b, c, y, row); });
  }
}

// Work items: whole samples with a contrast step or a blur (the largest items, first),
// then (sample, block of output rows) for the others. Threads take the next
// item from a shared counter; every item is computed the same way whichever
// thread takes it.
void run(const Fused& f, int64_t B) {
  struct Item {
    int64_t b, oy0, oy1;  // oy1 < 0: the whole sample, with contrast
  };
  std::vector<Plan> plans(B);
  std::vector<Item> items;
  for (int64_t b = 0; b < B; ++b) {
    plans[b] = f.plan(b);
    if (plans[b].contrast >= 0 || f.blurred(b)) items.push_back(Item{b, 0, -1});
  }
  for (int64_t b = 0; b < B; ++b) {
    if (plans[b].contrast >= 0 || f.blurred(b)) continue;
    for (int64_t oy0 = 0; oy0 < f.out_h; oy0 += f.rows_per_block) {
      items.push_back(Item{b, oy0, std::min(f.out_h, oy0 + f.rows_per_block)});
    }
  }
  const int64_t n = static_cast<int64_t>(items.size());
  std::atomic<int64_t> next{0};
  at::parallel_for(0, std::min<int64_t>(n, at::get_num_threads()), 1, [&](int64_t, int64_t) {
    Worker w(f);
    for (int64_t i = next++; i < n; i = next++) {
      const Item& it = items[i];
      const Plan& plan = plans[it.b];
      if (it.oy1 < 0) {
        buffered_sample(f, plan, it.b, w);
      } else {
        resample_block(f, it.b, it.oy0, it.oy1, w, nullptr, [&](int64_t oy) {
          apply_steps(plan, 0, plan.n, 0.0f, w.rows);
          store_normalized(f, it.b, oy, w.rows);
        });
      }
    }
  });
}

// ---------------------------------------------------------------- argument checks

constexpr float kInf = std::numeric_limits<float>::infinity();

void check_rgb_stage(bool present, int64_t C, const char* name) {
  TORCH_CHECK_VALUE(!present || C == 3, "images: ", name, " needs 3 (RGB) channels, got ", C);
}

}  // namespace

at::Tensor fused_augment_cpu(const at::Tensor& src, const at::Tensor& src_meta, int64_t channels,
                             const OptTensor& boxes, const at::Tensor& flip, int64_t out_h,
                             int64_t out_w, bool antialias, const OptTensor& brightness,
                             const OptTensor& contrast, const OptTensor& saturation,
                             const OptTensor& hue, const OptTensor& order,
                             const OptTensor& grayscale, const OptTensor& solarize_threshold,
                             const OptTensor& solarize_apply, int64_t blur_kernel,
                             const OptTensor& blur_sigma, const OptTensor& blur_apply,
                             const OptTensor& mean, const OptTensor& std,
                             at::ScalarType out_dtype, bool channels_last) {
  check_resample_args(src, src_meta, channels, out_h, out_w, out_dtype);
  const int64_t B = src_meta.size(0);
  const c10::Device dev = src.device();
  const int64_t* meta = src_meta.const_data_ptr<int64_t>();
  if (boxes.has_value()) {
    check_boxes(*boxes, B, src);
  } else {
    for (int64_t b = 0; b < B; ++b) {
      TORCH_CHECK_VALUE(meta[b * kMetaCols + 1] == out_h && meta[b * kMetaCols + 2] == out_w,
                        "size: without boxes every image must be ", out_h, "x", out_w,
                        ", image ", b, " is ", meta[b * kMetaCols + 1], "x",
                        meta[b * kMetaCols + 2]);
    }
  }
  check_flip(flip, B, src);
  if (brightness) check_factor(*brightness, B, dev, "brightness", 0.0f, kInf);
  if (contrast) check_factor(*contrast, B, dev, "contrast", 0.0f, kInf);
  if (saturation) check_factor(*saturation, B, dev, "saturation", 0.0f, kInf);
  if (hue) check_factor(*hue, B, dev, "hue", -0.5f, 0.5f);
  if (order) check_order(*order, B, dev);
  if (grayscale) check_param(*grayscale, B, dev, "grayscale", at::kBool);
  if (solarize_threshold) check_param(*solarize_threshold, B, dev, "solarize_threshold", at::kFloat);
  TORCH_CHECK_VALUE(!solarize_apply || solarize_threshold,
                    "solarize_apply: given without solarize_threshold");
  if (solarize_apply) check_param(*solarize_apply, B, dev, "solarize_apply", at::kBool);
  if (blur_sigma) {
    TORCH_CHECK_VALUE(blur_kernel > 0 && blur_kernel % 2 == 1,
                      "blur_kernel: expected a positive odd integer, got ", blur_kernel);
    TORCH_CHECK_VALUE(blur_kernel / 2 < out_h && blur_kernel / 2 < out_w, "blur_kernel: ",
                      blur_kernel, " needs blur_kernel // 2 < h and < w of the output (reflect "
                      "padding), got ", out_h, "x", out_w);
    check_param(*blur_sigma, B, dev, "blur_sigma", at::kFloat);
    const float* sig = blur_sigma->const_data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      TORCH_CHECK_VALUE(sig[b] > 0.0f, "blur_sigma: expected values > 0, got ", sig[b],
                        " at sample ", b);
    }
  } else {
    TORCH_CHECK_VALUE(blur_kernel == 0 && !blur_apply,
                      "blur_kernel, blur_apply: given without blur_sigma");
  }
  if (blur_apply) check_param(*blur_apply, B, dev, "blur_apply", at::kBool);
  TORCH_CHECK_VALUE(mean.has_value() == std.has_value(),
                    "mean, std: give both (normalize) or neither");
  check_rgb_stage(saturation.has_value(), channels, "saturation");
  check_rgb_stage(hue.has_value(), channels, "hue");
  check_rgb_stage(grayscale.has_value(), channels, "grayscale");
  TORCH_CHECK_VALUE(!contrast || channels == 1 || channels == 3,
                    "images: contrast needs 1 or 3 channels, got ", channels);

  Fused f;
  if (mean) f.inv_std = normalize_inv_std(*mean, *std, channels, dev);

  at::Tensor out = new_output({B, channels, out_h, out_w}, out_dtype, channels_last);
  if (out.numel() == 0) return out;
  f.src = src;
  f.meta = meta;
  f.C = channels;
  f.out_h = out_h;
  f.out_w = out_w;
  f.boxes = opt_ptr<float>(boxes);
  f.flip = flip.const_data_ptr<bool>();
  f.antialias = antialias;
  f.factors.brightness = opt_ptr<float>(brightness);
  f.factors.contrast = opt_ptr<float>(contrast);
  f.factors.saturation = opt_ptr<float>(saturation);
  f.factors.hue = opt_ptr<float>(hue);
  f.factors.order = opt_ptr<int64_t>(order);
  f.gray = opt_ptr<bool>(grayscale);
  f.threshold = opt_ptr<float>(solarize_threshold);
  f.solarize = opt_ptr<bool>(solarize_apply);
  f.mean = opt_ptr<float>(mean);
  if (blur_sigma) {
    f.blur_k = blur_kernel;
    f.blur_w.resize(B * blur_kernel);
    f.blur_e.resize(B);
    const float* sig = blur_sigma->const_data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      gaussian_weights(blur_kernel, sig[b], f.blur_w.data() + b * blur_kernel);
      f.blur_e[b] = effective_radius(f.blur_w.data() + b * blur_kernel, blur_kernel);
    }
  }
  f.blur_apply = opt_ptr<bool>(blur_apply);
  f.dst = image_view(out);
  // about 8K output pixels per work item
  f.rows_per_block = std::max<int64_t>(1, std::min<int64_t>(out_h, 8192 / out_w));
  run(f, B);
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_FRAGMENT(datagen_gpu, m) {
  // src / src_meta / boxes / flip as resized_crop (boxes None: no crop, every
  // image is out_h x out_w); then the per-sample pixel stages, each optional.
  m.def(
      "fused_augment(Tensor src, Tensor src_meta, int channels, Tensor? boxes, Tensor flip, "
      "int out_h, int out_w, bool antialias, Tensor? brightness, Tensor? contrast, "
      "Tensor? saturation, Tensor? hue, Tensor? order, Tensor? grayscale, "
      "Tensor? solarize_threshold, Tensor? solarize_apply, int blur_kernel, Tensor? blur_sigma, "
      "Tensor? blur_apply, Tensor? mean, Tensor? std, "
      "ScalarType out_dtype, bool channels_last) -> Tensor");
}

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("fused_augment", &datagen_gpu::fused_augment_cpu);
}
