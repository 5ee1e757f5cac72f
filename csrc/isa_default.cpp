// The row kernels for the baseline ISA (SSE2 on x86-64); see isa.h.
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "counter.h"  // before any target pragma (see isa_kernels.h)
#include "isa.h"

#define DATAGEN_ISA isa_default
#include "isa_kernels.h"
