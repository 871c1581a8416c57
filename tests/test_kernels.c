/* Every SIMD kernel variant against its scalar twin on random cases.
 *
 * The SIMD variants add in a different order than the scalar loop (two
 * columns at a time, several accumulators), so results are compared with a
 * relative tolerance of 1e-5 on the scale of the terms summed: |a - b| <=
 * 1e-5 * (|a| + sum of |terms|), which holds for any summation order. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "evsnn/rng.h"

#define REL 1e-5

static const evsnn_kernels_t *variant(int i) {
  return i == 0 ? evsnn_kernels_avx2() : evsnn_kernels_avx512();
}

static float *falloc(size_t count) {
  float *p = evsnn__alloc_aligned(count, sizeof(float));
  cr_assert_not_null(p);
  return p;
}

static float rnd(evsnn_rng_t *r) { return evsnn_rng_uniform(r) - 0.5f; }

/* One random case: n targets, ncols columns, nidx spike indices (repeats
 * allowed), checked for colsum, colscatter and coldot. */
static void check_case(const evsnn_kernels_t *k, evsnn_rng_t *r, size_t n, size_t ncols,
                       size_t nidx) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  size_t ld = evsnn__pad16(n);
  float *W = falloc(ld * ncols), *absW = falloc(ld * ncols);
  float *a = falloc(ld * ncols), *b = falloc(ld * ncols), *scale = falloc(ld * ncols);
  float *x = falloc(ld), *absx = falloc(ld);
  uint32_t *idx = malloc((nidx + 1) * sizeof *idx);
  cr_assert_not_null(idx);
  /* Padding lanes of W and x stay zero (alloc_aligned zeroes). */
  for (size_t j = 0; j < ncols; j++)
    for (size_t i = 0; i < n; i++) {
      W[j * ld + i] = rnd(r);
      absW[j * ld + i] = fabsf(W[j * ld + i]);
    }
  for (size_t i = 0; i < n; i++) {
    x[i] = rnd(r);
    absx[i] = fabsf(x[i]);
  }
  for (size_t t = 0; t < nidx; t++) idx[t] = evsnn_rng_below(r, (uint32_t)ncols);
  if (nidx >= 2) idx[1] = idx[0]; /* always at least one repeated index */

  /* colsum: v starts random in its n lanes, zero in the padding. */
  for (size_t i = 0; i < ld; i++) a[i] = b[i] = scale[i] = i < n ? rnd(r) : 0.0f;
  for (size_t i = 0; i < ld; i++) scale[i] = fabsf(scale[i]);
  ref->colsum(a, W, ld, idx, nidx, n);
  k->colsum(b, W, ld, idx, nidx, n);
  ref->colsum(scale, absW, ld, idx, nidx, n);
  for (size_t i = 0; i < n; i++)
    cr_assert(fabsf(a[i] - b[i]) <= REL * (fabsf(a[i]) + scale[i]),
              "%s colsum n=%zu nidx=%zu i=%zu: %g vs %g", k->name, n, nidx, i, a[i], b[i]);
  for (size_t i = n; i < ld; i++)
    cr_assert(b[i] == 0.0f, "%s colsum n=%zu: padding lane %zu = %g", k->name, n, i, b[i]);

  /* colscatter: dW starts as W, so untouched columns must stay W exactly. */
  for (size_t i = 0; i < ld * ncols; i++) a[i] = b[i] = W[i];
  for (size_t i = 0; i < ld * ncols; i++) scale[i] = absW[i];
  ref->colscatter(a, ld, idx, nidx, x, n);
  k->colscatter(b, ld, idx, nidx, x, n);
  ref->colscatter(scale, ld, idx, nidx, absx, n);
  for (size_t i = 0; i < ld * ncols; i++)
    cr_assert(fabsf(a[i] - b[i]) <= REL * (fabsf(a[i]) + scale[i]),
              "%s colscatter n=%zu nidx=%zu at %zu: %g vs %g", k->name, n, nidx, i, a[i], b[i]);
  for (size_t j = 0; j < ncols; j++)
    for (size_t i = n; i < ld; i++)
      cr_assert(b[j * ld + i] == 0.0f, "%s colscatter n=%zu: padding lane", k->name, n);

  /* coldot over every column; a canary after y catches overruns. */
  for (size_t j = 0; j <= ncols; j++) a[j] = b[j] = 12345.0f;
  ref->coldot(a, W, ld, ncols, x, n);
  k->coldot(b, W, ld, ncols, x, n);
  ref->coldot(scale, absW, ld, ncols, absx, n);
  for (size_t j = 0; j < ncols; j++)
    cr_assert(fabsf(a[j] - b[j]) <= REL * (fabsf(a[j]) + scale[j]),
              "%s coldot n=%zu ncols=%zu j=%zu: %g vs %g", k->name, n, ncols, j, a[j], b[j]);
  cr_assert(b[ncols] == 12345.0f, "%s coldot wrote past y[ncols-1]", k->name);

  free(idx);
  evsnn__free_aligned(W); evsnn__free_aligned(absW); evsnn__free_aligned(a);
  evsnn__free_aligned(b); evsnn__free_aligned(scale); evsnn__free_aligned(x);
  evsnn__free_aligned(absx);
}

