/* The scalar kernels: the reference every SIMD variant is tested against,
 * and the fallback on CPUs without AVX2. Written plainly on purpose. */
#include <math.h>

#include "core/internal.h"
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

static void scale_scalar(float *v, size_t n, float a) {
  for (size_t i = 0; i < n; i++) v[i] *= a;
}

static uint32_t fire_scalar(float *v, size_t n, float s, uint32_t *out) {
  uint32_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] >= s) {
      out[k++] = (uint32_t)i;
      v[i] = 0.0f;
    }
  return k;
}

static void surrogate_scalar(float *fp, const float *v, size_t n, float s, float cutoff) {
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(v[i] - s);
    fp[i] = d > cutoff ? 0.0f : expf(-d);
  }
  for (size_t i = n; i < evsnn__pad16(n); i++) fp[i] = 0.0f;
}

static void coldot_steps_scalar(float *Y, size_t ldy, const float *W, size_t ld, size_t ncols, const float *X,
                                size_t ldx, size_t T, size_t n) {
  for (size_t k = 0; k < T; k++) coldot_scalar(Y + k * ldy, W, ld, ncols, X + k * ldx, n);
}

static void adam_scalar(float *p, float *m, float *v, const float *g, size_t n, float b1, float b2, float step,
                        float eps) {
  for (size_t i = 0; i < n; i++) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    p[i] -= step * m[i] / (sqrtf(v[i]) + eps);
  }
}

static void runadd_scalar(float *v, const float *w, size_t n, float a) {
  if (a == 1.0f)
    for (size_t i = 0; i < n; i++) v[i] += w[i];
  else
    for (size_t i = 0; i < n; i++) v[i] += a * w[i];
}

static float rundot_scalar(const float *w, const float *x, size_t n) {
  float acc = 0.0f;
  for (size_t i = 0; i < n; i++) acc += w[i] * x[i];
  return acc;
}

const evsnn_kernels_t evsnn__kernels_scalar = {
    "scalar",     colsum_scalar, colscatter_scalar, coldot_scalar,       scale_scalar,
    fire_scalar, surrogate_scalar, coldot_steps_scalar, adam_scalar, runadd_scalar, rundot_scalar,
};
