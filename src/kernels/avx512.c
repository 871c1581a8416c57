/* AVX-512 kernels. Columns are padded to 16 floats and 64-byte aligned
 * (see evsnn/kernels.h), so there is no scalar tail: the padding lanes of v
 * and dW hold zeros plus zero-padded weights and stay harmless. */
#include "kernels/kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))

TARGET static void colsum_avx512(float *v, const float *W, size_t ld, const uint32_t *idx,
                                 size_t nidx, size_t n) {
  size_t nb = (n + 15) / 16;
  for (size_t k = 0; k < nidx; k++) {
    const float *w = W + (size_t)idx[k] * ld;
    for (size_t b = 0; b < nb; b++)
      _mm512_store_ps(v + 16 * b, _mm512_add_ps(_mm512_load_ps(v + 16 * b), _mm512_load_ps(w + 16 * b)));
  }
}

TARGET static void colscatter_avx512(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                                     const float *x, size_t n) {
  size_t nb = (n + 15) / 16;
  for (size_t k = 0; k < nidx; k++) {
    float *d = dW + (size_t)idx[k] * ld;
    for (size_t b = 0; b < nb; b++)
      _mm512_store_ps(d + 16 * b, _mm512_add_ps(_mm512_load_ps(d + 16 * b), _mm512_load_ps(x + 16 * b)));
  }
}

TARGET static void coldot_avx512(float *y, const float *W, size_t ld, size_t ncols, const float *x,
                                 size_t n) {
  size_t nb = (n + 15) / 16;
  for (size_t j = 0; j < ncols; j++) {
    const float *w = W + j * ld;
    __m512 acc = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++)
      acc = _mm512_fmadd_ps(_mm512_load_ps(w + 16 * b), _mm512_load_ps(x + 16 * b), acc);
    y[j] = _mm512_reduce_add_ps(acc);
  }
}

const evsnn_kernels_t evsnn__kernels_avx512 = {
    "avx512", colsum_avx512, colscatter_avx512, coldot_avx512,
};
#endif
