/* Convolutions (conv2d: kernel k x k, stride, zero padding; dilation 1,
 * groups 1). Input and target are channels-last (evsnn/net.h), and the
 * weights are W[c_in][ky][kx][c_out] with the c_out outputs contiguous,
 * so one input spike at (c_in, y, x) adds, for every kernel tap (ky, kx)
 * that lands inside the output map, one run of C_out floats to the C_out
 * neurons of output pixel (oy, ox), where oy stride = y + pad - ky. That
 * touches k^2 C_out neurons and nothing else: the work follows the spike.
 *
 * The dense twin is im2col + sgemm: the output map is X Wm, X the
 * (output pixels) x (c_in k k) patch matrix and Wm the weights read as a
 * (c_in k k) x C_out row-major matrix. */
#include <cblas.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "net/proj.h"

static uint32_t out_h(const evsnn_proj_t *p) { return (p->in_h + 2 * p->pad - p->k) / p->stride + 1; }
static uint32_t out_w(const evsnn_proj_t *p) { return (p->in_w + 2 * p->pad - p->k) / p->stride + 1; }
static uint32_t c_out(const evsnn_proj_t *p) { return p->n_out / (out_h(p) * out_w(p)); }
/* Rows of Wm: c_in k k. */
static size_t taps(const evsnn_proj_t *p) { return (size_t)p->in_c * p->k * p->k; }

static size_t conv_size(const evsnn_proj_t *p) { return taps(p) * c_out(p); }
static uint32_t conv_fan_in(const evsnn_proj_t *p) { return (uint32_t)taps(p); }

static void conv_init(evsnn_proj_t *p, evsnn_rng_t *rng, float a) {
  size_t n = conv_size(p);
  for (size_t i = 0; i < n; i++) p->W[i] = a * (2.0f * evsnn_rng_uniform(rng) - 1.0f);
}

/* The taps t of input coordinate i that land inside an output map of n_o:
 * o stride = i + pad - t with 0 <= o < n_o and 0 <= t < k, i.e. t from
 * *t0 up to *t1 every stride (none when *t0 > *t1); o of t0 in *o0, one
 * less for each later tap. */
static inline void taps_of(uint32_t i, const evsnn_proj_t *p, uint32_t n_o, int *t0, int *t1, int *o0) {
  int ip = (int)i + (int)p->pad, s = (int)p->stride, lo = ip - (n_o - 1) * s, hi = ip < (int)p->k - 1 ? ip : (int)p->k - 1;
  if (lo < 0) lo = 0;
  if (s == 1) { /* every tap: no division (the common case) */
    *t0 = lo, *t1 = hi, *o0 = ip - lo;
    return;
  }
  lo += (ip - lo) % s; /* the first t >= lo with ip - t a multiple of the stride (ip >= lo) */
  *t0 = lo, *t1 = hi, *o0 = (ip - lo) / s;
}

/* A spike's window: the input channel of input neuron i and its taps in
 * each direction, as taps_of. */
typedef struct {
  uint32_t ci;
  int y0, y1, oy0, x0, x1, ox0;
} window_t;

static inline window_t window_of(const evsnn_proj_t *p, uint32_t i, uint32_t ho, uint32_t wo) {
  window_t w;
  uint32_t y, x;
  evsnn__coords(p->in_chw, i, p->in_c, p->in_h, p->in_w, &w.ci, &y, &x);
  taps_of(y, p, ho, &w.y0, &w.y1, &w.oy0);
  taps_of(x, p, wo, &w.x0, &w.x1, &w.ox0);
  return w;
}

static uint32_t conv_fanout(const evsnn_proj_t *p, uint32_t i) {
  window_t w = window_of(p, i, out_h(p), out_w(p));
  int ny = w.y1 >= w.y0 ? (w.y1 - w.y0) / (int)p->stride + 1 : 0, nx = w.x1 >= w.x0 ? (w.x1 - w.x0) / (int)p->stride + 1 : 0;
  return (uint32_t)(ny * nx) * c_out(p);
}

