/* Dense projections (and recurrent ones, which are dense from a population
 * onto itself): W column-major, column j, the outgoing weights of input j,
 * contiguous and ld = pad16(n_out) floats long, so that a spike adds one
 * column (evsnn/kernels.h). The target is always touched whole. */
#include <cblas.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "net/proj.h"

static size_t dense_size(const evsnn_proj_t *p) { return (size_t)p->n_in * p->ld; }
static uint32_t dense_fan_in(const evsnn_proj_t *p) { return p->n_in; }
static uint32_t dense_fanout(const evsnn_proj_t *p, uint32_t i) { return p->n_out; }

/* Column j before row i: the draw order of version 0.1.0. */
static void dense_init(evsnn_proj_t *p, evsnn_rng_t *rng, float a) {
  for (uint32_t j = 0; j < p->n_in; j++)
    for (uint32_t i = 0; i < p->n_out; i++) p->W[(size_t)j * p->ld + i] = a * (2.0f * evsnn_rng_uniform(rng) - 1.0f);
}

static uint64_t dense_propagate(const evsnn_proj_t *p, evsnn__target_t *tgt, const uint32_t *idx, uint32_t n,
                                float a) {
  if (a == 1.0f) {
    evsnn_kernels()->colsum(tgt->v, p->W, p->ld, idx, n, p->n_out);
  } else {
    for (uint32_t s = 0; s < n; s++) {
      const float *w = p->W + (size_t)idx[s] * p->ld;
      for (uint32_t i = 0; i < p->n_out; i++) tgt->v[i] += a * w[i];
    }
  }
  return (uint64_t)n * p->n_out;
}

static void dense_input_grad(const evsnn_proj_t *p, float *g, size_t ldg, const float *delta, size_t ldd, uint32_t T,
                             float a) {
  const evsnn_kernels_t *kern = evsnn_kernels();
  if (T == 1)
    kern->coldot(g, p->W, p->ld, p->n_in, delta, p->n_out);
  else
    kern->coldot_steps(g, ldg, p->W, p->ld, p->n_in, delta, ldd, T, p->n_out);
  if (a != 1.0f)
    for (uint32_t k = 0; k < T; k++) kern->scale(g + (size_t)k * ldg, p->n_in, a);
}

/* dW += sum_k delta[k] b[k]^T over the presynaptic spikes only. The spike
 * lists are first regrouped by input (a counting sort), so that each
 * touched column of dW is read and written once, with the delta rows of all
 * the steps it spiked in summed in registers: colsum with the delta rows as
 * the columns. */
static void dense_weight_grad(const evsnn_proj_t *p, float *dW, const float *delta, size_t ldd, const uint32_t *idx,
                              const uint32_t *start, uint32_t T, float a, uint32_t *scratch) {
  uint32_t *first = scratch, *steps = scratch + p->n_in + 1;
  memset(first, 0, sizeof(uint32_t) * (p->n_in + 1));
  for (uint32_t s = 0; s < start[T]; s++) first[idx[s] + 1]++;
  for (uint32_t j = 0; j < p->n_in; j++) first[j + 1] += first[j];
  /* first[j] is now where input j's steps go; advancing it while filling
   * leaves first[j] at the start of input j + 1's. */
  for (uint32_t k = 0; k < T; k++)
    for (uint32_t s = start[k]; s < start[k + 1]; s++) steps[first[idx[s]]++] = k;
  const evsnn_kernels_t *kern = evsnn_kernels();
  for (uint32_t j = 0, begin = 0; j < p->n_in; begin = first[j++]) {
    float *col = dW + (size_t)j * p->ld;
    if (a == 1.0f) {
      if (first[j] > begin) kern->colsum(col, delta, ldd, steps + begin, first[j] - begin, p->n_out);
    } else {
      for (uint32_t s = begin; s < first[j]; s++)
        for (uint32_t i = 0; i < p->n_out; i++) col[i] += a * delta[(size_t)steps[s] * ldd + i];
    }
  }
}

static void dense_propagate_dense(const evsnn_proj_t *p, float *v, const float *b, float a, float *scratch) {
  cblas_sgemv(CblasColMajor, CblasNoTrans, (int)p->n_out, (int)p->n_in, a, p->W, (int)p->ld, b, 1, 1.0f, v, 1);
}

static void dense_input_grad_dense(const evsnn_proj_t *p, float *g, const float *delta, float a, float *scratch) {
  cblas_sgemv(CblasColMajor, CblasTrans, (int)p->n_out, (int)p->n_in, a, p->W, (int)p->ld, delta, 1, 0.0f, g, 1);
}

static void dense_weight_grad_dense(const evsnn_proj_t *p, float *dW, const float *delta, const float *b, float a,
                                    float *scratch) {
  cblas_sger(CblasColMajor, (int)p->n_out, (int)p->n_in, a, delta, 1, b, 1, dW, (int)p->ld);
}

static size_t dense_dense_scratch(const evsnn_proj_t *p) { return 0; }
static uint64_t dense_macs(const evsnn_proj_t *p) { return (uint64_t)p->n_in * p->n_out; }

const evsnn_proj_ops_t evsnn__proj_dense = {
    .name = "dense",
    .size = dense_size,
    .init = dense_init,
    .fan_in = dense_fan_in,
    .fanout = dense_fanout,
    .propagate = dense_propagate,
    .input_grad = dense_input_grad,
    .weight_grad = dense_weight_grad,
    .propagate_dense = dense_propagate_dense,
    .input_grad_dense = dense_input_grad_dense,
    .weight_grad_dense = dense_weight_grad_dense,
    .dense_scratch = dense_dense_scratch,
    .dense_macs = dense_macs,
};