Test(kernels, variants_match_scalar) {
  static const size_t sizes[] = {1,  2,  7,   8,   9,   10,  15,  16,  17,  31,  32,  33, 64,
                                 100, 127, 128, 129, 255, 256, 257, 300, 301, 511, 512, 784, 1000};
  static const size_t nidxs[] = {0, 1, 2, 3, 7, 70, 100, 250};
  evsnn_rng_t r;
  evsnn_rng_init(&r, 99, 0);
  int ran = 0;
  for (int vi = 0; vi < 2; vi++) {
    const evsnn_kernels_t *k = variant(vi);
    if (!k) continue;
    ran++;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
      for (size_t ni = 0; ni < sizeof nidxs / sizeof nidxs[0]; ni++) {
        /* ncols 1..40 covers the 8- and 4-column coldot paths and their tails. */
        size_t ncols = 1 + evsnn_rng_below(&r, 40);
        check_case(k, &r, sizes[si], ncols, nidxs[ni]);
      }
  }
  cr_log_info("%d SIMD variant(s) checked", ran);
}

/* Every size 1..1000 once, with a few spikes, for any off-by-one in chunking. */
Test(kernels, all_sizes) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, 7, 1);
  for (int vi = 0; vi < 2; vi++) {
    const evsnn_kernels_t *k = variant(vi);
    if (!k) continue;
    for (size_t n = 1; n <= 1000; n++) check_case(k, &r, n, 9, 5);
  }
}

/* The selected set is one of the three, and EVSNN_KERNELS=scalar is honoured
 * by whoever set it (this test only checks the pointer is sane). */
Test(kernels, selected_is_known) {
  const evsnn_kernels_t *k = evsnn_kernels();
  cr_assert(k == evsnn_kernels_scalar() || k == evsnn_kernels_avx2() || k == evsnn_kernels_avx512());
}

/* Leak and threshold: elementwise, so every variant must match the scalar
 * twin bit for bit, spike lists included, at every size and firing rate. */
Test(kernels, scale_and_fire_match_scalar_exactly) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  const evsnn_kernels_t *variants[] = {evsnn_kernels_avx2(), evsnn_kernels_avx512()};
  evsnn_rng_t r;
  evsnn_rng_init(&r, 123, 0);
  for (int vi = 0; vi < 2; vi++) {
    const evsnn_kernels_t *k = variants[vi];
    if (!k) continue;
    for (size_t n = 1; n <= 333; n += (n < 40 ? 1 : 17)) {
      size_t ld = evsnn__pad16(n);
      float *a = evsnn__alloc_aligned(ld, sizeof(float)), *b = evsnn__alloc_aligned(ld, sizeof(float));
      uint32_t oa[352], ob[352];
      for (int rate = 0; rate < 3; rate++) {
        for (size_t i = 0; i < n; i++) a[i] = b[i] = 2.0f * evsnn_rng_uniform(&r) - 1.0f;
        float s = rate == 0 ? 2.0f : rate == 1 ? 0.7f : -2.0f; /* none, some, all fire */
        ref->scale(a, n, 0.8187f);
        k->scale(b, n, 0.8187f);
        uint32_t na = ref->fire(a, n, s, oa), nb = k->fire(b, n, s, ob);
        cr_assert_eq(na, nb, "%s fire n=%zu s=%g", k->name, n, s);
        cr_assert(memcmp(oa, ob, sizeof(uint32_t) * na) == 0, "%s fire indices n=%zu", k->name, n);
        cr_assert(memcmp(a, b, sizeof(float) * ld) == 0, "%s potentials n=%zu", k->name, n);
        if (rate == 2) cr_assert_eq(na, n);
        for (size_t i = n; i < ld; i++) cr_assert_eq(b[i], 0.0f, "%s padding lane %zu", k->name, i);
      }
      evsnn__free_aligned(a);
      evsnn__free_aligned(b);
    }
  }
}

