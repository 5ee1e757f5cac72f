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
#include <cstring>
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

// One masking pass over (B, C, F, T) views, row by row (a row: T values).
struct MaskPass {
  ImageView src, dst;
  MaskSet fm, tm;
  bool raw;  // same dtype and unit stride along T on both sides: rows are memcpy'd

  int64_t rows() const { return src.B * src.C * src.H; }

  // Copies rows [begin, end) of the input. With `fill` (per-sample values)
  // the masked parts are written too; without, they are left for
  // fill_rows. With `row_sum`, row_sum[r] = sum of input row r.
  void copy_rows(int64_t begin, int64_t end, const float* fill, double* row_sum, float* buf,
                 float* fill_row) const {
    const int64_t C = src.C, F = src.H, T = src.W;
    int64_t filled_for = -1;  // the sample whose value fill_row holds
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (C * F), c = (r / F) % C, f = r % F;
      const int64_t in_row = src.offset(b, c, f, 0), out_row = dst.offset(b, c, f, 0);
      const bool masked_row = fm.covers(b, f, F);
      if (fill != nullptr && b != filled_for) {
        std::fill(fill_row, fill_row + T, fill[b]);
        filled_for = b;
      }
      if (raw) {
        if (row_sum != nullptr) row_sum[r] = sum_floats(row_floats(src, b, c, f, buf), T);
        if (!masked_row) {
          std::memcpy(dst.data + out_row * dst.elem_size, src.data + in_row * src.elem_size,
                      T * src.elem_size);
        }
      } else if (!masked_row || row_sum != nullptr) {
        load_row(src, in_row, src.sW, T, buf);
        if (row_sum != nullptr) row_sum[r] = sum_floats(buf, T);
        if (!masked_row) {
          if (fill != nullptr) fill_intervals(b, buf, fill_row);
          store_row(dst, out_row, dst.sW, T, buf);
          continue;
        }
      }
      if (fill == nullptr) continue;
      if (masked_row) {
        store_row(dst, out_row, dst.sW, T, fill_row);
      } else if (raw) {
        for (int64_t m = 0; m < tm.count; ++m) {
          const Interval iv = tm.get(b, m, T);
          if (iv.hi > iv.lo) store_row(dst, out_row + iv.lo * dst.sW, dst.sW, iv.hi - iv.lo, fill_row);
        }
      }
    }
  }

  // Writes fill[b] into the masked parts of output rows [begin, end).
  void fill_rows(int64_t begin, int64_t end, const float* fill, float* fill_row) const {
    const int64_t C = src.C, F = src.H, T = src.W;
    int64_t filled_for = -1;
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (C * F), c = (r / F) % C, f = r % F;
      if (b != filled_for) {
        std::fill(fill_row, fill_row + T, fill[b]);
        filled_for = b;
      }
      const int64_t out_row = dst.offset(b, c, f, 0);
      if (fm.covers(b, f, F)) {
        store_row(dst, out_row, dst.sW, T, fill_row);
        continue;
      }
      for (int64_t m = 0; m < tm.count; ++m) {
        const Interval iv = tm.get(b, m, T);
        if (iv.hi > iv.lo) store_row(dst, out_row + iv.lo * dst.sW, dst.sW, iv.hi - iv.lo, fill_row);
      }
    }
  }

  // buf[t] = fill_row[t] for t in the time masks of sample b.
  void fill_intervals(int64_t b, float* buf, const float* fill_row) const {
    for (int64_t m = 0; m < tm.count; ++m) {
      const Interval iv = tm.get(b, m, src.W);
      std::copy(fill_row + iv.lo, fill_row + iv.hi, buf + iv.lo);
    }
  }
};

constexpr int64_t kRowGrain = 16;

