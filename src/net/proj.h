/* Internal: one table of operations per projection kind, as src/io/formats.h
 * has one per event format. The engines and trainers walk the graph and
 * call these; the equations that combine them (leak, threshold, reset,
 * Delta) live once, in the engines (src/engine) and the trainer
 * (src/train/bptt.c).
 *
 * Indices and vectors are in the operation's input space: the source's
 * neurons after the projection's pooling (evsnn__pool_spikes), n_in of
 * them. Target vectors hold the target's ld floats. Every operation has a
 * dense twin over 0/1 (or pooled count) vectors, which the dense engine
 * and trainer use: the reference the event versions are tested against
 * and the baseline they are measured against.
 */
#ifndef EVSNN_NET_PROJ_H
#define EVSNN_NET_PROJ_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/net.h"

/* Continuous time (src/engine/ctime.c): how a population's potentials
 * decay over real time, set up from its neuron model by evsnn__leak_init
 * (src/net/neuron.c, where the models live). */
typedef struct evsnn__leak_s {
  const evsnn_pop_t *pop;
  double tau_us;   /* exp(-elapsed / tau); 0 with none set: no leak (IF, beta = 1) */
  int none, zero;  /* no leak at all; beta = 0: nothing survives a gap */
  int64_t elapsed; /* the last gap asked for and its factor: the groups one */
  float factor;    /* instant reaches were mostly last exact at one time */
} evsnn__leak_t;

/* Where a projection delivers. When the target is `whole`, v has already
 * been decayed to this instant and stamp and t_stamp are NULL. Otherwise
 * the operation calls evsnn__touch(tgt, first, n) before adding to neurons
 * [first, first + n), which brings their groups up to date and lists them
 * for the threshold check: by steps in the event engine (stamp, now, beta:
 * src/engine/event.c), by microseconds in continuous time (t_stamp, t_now,
 * leak: src/engine/ctime.c). */
typedef struct evsnn__target_s {
  float *v;
  uint32_t *stamp;      /* per group: v is exact as of the end of step stamp - 1 */
  uint32_t *touched;    /* groups touched this step, in order */
  uint32_t *n_touched;
  uint32_t now, group;  /* the step being run + 1; neurons per group */
  float beta;
  int64_t *t_stamp;     /* continuous time, per group: v is exact as of time t_stamp */
  int64_t t_now;        /* the instant being run */
  evsnn__leak_t *leak;
} evsnn__target_t;

/* Continuous time: neurons [first, first + n) of the leak's population
 * decayed over elapsed us (src/net/neuron.c). */
void evsnn__leak(evsnn__leak_t *lk, float *v, uint32_t first, uint32_t n, int64_t elapsed);

/* Whether the target keeps a time per group (else it is touched whole). */
static inline int evsnn__lazy(const evsnn__target_t *t) { return t->stamp || t->t_stamp; }

/* Group g's first delivery of the step (or instant): decay it by beta
 * once per elapsed step (the dense engine's rounding), or by the leak over
 * the time elapsed, and list it. */
static inline void evsnn__touch_group(evsnn__target_t *t, uint32_t g) {
  if (t->t_stamp) {
    if (t->t_stamp[g] == t->t_now) return;
    evsnn__leak(t->leak, t->v, g * t->group, t->group, t->t_now - t->t_stamp[g]);
    t->t_stamp[g] = t->t_now;
  } else {
    if (t->stamp[g] == t->now) return;
    float *v = t->v + (size_t)g * t->group;
    if (t->beta != 1.0f)
      for (uint32_t k = t->stamp[g]; k < t->now; k++)
        for (uint32_t i = 0; i < t->group; i++) v[i] *= t->beta;
    t->stamp[g] = t->now;
  }
  t->touched[(*t->n_touched)++] = g;
}

/* Before adding to neurons [first, first + n): brings every group they
 * fall in up to date (nothing for a whole target). A convolution's run of
 * C_out neurons is one group of a conv target, found without a division. */
static inline void evsnn__touch(evsnn__target_t *t, uint32_t first, uint32_t n) {
  if (!evsnn__lazy(t)) return;
  if (t->group == 1) {
    for (uint32_t i = 0; i < n; i++) evsnn__touch_group(t, first + i);
  } else if (t->group == n) {
    evsnn__touch_group(t, first / n);
  } else {
    for (uint32_t g = first / t->group; g <= (first + n - 1) / t->group; g++) evsnn__touch_group(t, g);
  }
}

