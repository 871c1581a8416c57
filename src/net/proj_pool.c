/* Pooling, sum or average, k x k windows every `stride` pixels, no
 * padding: the pooled map of a C x H x W source is C x Ho x Wo with
 * Ho = (H - k) / stride + 1, numbered channels last whatever the source's
 * numbering (evsnn/net.h). In the event engine pooling is a remapping of
 * spike lists, since the next operation is linear: a spike at (c, y, x)
 * becomes one spike at every pooled (c, oy, ox) whose window holds it,
 * and a pooled count of n is n deliveries (times 1/k^2 when averaging).
 * Any projection may pool its source first; the POOL kind is pooling
 * straight into a population of neurons, one weight-free input each. */
#include <string.h>

#include "net/proj.h"

/* The pooled coordinates whose windows hold i: [lo, hi], given n_o of them. */
static void windows(uint32_t i, const evsnn_proj_t *p, uint32_t n_o, uint32_t *lo, uint32_t *hi) {
  *lo = i + 1 > p->pool_k ? (i + 1 - p->pool_k + p->pool_stride - 1) / p->pool_stride : 0;
  *hi = i / p->pool_stride;
  if (*hi >= n_o) *hi = n_o - 1;
}

uint32_t evsnn__pool_reach(const evsnn_proj_t *p) {
  if (!p->pool_k) return 1;
  uint32_t r = (p->pool_k + p->pool_stride - 1) / p->pool_stride;
  return r * r;
}

uint32_t evsnn__pool_spikes(const evsnn_proj_t *p, const evsnn_pop_t *src, const uint32_t *idx, uint32_t n,
                            uint32_t *out) {
  if (!p->pool_k) {
    if (out != idx) memcpy(out, idx, sizeof(uint32_t) * n);
    return n;
  }
  uint32_t m = 0, C = src->c, ho = p->in_h, wo = p->in_w;
  for (uint32_t s = 0; s < n; s++) {
    uint32_t c, y, x, y0, y1, x0, x1;
    evsnn__coords(p->src == 0, idx[s], C, src->h, src->w, &c, &y, &x);
    windows(y, p, ho, &y0, &y1);
    windows(x, p, wo, &x0, &x1);
    for (uint32_t oy = y0; oy <= y1 && oy < ho; oy++)
      for (uint32_t ox = x0; ox <= x1 && ox < wo; ox++) out[m++] = (oy * wo + ox) * C + c;
  }
  return m;
}

void evsnn__pool_dense(const evsnn_proj_t *p, const evsnn_pop_t *src, const float *b_src, float *b_in) {
  if (!p->pool_k) {
    memcpy(b_in, b_src, sizeof(float) * src->n);
    return;
  }
  uint32_t C = src->c;
  for (uint32_t oy = 0; oy < p->in_h; oy++)
    for (uint32_t ox = 0; ox < p->in_w; ox++)
      for (uint32_t c = 0; c < C; c++) {
        float sum = 0.0f;
        for (uint32_t dy = 0; dy < p->pool_k; dy++)
          for (uint32_t dx = 0; dx < p->pool_k; dx++)
            sum += b_src[evsnn__at(p->src == 0, c, oy * p->pool_stride + dy, ox * p->pool_stride + dx, C, src->h, src->w)];
        b_in[(oy * p->in_w + ox) * C + c] = sum;
      }
}

void evsnn__unpool(const evsnn_proj_t *p, const evsnn_pop_t *src, const float *g_in, float *g_src) {
  if (!p->pool_k) {
    for (uint32_t i = 0; i < src->n; i++) g_src[i] += g_in[i];
    return;
  }
  uint32_t C = src->c;
  for (uint32_t oy = 0; oy < p->in_h; oy++)
    for (uint32_t ox = 0; ox < p->in_w; ox++)
      for (uint32_t c = 0; c < C; c++) {
        float g = g_in[(oy * p->in_w + ox) * C + c];
        for (uint32_t dy = 0; dy < p->pool_k; dy++)
          for (uint32_t dx = 0; dx < p->pool_k; dx++)
            g_src[evsnn__at(p->src == 0, c, oy * p->pool_stride + dy, ox * p->pool_stride + dx, C, src->h, src->w)] += g;
      }
}

/* The POOL kind: the pooled spikes are the target's inputs, weight 1. */
static size_t pool_size(const evsnn_proj_t *p) { return 0; }
static uint32_t pool_fan_in(const evsnn_proj_t *p) { return p->pool_k * p->pool_k; }
static uint32_t pool_fanout(const evsnn_proj_t *p, uint32_t i) { return 1; }
static void pool_init(evsnn_proj_t *p, evsnn_rng_t *rng, float a) {}

static uint64_t pool_propagate(const evsnn_proj_t *p, evsnn__target_t *tgt, const uint32_t *idx, uint32_t n, float a) {
  for (uint32_t s = 0; s < n; s++) {
    evsnn__touch(tgt, idx[s], 1);
    tgt->v[idx[s]] += a;
  }
  return n;
}

static void pool_input_grad(const evsnn_proj_t *p, float *g, size_t ldg, const float *delta, size_t ldd, uint32_t T,
                            float a) {
  for (uint32_t k = 0; k < T; k++)
    for (uint32_t i = 0; i < p->n_in; i++) g[(size_t)k * ldg + i] = a * delta[(size_t)k * ldd + i];
}

static void pool_weight_grad(const evsnn_proj_t *p, float *dW, const float *delta, size_t ldd, const uint32_t *idx,
                             const uint32_t *start, uint32_t T, float a, uint32_t *scratch) {}

static void pool_propagate_dense(const evsnn_proj_t *p, float *v, const float *b, float a, float *scratch) {
  for (uint32_t i = 0; i < p->n_in; i++) v[i] += a * b[i];
}

static void pool_input_grad_dense(const evsnn_proj_t *p, float *g, const float *delta, float a, float *scratch) {
  for (uint32_t i = 0; i < p->n_in; i++) g[i] = a * delta[i];
}

static void pool_weight_grad_dense(const evsnn_proj_t *p, float *dW, const float *delta, const float *b, float a,
                                   float *scratch) {}
static size_t pool_dense_scratch(const evsnn_proj_t *p) { return 0; }
static uint64_t pool_dense_macs(const evsnn_proj_t *p) { return (uint64_t)p->n_out * p->pool_k * p->pool_k; }

const evsnn_proj_ops_t evsnn__proj_pool = {
    .name = "pool",
    .size = pool_size,
    .init = pool_init,
    .fan_in = pool_fan_in,
    .fanout = pool_fanout,
    .propagate = pool_propagate,
    .input_grad = pool_input_grad,
    .weight_grad = pool_weight_grad,
    .propagate_dense = pool_propagate_dense,
    .input_grad_dense = pool_input_grad_dense,
    .weight_grad_dense = pool_weight_grad_dense,
    .dense_scratch = pool_dense_scratch,
    .dense_macs = pool_dense_macs,
};
