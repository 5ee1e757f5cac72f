// Spectrogram and waveform ops: schemas and CPU kernels.
//
//   time_mask / freq_mask / spec_mask  SpecAugment masking (Park et al. 2019)
//   freq_shift                          shift along the frequency axis
//   audio_mixup                         lam * x + (1 - lam) * x[perm]
//
// Spectrograms are (B, F, T) or (B, C, F, T) float32 / float16 / bfloat16 in
// any strided layout; the kernels see them as (B, C, F, T) views (a 3-D
// input is (B, 1, F, T)) and work on float rows along T: load a row (dtype
// conversion in load_row, no scaling for float dtypes), transform it in
// float32, store it. Outputs keep the input's dimension order in memory.
#include <ATen/core/Tensor.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <vector>

#include "audio_views.h"
#include "common.h"

TORCH_LIBRARY_FRAGMENT(datagen_gpu, m) {
  // start / width: (B, M) int64, M masks per sample: [start, start + width)
  // clipped to the axis. value: (B,) float32 fill, or None for each sample's mean.
  m.def(
      "time_mask(Tensor specs, Tensor start, Tensor width, Tensor? value, ScalarType out_dtype) "
      "-> Tensor");
  m.def(
      "freq_mask(Tensor specs, Tensor start, Tensor width, Tensor? value, ScalarType out_dtype) "
      "-> Tensor");
  // both axes in one pass (SpecAugment); the mean is that of the unmasked sample
  m.def(
      "spec_mask(Tensor specs, Tensor freq_start, Tensor freq_width, Tensor time_start, "
      "Tensor time_width, Tensor? value, ScalarType out_dtype) -> Tensor");
  // out[..., f, :] = in[..., f - shift, :]; vacated bins take fill (B,) float32
  m.def("freq_shift(Tensor specs, Tensor shift, Tensor fill, ScalarType out_dtype) -> Tensor");
  // out[i] = lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]; x is (B, ...) with 1 to 3 more dims
  m.def("audio_mixup(Tensor x, Tensor lam, Tensor perm, ScalarType out_dtype) -> Tensor");
}

namespace datagen_gpu {
namespace {

// The masks of one sample along one axis, read from (B, M) start / width.
struct MaskSet {
  const int64_t* start = nullptr;
  const int64_t* width = nullptr;
  int64_t count = 0;  // M

