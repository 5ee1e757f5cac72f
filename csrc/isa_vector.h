// Vector types and helpers of one CPU ISA, for the row kernels: included by
// isa_kernels.h inside namespace datagen_gpu::DATAGEN_ISA, so every ISA gets
// its own copies (no inline function here is shared between the ISA files).
//
// FV is kVec floats (GCC vector extensions: one AVX2 or SSE2 register), IV
// the matching int32 lanes (comparison masks). The helpers are overloaded for
// float and FV so one template serves the vector body and the scalar tail of
// a loop, with the same IEEE operations in the same order in every lane.
// vmax / vmin are a > b ? a : b / a < b ? a : b: exactly maxps / minps
// (operand order included), which GCC does not always emit for the ternary.

#if defined(DATAGEN_ISA_AVX2)
constexpr int kVec = 8;
#else
constexpr int kVec = 4;
#endif
typedef float FV __attribute__((vector_size(kVec * sizeof(float))));
typedef int32_t IV __attribute__((vector_size(kVec * sizeof(int32_t))));
typedef float FVu __attribute__((vector_size(kVec * sizeof(float)), aligned(4)));  // unaligned

inline FV loadv(const float* p) { return *reinterpret_cast<const FVu*>(p); }
inline void storev(float* p, FV v) { *reinterpret_cast<FVu*>(p) = v; }

template <typename T>
inline T splat(float x);
template <>
inline float splat<float>(float x) { return x; }
template <>
inline FV splat<FV>(float x) { return FV{} + x; }

inline float vmax(float a, float b) { return a > b ? a : b; }
inline float vmin(float a, float b) { return a < b ? a : b; }
inline float select(bool m, float a, float b) { return m ? a : b; }
inline FV select(IV m, FV a, FV b) { return m ? a : b; }

#if defined(DATAGEN_ISA_AVX2)
inline FV vmax(FV a, FV b) { return _mm256_max_ps(a, b); }
inline FV vmin(FV a, FV b) { return _mm256_min_ps(a, b); }
#elif defined(__SSE2__)
inline FV vmax(FV a, FV b) { return _mm_max_ps(a, b); }
inline FV vmin(FV a, FV b) { return _mm_min_ps(a, b); }
#else
inline FV vmax(FV a, FV b) { return a > b ? a : b; }
inline FV vmin(FV a, FV b) { return a < b ? a : b; }
#endif

// float -> int32 -> float truncation of non-negative values (floor).
inline float trunc_nonneg(float x) { return static_cast<float>(static_cast<int32_t>(x)); }
inline FV trunc_nonneg(FV x) { return __builtin_convertvector(__builtin_convertvector(x, IV), FV); }

// kVec uint8 levels <-> int32 lanes (q in 0..255 on store: the signed packs are exact).
#if defined(DATAGEN_ISA_AVX2)
inline IV load_levels(const uint8_t* p) {
  return IV(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline void store_levels(uint8_t* p, IV q) {
  const __m256i v = __m256i(q);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(w, w));
}
#elif defined(__SSE2__)
inline IV load_levels(const uint8_t* p) {
  int32_t w;
  __builtin_memcpy(&w, p, 4);
  const __m128i z = _mm_setzero_si128();
  return IV(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), z), z));
}
inline void store_levels(uint8_t* p, IV q) {
  const __m128i w = _mm_packs_epi32(__m128i(q), __m128i(q));
  const int32_t b = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
  __builtin_memcpy(p, &b, 4);
}
#else
inline IV load_levels(const uint8_t* p) {
  IV v;
  for (int j = 0; j < kVec; ++j) v[j] = p[j];
  return v;
}
inline void store_levels(uint8_t* p, IV q) {
  for (int j = 0; j < kVec; ++j) p[j] = static_cast<uint8_t>(q[j]);
}
#endif
