// Run-time choice of the row kernels' ISA (see isa.h).
#include "isa.h"

#include <algorithm>
#include <atomic>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DATAGEN_X86_DISPATCH 1
#else
#define DATAGEN_X86_DISPATCH 0
#endif

namespace datagen_gpu {

// The variants' declarations, one namespace per ISA (defined in isa_<isa>.cpp).
#define DATAGEN_DECLARE_ISA(NS)                                                               \
  namespace NS {                                                                              \
  void apply_steps(const Plan& plan, int begin, int end, float mean, Rows& rows);             \
  float gray_sum(Rows& rows, bool quantized);                                                 \
  void fir(const float* src, int64_t step, const float* w, int64_t k, int64_t n, float* out); \
  void resample_lanes(const float* in, const int64_t* start, int64_t lo, const float* weight, \
                      int64_t taps, int64_t out_w, int64_t lanes, float* tmp);                \
  void fir_symmetric(const float* const* row, const float* wc, int64_t e, int64_t n,         \
                     float* out);                                                             \
  void interleave8(const float* const* rows, int64_t n, float* ib);                           \
  void interleave8_u8(const uint8_t* const* rows, int64_t n, float* ib);                      \
  void sharpen_u8_row(const uint8_t* above, const uint8_t* row, const uint8_t* below,        \
                      int64_t W, float k, uint8_t* out8, float* outf);                        \
  void map_levels(const uint8_t* s, uint8_t* d, int64_t n, const uint8_t* table);             \
  void affine_nearest_taps(const AffineRow& row, int64_t lo, int64_t hi, int64_t* o);         \
  void affine_bilinear_taps(const AffineRow& row, int64_t lo, int64_t hi,                     \
                            const BilinearTaps& taps);                                        \
  void affine_blend_u8(const BilinearTaps& taps, const uint32_t* v, int64_t lo, int64_t hi,   \
                       float fill, float* out, uint8_t* out_u8);                              \
  void affine_blend(const BilinearTaps& taps, const float* const* v, int64_t lo, int64_t hi,  \
                    float fill, float* out);                                                  \
  void normal_noise_row(uint32_t s, uint32_t d0, int64_t n, float* out);                      \
  }

DATAGEN_DECLARE_ISA(isa_default)
#if DATAGEN_X86_DISPATCH
DATAGEN_DECLARE_ISA(isa_avx2)
#endif

int64_t best_cpu_isa() {
#if DATAGEN_X86_DISPATCH
  static const int64_t best = __builtin_cpu_supports("avx2") ? kIsaAvx2 : kIsaDefault;
  return best;
#else
  return kIsaDefault;
#endif
}

namespace {

std::atomic<int64_t>& current_isa() {
  static std::atomic<int64_t> isa{best_cpu_isa()};
  return isa;
}

bool use_avx2() {
#if DATAGEN_X86_DISPATCH
  return current_isa().load(std::memory_order_relaxed) == kIsaAvx2;
#else
  return false;
#endif
}

}  // namespace

int64_t set_cpu_isa(int64_t level) {
  const int64_t best = best_cpu_isa();
  const int64_t isa = level < 0 ? best : std::min(level, best);
  current_isa().store(isa);
  return isa;
}

#if DATAGEN_X86_DISPATCH
#define DATAGEN_DISPATCH(FN, ...) \
  return use_avx2() ? isa_avx2::FN(__VA_ARGS__) : isa_default::FN(__VA_ARGS__)
#else
#define DATAGEN_DISPATCH(FN, ...) return isa_default::FN(__VA_ARGS__)
#endif

void apply_steps(const Plan& plan, int begin, int end, float mean, Rows& rows) {
  if (begin >= end) return;
  DATAGEN_DISPATCH(apply_steps, plan, begin, end, mean, rows);
}

float gray_sum(Rows& rows, bool quantized) { DATAGEN_DISPATCH(gray_sum, rows, quantized); }

void fir(const float* src, int64_t step, const float* w, int64_t k, int64_t n, float* out) {
  DATAGEN_DISPATCH(fir, src, step, w, k, n, out);
}

void resample_lanes(const float* in, const int64_t* start, int64_t lo, const float* weight,
                    int64_t taps, int64_t out_w, int64_t lanes, float* tmp) {
  DATAGEN_DISPATCH(resample_lanes, in, start, lo, weight, taps, out_w, lanes, tmp);
}

void fir_symmetric(const float* const* row, const float* wc, int64_t e, int64_t n, float* out) {
  DATAGEN_DISPATCH(fir_symmetric, row, wc, e, n, out);
}

void interleave8(const float* const* rows, int64_t n, float* ib) {
  DATAGEN_DISPATCH(interleave8, rows, n, ib);
}

void interleave8_u8(const uint8_t* const* rows, int64_t n, float* ib) {
  DATAGEN_DISPATCH(interleave8_u8, rows, n, ib);
}

void sharpen_u8_row(const uint8_t* above, const uint8_t* row, const uint8_t* below, int64_t W,
                    float k, uint8_t* out8, float* outf) {
  DATAGEN_DISPATCH(sharpen_u8_row, above, row, below, W, k, out8, outf);
}

void map_levels(const uint8_t* s, uint8_t* d, int64_t n, const uint8_t* table) {
  DATAGEN_DISPATCH(map_levels, s, d, n, table);
}

void affine_nearest_taps(const AffineRow& row, int64_t lo, int64_t hi, int64_t* o) {
  DATAGEN_DISPATCH(affine_nearest_taps, row, lo, hi, o);
}

void affine_bilinear_taps(const AffineRow& row, int64_t lo, int64_t hi,
                          const BilinearTaps& taps) {
  DATAGEN_DISPATCH(affine_bilinear_taps, row, lo, hi, taps);
}

void affine_blend_u8(const BilinearTaps& taps, const uint32_t* v, int64_t lo, int64_t hi,
                     float fill, float* out, uint8_t* out_u8) {
  DATAGEN_DISPATCH(affine_blend_u8, taps, v, lo, hi, fill, out, out_u8);
}

void affine_blend(const BilinearTaps& taps, const float* const* v, int64_t lo, int64_t hi,
                  float fill, float* out) {
  DATAGEN_DISPATCH(affine_blend, taps, v, lo, hi, fill, out);
}

void normal_noise_row(uint32_t s, uint32_t d0, int64_t n, float* out) {
  DATAGEN_DISPATCH(normal_noise_row, s, d0, n, out);
}

}  // namespace datagen_gpu
