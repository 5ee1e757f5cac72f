// The affine warp's per-row kernels (see affine_taps.h, isa.h), included by
// isa_kernels.h inside namespace datagen_gpu::DATAGEN_ISA after isa_vector.h.
// GCC vector extensions: kVecD float64 lanes for the taps (AVX2: 4, SSE2: 2),
// kVec float32 lanes for the blend. Every lane does what the scalar code of
// csrc/affine.cpp does for one pixel, with the same IEEE operations in the
// same order (no FMA), so every ISA gives the same results bit for bit. The
// taps are only asked for pixels whose source is inside the image (found by
// affine_rows.h), so they need no clamps or bounds checks.

constexpr int kVecD = kVec / 2;
typedef double DV __attribute__((vector_size(kVecD * sizeof(double))));
typedef int64_t LV __attribute__((vector_size(kVecD * sizeof(int64_t))));
typedef float FH __attribute__((vector_size(kVecD * sizeof(float))));
typedef int64_t LVu __attribute__((vector_size(kVecD * sizeof(int64_t)), aligned(4)));
typedef float FHu __attribute__((vector_size(kVecD * sizeof(float)), aligned(4)));
typedef int32_t IVu __attribute__((vector_size(kVec * sizeof(int32_t)), aligned(4)));

inline DV dsplat(double x) { return DV{} + x; }

// The source coordinates of the lanes jd of a row (see AffineRow), in the
// order of affine_rows.h's row_x / row_y; K = kAffineRound (affine_taps.h).
struct RowLanes {
  DV m0, ci, m2, m3, di, m5, sH, sW, K;
  LV kbits;
  explicit RowLanes(const AffineRow& r)
      : m0(dsplat(r.m0)), ci(dsplat(r.ci)), m2(dsplat(r.m2)), m3(dsplat(r.m3)),
        di(dsplat(r.di)), m5(dsplat(r.m5)), sH(dsplat(static_cast<double>(r.sH))),
        sW(dsplat(static_cast<double>(r.sW))), K(dsplat(kAffineRound)), kbits((LV)K) {}
  DV x(DV jd) const { return m0 * jd + ci + m2; }  // (m0 j + ci) + m2
  DV y(DV jd) const { return m3 * jd + di + m5; }
  // The element offset of source pixel (row, col), integers in [0, 2^51): exact in
  // float64, then int64 as the bits of v + K less those of K.
  LV offset(DV row, DV col) const { return (LV)(row * sH + col * sW + K) - kbits; }
};

inline DV lane_iota(int64_t j) {
  DV v;
  for (int k = 0; k < kVecD; ++k) v[k] = static_cast<double>(j + k);
  return v;
}

void affine_nearest_taps(const AffineRow& r, int64_t lo, int64_t hi, int64_t* __restrict o) {
  const RowLanes L(r);
  const DV step = dsplat(kVecD);
  DV jd = lane_iota(lo);
  for (int64_t j = lo; j < hi; j += kVecD, jd += step) {
    const DV rx = (L.x(jd) + L.K) - L.K, ry = (L.y(jd) + L.K) - L.K;  // round half to even
    *reinterpret_cast<LVu*>(o + j) = L.offset(ry, rx);
  }
}

void affine_bilinear_taps(const AffineRow& r, int64_t lo, int64_t hi, const BilinearTaps& t) {
  const RowLanes L(r);
  const DV one = dsplat(1.0), step = dsplat(kVecD);
  DV jd = lane_iota(lo);
  for (int64_t j = lo; j < hi; j += kVecD, jd += step) {
    const DV x = L.x(jd), y = L.y(jd);
    const DV rx = (x + L.K) - L.K, ry = (y + L.K) - L.K;
    const DV x0 = rx > x ? rx - one : rx;  // floor
    const DV y0 = ry > y ? ry - one : ry;
    const DV fx = x - x0, fy = y - y0;
    *reinterpret_cast<LVu*>(t.o + j) = L.offset(y0, x0);
    const FH wx0 = __builtin_convertvector(one - fx, FH), wx1 = __builtin_convertvector(fx, FH);
    const FH wy0 = __builtin_convertvector(one - fy, FH), wy1 = __builtin_convertvector(fy, FH);
    *reinterpret_cast<FHu*>(t.wx0 + j) = wx0;
    *reinterpret_cast<FHu*>(t.wx1 + j) = wx1;
    *reinterpret_cast<FHu*>(t.wy0 + j) = wy0;
    *reinterpret_cast<FHu*>(t.wy1 + j) = wy1;
    if (t.mask != nullptr) *reinterpret_cast<FHu*>(t.mask + j) = (wx0 + wx1) * (wy0 + wy1);
  }
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

// Byte `shift / 8` of the packed neighbours as a value (level / 255).
inline float u8_lane(uint32_t v, int shift) {
  return static_cast<float>((v >> shift) & 255u) * (1.0f / 255.0f);
}
typedef uint32_t UV __attribute__((vector_size(kVec * sizeof(uint32_t))));
inline FV u8_lane(IV v, int shift) {
  const UV u = (UV)v;
  const UV level = shift == 0 ? u & 255u : shift == 24 ? u >> 24 : (u >> shift) & 255u;
  return __builtin_convertvector((IV)level, FV) * (FV{} + 1.0f / 255.0f);
}

// store_row's uint8 conversion: trunc(clamp(255 x + 0.5, 0, 255)), NaN -> 0.
inline void store_level(uint8_t* p, float x) {
  const float v = vmin(vmax(x * 255.0f + 0.5f, 0.0f), 255.0f);
  *p = static_cast<uint8_t>(static_cast<int32_t>(v));
}
inline void store_level(uint8_t* p, FV x) {
  store_levels(p, __builtin_convertvector(vmin(vmax(x * 255.0f + 0.5f, FV{}), FV{} + 255.0f), IV));
}
inline void store_level(float* p, float x) { *p = x; }
inline void store_level(float* p, FV x) { storev(p, x); }

template <typename Out>
void blend_u8(const BilinearTaps& t, const uint32_t* __restrict v, int64_t lo, int64_t hi,
              float fill, Out* __restrict out) {
  const bool no_fill = fill != fill;
  int64_t j = lo;
  for (; j + kVec <= hi; j += kVec) {
    const IV q = *reinterpret_cast<const IVu*>(v + j);
    store_level(out + j, bilinear_lane<FV>(t, j, u8_lane(q, 0), u8_lane(q, 8), u8_lane(q, 16),
                                           u8_lane(q, 24), fill, no_fill));
  }
  for (; j < hi; ++j) {
    const uint32_t q = v[j];
    store_level(out + j, bilinear_lane<float>(t, j, u8_lane(q, 0), u8_lane(q, 8), u8_lane(q, 16),
                                              u8_lane(q, 24), fill, no_fill));
  }
}

void affine_blend_u8(const BilinearTaps& t, const uint32_t* v, int64_t lo, int64_t hi, float fill,
                     float* out, uint8_t* out_u8) {
  if (out_u8 != nullptr) {
    blend_u8(t, v, lo, hi, fill, out_u8);
  } else {
    blend_u8(t, v, lo, hi, fill, out);
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
  for (; j < hi; ++j) {
    out[j] = bilinear_lane<float>(t, j, v00[j], v01[j], v10[j], v11[j], fill, no_fill);
  }
}
