/* Networks as graphs: the description language (every error path, the
 * round trip), and the property tests on random graphs that mix dense,
 * conv (kernels, strides, paddings), pooling (sum, average, overlapping)
 * and recurrent projections with every neuron model: the event engine
 * against the dense one, the event trainer's gradients against the dense
 * trainer's, and the backward pass against finite differences of a smooth
 * stand-in for the spike on conv, pooling and recurrent graphs.
 *
 * The engine comparison uses arithmetic that is exact in float (weights
 * and thresholds multiples of 1/16, leak 1/2 or 1, at most 8 steps), so
 * the order in which the event engine and im2col + sgemm add up a
 * potential cannot matter, and spikes and potentials must agree exactly:
 * any index slip in a kernel shows. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/encode.h"
#include "evsnn/engine.h"
#include "evsnn/error.h"
#include "evsnn/net.h"
#include "evsnn/train.h"
#include "train/train_impl.h"
#include "graphs.h"
#include "smooth.h"

/* ---------------------------------------------------------------- parser */

Test(describe, builds_the_shapes_it_names) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_parse(&net, "2x34x34 conv16c5s2p1 if conv16c3p1 if pool2 conv8c3p1 if pool2 flatten dense256 "
                                     "if dense10 li"), 0, "%s", evsnn_error_detail());
  cr_expect_eq(net.n_pops, 6);
  /* Each pool2 pools the input of the projection after it, so the
   * populations are in, conv1, conv2, conv3 (8x8x8 from a pooled 16x8x8),
   * dense4 (from a pooled 8x4x4) and the readout. */
  cr_expect_eq(net.pop[1].c, 16); cr_expect_eq(net.pop[1].h, 16); cr_expect_eq(net.pop[1].w, 16);
  cr_expect_eq(net.pop[3].c, 8); cr_expect_eq(net.pop[3].h, 8); cr_expect_eq(net.pop[3].w, 8);
  cr_expect_eq(net.proj[2].pool_k, 2); cr_expect_eq(net.proj[2].in_h, 8);
  cr_expect_eq(net.proj[3].pool_k, 2); cr_expect_eq(net.proj[3].n_in, 8 * 4 * 4);
  cr_expect_eq(net.pop[4].n, 256); cr_expect_eq(net.pop[5].n, 10);
  cr_expect_eq(net.pop[1].model, EVSNN_NEURON_IF); cr_expect_eq(net.pop[1].beta, 1.0f);
  cr_expect_eq(net.pop[5].model, EVSNN_NEURON_LI);
  cr_expect_eq(net.n_layers, 0, "not a chain: no layer view");
  /* The NIR paper's N-MNIST network: 16c5 (2 x 25 x 16) + 16c3 + 8c3 + 128 x 256 + 256 x 10 weights. */
  cr_expect_eq(evsnn_net_n_weights(&net), 800 + 2304 + 1152 + 32768 + 2560);
  evsnn_net_free(&net);

  cr_assert_eq(evsnn_net_parse(&net, "784 dense300 lif[ts=5] dense300 lif[ts=3] dense10 li"), 0);
  cr_expect_eq(net.n_layers, 3, "the paper network is a chain");
  cr_expect_eq(net.sizes[1], 300); cr_expect_float_eq(net.beta, 0.8187f, 1e-7);
  cr_expect_float_eq(net.pop[1].threshold_scale, 5.0f, 0);
  evsnn_net_free(&net);

  cr_assert_eq(evsnn_net_parse(&net, "12 dense38 lif[beta=0.9,th=0.5,reset=subtract] rec dense7 li[beta=0.95]"), 0);
  cr_expect_eq(net.n_projs, 3);
  cr_expect_eq(net.proj[1].kind, EVSNN_PROJ_RECURRENT); cr_expect_eq(net.proj[1].src, 1); cr_expect_eq(net.proj[1].dst, 1);
  cr_expect_eq(net.pop[1].reset, EVSNN_RESET_SUBTRACT); cr_expect_float_eq(net.pop[1].threshold, 0.5f, 0);
  cr_expect_float_eq(net.pop[2].beta, 0.95f, 0);
  evsnn_net_free(&net);

  cr_assert_eq(evsnn_net_parse(&net, "1x8x8 avgpool2s1 lif dense3 li"), 0);
  cr_expect_eq(net.proj[0].kind, EVSNN_PROJ_POOL); cr_expect_eq(net.pop[1].h, 7); cr_expect_eq(net.proj[0].pool_avg, 1);
  evsnn_net_free(&net);
}

