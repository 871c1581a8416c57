/* AVX2 kernels. Columns are padded to 16 floats (two 8-float vectors) and
 * 64-byte aligned (see evsnn/kernels.h), so there is no scalar tail: the
 * padding lanes of v and dW hold zeros plus zero-padded weights.
 *
 * Same register blocking as avx512.c, scaled to the 16 ymm registers: a
 * chunk of up to 8 ymm (64 floats) of v or x stays in registers while all
 * spiking columns stream through it. Block counts are always even here. */
#include "core/internal.h"
#include "kernels/kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))
/* Fully unroll the block loops (B is a compile-time constant at every call)
 * so acc[] and xr[] live in registers. */
#define UNROLL _Pragma("GCC unroll 8")

/* v[0:8B] += sum of the idx columns (offset already applied to W). */
TARGET INLINE void colsum_chunk(float *v, const float *W, size_t ld, const uint32_t *idx,
                                size_t nidx, const int B) {
  __m256 acc[8];
  UNROLL for (int b = 0; b < B; b++) acc[b] = _mm256_load_ps(v + 8 * b);
  size_t k = 0;
  /* Four columns per step: their sum is added to acc[] once, so the
   * dependency chain on acc[] is a quarter as long, which matters when B is
   * small (n = 10 is one or two blocks) and the add latency would bound it. */
  for (; k + 4 <= nidx; k += 4) {
    const float *w0 = W + (size_t)idx[k] * ld, *w1 = W + (size_t)idx[k + 1] * ld;
    const float *w2 = W + (size_t)idx[k + 2] * ld, *w3 = W + (size_t)idx[k + 3] * ld;
    UNROLL for (int b = 0; b < B; b++) {
      __m256 s01 = _mm256_add_ps(_mm256_load_ps(w0 + 8 * b), _mm256_load_ps(w1 + 8 * b));
      __m256 s23 = _mm256_add_ps(_mm256_load_ps(w2 + 8 * b), _mm256_load_ps(w3 + 8 * b));
      acc[b] = _mm256_add_ps(acc[b], _mm256_add_ps(s01, s23));
    }
  }
  for (; k < nidx; k++) {
    const float *w0 = W + (size_t)idx[k] * ld;
    UNROLL for (int b = 0; b < B; b++) acc[b] = _mm256_add_ps(acc[b], _mm256_load_ps(w0 + 8 * b));
  }
  UNROLL for (int b = 0; b < B; b++) _mm256_store_ps(v + 8 * b, acc[b]);
}

TARGET static void colsum_avx2(float *v, const float *W, size_t ld, const uint32_t *idx,
                               size_t nidx, size_t n) {
  if (nidx == 0) return;
  size_t nb = (n + 15) / 16 * 2, b = 0; /* whole padded lines: nb is even */
  for (; b + 8 <= nb; b += 8) colsum_chunk(v + 8 * b, W + 8 * b, ld, idx, nidx, 8);
  if (b + 4 <= nb) { colsum_chunk(v + 8 * b, W + 8 * b, ld, idx, nidx, 4); b += 4; }
  if (b < nb) colsum_chunk(v + 8 * b, W + 8 * b, ld, idx, nidx, 2);
}

/* Each idx column of dW[0:8B] += x[0:8B], x held in registers. Columns are
 * updated one after another, so repeated indices add twice. */
TARGET INLINE void colscatter_chunk(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                                    const float *x, const int B) {
  __m256 xr[8];
  UNROLL for (int b = 0; b < B; b++) xr[b] = _mm256_load_ps(x + 8 * b);
  for (size_t k = 0; k < nidx; k++) {
    float *d = dW + (size_t)idx[k] * ld;
    UNROLL for (int b = 0; b < B; b++)
      _mm256_store_ps(d + 8 * b, _mm256_add_ps(_mm256_load_ps(d + 8 * b), xr[b]));
  }
}

TARGET static void colscatter_avx2(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                                   const float *x, size_t n) {
  if (nidx == 0) return;
  size_t nb = (n + 15) / 16 * 2, b = 0;
  for (; b + 8 <= nb; b += 8) colscatter_chunk(dW + 8 * b, ld, idx, nidx, x + 8 * b, 8);
  if (b + 4 <= nb) { colscatter_chunk(dW + 8 * b, ld, idx, nidx, x + 8 * b, 4); b += 4; }
  if (b < nb) colscatter_chunk(dW + 8 * b, ld, idx, nidx, x + 8 * b, 2);
}

/* Horizontal sums of four accumulators at once: {sum a0, .., sum a3}. */
TARGET INLINE __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  __m256 s01 = _mm256_add_ps(_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
  __m256 s23 = _mm256_add_ps(_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
  __m256d lo = _mm256_unpacklo_pd(_mm256_castps_pd(s01), _mm256_castps_pd(s23));
  __m256d hi = _mm256_unpackhi_pd(_mm256_castps_pd(s01), _mm256_castps_pd(s23));
  __m256 s = _mm256_add_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi)); /* {a0,a1,a2,a3} x2 */
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* Four columns at a time with two accumulators each: eight independent FMA
 * chains hide the FMA latency, and each x vector is loaded once for four. */
