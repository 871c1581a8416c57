/* AVX-512 kernels. Columns are padded to 16 floats and 64-byte aligned
 * (see evsnn/kernels.h), so there is no scalar tail: the padding lanes of v
 * and dW hold zeros plus zero-padded weights and stay harmless.
 *
 * Why register blocking: a spike run touches the same n targets for every
 * incoming column, so loading and storing v per column doubles the memory
 * traffic. Instead a chunk of up to 16 zmm (256 floats) of v stays in
 * registers while all spiking columns stream through it, and is stored once.
 * n = 300 (19 blocks) runs as chunks of 16 + 2 + 1 blocks; n = 10 as one. */
#include "kernels/kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))
/* The chunk helpers take a compile-time block count B; the pragma makes GCC
 * unroll the block loops fully so acc[] lives in registers, not the stack. */
#define UNROLL _Pragma("GCC unroll 16")

/* v[0:16B] += sum of the idx columns (offset already applied to W). */
TARGET INLINE void colsum_chunk(float *v, const float *W, size_t ld, const uint32_t *idx,
                                size_t nidx, const int B) {
  __m512 acc[16];
  UNROLL for (int b = 0; b < B; b++) acc[b] = _mm512_load_ps(v + 16 * b);
  size_t k = 0;
  /* Four columns per step: their sum is added to acc[] once, so the
   * dependency chain on acc[] is a quarter as long, which matters when B is
   * small (n = 10 is one or two blocks) and the add latency would bound it. */
  for (; k + 4 <= nidx; k += 4) {
    const float *w0 = W + (size_t)idx[k] * ld, *w1 = W + (size_t)idx[k + 1] * ld;
    const float *w2 = W + (size_t)idx[k + 2] * ld, *w3 = W + (size_t)idx[k + 3] * ld;
    UNROLL for (int b = 0; b < B; b++) {
      __m512 s01 = _mm512_add_ps(_mm512_load_ps(w0 + 16 * b), _mm512_load_ps(w1 + 16 * b));
      __m512 s23 = _mm512_add_ps(_mm512_load_ps(w2 + 16 * b), _mm512_load_ps(w3 + 16 * b));
      acc[b] = _mm512_add_ps(acc[b], _mm512_add_ps(s01, s23));
    }
  }
  for (; k < nidx; k++) {
    const float *w0 = W + (size_t)idx[k] * ld;
    UNROLL for (int b = 0; b < B; b++) acc[b] = _mm512_add_ps(acc[b], _mm512_load_ps(w0 + 16 * b));
  }
  UNROLL for (int b = 0; b < B; b++) _mm512_store_ps(v + 16 * b, acc[b]);
}

TARGET static void colsum_avx512(float *v, const float *W, size_t ld, const uint32_t *idx,
                                 size_t nidx, size_t n) {
  if (nidx == 0) return;
  size_t nb = (n + 15) / 16, b = 0;
  for (; b + 16 <= nb; b += 16) colsum_chunk(v + 16 * b, W + 16 * b, ld, idx, nidx, 16);
  if (b + 8 <= nb) { colsum_chunk(v + 16 * b, W + 16 * b, ld, idx, nidx, 8); b += 8; }
  if (b + 4 <= nb) { colsum_chunk(v + 16 * b, W + 16 * b, ld, idx, nidx, 4); b += 4; }
  if (b + 2 <= nb) { colsum_chunk(v + 16 * b, W + 16 * b, ld, idx, nidx, 2); b += 2; }
  if (b < nb) colsum_chunk(v + 16 * b, W + 16 * b, ld, idx, nidx, 1);
}

/* Each idx column of dW[0:16B] += x[0:16B], with x held in registers.
 * Columns are updated one after another, so repeated indices add twice. */
TARGET INLINE void colscatter_chunk(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                                    const float *x, const int B) {
  __m512 xr[16];
  UNROLL for (int b = 0; b < B; b++) xr[b] = _mm512_load_ps(x + 16 * b);
  for (size_t k = 0; k < nidx; k++) {
    float *d = dW + (size_t)idx[k] * ld;
    UNROLL for (int b = 0; b < B; b++)
      _mm512_store_ps(d + 16 * b, _mm512_add_ps(_mm512_load_ps(d + 16 * b), xr[b]));
  }
}

