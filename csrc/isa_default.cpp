// The color row kernels for the baseline ISA (SSE2 on x86-64); see isa.h.
#include "isa.h"

#define DATAGEN_ISA isa_default
#include "isa_kernels.h"
