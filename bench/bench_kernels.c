/* bench_kernels: throughput of the hot kernels on the paper's layer
 * shapes, for every kernel variant this CPU runs, in G floats/s (floats of
 * W or dW touched per second), median of several repetitions, with each
 * variant's ratio to scalar measured in the same run. Each variant is checked
 * against scalar before it is timed. Run by `make bench-kernels`.
 *
 * usage: bench_kernels [reps (default 9)] [ms per rep (default 30)] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "evsnn/rng.h"

#define NSETS 64 /* distinct random spike sets, cycled through while timing */

typedef struct {
  const char *name;
  size_t nin, nout, nidx; /* presynaptic, postsynaptic, spikes per call */
} shape_t;

static const shape_t shapes[] = {
    {"784->300", 784, 300, 100},
    {"300->300", 300, 300, 70},
    {"300->10", 300, 10, 70},
};

#define STEPS 20 /* coldot_steps: the paper's training T */

typedef struct {
  size_t n, ld, ncols, nidx;
  float *W, *dW, *v, *x, *y;
  float *X, *Y;  /* STEPS rows of x; STEPS rows of y (ld pad16(ncols)) */
  float *m, *s;  /* Adam moments over W's cells */
  uint32_t *idx; /* NSETS sets of nidx indices */
} bufs_t;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xalloc(size_t count) {
  void *p = evsnn__alloc_aligned(count, sizeof(float));
  if (!p) { fprintf(stderr, "bench_kernels: out of memory\n"); exit(1); }
  return p;
}

enum { COLSUM, COLSCATTER, COLDOT, COLDOT_STEPS, SURROGATE, ADAM, NOPS };
static const char *opname[NOPS] = {"colsum", "colscatter", "coldot", "coldot_steps", "surrogate", "adam"};