TARGET static void coldot_avx2(float *y, const float *W, size_t ld, size_t ncols, const float *x,
                               size_t n) {
  size_t nb = (n + 15) / 16 * 2, j = 0;
  for (; j + 4 <= ncols; j += 4) {
    const float *w = W + j * ld;
    __m256 a[4], c[4];
    UNROLL for (int q = 0; q < 4; q++) a[q] = c[q] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b += 2) {
      __m256 x0 = _mm256_load_ps(x + 8 * b), x1 = _mm256_load_ps(x + 8 * b + 8);
      UNROLL for (int q = 0; q < 4; q++) {
        a[q] = _mm256_fmadd_ps(_mm256_load_ps(w + q * ld + 8 * b), x0, a[q]);
        c[q] = _mm256_fmadd_ps(_mm256_load_ps(w + q * ld + 8 * b + 8), x1, c[q]);
      }
    }
    _mm_storeu_ps(y + j, reduce4(_mm256_add_ps(a[0], c[0]), _mm256_add_ps(a[1], c[1]),
                                 _mm256_add_ps(a[2], c[2]), _mm256_add_ps(a[3], c[3])));
  }
  for (; j < ncols; j++) {
    const float *w = W + j * ld;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b += 2) {
      a0 = _mm256_fmadd_ps(_mm256_load_ps(w + 8 * b), _mm256_load_ps(x + 8 * b), a0);
      a1 = _mm256_fmadd_ps(_mm256_load_ps(w + 8 * b + 8), _mm256_load_ps(x + 8 * b + 8), a1);
    }
    a0 = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    y[j] = _mm_cvtss_f32(h);
  }
}

TARGET static void scale_avx2(float *v, size_t n, float a) {
  __m256 va = _mm256_set1_ps(a);
  for (size_t i = 0; i < n; i += 8) _mm256_store_ps(v + i, _mm256_mul_ps(_mm256_load_ps(v + i), va));
}

/* AVX2 has no compress store: compare 8 lanes, then walk the set bits. */
TARGET static uint32_t fire_avx2(float *v, size_t n, float s, uint32_t *out) {
  __m256 vs = _mm256_set1_ps(s);
  uint32_t k = 0;
  for (size_t i = 0; i < n; i += 8) {
    unsigned hit = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(v + i), vs, _CMP_GE_OQ));
    if (n - i < 8) hit &= (1u << (n - i)) - 1;
    for (; hit; hit &= hit - 1) {
      unsigned b = (unsigned)__builtin_ctz(hit);
      out[k++] = (uint32_t)(i + b);
      v[i + b] = 0.0f;
    }
  }
  return k;
}

/* exp(x) for x <= 0, as in avx512.c; AVX2 has no scalef, so 2^n is built
 * in the exponent field (n >= -126 after the clamp: a normal float). */
TARGET INLINE __m256 exp_nonpositive(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

TARGET static void surrogate_avx2(float *fp, const float *v, size_t n, float s, float cutoff) {
  const __m256 vs = _mm256_set1_ps(s), mincut = _mm256_set1_ps(-cutoff);
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (size_t i = 0; i < evsnn__pad16(n); i += 8) {
    __m256 neg = _mm256_or_ps(_mm256_sub_ps(_mm256_load_ps(v + i), vs), sign); /* -|v - s| */
    __m256 keep = _mm256_cmp_ps(neg, mincut, _CMP_GE_OQ);
    __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > i ? n - i : 0)), lane);
    keep = _mm256_and_ps(keep, _mm256_castsi256_ps(in));
    _mm256_store_ps(fp + i, _mm256_and_ps(keep, exp_nonpositive(neg)));
  }
}

/* No blocked variant here yet: one coldot per step. */
TARGET static void coldot_steps_avx2(float *Y, size_t ldy, const float *W, size_t ld, size_t ncols, const float *X,
                                     size_t ldx, size_t T, size_t n) {
  for (size_t k = 0; k < T; k++) coldot_avx2(Y + k * ldy, W, ld, ncols, X + k * ldx, n);
}

/* As adam_avx512, with a scalar tail instead of masks. */
TARGET static void adam_avx2(float *p, float *m, float *v, const float *g, size_t n, float b1, float b2, float step,
                             float eps) {
  const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), c1 = _mm256_set1_ps(1.0f - b1);
  const __m256 c2 = _mm256_set1_ps(1.0f - b2), vstep = _mm256_set1_ps(step), veps = _mm256_set1_ps(eps);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 gi = _mm256_loadu_ps(g + i);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1, gi));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
    __m256 d = _mm256_div_ps(_mm256_mul_ps(vstep, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), veps));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), d));
  }
  evsnn__kernels_scalar.adam(p + i, m + i, v + i, g + i, n - i, b1, b2, step, eps);
}

/* Whole 8-float vectors, then the scalar twin for the tail. */
TARGET static void runadd_avx2(float *v, const float *w, size_t n, float a) {
  const __m256 va = _mm256_set1_ps(a);
  size_t i = 0;
  if (a == 1.0f)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(v + i, _mm256_add_ps(_mm256_loadu_ps(v + i), _mm256_loadu_ps(w + i)));
  else
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(v + i, _mm256_add_ps(_mm256_loadu_ps(v + i), _mm256_mul_ps(va, _mm256_loadu_ps(w + i))));
  evsnn__kernels_scalar.runadd(v + i, w + i, n - i, a);
}

TARGET static float rundot_avx2(const float *w, const float *x, size_t n) {
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i)));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s) + evsnn__kernels_scalar.rundot(w + i, x + i, n - i);
}

const evsnn_kernels_t evsnn__kernels_avx2 = {
    "avx2",    colsum_avx2,    colscatter_avx2,   coldot_avx2, scale_avx2,
    fire_avx2, surrogate_avx2, coldot_steps_avx2, adam_avx2, runadd_avx2, rundot_avx2,
};
#endif