Test(describe, every_error_names_the_token_and_what_was_expected) {
  struct { const char *desc, *says; } bad[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"dense10 li", "token 1 'dense10': expected the input shape"},
      {"2x34 dense10 li", "token 1 '2x34'"},
      {"0 dense10 li", "input shape 0x1x1"},
      {"784", "expected a projection and a neuron model"},
      {"784 dense10", "token 2 'dense10': the description ends here: expected a neuron model"},
      {"784 lif", "token 2 'lif': expected a projection"},
      {"784 dense li", "token 2 'dense': expected dense N"},
      {"784 dense0 li", "expected dense N"},
      {"784 dense10 dense10 li", "token 3 'dense10': expected a neuron model"},
      {"784 blob li", "token 2 'blob': expected an input shape, dense, conv"},
      {"1x8x8 conv4 lif dense2 li", "token 2 'conv4': expected convCcK"},
      {"1x8x8 conv4c3x lif dense2 li", "unexpected 'x'"},
      {"1x8x8 conv4c3p3 lif dense2 li", "padding must be < kernel"},
      {"1x4x4 conv4c9 lif dense2 li", "does not fit the 4x4 map"},
      {"1x8x8 conv4c3s0 lif dense2 li", "expected a stride"},
      {"1x8x8 pool9 lif dense2 li", "does not fit the 1x8x8 map"},
      {"1x8x8 pool2 pool2 lif dense2 li", "two poolings in a row"},
      {"1x8x8 flatten conv2c3 lif dense2 li", "cannot follow flatten"},
      {"1x8x8 flatten pool2 lif dense2 li", "pooling cannot follow flatten"},
      {"784 dense10 lif[beta=2] dense2 li", "beta=2: expected 0 <= beta <= 1"},
      {"784 dense10 lif[th=-1] dense2 li", "th=-1: expected a threshold > 0"},
      {"784 dense10 lif[ts=0] dense2 li", "ts=0"},
      {"784 dense10 lif[reset=half] dense2 li", "reset=half: expected reset=zero or reset=subtract"},
      {"784 dense10 lif[gain=2] dense2 li", "unknown option 'gain'"},
      {"784 dense10 lif[th] dense2 li", "expected key=value"},
      {"784 dense10 lif[th=x] dense2 li", "th=x: expected a number"},
      {"784 dense10 lif[th=1 dense2 li", "expected options as lif[key=value,...]"},
      {"784 dense10 if[beta=0.5] dense2 li", "an IF neuron has no leak"},
      {"784 dense10 li[ts=2]", "an LI neuron never spikes"},
      {"784 dense10 li dense2 li", "only the readout"},
      {"784 rec dense2 li", "rec follows a neuron model"},
      {"784 dense10 rec li", "rec follows a neuron model"},
      {"784 dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif "
       "dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif dense10 lif dense10 li", "more than 16 populations"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    evsnn_net_t net;
    cr_expect_eq(evsnn_net_parse(&net, bad[i].desc), EVSNN_EINVAL, "'%s' parsed", bad[i].desc);
    cr_expect(strstr(evsnn_error_detail(), bad[i].says) != NULL, "'%s': said \"%s\", expected \"%s\"", bad[i].desc,
              evsnn_error_detail(), bad[i].says);
    cr_expect_null(net.params);
  }
}

/* Description -> graph -> description is a fixed point, and the graph it
 * names is the same. */
