/* Test support shared by the property tests on random graphs (the event
 * engine against the dense one and the trainers in test_graph.c, the
 * continuous-time engine against the event engine in test_ctime.c): a
 * random description mixing conv (kernels, strides, paddings, pooled
 * inputs), pooling (sum, average, overlapping), dense and recurrent
 * projections with LIF, IF and reset by subtraction, with dyadic weights
 * and thresholds so that sums are exact in float, and a random input
 * trace. Include once, from a Criterion test file. */
#ifndef EVSNN_TESTS_GRAPHS_H
#define EVSNN_TESTS_GRAPHS_H

#include <stdio.h>
#include <stdlib.h>

#include "evsnn/error.h"
#include "evsnn/net.h"
#include "evsnn/rng.h"

/* A random graph of 1 to 3 stages and a dense readout, in the description
 * language, with exact (dyadic) leak and thresholds. The readout is LI, or
 * with any_readout also a spiking LIF or IF one (drawn after everything
 * else, so the graphs drawn without it do not change). */
static void random_description(evsnn_rng_t *r, char *out, size_t size, int allow_rec, int any_readout) {
  uint32_t c = 1 + evsnn_rng_below(r, 2), h = 4 + evsnn_rng_below(r, 6), w = 4 + evsnn_rng_below(r, 6);
  size_t len = (size_t)snprintf(out, size, "%ux%ux%u", c, h, w);
  uint32_t stages = 1 + evsnn_rng_below(r, 3), spatial = 1;
  static const char *th[] = {"0.5", "0.75", "1", "1.5"};
  for (uint32_t s = 0; s < stages; s++) {
    uint32_t kind = spatial ? evsnn_rng_below(r, 3) : 2; /* conv, pool, dense */
    if (kind == 1 && (h < 2 || w < 2)) kind = 0;
    if (kind == 0) {
      uint32_t k = 1 + evsnn_rng_below(r, 3), st = 1 + evsnn_rng_below(r, 2), pad = evsnn_rng_below(r, k);
      if (h >= 4 && w >= 4 && evsnn_rng_below(r, 3) == 0) { /* pool the conv's input */
        len += (size_t)snprintf(out + len, size - len, " pool2");
        h = (h - 2) / 2 + 1, w = (w - 2) / 2 + 1;
      }
      if (h + 2 * pad < k || w + 2 * pad < k) k = 1, pad = 0;
      c = 1 + evsnn_rng_below(r, 4);
      len += (size_t)snprintf(out + len, size - len, " conv%uc%us%up%u", c, k, st, pad);
      h = (h + 2 * pad - k) / st + 1, w = (w + 2 * pad - k) / st + 1;
    } else if (kind == 1) {
      uint32_t st = 1 + evsnn_rng_below(r, 2);
      len += (size_t)snprintf(out + len, size - len, " %spool2s%u", evsnn_rng_below(r, 2) ? "avg" : "", st);
      h = (h - 2) / st + 1, w = (w - 2) / st + 1;
    } else {
      c = 3 + evsnn_rng_below(r, 10), h = w = 1, spatial = 0;
      len += (size_t)snprintf(out + len, size - len, " dense%u", c);
    }
    int lif = evsnn_rng_below(r, 2);
    len += (size_t)snprintf(out + len, size - len, " %s[%sth=%s%s]", lif ? "lif" : "if", lif ? "beta=0.5," : "",
                            th[evsnn_rng_below(r, 4)], evsnn_rng_below(r, 2) ? ",reset=subtract" : "");
    if (kind == 2 && allow_rec && evsnn_rng_below(r, 2)) len += (size_t)snprintf(out + len, size - len, " rec");
  }
  uint32_t n_out = 2 + evsnn_rng_below(r, 4), readout = any_readout ? evsnn_rng_below(r, 3) : 0;
  static const char *model[] = {"li[beta=0.5]", "lif[beta=0.5,th=0.5]", "if[th=0.75,reset=subtract]"};
  snprintf(out + len, size - len, " dense%u %s", n_out, model[readout]);
}

/* Weights in multiples of 1/16, mostly positive so that things spike. */
static void dyadic_weights(evsnn_net_t *net, evsnn_rng_t *r) {
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    for (size_t i = 0; i < p->size; i++) p->W[i] = ((float)evsnn_rng_below(r, 25) - 8.0f) / 16.0f;
    if (p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT) /* padding lanes stay zero */
      for (uint32_t j = 0; j < p->n_in; j++)
        for (uint32_t i = p->n_out; i < p->ld; i++) p->W[(size_t)j * p->ld + i] = 0.0f;
  }
}

/* A fixed input trace of T steps, some of them silent. */
static void random_trace(evsnn_rng_t *r, uint32_t n_in, uint32_t T, uint32_t *trace, uint64_t *start) {
  start[0] = 0;
  for (uint32_t k = 0; k < T; k++) {
    float density = evsnn_rng_below(r, 4) == 0 ? 0.0f : 0.1f + 0.4f * evsnn_rng_uniform(r);
    uint64_t n = start[k];
    for (uint32_t j = 0; j < n_in; j++)
      if (evsnn_rng_uniform(r) < density) trace[n++] = j;
    start[k + 1] = n;
  }
}

/* A random case: a graph with dyadic weights, its steps and input trace
 * (trace malloc'd, start room for 9 offsets), from stream (seed, stream);
 * any_readout as for random_description. */
static uint32_t random_case(uint64_t seed, uint64_t stream, char *desc, size_t size, evsnn_net_t *net,
                            evsnn_rng_t *r, uint32_t **trace, uint64_t *start, int any_readout) {
  evsnn_rng_init(r, seed, stream);
  random_description(r, desc, size, 1, any_readout);
  cr_assert_eq(evsnn_net_parse(net, desc), 0, "%s: %s", desc, evsnn_error_detail());
  dyadic_weights(net, r);
  uint32_t T = 1 + evsnn_rng_below(r, 8), n_in = evsnn_net_inputs(net);
  *trace = malloc(sizeof(uint32_t) * n_in * T + 4);
  random_trace(r, n_in, T, *trace, start);
  return T;
}

#endif
