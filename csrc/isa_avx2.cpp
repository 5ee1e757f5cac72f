// The row kernels for AVX2 (x86-64 only); see isa.h. Picked at
// run time when the CPU has AVX2, so the build itself needs no -mavx2.
// "avx2" without "fma": no multiply-add contraction, so the results equal
// the baseline build's bit for bit.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "counter.h"  // before any target pragma (see isa_kernels.h)
#include "isa.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#define DATAGEN_ISA isa_avx2
#define DATAGEN_ISA_AVX2 1
#include "isa_kernels.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