Test(describe, round_trips_to_the_same_graph) {
  const char *descs[] = {
      "784 dense300 lif[ts=5] dense300 lif[ts=3] dense10 li",
      "2x34x34 conv16c5s2p1 if conv16c3p1 if pool2 conv8c3p1 if pool2 flatten dense256 if dense10 li",
      "12 dense38 lif[beta=0.9,th=0.5,reset=subtract] rec dense7 li[beta=0.95]",
      "1x9x9 avgpool3s2 lif[beta=0.5] conv3c2 if[th=0.25,reset=subtract] pool2s1 dense4 li",
  };
  for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
    evsnn_net_t a, b;
    char text[512], again[512];
    cr_assert_eq(evsnn_net_parse(&a, descs[i]), 0, "%s: %s", descs[i], evsnn_error_detail());
    size_t n = evsnn_net_describe(&a, text, sizeof text);
    cr_assert_lt(n, sizeof text);
    cr_assert_eq(evsnn_net_parse(&b, text), 0, "'%s' from '%s': %s", text, descs[i], evsnn_error_detail());
    evsnn_net_describe(&b, again, sizeof again);
    cr_expect_str_eq(again, text);
    cr_expect_eq(a.n_pops, b.n_pops); cr_expect_eq(a.n_projs, b.n_projs); cr_expect_eq(a.n_params, b.n_params);
    for (uint32_t m = 0; m < a.n_pops; m++)
      cr_expect(a.pop[m].n == b.pop[m].n && a.pop[m].model == b.pop[m].model && a.pop[m].beta == b.pop[m].beta &&
                a.pop[m].threshold == b.pop[m].threshold && a.pop[m].reset == b.pop[m].reset, "%s: population %u", text, m);
    evsnn_net_free(&a);
    evsnn_net_free(&b);
  }
  /* describe reports the length it needs, as snprintf. */
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_parse(&net, descs[1]), 0);
  char small[8];
  size_t need = evsnn_net_describe(&net, small, sizeof small);
  cr_expect_gt(need, sizeof small); cr_expect_eq(strlen(small), sizeof small - 1);
  evsnn_net_free(&net);
}

/* ------------------------------------------------------- random graphs -- */

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

Test(graph, event_engine_equals_dense_engine_on_random_graphs) {
  uint64_t spikes = 0;
  for (uint64_t seed = 1; seed <= 150; seed++) {
    evsnn_rng_t r;
    evsnn_net_t net;
    char desc[256];
    uint32_t *trace, sorted[4096];
    uint64_t start[9];
    uint32_t T = random_case(seed, 0, desc, sizeof desc, &net, &r, &trace, start, 0);
    evsnn_state_t st;
    evsnn_dense_t d;
    cr_assert_eq(evsnn_state_init(&st, &net), 0);
    cr_assert_eq(evsnn_dense_init(&d, &net), 0);
    evsnn_state_reset(&st);
    evsnn_dense_reset(&d);
    for (uint32_t k = 0; k < T; k++) {
      uint32_t n = (uint32_t)(start[k + 1] - start[k]);
      evsnn_state_step(&st, trace + start[k], n);
      evsnn_dense_step(&d, trace + start[k], n);
      for (uint32_t m = 1; m < net.n_pops; m++) {
        const evsnn_pop_t *p = &net.pop[m];
        if (p->model != EVSNN_NEURON_LI) {
          uint32_t ns = 0;
          for (uint32_t i = 0; i < p->n; i++) ns += d.b[m][i] != 0.0f;
          cr_assert_eq(st.n_spikes[m], ns, "%s step %u %s: %u spikes, dense %u", desc, k, p->name, st.n_spikes[m], ns);
          cr_assert_leq(ns, 4096);
          memcpy(sorted, st.spikes[m], sizeof(uint32_t) * ns);
          qsort(sorted, ns, sizeof *sorted, cmp_u32);
          for (uint32_t s = 0; s < ns; s++) {
            cr_assert_eq(d.b[m][sorted[s]], 1.0f, "%s step %u %s: neuron %u", desc, k, p->name, sorted[s]);
            cr_assert(s == 0 || sorted[s] != sorted[s - 1], "%s: a neuron spiked twice", desc);
          }
          spikes += ns;
        }
        const float *v = evsnn_state_potentials(&st, m);
        for (uint32_t i = 0; i < p->n; i++)
          cr_assert(fabsf(v[i] - d.v[m - 1][i]) <= 1e-5f * fmaxf(1.0f, fabsf(v[i])),
                    "%s step %u %s neuron %u: %g vs %g", desc, k, p->name, i, v[i], d.v[m - 1][i]);
      }
      cr_assert_eq(evsnn_state_decision(&st), evsnn_dense_decision(&d), "%s step %u: decision", desc, k);
    }
    for (uint32_t q = 0; q < net.n_projs; q++) {
      cr_expect_eq(st.counts.synops[q], d.counts.synops[q], "%s projection %u: synops", desc, q);
      cr_expect_eq(st.counts.dense_macs[q], d.counts.dense_macs[q], "%s projection %u: dense MACs", desc, q);
    }
    free(trace);
    evsnn_state_free(&st);
    evsnn_dense_free(&d);
    evsnn_net_free(&net);
  }
  cr_expect_gt(spikes, 5000, "the random graphs must spike (%llu spikes)", (unsigned long long)spikes);
}