struct evsnn_proj_ops_s {
  const char *name;
  /* Parameters, padding included (shapes already derived). */
  size_t (*size)(const evsnn_proj_t *p);
  /* The paper's uniform initialisation, bound a, from rng. */
  void (*init)(evsnn_proj_t *p, evsnn_rng_t *rng, float a);
  /* Fan-in of one target neuron, for the initialisation's h. */
  uint32_t (*fan_in)(const evsnn_proj_t *p);
  /* Synaptic operations one spike of input i costs: the weights it adds. */
  uint32_t (*fanout)(const evsnn_proj_t *p, uint32_t i);
  /* v += a * (the weights of the spikes idx[0:n]) (3); returns the
   * synaptic operations done (weights added). */
  uint64_t (*propagate)(const evsnn_proj_t *p, evsnn__target_t *tgt, const uint32_t *idx, uint32_t n, float a);
  /* g[k] = a * W^T delta[k] for k < T (g: T rows of ldg floats, delta: T rows
   * of the target's ld floats): dL/d(input) for every step. */
  void (*input_grad)(const evsnn_proj_t *p, float *g, size_t ldg, const float *delta, size_t ldd, uint32_t T, float a);
  /* dW += a * sum_k delta[k] b[k]^T (7), b[k] the spike list idx[start[k],
   * start[k+1]); scratch holds n_in + 1 + start[T] words. */
  void (*weight_grad)(const evsnn_proj_t *p, float *dW, const float *delta, size_t ldd, const uint32_t *idx,
                      const uint32_t *start, uint32_t T, float a, uint32_t *scratch);
  /* The dense twins, one step: v += a W b; g = a W^T delta; dW += a delta b^T. */
  void (*propagate_dense)(const evsnn_proj_t *p, float *v, const float *b, float a, float *scratch);
  void (*input_grad_dense)(const evsnn_proj_t *p, float *g, const float *delta, float a, float *scratch);
  void (*weight_grad_dense)(const evsnn_proj_t *p, float *dW, const float *delta, const float *b, float a,
                            float *scratch);
  /* Floats of scratch the dense twins need. */
  size_t (*dense_scratch)(const evsnn_proj_t *p);
  /* Multiply-accumulates of the dense twin's forward per step. */
  uint64_t (*dense_macs)(const evsnn_proj_t *p);
};

extern const evsnn_proj_ops_t evsnn__proj_dense, evsnn__proj_conv, evsnn__proj_pool;

/* Neuron numbers in a C x H x W map: channels first for the input (as
 * sensors, datasets and other frameworks number it: (c H + y) W + x),
 * channels last for every computed population ((y W + x) C + c). */
static inline uint32_t evsnn__at(int chw, uint32_t c, uint32_t y, uint32_t x, uint32_t C, uint32_t H, uint32_t W) {
  return chw ? (c * H + y) * W + x : (y * W + x) * C + c;
}
static inline void evsnn__coords(int chw, uint32_t i, uint32_t C, uint32_t H, uint32_t W, uint32_t *c, uint32_t *y,
                                 uint32_t *x) {
  if (chw) *x = i % W, *y = i / W % H, *c = i / (W * H);
  else *c = i % C, *x = i / C % W, *y = i / C / W;
}

/* The scale a delivery through p's pooling carries: 1, or 1/k^2 when
 * average-pooling. */
static inline float evsnn__pool_scale(const evsnn_proj_t *p) {
  return p->pool_k && p->pool_avg ? 1.0f / (float)(p->pool_k * p->pool_k) : 1.0f;
}
/* Maps source spikes to p's input space: without pooling a copy; with it,
 * each spike becomes the pooled neurons whose window holds it (one when
 * stride = k, none when it falls outside every window). out must hold
 * n * ceil(k / stride)^2 words; returns how many were written. */
uint32_t evsnn__pool_spikes(const evsnn_proj_t *p, const evsnn_pop_t *src, const uint32_t *idx, uint32_t n,
                            uint32_t *out);
/* The most pooled neurons one spike can reach. */
uint32_t evsnn__pool_reach(const evsnn_proj_t *p);
/* The dense twin: b_in = pooled b_src (counts: sums of 0/1). */
void evsnn__pool_dense(const evsnn_proj_t *p, const evsnn_pop_t *src, const float *b_src, float *b_in);
/* The backward twin: g_src[i] += sum of g_in over the windows holding i. */
void evsnn__unpool(const evsnn_proj_t *p, const evsnn_pop_t *src, const float *g_in, float *g_src);

/* The neuron models' threshold and reset (5, 6) over neurons [first,
 * first + n) of population p: appends the indices that fired, ascending,
 * to out[*n_out...]; returns whether a reset by subtraction left some
 * v >= s (which must then be checked again next step without input). A
 * whole population reset to zero goes through the SIMD fire kernel. */
int evsnn__fire(const evsnn_pop_t *p, float *v, uint32_t first, uint32_t n, uint32_t *out, uint32_t *n_out);

/* Continuous time: the same over neurons [first, first + n) of p that are
 * not refractory at t (until[i] > t: held at 0, input lost); a neuron
 * that fires is refractory until t + period. */
int evsnn__fire_held(const evsnn_pop_t *p, float *v, uint32_t first, uint32_t n, int64_t *until, int64_t t,
                     int64_t period, uint32_t *out, uint32_t *n_out);
/* Sets up p's continuous-time leak for a step of dt_us; EVSNN_EINVAL,
 * naming the population and its model, for a model that has no
 * continuous-time form here. */
int evsnn__leak_init(evsnn__leak_t *lk, const evsnn_pop_t *p, double dt_us);
/* The factor the leak applies over elapsed > 0 us (no cache). */
float evsnn__leak_factor(const evsnn__leak_t *lk, int64_t elapsed);

/* evsnn_net_finish and evsnn_net_parse refusing, before allocating, a
 * network of more than max_weights real parameters (loaders pass what the
 * file can hold). */
int evsnn__net_finish(evsnn_net_t *net, size_t max_weights);
int evsnn__net_parse(evsnn_net_t *net, const char *desc, size_t max_weights);

/* Rebuilds the layer view after thresholds or parameters were set. */
void evsnn__net_sync(evsnn_net_t *net);

#endif
