/* Run-time choice of kernel variant: the best the CPU supports, unless the
 * EVSNN_KERNELS environment variable names one (for tests and benchmarks). */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels_impl.h"

const evsnn_kernels_t *evsnn_kernels_scalar(void) { return &evsnn__kernels_scalar; }

const evsnn_kernels_t *evsnn_kernels_avx2(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &evsnn__kernels_avx2;
#endif
  return NULL;
}

const evsnn_kernels_t *evsnn_kernels_avx512(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &evsnn__kernels_avx512;
#endif
  return NULL;
}

static const evsnn_kernels_t *choose(void) {
  const char *want = getenv("EVSNN_KERNELS");
  const evsnn_kernels_t *k = NULL;
  if (want && strcmp(want, "scalar") == 0) return evsnn_kernels_scalar();
  if (want && strcmp(want, "avx2") == 0) k = evsnn_kernels_avx2();
  if (!k) k = evsnn_kernels_avx512();
  if (!k) k = evsnn_kernels_avx2();
  return k ? k : evsnn_kernels_scalar();
}

const evsnn_kernels_t *evsnn_kernels(void) {
  /* Racing first calls all compute the same pointer, so a relaxed atomic
   * store is enough. */
  static const evsnn_kernels_t *chosen;
  const evsnn_kernels_t *k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
  if (!k) {
    k = choose();
    __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
  }
  return k;
}