// out = specs with the frequency masks (f_start, f_width) and time masks
// (t_start, t_width) filled with value[b], or, when value is None, with the
// mean of input sample b. The input is read once: with the mean, a first
// pass copies the unmasked parts and sums the rows, a second one fills the
// masked parts (per sample, while it is in cache, when there are at least as
// many samples as threads).
at::Tensor masks_cpu(const at::Tensor& specs, const at::Tensor& f_start, const at::Tensor& f_width,
                     const at::Tensor& t_start, const at::Tensor& t_width,
                     const std::optional<at::Tensor>& value, at::ScalarType out_dtype) {
  at::Tensor out = new_output_like_layout(specs, out_dtype);
  if (out.numel() == 0) return out;
  MaskPass pass;
  pass.src = image_view(as_bcft(specs));
  pass.dst = image_view(as_bcft(out));
  pass.fm = mask_set(f_start, f_width);
  pass.tm = mask_set(t_start, t_width);
  pass.raw = pass.src.dtype == pass.dst.dtype && pass.src.sW == 1 && pass.dst.sW == 1;
  const int64_t B = pass.src.B, T = pass.src.W, rows_per_sample = pass.src.C * pass.src.H;
  if (value.has_value()) {
    const float* fill = param_ptr<float>(*value);
    at::parallel_for(0, pass.rows(), kRowGrain, [&](int64_t begin, int64_t end) {
      std::vector<float> buf(T), fill_row(T);
      pass.copy_rows(begin, end, fill, nullptr, buf.data(), fill_row.data());
    });
    return out;
  }
  std::vector<double> row_sum(pass.rows());
  std::vector<float> fill(B);
  auto sample_mean = [&](int64_t b) {
    const double* s = row_sum.data() + b * rows_per_sample;
    fill[b] = static_cast<float>(std::accumulate(s, s + rows_per_sample, 0.0) /
                                 static_cast<double>(rows_per_sample * T));
  };
  if (B >= at::get_num_threads()) {
    // whole samples per task: the masked parts are filled while the sample is in cache
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> buf(T), fill_row(T);
      for (int64_t b = begin; b < end; ++b) {
        const int64_t r0 = b * rows_per_sample, r1 = r0 + rows_per_sample;
        pass.copy_rows(r0, r1, nullptr, row_sum.data(), buf.data(), nullptr);
        sample_mean(b);
        pass.fill_rows(r0, r1, fill.data(), fill_row.data());
      }
    });
    return out;
  }
  // few samples: rows in parallel, in three phases
  at::parallel_for(0, pass.rows(), kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(T);
    pass.copy_rows(begin, end, nullptr, row_sum.data(), buf.data(), nullptr);
  });
  for (int64_t b = 0; b < B; ++b) sample_mean(b);
  at::parallel_for(0, pass.rows(), kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<float> fill_row(T);
    pass.fill_rows(begin, end, fill.data(), fill_row.data());
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

// Masks along one axis only (the other axis gets none).
at::Tensor one_axis_masks(const at::Tensor& specs, const at::Tensor& start,
                          const at::Tensor& width, const std::optional<at::Tensor>& value,
                          at::ScalarType out_dtype, bool time_axis) {
  check_specs(specs, "specs");
  check_mask_args(specs, start, width, "start", "width");
  check_value(value, specs);
  check_float_out_dtype(out_dtype, "out_dtype");
  const at::Tensor none = no_masks(specs);
  return time_axis ? masks_cpu(specs, none, none, start, width, value, out_dtype)
                   : masks_cpu(specs, start, width, none, none, value, out_dtype);
}

}  // namespace

at::Tensor time_mask_cpu(const at::Tensor& specs, const at::Tensor& start, const at::Tensor& width,
                         const std::optional<at::Tensor>& value, at::ScalarType out_dtype) {
  return one_axis_masks(specs, start, width, value, out_dtype, /*time_axis=*/true);
}

at::Tensor freq_mask_cpu(const at::Tensor& specs, const at::Tensor& start, const at::Tensor& width,
                         const std::optional<at::Tensor>& value, at::ScalarType out_dtype) {
  return one_axis_masks(specs, start, width, value, out_dtype, /*time_axis=*/false);
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
  const bool raw = src.dtype == dst.dtype && src.sW == 1 && dst.sW == 1;
  at::parallel_for(0, src.B * C * F, kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<float> buf(T);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (C * F), c = (r / F) % C, f = r % F;
      const int64_t out_row = dst.offset(b, c, f, 0);
      // 0 <= f - shift < F, written so that no subtraction can overflow
      if (s[b] <= f && s[b] > f - F) {
        const int64_t in_row = src.offset(b, c, f - s[b], 0);
        if (raw) {
          std::memcpy(dst.data + out_row * dst.elem_size, src.data + in_row * src.elem_size,
                      T * src.elem_size);
          continue;
        }
        load_row(src, in_row, src.sW, T, buf.data());
      } else {
        std::fill(buf.begin(), buf.end(), v[b]);
      }
      store_row(dst, out_row, dst.sW, T, buf.data());
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
  at::parallel_for(0, B * C * F, kRowGrain, [&](int64_t begin, int64_t end) {
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
