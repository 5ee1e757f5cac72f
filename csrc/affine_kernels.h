// The affine warp's per-row kernels (see affine_taps.h, isa.h), included by
// isa_kernels.h inside namespace datagen_gpu::DATAGEN_ISA after isa_vector.h.
// GCC vector extensions: kVecD float64 lanes for the taps (AVX2: 4, SSE2: 2),
// kVec float32 lanes for the blend. Every lane does what the scalar code of
// csrc/affine.cpp does for one pixel, with the same IEEE operations in the
// same order (no FMA), so every ISA gives the same results bit for bit.
//
// The taps skip the reference's clamp of x and y to [-2, size + 1]: it changes
// no pixel's class (a clamped value stays outside, an unclamped one inside or
// in the border band is untouched) and the classes are all that is used of a
// pixel outside the inner interval; NaN compares false (outside), and values
// beyond 2^51, where the rounding trick fails, are outside either way.
//
// Along a row the evaluated x and y are monotone in j (each rounding step is
// monotone; a non-finite coefficient makes the whole row NaN or infinite, i.e.
// outside), so each class (inside / inner / touched) is one interval; the
// kernels count its pixels so that the caller can check it.

constexpr int kVecD = kVec / 2;
typedef double DV __attribute__((vector_size(kVecD * sizeof(double))));
typedef int64_t LV __attribute__((vector_size(kVecD * sizeof(int64_t))));
typedef float FH __attribute__((vector_size(kVecD * sizeof(float))));
typedef int64_t LVu __attribute__((vector_size(kVecD * sizeof(int64_t)), aligned(4)));
typedef float FHu __attribute__((vector_size(kVecD * sizeof(float)), aligned(4)));
typedef int32_t IVu __attribute__((vector_size(kVec * sizeof(int32_t)), aligned(4)));

inline DV dsplat(double x) { return DV{} + x; }

// 1.5 * 2^52: (v + K) - K is v rounded half to even for |v| < 2^51, and the
// bits of v + K minus those of K are that integer as int64.
constexpr double kAffineMagic = 6755399441055744.0;

// The source coordinates of the lanes jd of a row (see AffineRow), unclamped.
struct RowLanes {
  DV m0, ci, m2, m3, di, m5;
  explicit RowLanes(const AffineRow& r)
      : m0(dsplat(r.m0)), ci(dsplat(r.ci)), m2(dsplat(r.m2)), m3(dsplat(r.m3)),
        di(dsplat(r.di)), m5(dsplat(r.m5)) {}
  DV x(DV jd) const { return m0 * jd + ci + m2; }  // (m0 j + ci) + m2
  DV y(DV jd) const { return m3 * jd + di + m5; }
};

inline DV lane_iota() {
  DV v;
  for (int k = 0; k < kVecD; ++k) v[k] = static_cast<double>(k);
  return v;
}

// The lanes' count of a mask, less the lanes from W on (the padding past the row).
inline int64_t count_lanes(LV n, const int64_t* o, int64_t W, int64_t end, int64_t floor_value) {
  int64_t s = 0;
  for (int k = 0; k < kVecD; ++k) s -= n[k];
  for (int64_t j = W; j < end; ++j) s -= o[j] >= floor_value;
  return s;
}

int64_t affine_nearest_taps(const AffineRow& r, int64_t* __restrict o) {
  const RowLanes L(r);
  const DV K = dsplat(kAffineMagic), zero = DV{}, none = dsplat(-1.0);
  const LV kbits = (LV)K;
  const DV wmax = dsplat(static_cast<double>(r.W - 1)), hmax = dsplat(static_cast<double>(r.H - 1));
  const DV sH = dsplat(static_cast<double>(r.sH)), sW = dsplat(static_cast<double>(r.sW));
  const DV step = dsplat(kVecD);
  DV jd = lane_iota();
  LV count = {};
  int64_t j = 0;
  for (; j < r.W; j += kVecD, jd += step) {
    const DV rx = (L.x(jd) + K) - K, ry = (L.y(jd) + K) - K;  // round half to even
    const LV in = (rx >= zero) & (rx <= wmax) & (ry >= zero) & (ry <= hmax);
    const DV off = in ? ry * sH + rx * sW : none;  // exact: integers below 2^51
    *reinterpret_cast<LVu*>(o + j) = (LV)(off + K) - kbits;
    count += in;
  }
  return count_lanes(count, o, r.W, j, 0);
}