/* One call of operation op with spike set s. Returns floats touched. */
static double run(const evsnn_kernels_t *k, int op, bufs_t *b, size_t s) {
  const uint32_t *idx = b->idx + s * b->nidx;
  switch (op) {
  case COLSUM: k->colsum(b->v, b->W, b->ld, idx, b->nidx, b->n); return (double)(b->nidx * b->n);
  case COLSCATTER: k->colscatter(b->dW, b->ld, idx, b->nidx, b->x, b->n); return (double)(b->nidx * b->n);
  case COLDOT: k->coldot(b->y, b->W, b->ld, b->ncols, b->x, b->n); return (double)(b->ncols * b->n);
  case COLDOT_STEPS:
    k->coldot_steps(b->Y, evsnn__pad16(b->ncols), b->W, b->ld, b->ncols, b->X, b->ld, STEPS, b->n);
    return (double)(STEPS * b->ncols * b->n);
  case SURROGATE: k->surrogate(b->y, b->v, b->n, 0.5f, INFINITY); return (double)b->n;
  default: /* tiny gradients, so repeated steps leave W about where it was */
    k->adam(b->dW, b->m, b->s, b->W, b->ld * b->ncols, 0.9f, 0.999f, 1e-9f, 1e-8f);
    return (double)(b->ld * b->ncols);
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median over reps of G floats/s, each rep running for about ms. */
static double measure(const evsnn_kernels_t *k, int op, bufs_t *b, int reps, double ms) {
  double g[64];
  for (int i = 0; i < 8; i++) run(k, op, b, (size_t)i % NSETS); /* warm up */
  for (int r = 0; r < reps; r++) {
    double floats = 0, t0 = now(), t;
    size_t s = 0;
    do {
      for (int i = 0; i < 16; i++, s++) floats += run(k, op, b, s % NSETS);
    } while ((t = now()) - t0 < ms * 1e-3);
    g[r] = floats / (t - t0) * 1e-9;
  }
  qsort(g, (size_t)reps, sizeof g[0], cmp);
  return g[reps / 2];
}

/* |a - b| <= 1e-5 * (|a| + |b|) + 1e-6 elementwise: a reordered sum. */
static int close_all(const float *a, const float *b, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!(fabsf(a[i] - b[i]) <= 1e-5f * (fabsf(a[i]) + fabsf(b[i])) + 1e-6f)) return 0;
  return 1;
}

/* Variant k against scalar on spike set 0 for all three operations. */
static int verify(const evsnn_kernels_t *k, bufs_t *b) {
  const evsnn_kernels_t *ref = evsnn_kernels_scalar();
  size_t cells = b->ld * b->ncols;
  float *ra = xalloc(cells), *rb = xalloc(cells);
  int ok = 1;
  memcpy(ra, b->v, b->ld * sizeof(float)); memcpy(rb, b->v, b->ld * sizeof(float));
  ref->colsum(ra, b->W, b->ld, b->idx, b->nidx, b->n);
  k->colsum(rb, b->W, b->ld, b->idx, b->nidx, b->n);
  ok &= close_all(ra, rb, b->ld);
  memcpy(ra, b->W, cells * sizeof(float)); memcpy(rb, b->W, cells * sizeof(float));
  ref->colscatter(ra, b->ld, b->idx, b->nidx, b->x, b->n);
  k->colscatter(rb, b->ld, b->idx, b->nidx, b->x, b->n);
  ok &= close_all(ra, rb, cells);
  ref->coldot(ra, b->W, b->ld, b->ncols, b->x, b->n);
  k->coldot(rb, b->W, b->ld, b->ncols, b->x, b->n);
  ok &= close_all(ra, rb, b->ncols);
  size_t ldy = evsnn__pad16(b->ncols);
  float *ya = xalloc(ldy * STEPS), *yb = xalloc(ldy * STEPS);
  ref->coldot_steps(ya, ldy, b->W, b->ld, b->ncols, b->X, b->ld, STEPS, b->n);
  k->coldot_steps(yb, ldy, b->W, b->ld, b->ncols, b->X, b->ld, STEPS, b->n);
  ok &= close_all(ya, yb, ldy * STEPS);
  ref->surrogate(ra, b->v, b->n, 0.5f, INFINITY);
  k->surrogate(rb, b->v, b->n, 0.5f, INFINITY);
  ok &= close_all(ra, rb, b->n);
  evsnn__free_aligned(ya); evsnn__free_aligned(yb);
  evsnn__free_aligned(ra); evsnn__free_aligned(rb);
  return ok;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 9;
  double ms = argc > 2 ? atof(argv[2]) : 30.0;
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  const evsnn_kernels_t *ks[3] = {evsnn_kernels_scalar(), evsnn_kernels_avx2(), evsnn_kernels_avx512()};
  evsnn_rng_t r;
  evsnn_rng_init(&r, 2024, 0);
  printf("# G floats/s, median of %d reps x %.0f ms; (xN) = ratio to scalar in this run\n", reps, ms);
  printf("%-9s %-12s %-6s %16s %16s %16s\n", "shape", "op", "spikes", "scalar", "avx2", "avx512");
  int fail = 0;
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const shape_t *sh = &shapes[si];
    bufs_t b = {.n = sh->nout, .ld = evsnn__pad16(sh->nout), .ncols = sh->nin, .nidx = sh->nidx};
    b.W = xalloc(b.ld * b.ncols); b.dW = xalloc(b.ld * b.ncols);
    b.X = xalloc(b.ld * STEPS); b.Y = xalloc(evsnn__pad16(b.ncols) * STEPS);
    b.m = xalloc(b.ld * b.ncols); b.s = xalloc(b.ld * b.ncols);
    b.v = xalloc(b.ld); b.x = xalloc(b.ld); b.y = xalloc(b.ncols);
    b.idx = malloc(NSETS * b.nidx * sizeof *b.idx);
    if (!b.idx) return 1;
    for (size_t j = 0; j < b.ncols; j++)
      for (size_t i = 0; i < b.n; i++) b.W[j * b.ld + i] = evsnn_rng_uniform(&r) - 0.5f;
    for (size_t i = 0; i < b.n; i++) b.x[i] = 1e-3f * (evsnn_rng_uniform(&r) - 0.5f);
    for (size_t i = 0; i < b.n; i++) b.v[i] = 2.0f * evsnn_rng_uniform(&r) - 0.5f;
    for (size_t t = 0; t < STEPS; t++)
      for (size_t i = 0; i < b.n; i++) b.X[t * b.ld + i] = 1e-3f * (evsnn_rng_uniform(&r) - 0.5f);
    for (size_t i = 0; i < NSETS * b.nidx; i++) b.idx[i] = evsnn_rng_below(&r, (uint32_t)b.ncols);
    for (int vi = 1; vi < 3; vi++)
      if (ks[vi] && !verify(ks[vi], &b)) {
        fprintf(stderr, "bench_kernels: %s disagrees with scalar on %s\n", ks[vi]->name, sh->name);
        fail = 1;
      }
    for (int op = 0; op < NOPS; op++) {
      double g[3] = {0};
      char cell[3][32];
      for (int vi = 0; vi < 3; vi++) {
        if (!ks[vi]) { snprintf(cell[vi], sizeof cell[vi], "-"); continue; }
        g[vi] = measure(ks[vi], op, &b, reps, ms);
        if (vi == 0) snprintf(cell[vi], sizeof cell[vi], "%.2f", g[vi]);
        else snprintf(cell[vi], sizeof cell[vi], "%.2f (x%.1f)", g[vi], g[vi] / g[0]);
      }
      printf("%-9s %-12s %-6zu %16s %16s %16s\n", sh->name, opname[op],
             op == COLSUM || op == COLSCATTER ? b.nidx : 0, cell[0], cell[1], cell[2]);
    }
    evsnn__free_aligned(b.W); evsnn__free_aligned(b.dW); evsnn__free_aligned(b.v);
    evsnn__free_aligned(b.x); evsnn__free_aligned(b.y); free(b.idx);
    evsnn__free_aligned(b.X); evsnn__free_aligned(b.Y); evsnn__free_aligned(b.m); evsnn__free_aligned(b.s);
  }
  return fail;
}