/* A spiking readout decides by spike counts, in both engines. */
Test(graph, a_spiking_readout_counts_spikes) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_parse(&net, "3 dense2 if"), 0);
  float *W = net.proj[0].W; /* column j: input j's weights onto the 2 outputs */
  W[0] = 1.0f, W[1] = 0.0f, W[16] = 0.0f, W[17] = 1.0f, W[32] = 0.0f, W[33] = 1.0f;
  evsnn_state_t st;
  evsnn_dense_t d;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  cr_assert_eq(evsnn_dense_init(&d, &net), 0);
  evsnn_state_reset(&st);
  evsnn_dense_reset(&d);
  uint32_t a[] = {0}, b[] = {1, 2};
  evsnn_state_step(&st, a, 1), evsnn_dense_step(&d, a, 1);
  cr_expect_eq(evsnn_state_decision(&st), 0); cr_expect_eq(evsnn_dense_decision(&d), 0);
  evsnn_state_step(&st, b, 2), evsnn_dense_step(&d, b, 2); /* v = 2: one spike, reset to zero */
  evsnn_state_step(&st, b + 1, 1), evsnn_dense_step(&d, b + 1, 1);
  cr_expect_eq(evsnn_state_decision(&st), 1); cr_expect_eq(evsnn_dense_decision(&d), 1);
  evsnn_state_free(&st);
  evsnn_dense_free(&d);
  evsnn_net_free(&net);
}

/* Reset by subtraction leaves v = 2.5 s - s >= s: the neuron fires again
 * the next step with no input at all, in a conv population that is
 * otherwise only checked where spikes arrive. */
Test(graph, subtraction_fires_again_without_input) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_parse(&net, "1x3x3 conv1c1 if[th=1,reset=subtract] dense1 li"), 0);
  net.proj[0].W[0] = 2.5f;
  net.proj[1].W[4] = 1.0f; /* the centre pixel's spikes reach the readout */
  evsnn_state_t st;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  evsnn_state_reset(&st);
  uint32_t centre = 4, fired[3];
  evsnn_state_step(&st, &centre, 1);
  for (int k = 0; k < 3; k++) {
    if (k) evsnn_state_step(&st, NULL, 0);
    fired[k] = st.n_spikes[1];
  }
  cr_expect_eq(fired[0], 1); cr_expect_eq(fired[1], 1); cr_expect_eq(fired[2], 0, "0.5 is left, below threshold");
  cr_expect_float_eq(evsnn_state_potentials(&st, 1)[4], 0.5f, 0);
  evsnn_state_free(&st);
  evsnn_net_free(&net);
}

/* One spike into a convolution touches k^2 C_out neurons and no others:
 * the synaptic operations say so, and untouched potentials stay zero. */
