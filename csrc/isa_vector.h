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
