/* Aligned allocation: every weight column, potential vector and gradient
 * starts on a 64-byte line so that the AVX-512 kernels use aligned loads. */
#include "core/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *evsnn__alloc_aligned(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  size_t bytes = (count * size + 63) & ~(size_t)63;
  if (bytes == 0) bytes = 64;
  void *p = aligned_alloc(64, bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

void evsnn__free_aligned(void *p) { free(p); }

double evsnn__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