Test(graph, a_conv_spike_touches_only_its_window) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_parse(&net, "1x9x9 conv4c3p1 lif[th=100] dense2 li"), 0);
  for (size_t i = 0; i < net.proj[0].size; i++) net.proj[0].W[i] = 1.0f;
  evsnn_state_t st;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  evsnn_state_reset(&st);
  uint32_t in = 4 * 9 + 4; /* the centre pixel */
  evsnn_state_step(&st, &in, 1);
  cr_expect_eq(st.counts.synops[0], 9 * 4);
  cr_expect_eq(st.counts.dense_macs[0], 9 * 9 * 9 * 4, "the dense convolution: every output pixel, every tap");
  const float *v = evsnn_state_potentials(&st, 1);
  uint32_t touched = 0;
  for (uint32_t y = 0; y < 9; y++)
    for (uint32_t x = 0; x < 9; x++)
      for (uint32_t c = 0; c < 4; c++) {
        float want = y >= 3 && y <= 5 && x >= 3 && x <= 5 ? 1.0f : 0.0f;
        cr_expect_eq(v[(y * 9 + x) * 4 + c], want, "(%u, %u, %u)", c, y, x);
        touched += want != 0;
      }
  cr_expect_eq(touched, 36);
  uint32_t corner = 0; /* at the corner, padding 1: a 2 x 2 window */
  evsnn_state_step(&st, &corner, 1);
  cr_expect_eq(st.counts.synops[0], 9 * 4 + 4 * 4);
  evsnn_state_free(&st);
  evsnn_net_free(&net);
}

/* The event trainer's gradient equals the dense trainer's within 1e-5 on
 * random graphs, in both modes. */
Test(graph, event_trainer_gradients_equal_the_dense_trainers) {
  for (uint64_t seed = 1; seed <= 60; seed++) {
    evsnn_rng_t r;
    evsnn_net_t net;
    char desc[256];
    uint32_t *trace;
    uint64_t start[9];
    uint32_t T = random_case(seed, 7, desc, sizeof desc, &net, &r, &trace, start, 0), label = evsnn_rng_below(&r, 2);
    evsnn_grad_t grad = (evsnn_grad_t)(seed % 2);
    evsnn_input_t in = {.trace = trace, .start = start, .steps = T};
    evsnn_trainer_t *tr[2];
    float loss[2];
    for (int e = 0; e < 2; e++) {
      uint32_t pred;
      cr_assert_eq(evsnn_trainer_new(&tr[e], &net, T, grad, (evsnn_engine_t)e), 0, "%s", evsnn_error_detail());
      loss[e] = evsnn_trainer_sample(tr[e], &in, label, 0.5f, &pred);
    }
    cr_assert_float_eq(loss[0], loss[1], 1e-5f * fmaxf(1, fabsf(loss[1])), "%s: loss", desc);
    for (uint32_t k = 0; k < T; k++) { /* the trace's input lists are the input, in both trainers */
      uint32_t n[2];
      const uint32_t *got[2] = {evsnn_trainer_spikes(tr[0], 0, k, &n[0]), evsnn_trainer_spikes(tr[1], 0, k, &n[1])};
      cr_assert(n[0] == start[k + 1] - start[k] && n[1] == n[0], "%s step %u: input spikes", desc, k);
      cr_assert(!memcmp(got[0], trace + start[k], 4 * n[0]) && !memcmp(got[1], trace + start[k], 4 * n[0]), "%s", desc);
    }
    double scale = 0;
    for (size_t p = 0; p < net.n_params; p++) scale = fmax(scale, fabs(tr[1]->dW[p]));
    for (size_t p = 0; p < net.n_params; p++)
      cr_assert(fabs(tr[0]->dW[p] - tr[1]->dW[p]) <= 1e-5 * (scale > 1 ? scale : 1),
                "%s (grad %d, T %u): dW[%zu] event %g dense %g", desc, grad, T, p, tr[0]->dW[p], tr[1]->dW[p]);
    for (int e = 0; e < 2; e++) evsnn_trainer_free(tr[e]);
    free(trace);
    evsnn_net_free(&net);
  }
}

/* ---- the backward pass against finite differences, on a smooth spike ----
 * As in test_train.c: with b = F(u - s), F' = exp(-|u - s|), the backward
 * pass's equations are the exact gradient. The forward here is the test's
 * own, in double precision, from the definitions (a convolution, a pooling
 * window, a recurrent matrix) rather than the library's kernels; it
 * records the trace in the trainer's layout for the dense backward (which
 * the event trainer equals, above). beta = 0 and a soft reset, as there:
 * the reset's own derivative is dropped by design. */
/* Neuron (c, y, x) of population m: channels first in the input, last elsewhere. */
static uint32_t at(const evsnn_net_t *net, uint32_t m, uint32_t c, uint32_t y, uint32_t x) {
  const evsnn_pop_t *p = &net->pop[m];
  return m == 0 ? (c * p->h + y) * p->w + x : (y * p->w + x) * p->c + c;
}