  Interval get(int64_t b, int64_t m, int64_t size) const {
    return clip_mask(start[b * count + m], width[b * count + m], size);
  }
  bool covers(int64_t b, int64_t i, int64_t size) const {
    for (int64_t m = 0; m < count; ++m) {
      const Interval r = get(b, m, size);
      if (i >= r.lo && i < r.hi) return true;
    }
    return false;
  }
};

MaskSet mask_set(const at::Tensor& start, const at::Tensor& width) {
  MaskSet s;
  s.start = start.const_data_ptr<int64_t>();
  s.width = width.const_data_ptr<int64_t>();
  s.count = start.size(1);
  return s;
}

// Writes sample b of the masked output: rows of masked frequencies take
// `fill`, the other rows are copied with their masked time intervals filled.
void mask_rows(const ImageView& src, const ImageView& dst, const MaskSet& fm, const MaskSet& tm,
               int64_t row_begin, int64_t row_end, const float* fill, float* buf) {
  const int64_t C = src.C, F = src.H, T = src.W;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = r / (C * F);
    const int64_t c = (r / F) % C;
    const int64_t f = r % F;
    const float v = fill[b];
    if (fm.covers(b, f, F)) {
      std::fill(buf, buf + T, v);
    } else {
      load_row(src, src.offset(b, c, f, 0), src.sW, T, buf);
      for (int64_t m = 0; m < tm.count; ++m) {
        const Interval iv = tm.get(b, m, T);
        std::fill(buf + iv.lo, buf + iv.hi, v);
      }
    }
    store_row(dst, dst.offset(b, c, f, 0), dst.sW, T, buf);
  }
}

// out = specs with the frequency masks `fm` and time masks `tm` filled with
// value[b] (or, when value is None, the mean of sample b of the input).
at::Tensor masks_cpu(const at::Tensor& specs, const at::Tensor& f_start, const at::Tensor& f_width,
                     const at::Tensor& t_start, const at::Tensor& t_width,
                     const std::optional<at::Tensor>& value, at::ScalarType out_dtype) {
  at::Tensor out = new_output_like_layout(specs, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(as_bcft(specs));
  const ImageView dst = image_view(as_bcft(out));
  const MaskSet fm = mask_set(f_start, f_width);
  const MaskSet tm = mask_set(t_start, t_width);
  const int64_t B = src.B, rows_per_sample = src.C * src.H, T = src.W;
  std::vector<float> fill(B);
  if (value.has_value()) {
    std::copy_n(param_ptr<float>(*value), B, fill.begin());
  } else if (B >= at::get_num_threads()) {
    // one sample per task: its mean, then its rows while they are still in cache
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> buf(T);
      for (int64_t b = begin; b < end; ++b) {
        fill[b] = static_cast<float>(sample_mean(src, b, buf.data()));
        mask_rows(src, dst, fm, tm, b * rows_per_sample, (b + 1) * rows_per_sample, fill.data(),
                  buf.data());
      }
    });
    return out;
  } else {
    // few samples: row sums in parallel, then the rows in parallel
    std::vector<double> row_sum(B * rows_per_sample);
    at::parallel_for(0, B * rows_per_sample, 16, [&](int64_t begin, int64_t end) {
      std::vector<float> buf(T);
      for (int64_t r = begin; r < end; ++r) {
        const int64_t b = r / rows_per_sample, c = (r / src.H) % src.C, f = r % src.H;
        load_row(src, src.offset(b, c, f, 0), src.sW, T, buf.data());
        row_sum[r] = sum_floats(buf.data(), T);
      }
    });
    for (int64_t b = 0; b < B; ++b) {
      const double* s = row_sum.data() + b * rows_per_sample;
      fill[b] = static_cast<float>(std::accumulate(s, s + rows_per_sample, 0.0) /
                                   static_cast<double>(rows_per_sample * T));
    }
  }
  at::parallel_for(0, B * rows_per_sample, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(T);
    mask_rows(src, dst, fm, tm, begin, end, fill.data(), buf.data());
  });
  return out;
}

void check_mask_args(const at::Tensor& specs, const at::Tensor& start, const at::Tensor& width,
                     const char* start_name, const char* width_name) {
  check_mask_param(start, specs, start_name);
  check_mask_param(width, specs, width_name);
  TORCH_CHECK_VALUE(start.sizes() == width.sizes(), width_name, ": expected the shape of ",
                    start_name, " ", start.sizes(), ", got ", width.sizes());
}

void check_value(const std::optional<at::Tensor>& value, const at::Tensor& specs) {
  if (value.has_value()) check_param(*value, specs, "value", at::kFloat);
}

at::Tensor no_masks(const at::Tensor& specs) {
  return at::empty({specs.size(0), 0}, specs.options().dtype(at::kLong));
}

}  // namespace

at::Tensor time_mask_cpu(const at::Tensor& specs, const at::Tensor& start, const at::Tensor& width,
                         const std::optional<at::Tensor>& value, at::ScalarType out_dtype) {
  check_specs(specs, "specs");
  check_mask_args(specs, start, width, "start", "width");
  check_value(value, specs);
  check_float_out_dtype(out_dtype, "out_dtype");
  const at::Tensor none = no_masks(specs);
  return masks_cpu(specs, none, none, start, width, value, out_dtype);
}

at::Tensor freq_mask_cpu(const at::Tensor& specs, const at::Tensor& start, const at::Tensor& width,
                         const std::optional<at::Tensor>& value, at::ScalarType out_dtype) {
  check_specs(specs, "specs");
  check_mask_args(specs, start, width, "start", "width");
  check_value(value, specs);
  check_float_out_dtype(out_dtype, "out_dtype");
  const at::Tensor none = no_masks(specs);
  return masks_cpu(specs, start, width, none, none, value, out_dtype);
}