TARGET static void colscatter_avx512(float *dW, size_t ld, const uint32_t *idx, size_t nidx,
                                     const float *x, size_t n) {
  if (nidx == 0) return;
  size_t nb = (n + 15) / 16, b = 0;
  for (; b + 16 <= nb; b += 16) colscatter_chunk(dW + 16 * b, ld, idx, nidx, x + 16 * b, 16);
  if (b + 8 <= nb) { colscatter_chunk(dW + 16 * b, ld, idx, nidx, x + 16 * b, 8); b += 8; }
  if (b + 4 <= nb) { colscatter_chunk(dW + 16 * b, ld, idx, nidx, x + 16 * b, 4); b += 4; }
  if (b + 2 <= nb) { colscatter_chunk(dW + 16 * b, ld, idx, nidx, x + 16 * b, 2); b += 2; }
  if (b < nb) colscatter_chunk(dW + 16 * b, ld, idx, nidx, x + 16 * b, 1);
}

/* Horizontal sums of four accumulators at once: {sum a0, .., sum a3}.
 * Cheaper than four separate reductions, which matter when n is small. */
TARGET INLINE __m128 reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  /* Each 128-bit lane now holds partial sums {a0, a1, a0, a1} and {a2, a3, a2, a3}. */
  __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23));
  __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23));
  __m512 s = _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi)); /* {a0,a1,a2,a3} x4 */
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* Eight columns at a time: eight independent FMA chains hide the FMA
 * latency, and each block of x is loaded once for all eight. */
TARGET static void coldot_avx512(float *y, const float *W, size_t ld, size_t ncols, const float *x,
                                 size_t n) {
  size_t nb = (n + 15) / 16, j = 0;
  for (; j + 8 <= ncols; j += 8) {
    const float *w = W + j * ld;
    __m512 acc[8];
    UNROLL for (int c = 0; c < 8; c++) acc[c] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
      __m512 xb = _mm512_load_ps(x + 16 * b);
      UNROLL for (int c = 0; c < 8; c++)
        acc[c] = _mm512_fmadd_ps(_mm512_load_ps(w + c * ld + 16 * b), xb, acc[c]);
    }
    _mm_storeu_ps(y + j, reduce4(acc[0], acc[1], acc[2], acc[3]));
    _mm_storeu_ps(y + j + 4, reduce4(acc[4], acc[5], acc[6], acc[7]));
  }
  for (; j < ncols; j++) {
    const float *w = W + j * ld;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      a0 = _mm512_fmadd_ps(_mm512_load_ps(w + 16 * b), _mm512_load_ps(x + 16 * b), a0);
      a1 = _mm512_fmadd_ps(_mm512_load_ps(w + 16 * b + 16), _mm512_load_ps(x + 16 * b + 16), a1);
    }
    if (b < nb) a0 = _mm512_fmadd_ps(_mm512_load_ps(w + 16 * b), _mm512_load_ps(x + 16 * b), a0);
    y[j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  }
}

TARGET static void scale_avx512(float *v, size_t n, float a) {
  __m512 va = _mm512_set1_ps(a);
  for (size_t i = 0; i < n; i += 16) _mm512_store_ps(v + i, _mm512_mul_ps(_mm512_load_ps(v + i), va));
}

/* One compare per 16 neurons; the indices of the lanes that fire are
 * compressed in a register and written with a masked store, so the cost
 * does not depend on how many spike. (vpcompressd straight to memory is
 * microcoded on Intel cores and cost more than the rest of the kernel.) */
TARGET static uint32_t fire_avx512(float *v, size_t n, float s, uint32_t *out) {
  __m512 vs = _mm512_set1_ps(s);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i sixteen = _mm512_set1_epi32(16);
  uint32_t k = 0;
  for (size_t i = 0; i < n; i += 16, idx = _mm512_add_epi32(idx, sixteen)) {
    __mmask16 valid = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 x = _mm512_load_ps(v + i);
    __mmask16 hit = _mm512_mask_cmp_ps_mask(valid, x, vs, _CMP_GE_OQ);
    if (!hit) continue;
    uint32_t c = (uint32_t)__builtin_popcount(hit);
    _mm512_mask_storeu_epi32(out + k, (__mmask16)((1u << c) - 1), _mm512_maskz_compress_epi32(hit, idx));
    _mm512_store_ps(v + i, _mm512_maskz_mov_ps((__mmask16)~hit, x));
    k += c;
  }
  return k;
}

/* exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so
 * n ln2 is exact), e^r by its degree-7 Taylor polynomial (truncation error
 * below 1e-8 relative), times 2^n by scalef. Clamped at -87, where expf is
 * still a normal float. */
TARGET INLINE __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

