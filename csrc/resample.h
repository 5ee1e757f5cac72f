// Tap tables of one axis of resized_crop: for every output index, the input
// pixels it reads and their weights (the definition is documented in
// datagen_gpu/functional/geometry.py, resized_crop; the float64 oracle is
// datagen_gpu/reference.py).
//
// Per output index o, with scale = length / out_size and the crop's pixels
// [lo, hi) = [floor(pos), ceil(pos + length)):
//   antialias: support = max(scale, 1), center = pos + scale * (o + 0.5),
//              taps j in [max(floor(center - support + 0.5), lo),
//                         min(floor(center + support + 0.5), hi)),
//              w_j = max(0, 1 - |j + 0.5 - center| / support) / sum of those w_j;
//   bilinear:  src = clamp(pos + scale * (o + 0.5) - 0.5, lo, hi - 1),
//              taps floor(src) and floor(src) + 1 (< hi), weights 1 - frac, frac
//              (the same tent with support 1 centred at src + 0.5, unnormalized).
// Pixels outside the image are zeros (torchvision pads the crop with zeros),
// so only taps inside [0, in_size) are kept, with their weights unchanged.
// All of this is computed in double; the sum of the tent weights has a
// closed form, so a table costs O(out_size * taps inside the image) for any
// box, however large.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace datagen_gpu {

struct AxisTaps {
  std::vector<int64_t> start;  // first input pixel of output index o
  std::vector<int64_t> count;  // number of taps (0: the output is 0)
  std::vector<float> weight;   // (out_size, taps), zero-padded
  int64_t taps = 1;            // max count (at least 1)
  int64_t lo = 0, hi = 0;      // union of the input ranges; hi == lo when empty
};

// Sum over integer j in [first, first + n) of 1 - |j + 0.5 - center| * inv,
// where every term is >= 0 (the tap range lies inside the tent's support).
inline double tent_sum(double first, double n, double center, double inv) {
  if (n <= 0) return 0.0;
  const double e = first + 0.5 - center;  // offset of the first tap
  const double neg = std::min(std::max(std::ceil(-e), 0.0), n);  // taps left of center
  const double abs_sum = (n - 2.0 * neg) * e + 0.5 * n * (n - 1.0) - neg * (neg - 1.0);
  return n - inv * abs_sum;
}

// Box coordinates are clamped to +-2^40 so every derived index fits int64.
inline double clamp_coord(double v) {
  constexpr double kLimit = 1099511627776.0;  // 2^40
  return std::min(std::max(v, -kLimit), kLimit);
}

inline void axis_taps(double pos, double length, int64_t in_size, int64_t out_size,
                      bool antialias, bool reverse, AxisTaps& t) {
  pos = clamp_coord(pos);
  length = std::max(clamp_coord(length), 1e-30);
  const double scale = length / static_cast<double>(out_size);
  const double lo = std::floor(pos), hi = std::ceil(pos + length);
  const double support = antialias ? std::max(scale, 1.0) : 1.0;
  const double inv = 1.0 / support;
  const double size = static_cast<double>(in_size);

  std::vector<double> centers(out_size), norms(out_size);
  t.start.assign(out_size, 0);
  t.count.assign(out_size, 0);
  t.taps = 1;
  t.lo = in_size;
  t.hi = 0;
  for (int64_t o = 0; o < out_size; ++o) {
    double center, first, last, norm;
    if (antialias) {
      center = pos + scale * (static_cast<double>(o) + 0.5);
      first = std::max(std::floor(center - support + 0.5), lo);
      last = std::min(std::floor(center + support + 0.5), hi);
      const double total = tent_sum(first, last - first, center, inv);
      norm = total > 0.0 ? 1.0 / total : 0.0;
    } else {
      const double src =
          std::min(std::max(pos + scale * (static_cast<double>(o) + 0.5) - 0.5, lo), hi - 1.0);
      center = src + 0.5;
      first = std::floor(src);
      last = std::min(first + 2.0, hi);
      norm = 1.0;
    }
    // keep the taps inside the image
    const int64_t a = static_cast<int64_t>(std::min(std::max(first, 0.0), size));
    const int64_t b = static_cast<int64_t>(std::min(std::max(last, 0.0), size));
    const int64_t slot = reverse ? out_size - 1 - o : o;
    t.start[slot] = a;
    t.count[slot] = std::max<int64_t>(b - a, 0);
    centers[slot] = center;
    norms[slot] = norm;
    if (b > a) {
      t.taps = std::max(t.taps, b - a);
      t.lo = std::min(t.lo, a);
      t.hi = std::max(t.hi, b);
    }
  }
  if (t.hi <= t.lo) t.lo = t.hi = 0;
  t.weight.assign(out_size * t.taps, 0.0f);
  for (int64_t o = 0; o < out_size; ++o) {
    if (t.count[o] == 0) {
      t.start[o] = t.lo;  // any in-range index: every weight is 0
      continue;
    }
    for (int64_t k = 0; k < t.count[o]; ++k) {
      const double d = static_cast<double>(t.start[o] + k) + 0.5 - centers[o];
      const double w = std::max(0.0, 1.0 - std::abs(d) * inv) * norms[o];
      t.weight[o * t.taps + k] = static_cast<float>(w);
    }
  }
}

}  // namespace datagen_gpu
