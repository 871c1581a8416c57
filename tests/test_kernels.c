/* Every SIMD kernel variant against its scalar twin on random cases. */
#include <criterion/criterion.h>
#include <math.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "evsnn/rng.h"

static const evsnn_kernels_t *variant(int i) {
  return i == 0 ? evsnn_kernels_avx2() : evsnn_kernels_avx512();
}

Test(kernels, variants_match_scalar) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  static const size_t sizes[] = {1, 10, 15, 16, 17, 300, 301};
  evsnn_rng_t r;
  evsnn_rng_init(&r, 99, 0);
  for (int vi = 0; vi < 2; vi++) {
    const evsnn_kernels_t *k = variant(vi);
    if (!k) continue;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
      size_t n = sizes[si], ld = evsnn__pad16(n), ncols = 37;
      float *W = evsnn__alloc_aligned(ld * ncols, sizeof(float));
      float *a = evsnn__alloc_aligned(ld * ncols, sizeof(float));
      float *b = evsnn__alloc_aligned(ld * ncols, sizeof(float));
      float *x = evsnn__alloc_aligned(ld, sizeof(float));
      uint32_t idx[64];
      for (size_t j = 0; j < ncols; j++)
        for (size_t i = 0; i < n; i++) W[j * ld + i] = evsnn_rng_uniform(&r) - 0.5f;
      for (size_t i = 0; i < n; i++) x[i] = evsnn_rng_uniform(&r) - 0.5f;
      for (size_t t = 0; t < 64; t++) idx[t] = evsnn_rng_below(&r, (uint32_t)ncols);
      for (size_t nidx = 0; nidx <= 64; nidx += 21) {
        for (size_t i = 0; i < ld; i++) a[i] = b[i] = i < n ? (float)i : 0.0f;
        ref->colsum(a, W, ld, idx, nidx, n);
        k->colsum(b, W, ld, idx, nidx, n);
        for (size_t i = 0; i < n; i++) cr_assert_float_eq(a[i], b[i], 1e-4, "%s colsum n=%zu", k->name, n);
        for (size_t i = 0; i < ld * ncols; i++) a[i] = b[i] = 0.0f;
        ref->colscatter(a, ld, idx, nidx, x, n);
        k->colscatter(b, ld, idx, nidx, x, n);
        for (size_t i = 0; i < ld * ncols; i++) cr_assert_float_eq(a[i], b[i], 1e-5, "%s colscatter", k->name);
      }
      ref->coldot(a, W, ld, ncols, x, n);
      k->coldot(b, W, ld, ncols, x, n);
      for (size_t j = 0; j < ncols; j++) cr_assert_float_eq(a[j], b[j], 1e-4, "%s coldot n=%zu", k->name, n);
      evsnn__free_aligned(W); evsnn__free_aligned(a); evsnn__free_aligned(b); evsnn__free_aligned(x);
    }
  }
}