static uint64_t conv_propagate(const evsnn_proj_t *p, evsnn__target_t *tgt, const uint32_t *idx, uint32_t n,
                               float a) {
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t ho = out_h(p), wo = out_w(p), co = c_out(p), k = p->k;
  int s = (int)p->stride;
  uint64_t ops = 0;
  for (uint32_t sp = 0; sp < n; sp++) {
    window_t w = window_of(p, idx[sp], ho, wo);
    for (int ky = w.y0, oy = w.oy0; ky <= w.y1; ky += s, oy--)
      for (int kx = w.x0, ox = w.ox0; kx <= w.x1; kx += s, ox--) {
        uint32_t pix = (uint32_t)oy * wo + (uint32_t)ox, first = pix * co;
        if (evsnn__lazy(tgt) && tgt->group == co) evsnn__touch_group(tgt, pix); /* one pixel's channels: one group */
        else evsnn__touch(tgt, first, co);
        kern->runadd(tgt->v + first, p->W + (((size_t)w.ci * k + (uint32_t)ky) * k + (uint32_t)kx) * co, co, a);
        ops += co;
      }
  }
  return ops;
}

static void conv_input_grad(const evsnn_proj_t *p, float *g, size_t ldg, const float *delta, size_t ldd, uint32_t T,
                            float a) {
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t ho = out_h(p), wo = out_w(p), co = c_out(p), k = p->k;
  int s = (int)p->stride;
  for (uint32_t t = 0; t < T; t++) {
    float *gt = g + (size_t)t * ldg;
    const float *dt = delta + (size_t)t * ldd;
    for (uint32_t y = 0; y < p->in_h; y++) {
      int y0, y1, oy0;
      taps_of(y, p, ho, &y0, &y1, &oy0);
      for (uint32_t x = 0; x < p->in_w; x++) {
        int x0, x1, ox0;
        taps_of(x, p, wo, &x0, &x1, &ox0);
        for (uint32_t ci = 0; ci < p->in_c; ci++) {
          float acc = 0.0f;
          for (int ky = y0, oy = oy0; ky <= y1; ky += s, oy--)
            for (int kx = x0, ox = ox0; kx <= x1; kx += s, ox--)
              acc += kern->rundot(p->W + (((size_t)ci * k + (uint32_t)ky) * k + (uint32_t)kx) * co,
                                  dt + ((size_t)oy * wo + (uint32_t)ox) * co, co);
          gt[evsnn__at(p->in_chw, ci, y, x, p->in_c, p->in_h, p->in_w)] = a * acc;
        }
      }
    }
  }
}

static void conv_weight_grad(const evsnn_proj_t *p, float *dW, const float *delta, size_t ldd, const uint32_t *idx,
                             const uint32_t *start, uint32_t T, float a, uint32_t *scratch) {
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t ho = out_h(p), wo = out_w(p), co = c_out(p), k = p->k;
  int s = (int)p->stride;
  for (uint32_t t = 0; t < T; t++) {
    const float *dt = delta + (size_t)t * ldd;
    for (uint32_t sp = start[t]; sp < start[t + 1]; sp++) {
      window_t w = window_of(p, idx[sp], ho, wo);
      for (int ky = w.y0, oy = w.oy0; ky <= w.y1; ky += s, oy--)
        for (int kx = w.x0, ox = w.ox0; kx <= w.x1; kx += s, ox--)
          kern->runadd(dW + (((size_t)w.ci * k + (uint32_t)ky) * k + (uint32_t)kx) * co,
                       dt + ((size_t)oy * wo + (uint32_t)ox) * co, co, a);
    }
  }
}

/* X[pix][(ci k + ky) k + kx] = b at the input pixel that tap reads, 0 in
 * the padding. */