at::Tensor spec_mask_cpu(const at::Tensor& specs, const at::Tensor& freq_start,
                         const at::Tensor& freq_width, const at::Tensor& time_start,
                         const at::Tensor& time_width, const std::optional<at::Tensor>& value,
                         at::ScalarType out_dtype) {
  check_specs(specs, "specs");
  check_mask_args(specs, freq_start, freq_width, "freq_start", "freq_width");
  check_mask_args(specs, time_start, time_width, "time_start", "time_width");
  check_value(value, specs);
  check_float_out_dtype(out_dtype, "out_dtype");
  return masks_cpu(specs, freq_start, freq_width, time_start, time_width, value, out_dtype);
}

// out[b, c, f, t] = specs[b, c, f - shift[b], t] when 0 <= f - shift[b] < F, else fill[b].
at::Tensor freq_shift_cpu(const at::Tensor& specs, const at::Tensor& shift, const at::Tensor& fill,
                          at::ScalarType out_dtype) {
  check_specs(specs, "specs");
  check_param(shift, specs, "shift", at::kLong);
  check_param(fill, specs, "fill", at::kFloat);
  check_float_out_dtype(out_dtype, "out_dtype");
  at::Tensor out = new_output_like_layout(specs, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(as_bcft(specs));
  const ImageView dst = image_view(as_bcft(out));
  const int64_t* s = param_ptr<int64_t>(shift);
  const float* v = param_ptr<float>(fill);
  const int64_t C = src.C, F = src.H, T = src.W;
  at::parallel_for(0, src.B * C * F, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(T);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (C * F), c = (r / F) % C, f = r % F;
      // 0 <= f - shift < F, written so that no subtraction can overflow
      if (s[b] <= f && s[b] > f - F) {
        load_row(src, src.offset(b, c, f - s[b], 0), src.sW, T, buf.data());
      } else {
        std::fill(buf.begin(), buf.end(), v[b]);
      }
      store_row(dst, dst.offset(b, c, f, 0), dst.sW, T, buf.data());
    }
  });
  return out;
}

// out[b] = lam[b] * x[b] + (1 - lam[b]) * x[perm[b]], computed in float32.
at::Tensor audio_mixup_cpu(const at::Tensor& x, const at::Tensor& lam, const at::Tensor& perm,
                           at::ScalarType out_dtype) {
  check_audio(x, "x");
  check_param(lam, x, "lam", at::kFloat);
  check_param(perm, x, "perm", at::kLong);
  check_float_out_dtype(out_dtype, "out_dtype");
  const int64_t B = x.size(0);
  const int64_t* p = param_ptr<int64_t>(perm);
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK_VALUE(p[b] >= 0 && p[b] < B, "perm: expected values in [0, ", B, "), got ", p[b]);
  }
  at::Tensor out = new_output_like_layout(x, out_dtype);
  if (out.numel() == 0) return out;
  const ImageView src = image_view(as_bcft(x));
  const ImageView dst = image_view(as_bcft(out));
  const float* l = param_ptr<float>(lam);
  const int64_t C = src.C, F = src.H, T = src.W;
  at::parallel_for(0, B * C * F, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> a(T), o(T);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (C * F), c = (r / F) % C, f = r % F;
      load_row(src, src.offset(b, c, f, 0), src.sW, T, a.data());
      load_row(src, src.offset(p[b], c, f, 0), src.sW, T, o.data());
      const float w = l[b], w_other = 1.0f - l[b];
      for (int64_t t = 0; t < T; ++t) o[t] = w * a[t] + w_other * o[t];
      store_row(dst, dst.offset(b, c, f, 0), dst.sW, T, o.data());
    }
  });
  return out;
}

}  // namespace datagen_gpu

TORCH_LIBRARY_IMPL(datagen_gpu, CPU, m) {
  m.impl("time_mask", &datagen_gpu::time_mask_cpu);
  m.impl("freq_mask", &datagen_gpu::freq_mask_cpu);
  m.impl("spec_mask", &datagen_gpu::spec_mask_cpu);
  m.impl("freq_shift", &datagen_gpu::freq_shift_cpu);
  m.impl("audio_mixup", &datagen_gpu::audio_mixup_cpu);
}
