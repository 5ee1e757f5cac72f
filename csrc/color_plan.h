// Per-sample color plans on planar float rows, shared by the color kernels
// (csrc/color.cpp: color_jitter and the single adjustments built on it) and
// the fused augmentation (csrc/fused.cpp).
//
// A plan is the list of a sample's non-identity steps in its own order:
// brightness 0, contrast 1, saturation 2, hue 3 (make_plan), optionally
// followed by more steps (grayscale = saturation 0, solarize). The steps run
// on rows (isa.h's apply_steps; the per-pixel formulas are color_pixels.h,
// compiled per CPU ISA).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "color_math.h"
#include "common.h"

namespace datagen_gpu {

enum Op : int64_t { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3, kSolarize = 4 };

struct Step {
  int64_t op;
  float factor;    // hue: shift in sextants, in [0, 6); solarize: the threshold
  bool quantized;  // the pixels are uint8 levels: floor the grayscale
};

struct Plan {
  int n = 0;
  Step steps[6];
  int contrast = -1;  // index of the contrast step, -1 when none

  void add(const Step& s) {
    if (s.op == kContrast) contrast = n;
    steps[n++] = s;
  }
};

// Argument checks (csrc/color.cpp): a (batch,) float32 factor with values in
// [low, high]; a (batch, 4) int64 order, each row a permutation of 0..3.
void check_factor(const at::Tensor& p, int64_t batch, c10::Device device, const char* name,
                  float low, float high);
void check_order(const at::Tensor& order, int64_t batch, c10::Device device);

// Per-sample factors; a null pointer means "identity for every sample".
struct Factors {
  const float* brightness = nullptr;
  const float* contrast = nullptr;
  const float* saturation = nullptr;
  const float* hue = nullptr;
  const int64_t* order = nullptr;  // (B, 4); null: 0, 1, 2, 3
};

// The jitter steps of sample b. quantize_first: the input holds uint8 levels,
// so the first applied step floors its grayscale (as torchvision on uint8).
inline Plan make_plan(const Factors& f, int64_t b, bool quantize_first) {
  Plan plan;
  for (int64_t k = 0; k < 4; ++k) {
    const int64_t op = f.order ? f.order[b * 4 + k] : k;
    float value = 0.0f;
    bool identity = true;
    if (op == kBrightness && f.brightness) {
      value = f.brightness[b];
      identity = value == 1.0f;
    } else if (op == kContrast && f.contrast) {
      value = f.contrast[b];
      identity = value == 1.0f;
    } else if (op == kSaturation && f.saturation) {
      value = f.saturation[b];
      identity = value == 1.0f;
    } else if (op == kHue && f.hue) {
      const float h = f.hue[b];
      identity = h == 0.0f;
      value = 6.0f * (h - std::floor(h));
      value = value >= 6.0f ? 0.0f : value;
    }
    if (identity) continue;
    plan.add(Step{op, value, quantize_first && plan.n == 0});
  }
  return plan;
}

// Planar rows of one thread: C planes of W floats plus a gray row. They live
// in the thread's own buffer, or (view_of) in a row of a planar float image,
// so the steps can run in place there.
struct Rows {
  int64_t C, W;
  std::vector<float> data;
  float* base;         // plane 0
  int64_t stride;      // from plane c to plane c + 1
  Rows(int64_t C_, int64_t W_)
      : C(C_), W(W_), data((C_ + 1) * W_), base(data.data()), stride(W_) {}
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  float* plane(int64_t c) { return base + c * stride; }
  float* gray() { return data.data() + C * W; }
  // Row y of the planar (C, H, W) float image at `image` (H * W = plane_size).
  void view_of(float* image, int64_t y, int64_t plane_size) {
    base = image + y * W;
    stride = plane_size;
  }
  void own() {
    base = data.data();
    stride = W;
  }
};

inline void load_pixels(const ImageView& v, int64_t b, int64_t h, Rows& rows) {
  for (int64_t c = 0; c < v.C; ++c) load_row(v, v.offset(b, c, h, 0), v.sW, v.W, rows.plane(c));
}

inline void store_pixels(const ImageView& v, int64_t b, int64_t h, Rows& rows) {
  for (int64_t c = 0; c < v.C; ++c) store_row(v, v.offset(b, c, h, 0), v.sW, v.W, rows.plane(c));
}

}  // namespace datagen_gpu