static void im2col(const evsnn_proj_t *p, const float *b, float *X) {
  uint32_t ho = out_h(p), wo = out_w(p), k = p->k;
  size_t cols = taps(p);
  for (uint32_t oy = 0; oy < ho; oy++)
    for (uint32_t ox = 0; ox < wo; ox++) {
      float *row = X + ((size_t)oy * wo + ox) * cols;
      for (uint32_t ci = 0; ci < p->in_c; ci++)
        for (uint32_t ky = 0; ky < k; ky++)
          for (uint32_t kx = 0; kx < k; kx++) {
            int y = (int)(oy * p->stride + ky) - (int)p->pad, x = (int)(ox * p->stride + kx) - (int)p->pad;
            int inside = y >= 0 && x >= 0 && y < (int)p->in_h && x < (int)p->in_w;
            row[((size_t)ci * k + ky) * k + kx] =
                inside ? b[evsnn__at(p->in_chw, ci, (uint32_t)y, (uint32_t)x, p->in_c, p->in_h, p->in_w)] : 0.0f;
          }
    }
}

static void conv_propagate_dense(const evsnn_proj_t *p, float *v, const float *b, float a, float *X) {
  int P = (int)(out_h(p) * out_w(p)), K = (int)taps(p), N = (int)c_out(p);
  im2col(p, b, X);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, N, K, a, X, K, p->W, N, 1.0f, v, N);
}

static void conv_input_grad_dense(const evsnn_proj_t *p, float *g, const float *delta, float a, float *G) {
  uint32_t ho = out_h(p), wo = out_w(p), k = p->k;
  int P = (int)(ho * wo), K = (int)taps(p), N = (int)c_out(p);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, K, N, a, delta, N, p->W, N, 0.0f, G, K);
  /* col2im: every patch entry back onto the input neuron it read. */
  memset(g, 0, sizeof(float) * p->n_in);
  for (uint32_t oy = 0; oy < ho; oy++)
    for (uint32_t ox = 0; ox < wo; ox++) {
      const float *row = G + ((size_t)oy * wo + ox) * (size_t)K;
      for (uint32_t ci = 0; ci < p->in_c; ci++)
        for (uint32_t ky = 0; ky < k; ky++)
          for (uint32_t kx = 0; kx < k; kx++) {
            int y = (int)(oy * p->stride + ky) - (int)p->pad, x = (int)(ox * p->stride + kx) - (int)p->pad;
            if (y >= 0 && x >= 0 && y < (int)p->in_h && x < (int)p->in_w)
              g[evsnn__at(p->in_chw, ci, (uint32_t)y, (uint32_t)x, p->in_c, p->in_h, p->in_w)] +=
                  row[((size_t)ci * k + ky) * k + kx];
          }
    }
}

static void conv_weight_grad_dense(const evsnn_proj_t *p, float *dW, const float *delta, const float *b, float a,
                                   float *X) {
  int P = (int)(out_h(p) * out_w(p)), K = (int)taps(p), N = (int)c_out(p);
  im2col(p, b, X);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, P, a, X, K, delta, N, 1.0f, dW, N);
}

static size_t conv_dense_scratch(const evsnn_proj_t *p) { return (size_t)out_h(p) * out_w(p) * taps(p); }
static uint64_t conv_dense_macs(const evsnn_proj_t *p) { return (uint64_t)out_h(p) * out_w(p) * taps(p) * c_out(p); }

const evsnn_proj_ops_t evsnn__proj_conv = {
    .name = "conv",
    .size = conv_size,
    .init = conv_init,
    .fan_in = conv_fan_in,
    .fanout = conv_fanout,
    .propagate = conv_propagate,
    .input_grad = conv_input_grad,
    .weight_grad = conv_weight_grad,
    .propagate_dense = conv_propagate_dense,
    .input_grad_dense = conv_input_grad_dense,
    .weight_grad_dense = conv_weight_grad_dense,
    .dense_scratch = conv_dense_scratch,
    .dense_macs = conv_dense_macs,
};
