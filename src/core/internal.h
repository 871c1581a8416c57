/* Internal helpers shared by the library's modules; not installed. */
#ifndef EVSNN_CORE_INTERNAL_H
#define EVSNN_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/error.h"

/* Records a detail line for evsnn_error_detail() and returns err, so that a
 * failure reads `return evsnn__fail(EVSNN_ETRUNC, "%s: ...", path);`. */
int evsnn__fail(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void evsnn__clear_detail(void);

/* 64-byte aligned, zeroed allocation (the SIMD kernels need the alignment);
 * free with evsnn__free_aligned. NULL on overflow or exhaustion. */
void *evsnn__alloc_aligned(size_t count, size_t size);
void evsnn__free_aligned(void *p);

/* Floats in one column padded to a whole number of 64-byte lines. */
static inline size_t evsnn__pad16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Little-endian loads and stores, whatever the host. */
static inline uint16_t evsnn__le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t evsnn__le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t evsnn__le64(const uint8_t *p) {
  return (uint64_t)evsnn__le32(p) | (uint64_t)evsnn__le32(p + 4) << 32;
}
static inline uint32_t evsnn__be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void evsnn__put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void evsnn__put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void evsnn__put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Monotonic wall-clock seconds, for progress lines and benchmarks. */
double evsnn__now(void);

/* Asks OpenBLAS (when it is the CBLAS linked) for one thread: the dense
 * engines run one per worker, parallel across samples (src/engine/dense.c). */
void evsnn__blas_one_thread(void);

#endif
