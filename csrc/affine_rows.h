// Row geometry of the affine warp, for csrc/affine.cpp only: the integer-shift
// test, which pixels of an output row read from inside the image, the taps of
// the bilinear border band, and the software prefetch of a work item's source.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "affine_taps.h"
#include "common.h"

namespace datagen_gpu {
namespace affine_rows {

// Whether m is x = j + dx, y = i + dy with integers dx, dy (clamped to +-(size + 1):
// beyond that every pixel is outside either way).
inline bool shift_of(const float* m, int64_t H, int64_t W, int64_t& dx, int64_t& dy) {
  if (!(m[0] == 1.0f && m[1] == 0.0f && m[3] == 0.0f && m[4] == 1.0f)) return false;
  if (!std::isfinite(m[2]) || !std::isfinite(m[5])) return false;
  if (std::nearbyint(m[2]) != m[2] || std::nearbyint(m[5]) != m[5]) return false;
  const auto clamp = [](float v, int64_t n) {
    const float lim = static_cast<float>(n + 1);
    return static_cast<int64_t>(std::clamp(v, -lim, lim));
  };
  dx = clamp(m[2], W);
  dy = clamp(m[5], H);
  return true;
}

// Output row i of sample b (the AffineRow of the taps kernels).
inline AffineRow row_of(const ImageView& src, const float* m, int64_t i) {
  const double id = static_cast<double>(i);
  return {m[0], static_cast<double>(m[1]) * id, m[2], m[3], static_cast<double>(m[4]) * id, m[5],
          src.W, src.H, src.sH, src.sW};
}

// ------------------------------------------------------------------ inside intervals
//
// A pixel's class is (round(x), round(y)) (nearest, half to even) or
// (floor(x), floor(y)) (bilinear), from x and y evaluated as the taps kernels
// do. Along a row x and y are monotone in j (every rounding step is monotone),
// so each bound "class >= lo" / "class <= hi" holds on a prefix or a suffix of
// the row, and the pixels within bounds on both axes are one interval: found
// exactly from a guess (the real-number crossing) and a few evaluations around
// it, or by bisection. A non-finite coefficient makes a coordinate NaN or
// infinite everywhere (m0 = inf: NaN at j = 0 only), which still gives
// monotone bounds, all (or all but j = 0) outside.

inline double row_x(const AffineRow& r, int64_t j) {
  return r.m0 * static_cast<double>(j) + r.ci + r.m2;
}
inline double row_y(const AffineRow& r, int64_t j) {
  return r.m3 * static_cast<double>(j) + r.di + r.m5;
}

// The class of coordinate v, as the taps kernels round it (exact below 2^51,
// monotone beyond, where every value is far outside).
template <bool kFloor>
inline double class_of(double v) {
  const double r = (v + kAffineRound) - kAffineRound;  // round half to even
  return kFloor && r > v ? r - 1.0 : r;
}

// The first j in [0, n] at which q (false, then true; q(n) taken as true) holds.
template <typename Q>
int64_t first_true(const Q& q, int64_t n, double guess) {
  const double g0 = std::isnan(guess) ? 0.0 : std::clamp(std::ceil(guess), 0.0, double(n));
  int64_t g = static_cast<int64_t>(g0);
  for (int k = 0; k < 4; ++k) {
    const bool at = g >= n || q(g);
    if (at && (g == 0 || !q(g - 1))) return g;
    g += at ? -1 : 1;
  }
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (q(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// [start, end): the j in [0, n) with lo <= class(coord(j)) <= hi; coord = slope j + offset.
template <bool kFloor, typename F>
void axis_interval(const F& coord, double slope, double offset, double lo, double hi, int64_t n,
                   int64_t& start, int64_t& end) {
  const auto ge = [&](int64_t j) { return class_of<kFloor>(coord(j)) >= lo; };
  const auto le = [&](int64_t j) { return class_of<kFloor>(coord(j)) <= hi; };
  const auto lt = [&](int64_t j) { return !ge(j); };
  const auto gt = [&](int64_t j) { return !le(j); };
  const double half = kFloor ? 0.0 : 0.5;  // where the class changes, in coordinate units
  const double at_lo = (lo - half - offset) / slope, at_hi = (hi + 1.0 - half - offset) / slope;
  if (slope >= 0.0) {
    start = first_true(ge, n, at_lo);
    end = first_true(gt, n, at_hi);
  } else {
    start = first_true(le, n, at_hi);
    end = first_true(lt, n, at_lo);
  }
}

// [start, end): the pixels of row r with (xlo, ylo) <= class <= (xhi, yhi).
template <bool kFloor>
void row_interval(const AffineRow& r, double xlo, double xhi, double ylo, double yhi,
                  int64_t& start, int64_t& end) {
  const auto within = [&](int64_t j) {
    const double cx = class_of<kFloor>(row_x(r, j)), cy = class_of<kFloor>(row_y(r, j));
    return cx >= xlo && cx <= xhi && cy >= ylo && cy <= yhi;
  };
  if (within(0) && within(r.W - 1)) {  // both ends, so the whole row (an interval)
    start = 0;
    end = r.W;
    return;
  }
  int64_t sx, ex, sy, ey;
  const auto x = [&](int64_t j) { return row_x(r, j); };
  const auto y = [&](int64_t j) { return row_y(r, j); };
  axis_interval<kFloor>(x, r.m0, r.ci + r.m2, xlo, xhi, r.W, sx, ex);
  axis_interval<kFloor>(y, r.m3, r.di + r.m5, ylo, yhi, r.W, sy, ey);
  start = std::max(sx, sy);
  end = std::max(start, std::min(ex, ey));
}

// The bilinear spans of row r: (c0, a0, b0, d0) with [c0, d0) the touched pixels
// (some neighbour inside) and [a0, b0) within it the inner ones (all four inside).
inline void bilinear_spans(const AffineRow& r, int64_t* span) {
  const double wmax = static_cast<double>(r.W - 1), hmax = static_cast<double>(r.H - 1);
  row_interval<true>(r, 0.0, wmax - 1.0, 0.0, hmax - 1.0, span[1], span[2]);
  if (span[1] == 0 && span[2] == r.W) {  // all inner, so all touched
    span[0] = 0;
    span[3] = r.W;
    return;
  }
  row_interval<true>(r, -1.0, wmax, -1.0, hmax, span[0], span[3]);
  span[1] = std::clamp(span[1], span[0], span[3]);
  span[2] = std::clamp(span[2], span[1], span[3]);
}

// The taps of border pixel j (touched, not inner: x in [-1, W), y in [-1, H)):
// weights with a neighbour outside weighted 0, into the taps' arrays, and the
// four neighbours' offsets clamped into the image, into o4.
inline void border_taps(const AffineRow& r, int64_t j, const BilinearTaps& t, int64_t* o4) {
  const double x = row_x(r, j), y = row_y(r, j);
  const double wmax = static_cast<double>(r.W - 1), hmax = static_cast<double>(r.H - 1);
  const double x0 = class_of<true>(x), y0 = class_of<true>(y);  // floor
  const double fx = x - x0, fy = y - y0;
  const float wx0 = x0 >= 0.0 && x0 <= wmax ? static_cast<float>(1.0 - fx) : 0.0f;
  const float wx1 = x0 >= -1.0 && x0 + 1.0 <= wmax ? static_cast<float>(fx) : 0.0f;
  const float wy0 = y0 >= 0.0 && y0 <= hmax ? static_cast<float>(1.0 - fy) : 0.0f;
  const float wy1 = y0 >= -1.0 && y0 + 1.0 <= hmax ? static_cast<float>(fy) : 0.0f;
  t.wx0[j] = wx0, t.wx1[j] = wx1, t.wy0[j] = wy0, t.wy1[j] = wy1;
  if (t.mask != nullptr) t.mask[j] = (wx0 + wx1) * (wy0 + wy1);
  const int64_t cx0 = static_cast<int64_t>(std::clamp(x0, 0.0, wmax)) * r.sW;
  const int64_t cx1 = static_cast<int64_t>(std::clamp(x0 + 1.0, 0.0, wmax)) * r.sW;
  const int64_t cy0 = static_cast<int64_t>(std::clamp(y0, 0.0, hmax)) * r.sH;
  const int64_t cy1 = static_cast<int64_t>(std::clamp(y0 + 1.0, 0.0, hmax)) * r.sH;
  o4[0] = cy0 + cx0, o4[1] = cy0 + cx1, o4[2] = cy1 + cx0, o4[3] = cy1 + cx1;
}

// ------------------------------------------------------------------ prefetch

// Software prefetch (to L2) of the source box a work item reads: the bounding box
// of its rows' source coordinates, one pixel wider. A rotated row reads a few
// pixels from each of many source rows, a pattern the hardware prefetchers do not
// follow, so the gathers would wait on memory; the work loop plans the next item
// and issues its lines spread over the rows of the current one.
class Prefetcher {
 public:
  // Plans rows [i0, i1) of sample b (map m) of images s.
  void plan(const ImageView& s, const float* m, int64_t b, int64_t i0, int64_t i1) {
    left_ = 0;
    int64_t dx, dy;
    if (shift_of(m, s.H, s.W, dx, dy)) return;  // row copies: the hardware prefetches them
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const double i : {static_cast<double>(i0), static_cast<double>(i1 - 1)}) {
      for (const double j : {0.0, static_cast<double>(s.W - 1)}) {
        const double x = m[0] * j + m[1] * i + m[2], y = m[3] * j + m[4] * i + m[5];
        if (!std::isfinite(x) || !std::isfinite(y)) return;
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
    }
    if (x1 < -1.0 || x0 > s.W || y1 < -1.0 || y0 > s.H) return;  // all outside
    const auto index = [](double v, int64_t n) {
      return static_cast<int64_t>(std::clamp(v, 0.0, static_cast<double>(n - 1)));
    };
    const int64_t xa = index(std::floor(x0) - 1.0, s.W), xb = index(std::ceil(x1) + 1.0, s.W);
    row_ = first_row_ = index(std::floor(y0) - 1.0, s.H);
    last_row_ = index(std::ceil(y1) + 1.0, s.H);
    const int64_t es = s.elem_size;
    const bool interleaved = s.sC == 1 && s.C > 1;  // channels-last: one box for all channels
    planes_ = interleaved ? 1 : s.C;
    plane_ = 0;
    plane_bytes_ = s.sC * es;
    row_bytes_ = s.sH * es;
    lo_ = xa * s.sW * es;
    hi_ = (xb * s.sW + (interleaved ? s.C - 1 : 0)) * es + es - 1;
    base_ = s.data + b * s.sB * es;
    left_ = planes_ * (last_row_ - row_ + 1) * ((hi_ - lo_) / 64 + 2);
    start_row();
  }

  // Issues about 1 / rows of the lines left (rows: the rows left in the current item).
  void step(int64_t rows) {
    int64_t n = (left_ + std::max<int64_t>(rows, 1) - 1) / std::max<int64_t>(rows, 1);
    for (; n > 0 && left_ > 0; --n, --left_) {
      __builtin_prefetch(addr_, 0, 2);
      addr_ += 64;
      if (addr_ > end_ && !next_row()) left_ = 1;
    }
  }

 private:
  void start_row() {
    const char* r = base_ + plane_ * plane_bytes_ + row_ * row_bytes_;
    addr_ = reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(r + lo_) & ~uintptr_t{63});
    end_ = r + hi_;
  }
  bool next_row() {
    if (++row_ > last_row_) {
      row_ = first_row_;
      if (++plane_ >= planes_) return false;
    }
    start_row();
    return true;
  }

  const char* base_ = nullptr;
  const char *addr_ = nullptr, *end_ = nullptr;
  int64_t planes_ = 0, plane_bytes_ = 0, row_bytes_ = 0, lo_ = 0, hi_ = 0;
  int64_t plane_ = 0, row_ = 0, first_row_ = 0, last_row_ = 0, left_ = 0;
};

}  // namespace affine_rows
}  // namespace datagen_gpu