/* out (n_out) = the projection p applied to x (the source's values). */
static void apply(const evsnn_net_t *net, const evsnn_proj_t *p, const double *W, const double *x, double *out) {
  const evsnn_pop_t *src = &net->pop[p->src], *dst = &net->pop[p->dst];
  double pooled[4096];
  const double *in = x;
  int in_chw = p->src == 0 && !p->pool_k;
  if (p->pool_k) {
    for (uint32_t oy = 0; oy < p->in_h; oy++)
      for (uint32_t ox = 0; ox < p->in_w; ox++)
        for (uint32_t c = 0; c < src->c; c++) {
          double s = 0;
          for (uint32_t dy = 0; dy < p->pool_k; dy++)
            for (uint32_t dx = 0; dx < p->pool_k; dx++)
              s += x[at(net, p->src, c, oy * p->pool_stride + dy, ox * p->pool_stride + dx)];
          pooled[(oy * p->in_w + ox) * src->c + c] = p->pool_avg ? s / (p->pool_k * p->pool_k) : s;
        }
    in = pooled;
  }
  for (uint32_t i = 0; i < dst->n; i++) out[i] = 0;
  if (p->kind == EVSNN_PROJ_POOL) {
    for (uint32_t i = 0; i < dst->n; i++) out[i] = in[i];
  } else if (p->kind == EVSNN_PROJ_CONV) {
    for (uint32_t oy = 0; oy < dst->h; oy++)
      for (uint32_t ox = 0; ox < dst->w; ox++)
        for (uint32_t co = 0; co < dst->c; co++)
          for (uint32_t ci = 0; ci < p->in_c; ci++)
            for (uint32_t ky = 0; ky < p->k; ky++)
              for (uint32_t kx = 0; kx < p->k; kx++) {
                int y = (int)(oy * p->stride + ky) - (int)p->pad, xx = (int)(ox * p->stride + kx) - (int)p->pad;
                if (y < 0 || xx < 0 || y >= (int)p->in_h || xx >= (int)p->in_w) continue;
                out[(oy * dst->w + ox) * dst->c + co] +=
                    W[((ci * p->k + ky) * p->k + kx) * dst->c + co] *
                    in[in_chw ? (ci * p->in_h + (uint32_t)y) * p->in_w + (uint32_t)xx
                              : ((uint32_t)y * p->in_w + (uint32_t)xx) * p->in_c + ci];
              }
  } else {
    for (uint32_t j = 0; j < p->n_in; j++)
      for (uint32_t i = 0; i < p->n_out; i++) out[i] += W[(size_t)j * p->ld + i] * in[j];
  }
}

static double smooth_forward(const evsnn_net_t *net, double *W, const double *x, uint32_t T, uint32_t label,
                             evsnn_trainer_t *rec) {
  enum { N = 512 };
  double v[EVSNN_MAX_POPS][N] = {{0}}, b[EVSNN_MAX_POPS][N] = {{0}}, prev[EVSNN_MAX_POPS][N] = {{0}}, add[N];
  uint32_t P = net->n_pops;
  for (uint32_t k = 0; k < T; k++) {
    memcpy(b[0], x + (size_t)k * net->pop[0].n, sizeof(double) * net->pop[0].n);
    if (rec)
      for (uint32_t j = 0; j < net->pop[0].n; j++) rec->raster[0][k * net->pop[0].ld + j] = (float)b[0][j];
    for (uint32_t m = 1; m < P; m++) {
      const evsnn_pop_t *pop = &net->pop[m];
      memcpy(prev[m], b[m], sizeof(double) * pop->n);
      for (uint32_t i = 0; i < pop->n; i++) v[m][i] *= pop->beta;
      for (uint32_t q = 0; q < net->n_projs; q++) {
        const evsnn_proj_t *p = &net->proj[q];
        if (p->dst != m) continue;
        apply(net, p, W + p->offset, p->kind == EVSNN_PROJ_RECURRENT ? prev[m] : b[p->src], add);
        for (uint32_t i = 0; i < pop->n; i++) v[m][i] += add[i];
      }
      if (m + 1 == P) break;
      for (uint32_t i = 0; i < pop->n; i++) {
        double d = v[m][i] - pop->threshold;
        b[m][i] = smooth_F(d);
        if (rec) {
          rec->fprime[m - 1][k * pop->ld + i] = (float)exp(-fabs(d));
          rec->raster[m][k * pop->ld + i] = (float)b[m][i];
        }
        v[m][i] *= 1 - b[m][i];
      }
    }
  }
  const evsnn_pop_t *o = &net->pop[P - 1];
  return smooth_readout(v[P - 1], o->n, label, o->beta, T, rec ? rec->delta[P - 2] : NULL, o->ld);
}