void affine_bilinear_taps(const AffineRow& r, const BilinearTaps& t, int64_t* counts) {
  const RowLanes L(r);
  const DV K = dsplat(kAffineMagic), zero = DV{}, one = dsplat(1.0), m1 = dsplat(-1.0);
  const LV kbits = (LV)K;
  const DV wmax = dsplat(static_cast<double>(r.W - 1)), hmax = dsplat(static_cast<double>(r.H - 1));
  const DV wlast = wmax - one, hlast = hmax - one;
  const DV sH = dsplat(static_cast<double>(r.sH)), sW = dsplat(static_cast<double>(r.sW));
  const DV step = dsplat(kVecD);
  DV jd = lane_iota();
  LV n_inner = {}, n_touch = {};
  int64_t j = 0;
  for (; j < r.W; j += kVecD, jd += step) {
    const DV x = L.x(jd), y = L.y(jd);
    const DV rx = (x + K) - K, ry = (y + K) - K;
    const DV x0 = rx > x ? rx - one : rx;  // floor
    const DV y0 = ry > y ? ry - one : ry;
    const DV fx = x - x0, fy = y - y0;
    const LV inner = (x0 >= zero) & (x0 <= wlast) & (y0 >= zero) & (y0 <= hlast);
    const LV touch = (x0 >= m1) & (x0 <= wmax) & (y0 >= m1) & (y0 <= hmax);
    const DV off = inner ? y0 * sH + x0 * sW : (touch ? m1 : dsplat(-2.0));
    *reinterpret_cast<LVu*>(t.o + j) = (LV)(off + K) - kbits;
    const FH wx0 = __builtin_convertvector(one - fx, FH), wx1 = __builtin_convertvector(fx, FH);
    const FH wy0 = __builtin_convertvector(one - fy, FH), wy1 = __builtin_convertvector(fy, FH);
    *reinterpret_cast<FHu*>(t.wx0 + j) = wx0;
    *reinterpret_cast<FHu*>(t.wx1 + j) = wx1;
    *reinterpret_cast<FHu*>(t.wy0 + j) = wy0;
    *reinterpret_cast<FHu*>(t.wy1 + j) = wy1;
    *reinterpret_cast<FHu*>(t.mask + j) = (wx0 + wx1) * (wy0 + wy1);
    n_inner += inner;
    n_touch += touch;
  }
  counts[0] = count_lanes(n_inner, t.o, r.W, j, 0);
  counts[1] = count_lanes(n_touch, t.o, r.W, j, -1);
}

template <typename V>
inline V load_lanes(const float* p);
template <>
inline float load_lanes<float>(const float* p) { return *p; }
template <>
inline FV load_lanes<FV>(const float* p) { return loadv(p); }

// The inner bilinear formula (affine.cpp) on one lane or kVec of them.
template <typename V>
inline V bilinear_lane(const BilinearTaps& t, int64_t j, V v00, V v01, V v10, V v11, float fill,
                       bool no_fill) {
  const V wx0 = load_lanes<V>(t.wx0 + j), wx1 = load_lanes<V>(t.wx1 + j);
  const V s = load_lanes<V>(t.wy0 + j) * (wx0 * v00 + wx1 * v01) +
              load_lanes<V>(t.wy1 + j) * (wx0 * v10 + wx1 * v11);
  if (no_fill) return s;
  const V mask = load_lanes<V>(t.mask + j);
  return s * mask + splat<V>(fill) * (splat<V>(1.0f) - mask);
}

inline float u8_lane(uint32_t v, int shift) {
  return static_cast<float>((v >> shift) & 255u) * (1.0f / 255.0f);
}
inline FV u8_lane(IV v, int shift) {
  return __builtin_convertvector((v >> shift) & 255, FV) * (FV{} + 1.0f / 255.0f);
}

void affine_blend_u8(const BilinearTaps& t, const uint32_t* __restrict v, int64_t lo, int64_t hi,
                     float fill, float* __restrict out) {
  const bool no_fill = fill != fill;
  int64_t j = lo;
  for (; j + kVec <= hi; j += kVec) {
    const IV q = *reinterpret_cast<const IVu*>(v + j);
    storev(out + j, bilinear_lane<FV>(t, j, u8_lane(q, 0), u8_lane(q, 8), u8_lane(q, 16),
                                      u8_lane(q, 24), fill, no_fill));
  }
  for (; j < hi; ++j) {
    const uint32_t q = v[j];
    out[j] = bilinear_lane<float>(t, j, u8_lane(q, 0), u8_lane(q, 8), u8_lane(q, 16),
                                  u8_lane(q, 24), fill, no_fill);
  }
}

void affine_blend(const BilinearTaps& t, const float* const* v, int64_t lo, int64_t hi, float fill,
                  float* __restrict out) {
  const bool no_fill = fill != fill;
  const float *__restrict v00 = v[0], *__restrict v01 = v[1];
  const float *__restrict v10 = v[2], *__restrict v11 = v[3];
  int64_t j = lo;
  for (; j + kVec <= hi; j += kVec) {
    storev(out + j, bilinear_lane<FV>(t, j, loadv(v00 + j), loadv(v01 + j), loadv(v10 + j),
                                      loadv(v11 + j), fill, no_fill));
  }
  for (; j < hi; ++j) out[j] = bilinear_lane<float>(t, j, v00[j], v01[j], v10[j], v11[j], fill, no_fill);
}