/* The surrogate: SIMD exp within 4e-7 relative of libm's expf over the
 * range training produces (|v - s| up to 87), zero beyond the cutoff and in
 * the padding lanes, for the same lanes as the scalar twin. */
Test(kernels, surrogate_matches_expf) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  evsnn_rng_t r;
  evsnn_rng_init(&r, 5, 5);
  for (int vi = -1; vi < 2; vi++) {
    const evsnn_kernels_t *k = vi < 0 ? ref : variant(vi);
    if (!k) continue;
    for (size_t n = 1; n <= 333; n += (n < 40 ? 1 : 23))
      for (int c = 0; c < 2; c++) {
        size_t ld = evsnn__pad16(n);
        float *v = falloc(ld), *a = falloc(ld), *b = falloc(ld);
        float s = 0.3f, cutoff = c ? 1.5f : INFINITY, span = n < 100 ? 4.0f : 180.0f;
        for (size_t i = 0; i < n; i++) v[i] = s + span * rnd(&r);
        for (size_t i = 0; i < ld; i++) a[i] = b[i] = 7.0f; /* stale values must be overwritten */
        ref->surrogate(a, v, n, s, cutoff);
        k->surrogate(b, v, n, s, cutoff);
        for (size_t i = 0; i < n; i++) {
          float d = fabsf(v[i] - s);
          if (d > cutoff) {
            cr_assert_eq(b[i], 0.0f, "%s: lane %zu beyond the cutoff", k->name, i);
          } else if (d <= 87.0f) {
            cr_assert(fabsf(b[i] - expf(-d)) <= 4e-7f * expf(-d), "%s surrogate(%g): %.9g vs expf %.9g", k->name,
                      (double)d, (double)b[i], (double)expf(-d));
          } else {
            cr_assert(b[i] >= 0.0f && b[i] < 2e-38f, "%s surrogate(%g) = %g", k->name, (double)d, (double)b[i]);
          }
          cr_assert_eq(a[i] == 0.0f, b[i] == 0.0f, "%s: lane %zu cut differently", k->name, i);
        }
        for (size_t i = n; i < ld; i++) cr_assert_eq(b[i], 0.0f, "%s: padding lane %zu", k->name, i);
        evsnn__free_aligned(v), evsnn__free_aligned(a), evsnn__free_aligned(b);
      }
  }
}

/* coldot_steps is T coldots: compared with the scalar twin for every block
 * shape (T and ncols around the 4 x 4 tiles, n around the 16-float blocks). */
Test(kernels, coldot_steps_matches_scalar) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  evsnn_rng_t r;
  evsnn_rng_init(&r, 8, 8);
  static const size_t ns[] = {1, 10, 16, 17, 300};
  for (int vi = 0; vi < 2; vi++) {
    const evsnn_kernels_t *k = variant(vi);
    if (!k) continue;
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
      for (size_t T = 1; T <= 9; T++)
        for (size_t ncols = 1; ncols <= 9; ncols++) {
          size_t n = ns[ni], ld = evsnn__pad16(n), ldy = evsnn__pad16(ncols) + 16;
          float *W = falloc(ld * ncols), *absW = falloc(ld * ncols), *X = falloc(ld * T), *absX = falloc(ld * T);
          float *a = falloc(ldy * T), *b = falloc(ldy * T), *scale = falloc(ldy * T);
          for (size_t j = 0; j < ncols; j++)
            for (size_t i = 0; i < n; i++) absW[j * ld + i] = fabsf(W[j * ld + i] = rnd(&r));
          for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < n; i++) absX[t * ld + i] = fabsf(X[t * ld + i] = rnd(&r));
          for (size_t i = 0; i < ldy * T; i++) a[i] = b[i] = 12345.0f;
          ref->coldot_steps(a, ldy, W, ld, ncols, X, ld, T, n);
          k->coldot_steps(b, ldy, W, ld, ncols, X, ld, T, n);
          ref->coldot_steps(scale, ldy, absW, ld, ncols, absX, ld, T, n);
          for (size_t t = 0; t < T; t++) {
            for (size_t j = 0; j < ncols; j++)
              cr_assert(fabsf(a[t * ldy + j] - b[t * ldy + j]) <= REL * (fabsf(a[t * ldy + j]) + scale[t * ldy + j]),
                        "%s coldot_steps n=%zu T=%zu ncols=%zu at (%zu, %zu)", k->name, n, T, ncols, t, j);
            cr_assert_eq(b[t * ldy + ncols], 12345.0f, "%s coldot_steps wrote past row %zu", k->name, t);
          }
          evsnn__free_aligned(W), evsnn__free_aligned(absW), evsnn__free_aligned(X), evsnn__free_aligned(absX);
          evsnn__free_aligned(a), evsnn__free_aligned(b), evsnn__free_aligned(scale);
        }
  }
}

