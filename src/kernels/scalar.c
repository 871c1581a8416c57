/* The scalar kernels: the reference every SIMD variant is tested against,
 * and the fallback on CPUs without AVX2. Written plainly on purpose. */
#include "kernels/kernels_impl.h"

static void colsum_scalar(float *v, const float *W, size_t ld, const uint32_t *idx, size_t nidx,
                          size_t n) {
  for (size_t k = 0; k < nidx; k++) {
    const float *w = W + (size_t)idx[k] * ld;
    for (size_t i = 0; i < n; i++) v[i] += w[i];
  }
}

static void colscatter_scalar(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                              const float *x, size_t n) {
  for (size_t k = 0; k < nidx; k++) {
    float *d = dW + (size_t)idx[k] * ld;
    for (size_t i = 0; i < n; i++) d[i] += x[i];
  }
}

static void coldot_scalar(float *y, const float *W, size_t ld, size_t ncols, const float *x,
                          size_t n) {
  for (size_t j = 0; j < ncols; j++) {
    const float *w = W + j * ld;
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) acc += w[i] * x[i];
    y[j] = acc;
  }
}

const evsnn_kernels_t evsnn__kernels_scalar = {
    "scalar", colsum_scalar, colscatter_scalar, coldot_scalar,
};
