/* Internal: the kernel tables each variant file defines. */
#ifndef EVSNN_KERNELS_IMPL_H
#define EVSNN_KERNELS_IMPL_H

#include "evsnn/kernels.h"

extern const evsnn_kernels_t evsnn__kernels_scalar;
#if defined(__x86_64__)
extern const evsnn_kernels_t evsnn__kernels_avx2;
extern const evsnn_kernels_t evsnn__kernels_avx512;
#endif

#endif