/* Adam is elementwise with no FMA: every variant, bit for bit, at any
 * length (slices of the parameters end anywhere). */
Test(kernels, adam_matches_scalar_exactly) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  evsnn_rng_t r;
  evsnn_rng_init(&r, 9, 9);
  for (int vi = 0; vi < 2; vi++) {
    const evsnn_kernels_t *k = variant(vi);
    if (!k) continue;
    for (size_t n = 1; n <= 70; n++) {
      float p[2][70], m[2][70], v[2][70], g[70];
      for (size_t i = 0; i < n; i++) {
        p[0][i] = p[1][i] = rnd(&r), m[0][i] = m[1][i] = rnd(&r) * 1e-2f;
        v[0][i] = v[1][i] = fabsf(rnd(&r)) * 1e-4f, g[i] = rnd(&r) * 1e-2f;
      }
      for (int step = 0; step < 3; step++) {
        ref->adam(p[0], m[0], v[0], g, n, 0.9f, 0.999f, 1e-3f, 1e-8f);
        k->adam(p[1], m[1], v[1], g, n, 0.9f, 0.999f, 1e-3f, 1e-8f);
      }
      cr_assert(memcmp(p[0], p[1], sizeof(float) * n) == 0, "%s adam params n=%zu", k->name, n);
      cr_assert(memcmp(m[0], m[1], sizeof(float) * n) == 0 && memcmp(v[0], v[1], sizeof(float) * n) == 0,
                "%s adam moments n=%zu", k->name, n);
    }
  }
}

/* The run kernels of convolutions: any length, any alignment; runadd
 * exactly as scalar (elementwise), rundot within float tolerance. */
Test(kernels, runs_match_scalar) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar(), *ks[] = {evsnn_kernels_avx2(), evsnn_kernels_avx512()};
  evsnn_rng_t r;
  evsnn_rng_init(&r, 41, 0);
  float w[80], x[80], v[2][80];
  for (int i = 0; i < 80; i++) w[i] = 2 * evsnn_rng_uniform(&r) - 1, x[i] = 2 * evsnn_rng_uniform(&r) - 1;
  for (size_t k = 0; k < 2; k++) {
    if (!ks[k]) continue;
    for (size_t off = 0; off < 3; off++)
      for (size_t n = 0; n <= 70; n++)
        for (int scaled = 0; scaled < 2; scaled++) {
          float a = scaled ? 0.25f : 1.0f;
          for (int i = 0; i < 80; i++) v[0][i] = v[1][i] = (float)i / 7.0f;
          ref->runadd(v[0] + off, w + off, n, a);
          ks[k]->runadd(v[1] + off, w + off, n, a);
          cr_assert(memcmp(v[0], v[1], sizeof v[0]) == 0, "%s runadd off %zu n %zu a %g", ks[k]->name, off, n, a);
          float d0 = ref->rundot(w + off, x + off, n), d1 = ks[k]->rundot(w + off, x + off, n);
          cr_assert(fabsf(d0 - d1) <= 1e-5f * (1.0f + (float)n), "%s rundot off %zu n %zu: %g vs %g", ks[k]->name, off, n,
                    d0, d1);
        }
  }
}
