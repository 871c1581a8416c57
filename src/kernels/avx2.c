/* AVX2 kernels. Columns are padded to 16 floats (two 8-float vectors) and 64-byte aligned
 * (see evsnn/kernels.h), so there is no scalar tail: the padding lanes of v
 * and dW hold zeros plus zero-padded weights and stay harmless. */
#include "kernels/kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))

TARGET static void colsum_avx2(float *v, const float *W, size_t ld, const uint32_t *idx,
                                 size_t nidx, size_t n) {
  size_t nb = (n + 7) / 8;
  for (size_t k = 0; k < nidx; k++) {
    const float *w = W + (size_t)idx[k] * ld;
    for (size_t b = 0; b < nb; b++)
      _mm256_store_ps(v + 8 * b, _mm256_add_ps(_mm256_load_ps(v + 8 * b), _mm256_load_ps(w + 8 * b)));
  }
}

TARGET static void colscatter_avx2(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                                     const float *x, size_t n) {
  size_t nb = (n + 7) / 8;
  for (size_t k = 0; k < nidx; k++) {
    float *d = dW + (size_t)idx[k] * ld;
    for (size_t b = 0; b < nb; b++)
      _mm256_store_ps(d + 8 * b, _mm256_add_ps(_mm256_load_ps(d + 8 * b), _mm256_load_ps(x + 8 * b)));
  }
}

TARGET static void coldot_avx2(float *y, const float *W, size_t ld, size_t ncols, const float *x,
                                 size_t n) {
  size_t nb = (n + 7) / 8;
  for (size_t j = 0; j < ncols; j++) {
    const float *w = W + j * ld;
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++)
      acc = _mm256_fmadd_ps(_mm256_load_ps(w + 8 * b), _mm256_load_ps(x + 8 * b), acc);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    y[j] = _mm_cvtss_f32(h);
  }
}

const evsnn_kernels_t evsnn__kernels_avx2 = {
    "avx2", colsum_avx2, colscatter_avx2, coldot_avx2,
};
#endif