TARGET static void surrogate_avx512(float *fp, const float *v, size_t n, float s, float cutoff) {
  const __m512 vs = _mm512_set1_ps(s), vc = _mm512_set1_ps(cutoff);
  const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 valid = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 d = _mm512_sub_ps(_mm512_load_ps(v + i), vs);
    __m512 neg = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(d), sign)); /* -|d| (or_ps is DQ) */
    __mmask16 keep = _mm512_mask_cmp_ps_mask(valid, neg, _mm512_sub_ps(_mm512_setzero_ps(), vc), _CMP_GE_OQ);
    _mm512_store_ps(fp + i, _mm512_maskz_mov_ps(keep, exp_nonpositive(neg)));
  }
}

/* Four columns by four steps: sixteen accumulators, so each block of a W
 * column is loaded once for four steps and each block of X once for four
 * columns; W, the large operand, streams through a quarter as often. */
TARGET static void coldot_steps_avx512(float *Y, size_t ldy, const float *W, size_t ld, size_t ncols,
                                       const float *X, size_t ldx, size_t T, size_t n) {
  size_t nb = (n + 15) / 16, k = 0;
  for (; k + 4 <= T; k += 4) {
    const float *x = X + k * ldx;
    size_t j = 0;
    for (; j + 4 <= ncols; j += 4) {
      const float *w = W + j * ld;
      __m512 acc[4][4];
      UNROLL for (int c = 0; c < 4; c++) UNROLL for (int t = 0; t < 4; t++) acc[c][t] = _mm512_setzero_ps();
      for (size_t b = 0; b < nb; b++) {
        __m512 wc[4];
        UNROLL for (int c = 0; c < 4; c++) wc[c] = _mm512_load_ps(w + c * ld + 16 * b);
        UNROLL for (int t = 0; t < 4; t++) {
          __m512 xb = _mm512_load_ps(x + t * ldx + 16 * b);
          UNROLL for (int c = 0; c < 4; c++) acc[c][t] = _mm512_fmadd_ps(wc[c], xb, acc[c][t]);
        }
      }
      UNROLL for (int t = 0; t < 4; t++)
        _mm_storeu_ps(Y + (k + t) * ldy + j, reduce4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
    }
    if (j < ncols)
      for (size_t t = 0; t < 4; t++) coldot_avx512(Y + (k + t) * ldy + j, W + j * ld, ld, ncols - j, x + t * ldx, n);
  }
  for (; k < T; k++) coldot_avx512(Y + k * ldy, W, ld, ncols, X + k * ldx, n);
}

/* Parameter arrays are whole 16-float blocks (padded layers), but a slice
 * of them may end anywhere: the tail is masked. Separate multiplies and
 * adds, never FMA, keep every bit equal to the scalar twin. */
TARGET static void adam_avx512(float *p, float *m, float *v, const float *g, size_t n, float b1, float b2,
                               float step, float eps) {
  const __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2), c1 = _mm512_set1_ps(1.0f - b1);
  const __m512 c2 = _mm512_set1_ps(1.0f - b2), vstep = _mm512_set1_ps(step), veps = _mm512_set1_ps(eps);
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 gi = _mm512_maskz_loadu_ps(k, g + i);
    __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_maskz_loadu_ps(k, m + i)), _mm512_mul_ps(c1, gi));
    __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_maskz_loadu_ps(k, v + i)),
                              _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
    __m512 d = _mm512_div_ps(_mm512_mul_ps(vstep, mi), _mm512_add_ps(_mm512_sqrt_ps(vi), veps));
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
    _mm512_mask_storeu_ps(p + i, k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + i), d));
  }
}

/* A run of any length and alignment: whole vectors, then a masked tail. */
TARGET static void runadd_avx512(float *v, const float *w, size_t n, float a) {
  const __m512 va = _mm512_set1_ps(a);
  int scaled = a != 1.0f;
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 x = _mm512_maskz_loadu_ps(k, w + i);
    if (scaled) x = _mm512_mul_ps(va, x);
    _mm512_mask_storeu_ps(v + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, v + i), x));
  }
}

TARGET static float rundot_avx512(const float *w, const float *x, size_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, w + i), _mm512_maskz_loadu_ps(k, x + i)));
  }
  return _mm512_reduce_add_ps(acc);
}

const evsnn_kernels_t evsnn__kernels_avx512 = {
    "avx512",    colsum_avx512,    colscatter_avx512,   coldot_avx512, scale_avx512,
    fire_avx512, surrogate_avx512, coldot_steps_avx512, adam_avx512, runadd_avx512, rundot_avx512,
};
#endif