static void check_smooth(const char *desc, uint32_t T, int min_checked) {
  for (int mode = 0; mode < 2; mode++) {
    evsnn_net_t net;
    cr_assert_eq(evsnn_net_parse(&net, desc), 0, "%s: %s", desc, evsnn_error_detail());
    evsnn_rng_t rng;
    evsnn_rng_init(&rng, 33, 0);
    double *W = calloc(net.n_params, sizeof(double));
    for (uint32_t q = 0; q < net.n_projs; q++) {
      const evsnn_proj_t *p = &net.proj[q];
      int dense = p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT;
      for (size_t i = 0; i < p->size; i++)
        if (!dense || i % p->ld < p->n_out) W[p->offset + i] = p->W[i] = 0.5f * (2 * evsnn_rng_uniform(&rng) - 1);
    }
    uint32_t n_in = evsnn_net_inputs(&net), label = 1;
    double *x = malloc(sizeof(double) * n_in * T);
    for (uint32_t i = 0; i < n_in * T; i++) x[i] = evsnn_rng_uniform(&rng) < 0.5;
    evsnn_trainer_t *tr;
    cr_assert_eq(evsnn_trainer_new(&tr, &net, T, mode ? EVSNN_GRAD_PAPER : EVSNN_GRAD_BPTT, EVSNN_ENGINE_DENSE), 0);
    smooth_forward(&net, W, x, T, label, tr);
    memset(tr->dW, 0, sizeof(float) * net.n_params);
    evsnn__backward(tr);
    int checked = 0;
    for (uint32_t q = 0; q < net.n_projs; q++) {
      const evsnn_proj_t *p = &net.proj[q];
      for (size_t i = 0; i < p->size; i++) {
        if ((p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT) && i % p->ld >= p->n_out) continue;
        double *w = &W[p->offset + i], w0 = *w, h = 1e-5;
        *w = w0 + h;
        double up = smooth_forward(&net, W, x, T, label, NULL);
        *w = w0 - h;
        double down = smooth_forward(&net, W, x, T, label, NULL);
        *w = w0;
        double fd = (up - down) / (2 * h), got = tr->dW[p->offset + i];
        cr_expect(fabs(got - fd) <= 1e-4 + 1e-3 * fabs(fd), "%s mode %d projection %u w[%zu]: backward %g, differences %g",
                  desc, mode, q, i, got, fd);
        checked += fabs(fd) > 1e-3;
      }
    }
    cr_expect_gt(checked, min_checked, "%s: only %d gradients were not near zero", desc, checked);
    evsnn_trainer_free(tr);
    free(W);
    free(x);
    evsnn_net_free(&net);
  }
}

Test(graph, conv_and_pooling_gradients_match_finite_differences) {
  check_smooth("1x6x6 conv3c3s1p1 lif[beta=0,th=0.3] pool2 conv2c2 lif[beta=0,th=0.3] avgpool2s1 lif[beta=0,th=0.2] "
               "dense3 li[beta=0]", 3, 15);
  check_smooth("2x5x5 pool2s1 conv2c2 lif[beta=0,th=0.3] dense3 li[beta=0]", 3, 15);
  check_smooth("2x5x5 conv2c3s2p1 lif[beta=0,th=0.4] flatten dense4 li[beta=0]", 3, 20);
}

Test(graph, recurrent_gradients_match_finite_differences) {
  check_smooth("5 dense6 lif[beta=0,th=0.3] rec dense3 li[beta=0]", 4, 40);
}
