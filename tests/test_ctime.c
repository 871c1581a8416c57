/* The continuous-time engine: against the discrete engine when every input
 * sits on a step boundary (same spikes in the same order, potentials within
 * float tolerance, same decisions and counters), on chains and on random
 * graphs with conv, pooling, recurrent projections, every neuron model and
 * spiking readouts; exact exponential decay between events; synaptic delay
 * (a chain's spikes shifted by the delays above, bit for bit, through a
 * deep queue); refractory period; determinism at equal timestamps;
 * refused options and input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evsnn/ctime.h"
#include "evsnn/error.h"
#include "evsnn/engine.h"
#include "graphs.h"

typedef struct {
  int64_t t;
  uint32_t layer, neuron;
} spike_t;

typedef struct {
  spike_t *s;
  size_t n, cap;
  int64_t dec_t[64];
  uint32_t dec_cls[64];
  size_t n_dec;
} record_t;

static void on_spike(void *ud, int64_t t, uint32_t layer, uint32_t neuron) {
  record_t *r = ud;
  cr_assert_lt(r->n, r->cap, "spike record full");
  r->s[r->n++] = (spike_t){t, layer, neuron};
}

static void on_decision(void *ud, int64_t t, uint32_t cls) {
  record_t *r = ud;
  if (r->n_dec < 64) r->dec_t[r->n_dec] = t, r->dec_cls[r->n_dec] = cls;
  r->n_dec++;
}

static void random_net(evsnn_net_t *net, evsnn_rng_t *r, uint32_t n_sizes, uint32_t max_size) {
  uint32_t sizes[EVSNN_MAX_LAYERS + 1];
  for (uint32_t m = 0; m < n_sizes; m++) sizes[m] = 1 + evsnn_rng_below(r, max_size);
  float beta = 0.5f + 0.49f * evsnn_rng_uniform(r);
  cr_assert_eq(evsnn_net_init(net, sizes, n_sizes, beta), 0);
  float scale[EVSNN_MAX_LAYERS];
  for (uint32_t m = 0; m < n_sizes; m++) scale[m] = 0.5f + 4.0f * evsnn_rng_uniform(r);
  evsnn_net_init_params(net, evsnn_rng_next(r), evsnn_rng_below(r, 2), scale);
}

/* The discrete engine steps through the trace (T steps, step k's input
 * trace[start[k], start[k+1])) while the continuous one gets each spike at
 * t0 + k dt: after every step, the same spikes of every population in the
 * same order, the same potentials within tol, the same decision; at the
 * end the same counters. Returns the spikes compared. */
static uint64_t compare_on_boundaries(const evsnn_net_t *net, const char *what, const uint32_t *trace,
                                      const uint64_t *start, uint32_t T, double dt, int64_t t0, float tol) {
  evsnn_state_t st;
  cr_assert_eq(evsnn_state_init(&st, net), 0);
  evsnn_state_reset(&st);
  record_t rec = {0};
  rec.cap = 1 << 20;
  rec.s = malloc(sizeof(spike_t) * rec.cap);
  evsnn_ctime_opts_t o = {.dt_us = dt, .on_spike = on_spike, .on_decision = on_decision, .ud = &rec};
  evsnn_ctime_t *ct;
  cr_assert_eq(evsnn_ctime_new(&ct, net, &o), 0, "%s: %s", what, evsnn_error_detail());
  float *v = malloc(sizeof(float) * 65536);
  uint64_t compared = 0;
  uint32_t P = net->n_pops;
  for (uint32_t k = 0; k < T; k++) {
    int64_t t = t0 + (int64_t)llround(k * dt);
    uint32_t n = (uint32_t)(start[k + 1] - start[k]);
    evsnn_state_step(&st, trace + start[k], n);
    size_t before = rec.n;
    for (uint32_t i = 0; i < n; i++) cr_assert_eq(evsnn_ctime_push(ct, t, trace[start[k] + i]), 0);
    cr_assert_eq(evsnn_ctime_advance(ct, t + 1), 0, "%s: %s", what, evsnn_error_detail());
    /* This step's spikes, population by population, in the discrete engine's order. */
    size_t at = before;
    for (uint32_t m = 1; m < P; m++) {
      if (net->pop[m].model == EVSNN_NEURON_LI) continue;
      for (uint32_t s = 0; s < st.n_spikes[m]; s++, at++) {
        cr_assert_lt(at, rec.n, "%s step %u %s: continuous time has fewer spikes", what, k, net->pop[m].name);
        cr_assert_eq(rec.s[at].t, t);
        cr_assert_eq(rec.s[at].layer, m, "%s step %u", what, k);
        cr_assert_eq(rec.s[at].neuron, st.spikes[m][s], "%s step %u %s", what, k, net->pop[m].name);
        compared++;
      }
    }
    cr_assert_eq(at, rec.n, "%s step %u: continuous time has more spikes", what, k);
    for (uint32_t m = 1; m < P; m++) {
      const float *vd = evsnn_state_potentials(&st, m);
      evsnn_ctime_potentials(ct, m, t, v);
      for (uint32_t i = 0; i < net->pop[m].n; i++)
        cr_assert(fabsf(v[i] - vd[i]) <= tol * fmaxf(1.0f, fabsf(vd[i])), "%s step %u %s neuron %u: %g vs %g", what, k,
                  net->pop[m].name, i, v[i], vd[i]);
    }
    if (evsnn_ctime_decision(ct) >= 0)
      cr_assert_eq((uint32_t)evsnn_ctime_decision(ct), evsnn_state_decision(&st), "%s step %u: decision", what, k);
  }
  evsnn_counts_t c;
  evsnn_ctime_counts(ct, &c);
  for (uint32_t m = 0; m < P; m++) cr_expect_eq(c.spikes[m], st.counts.spikes[m], "%s population %u spikes", what, m);
  for (uint32_t q = 0; q < net->n_projs; q++)
    cr_expect_eq(c.synops[q], st.counts.synops[q], "%s projection %u synops", what, q);
  free(v);
  free(rec.s);
  evsnn_ctime_free(ct);
  evsnn_state_free(&st);
  return compared;
}

/* A random chain (the layer view) with a random raster, some steps silent. */
static void chain_on_boundaries(uint64_t seed, uint32_t n_sizes, uint32_t max_size, float density, double dt,
                                int64_t t0) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, seed, 7);
  evsnn_net_t net;
  random_net(&net, &r, n_sizes, max_size);
  uint32_t T = 1 + evsnn_rng_below(&r, 30), n_in = evsnn_net_inputs(&net);
  uint32_t *trace = malloc(sizeof(uint32_t) * n_in * T + 4);
  uint64_t *start = malloc(sizeof(uint64_t) * (T + 1));
  start[0] = 0;
  for (uint32_t k = 0; k < T; k++) {
    float dens = evsnn_rng_below(&r, 4) == 0 ? 0.0f : density;
    start[k + 1] = start[k];
    for (uint32_t j = 0; j < n_in; j++)
      if (evsnn_rng_uniform(&r) < dens) trace[start[k + 1]++] = j;
  }
  char what[32];
  snprintf(what, sizeof what, "seed %llu", (unsigned long long)seed);
  compare_on_boundaries(&net, what, trace, start, T, dt, t0, 2e-5f);
  free(trace);
  free(start);
  evsnn_net_free(&net);
}

Test(ctime, on_step_boundaries_matches_discrete_engine) {
  for (uint64_t seed = 1; seed <= 60; seed++)
    chain_on_boundaries(seed, 2 + (uint32_t)(seed % 4), 80, 0.3f, seed % 2 ? 1000.0 : 733.0, (int64_t)seed * 17);
}

Test(ctime, on_step_boundaries_matches_with_wide_layers) {
  /* More than one kernel batch (1024 columns) per instant. */
  for (uint64_t seed = 100; seed < 104; seed++) chain_on_boundaries(seed, 3, 1600, 0.9f, 1000.0, 0);
}

/* Random graphs (tests/graphs.h: conv of several kernels, strides and
 * paddings, pooled conv inputs, sum, average and overlapping pooling,
 * dense and recurrent projections, LIF, IF, reset to zero and by
 * subtraction, LI or spiking readouts). The arithmetic is dyadic, so one
 * exp per gap and one multiply by beta per step round alike, and the
 * potentials agree exactly. */
Test(ctime, on_step_boundaries_matches_discrete_engine_on_random_graphs) {
  uint64_t spikes = 0;
  uint32_t kinds[4] = {0}, spiking_readouts = 0, subtract = 0;
  for (uint64_t seed = 1; seed <= 200; seed++) {
    evsnn_rng_t r;
    evsnn_net_t net;
    char desc[256];
    uint32_t *trace;
    uint64_t start[9];
    uint32_t T = random_case(seed, 3, desc, sizeof desc, &net, &r, &trace, start, 1);
    for (uint32_t q = 0; q < net.n_projs; q++) kinds[net.proj[q].kind]++;
    for (uint32_t m = 1; m < net.n_pops; m++) subtract += net.pop[m].reset == EVSNN_RESET_SUBTRACT;
    spiking_readouts += evsnn_net_out(&net)->model != EVSNN_NEURON_LI;
    spikes += compare_on_boundaries(&net, desc, trace, start, T, seed % 2 ? 1000.0 : 733.0, (int64_t)seed * 29, 0.0f);
    free(trace);
    evsnn_net_free(&net);
  }
  cr_expect_gt(spikes, 5000, "the random graphs must spike (%llu spikes)", (unsigned long long)spikes);
  for (int k = 0; k < 4; k++) cr_expect_gt(kinds[k], 10, "projection kind %d drawn %u times", k, kinds[k]);
  cr_expect_gt(spiking_readouts, 30);
  cr_expect_gt(subtract, 30);
}

/* 1 input -> 1 hidden (w = 2, s = 1) -> 1 output (w = 1). */
static void tiny_net(evsnn_net_t *net, float beta) {
  uint32_t sizes[3] = {1, 1, 1};
  cr_assert_eq(evsnn_net_init(net, sizes, 3, beta), 0);
  *evsnn_net_w(net, 1, 0, 0) = 2.0f;
  *evsnn_net_w(net, 2, 0, 0) = 1.0f;
  evsnn_net_set_threshold(net, 1, 1.0f);
}

Test(ctime, decay_between_events_is_exponential) {
  uint32_t sizes[2] = {1, 1};
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_init(&net, sizes, 2, 0.8187f), 0);
  *evsnn_net_w(&net, 1, 0, 0) = 0.75f;
  evsnn_ctime_t *ct;
  evsnn_ctime_opts_t o = {.dt_us = 1000};
  cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
  double tau = -1000.0 / log(0.8187f);
  cr_assert_eq(evsnn_ctime_push(ct, 0, 0), 0);
  cr_assert_eq(evsnn_ctime_push(ct, 1234, 0), 0);
  cr_assert_eq(evsnn_ctime_flush(ct), 0);
  float v;
  evsnn_ctime_potentials(ct, 1, 1234, &v);
  double want = 0.75 * exp(-1234 / tau) + 0.75;
  cr_expect(fabs(v - want) < 1e-6, "%g vs %g", v, want);
  evsnn_ctime_potentials(ct, 1, 5000, &v);
  cr_expect(fabs(v - want * exp(-(5000 - 1234) / tau)) < 1e-6);
  /* Reading does not change the state. */
  evsnn_ctime_potentials(ct, 1, 1234, &v);
  cr_expect(fabs(v - want) < 1e-6);
  evsnn_ctime_free(ct);
  evsnn_net_free(&net);
}

/* A conv population decays only the pixels a delivery reaches, each from
 * its own last time; IF neurons do not decay at all. */
Test(ctime, a_conv_population_decays_per_pixel_and_if_not_at_all) {
  for (int model = 0; model < 2; model++) {
    evsnn_net_t net;
    cr_assert_eq(evsnn_net_parse(&net, model ? "1x1x3 conv1c1 if[th=10] dense1 li" : "1x1x3 conv1c1 lif[beta=0.5,th=10] dense1 li"), 0);
    net.proj[0].W[0] = 1.0f;
    evsnn_ctime_t *ct;
    evsnn_ctime_opts_t o = {.dt_us = 1000};
    cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
    cr_assert_eq(evsnn_ctime_push(ct, 0, 0), 0);
    cr_assert_eq(evsnn_ctime_push(ct, 1000, 1), 0);
    cr_assert_eq(evsnn_ctime_push(ct, 2000, 0), 0);
    cr_assert_eq(evsnn_ctime_flush(ct), 0);
    float v[3];
    evsnn_ctime_potentials(ct, 1, 3000, v);
    float f = model ? 1.0f : 0.5f;
    cr_expect_float_eq(v[0], (1.0f * f * f + 1.0f) * f, 1e-6, "pixel 0: %g", v[0]);
    cr_expect_float_eq(v[1], 1.0f * f * f, 1e-6, "pixel 1: %g", v[1]);
    cr_expect_eq(v[2], 0.0f);
    evsnn_ctime_free(ct);
    evsnn_net_free(&net);
  }
}

Test(ctime, synaptic_delay_postpones_delivery) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  for (int64_t d = 0; d <= 500; d += 500) {
    record_t rec = {0};
    spike_t s[8];
    rec.s = s, rec.cap = 8;
    evsnn_ctime_opts_t o = {.dt_us = 1000, .on_spike = on_spike, .on_decision = on_decision, .ud = &rec};
    o.delay_us[2] = d;
    evsnn_ctime_t *ct;
    cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
    cr_assert_eq(evsnn_ctime_push(ct, 100, 0), 0);
    cr_assert_eq(evsnn_ctime_decision(ct), -1);
    cr_assert_eq(evsnn_ctime_flush(ct), 0);
    cr_assert_eq(rec.n, 1);
    cr_expect_eq(rec.s[0].t, 100);
    cr_expect_eq(rec.s[0].layer, 1);
    cr_assert_eq(rec.n_dec, 1);
    cr_expect_eq(rec.dec_t[0], 100 + d, "delay %lld: decision at %lld", (long long)d, (long long)rec.dec_t[0]);
    float v;
    evsnn_ctime_potentials(ct, 2, 100 + d + 1000, &v);
    cr_expect(fabsf(v - 0.8f) < 1e-6f, "%g", v);
    evsnn_ctime_free(ct);
  }
  evsnn_net_free(&net);
}

Test(ctime, refractory_period_holds_a_neuron_at_reset) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  for (int with = 0; with < 2; with++) {
    record_t rec = {0};
    spike_t s[8];
    rec.s = s, rec.cap = 8;
    evsnn_ctime_opts_t o = {.dt_us = 1000, .on_spike = on_spike, .ud = &rec};
    o.refractory_us[1] = with ? 250 : 0;
    evsnn_ctime_t *ct;
    cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
    for (int64_t t = 0; t <= 300; t += 100) cr_assert_eq(evsnn_ctime_push(ct, t, 0), 0);
    cr_assert_eq(evsnn_ctime_flush(ct), 0);
    if (with) {
      cr_assert_eq(rec.n, 2);
      cr_expect_eq(rec.s[0].t, 0);
      cr_expect_eq(rec.s[1].t, 300); /* 100 and 200 fall in [0, 250): input lost */
    } else {
      cr_expect_eq(rec.n, 4);
    }
    evsnn_ctime_free(ct);
  }
  evsnn_net_free(&net);
}

Test(ctime, equal_timestamps_are_deterministic) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, 42, 0);
  evsnn_net_t net;
  random_net(&net, &r, 4, 200);
  float *v[2];
  for (int run = 0; run < 2; run++) {
    evsnn_ctime_t *ct;
    cr_assert_eq(evsnn_ctime_new(&ct, &net, NULL), 0);
    evsnn_rng_t in;
    evsnn_rng_init(&in, 43, 0);
    int64_t t = 0;
    for (int e = 0; e < 5000; e++) {
      t += evsnn_rng_below(&in, 3) == 0; /* many events share a timestamp */
      cr_assert_eq(evsnn_ctime_push(ct, t, evsnn_rng_below(&in, net.pop[0].n)), 0);
    }
    cr_assert_eq(evsnn_ctime_flush(ct), 0);
    v[run] = malloc(sizeof(float) * net.pop[3].n);
    evsnn_ctime_potentials(ct, 3, t, v[run]);
    evsnn_ctime_free(ct);
  }
  cr_expect_eq(memcmp(v[0], v[1], sizeof(float) * net.pop[3].n), 0);
  free(v[0]);
  free(v[1]);
  evsnn_net_free(&net);
}

Test(ctime, refuses_bad_input_and_a_full_queue) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  evsnn_ctime_t *ct;
  evsnn_ctime_opts_t o = {.queue_cap = 3};
  cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
  cr_expect_gt(evsnn_ctime_bytes(ct), 3 * 12);
  cr_expect_eq(evsnn_ctime_push(ct, 10, 1), EVSNN_ERANGE);
  cr_expect_eq(evsnn_ctime_push(ct, 10, 0), 0);
  cr_expect_eq(evsnn_ctime_push(ct, 9, 0), EVSNN_EORDER);
  cr_expect_eq(evsnn_ctime_push(ct, 10, 0), 0);
  cr_expect_eq(evsnn_ctime_push(ct, 10, 0), 0);
  cr_expect_eq(evsnn_ctime_push(ct, 10, 0), EVSNN_ERANGE); /* three pending at t=10, room for three */
  cr_expect_eq(evsnn_ctime_push(ct, 11, 0), 0);            /* t=10 can run now */
  cr_expect_eq(evsnn_ctime_input_events(ct), 4);
  evsnn_ctime_free(ct);
  evsnn_ctime_free(NULL);
  evsnn_net_free(&net);
}

/* What continuous time cannot run is refused before anything is
 * allocated, with a message naming it. */
Test(ctime, refuses_options_and_models_it_cannot_run) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  struct { evsnn_ctime_opts_t o; const char *says; } bad[] = {
      {{.dt_us = -1}, "dt > 0"},
      {{.delay_us = {5}}, "the input population has no delay"},
      {{.delay_us = {0, -1}}, "population dense1: negative delay"},
      {{.refractory_us = {0, 0, 10}}, "population dense2 never spikes"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    evsnn_ctime_t *ct = (evsnn_ctime_t *)&net;
    cr_expect_eq(evsnn_ctime_new(&ct, &net, &bad[i].o), EVSNN_EINVAL, "case %zu", i);
    cr_expect_null(ct);
    cr_expect(strstr(evsnn_error_detail(), bad[i].says), "case %zu: %s", i, evsnn_error_detail());
  }
  evsnn_ctime_t *ct;
  net.pop[1].model = (evsnn_neuron_t)77; /* a model without a continuous-time leak */
  cr_expect_eq(evsnn_ctime_new(&ct, &net, NULL), EVSNN_EINVAL);
  cr_expect(strstr(evsnn_error_detail(), "population dense1: the unknown neuron model"), "%s", evsnn_error_detail());
  evsnn_net_free(&net);
  /* t + dt must be a time: a whole number of microseconds. */
  const char *need_step[] = {"3 dense4 lif rec dense2 li", "3 dense4 lif[reset=subtract] dense2 li"};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(evsnn_net_parse(&net, need_step[i]), 0);
    evsnn_ctime_opts_t o = {.dt_us = 733.5};
    cr_expect_eq(evsnn_ctime_new(&ct, &net, &o), EVSNN_EINVAL, "%s", need_step[i]);
    cr_expect(strstr(evsnn_error_detail(), "whole number of microseconds"), "%s", evsnn_error_detail());
    o.dt_us = 733;
    cr_expect_eq(evsnn_ctime_new(&ct, &net, &o), 0);
    evsnn_ctime_free(ct);
    evsnn_net_free(&net);
  }
}

/* A delay into every population of a chain shifts its spikes by the sum of
 * the delays up to it, and changes nothing else: the same spikes per
 * population in the same order, bit-identical potentials, through a deep
 * queue (random delays up to 3 ms, a refractory period, 20,000 input
 * events). */
Test(ctime, delays_shift_a_chain_bit_for_bit) {
  evsnn_net_t net;
  uint32_t sizes[] = {50, 60, 60, 60, 10};
  cr_assert_eq(evsnn_net_init(&net, sizes, 5, 0.9f), 0);
  float scale[] = {1.0f, 1.0f, 1.0f, 1.0f};
  evsnn_net_init_params(&net, 3, EVSNN_INIT_FANIN, scale);
  evsnn_rng_t r;
  evsnn_rng_init(&r, 77, 0);
  int64_t delay[5] = {0}, shift[5] = {0};
  for (int m = 1; m < 5; m++) delay[m] = evsnn_rng_below(&r, 3000);
  delay[3] = 0; /* one zero delay among them */
  for (int m = 1; m < 5; m++) shift[m] = shift[m - 1] + delay[m];
  record_t rec[2] = {{0}};
  float out[2][10];
  uint64_t deepest = 0;
  for (int q = 0; q < 2; q++) {
    rec[q].cap = 1 << 20;
    rec[q].s = malloc(sizeof(spike_t) * rec[q].cap);
    evsnn_ctime_opts_t o = {.dt_us = 1000, .on_spike = on_spike, .on_decision = on_decision, .ud = &rec[q]};
    for (int m = 1; m < 5; m++) o.delay_us[m] = q ? delay[m] : 0;
    o.refractory_us[2] = 200;
    evsnn_ctime_t *ct;
    cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
    evsnn_rng_t in;
    evsnn_rng_init(&in, 78, 0);
    int64_t t = 0;
    for (int e = 0; e < 20000; e++) {
      t += evsnn_rng_below(&in, 20);
      cr_assert_eq(evsnn_ctime_push(ct, t, evsnn_rng_below(&in, 50)), 0);
      if (evsnn_ctime_pending(ct) > deepest) deepest = evsnn_ctime_pending(ct);
    }
    cr_assert_eq(evsnn_ctime_flush(ct), 0);
    cr_assert_eq(evsnn_ctime_pending(ct), 0);
    evsnn_ctime_potentials(ct, 4, t + 10000 + (q ? shift[4] : 0), out[q]);
    evsnn_ctime_free(ct);
  }
  cr_expect_gt(deepest, 500, "queue depth %llu", (unsigned long long)deepest);
  cr_assert_gt(rec[0].n, 1000, "%zu spikes", rec[0].n);
  cr_assert_eq(rec[0].n, rec[1].n);
  for (uint32_t m = 1; m < 4; m++) {
    size_t a = 0, b = 0, n = 0;
    for (;; a++, b++, n++) {
      while (a < rec[0].n && rec[0].s[a].layer != m) a++;
      while (b < rec[1].n && rec[1].s[b].layer != m) b++;
      if (a == rec[0].n || b == rec[1].n) break;
      cr_assert(rec[1].s[b].t == rec[0].s[a].t + shift[m] && rec[1].s[b].neuron == rec[0].s[a].neuron,
                "population %u, spike %zu", m, n);
    }
    cr_assert(a == rec[0].n && b == rec[1].n, "population %u: as many spikes", m);
    cr_expect_gt(n, 0, "population %u silent", m);
  }
  for (size_t i = 1; i < rec[1].n; i++)
    cr_assert_geq(rec[1].s[i].t, rec[1].s[i - 1].t, "spikes leave in time order");
  cr_expect_eq(memcmp(out[0], out[1], sizeof out[0]), 0);
  cr_expect_eq(rec[0].n_dec, rec[1].n_dec);
  for (size_t i = 0; i < rec[0].n_dec && i < 64; i++)
    cr_expect(rec[1].dec_t[i] == rec[0].dec_t[i] + shift[4] && rec[1].dec_cls[i] == rec[0].dec_cls[i], "decision %zu", i);
  for (int q = 0; q < 2; q++) free(rec[q].s);
  evsnn_net_free(&net);
}

Test(ctime, advance_runs_what_is_due_and_inject_feeds_a_layer) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  record_t rec = {0};
  spike_t sp[8];
  rec.s = sp, rec.cap = 8;
  evsnn_ctime_opts_t o = {.dt_us = 1000, .on_spike = on_spike, .on_decision = on_decision, .ud = &rec};
  evsnn_ctime_t *ct;
  cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
  cr_assert_eq(evsnn_ctime_push(ct, 50, 0), 0);
  cr_expect_eq(rec.n, 0);                 /* another input at t=50 could still come */
  cr_expect_eq(evsnn_ctime_pending(ct), 1);
  cr_assert_eq(evsnn_ctime_advance(ct, 50), 0);
  cr_expect_eq(rec.n, 0);                 /* advance runs only what is strictly earlier */
  cr_assert_eq(evsnn_ctime_advance(ct, 51), 0);
  cr_expect_eq(rec.n, 1);
  cr_expect_eq(rec.n_dec, 1);
  cr_expect_eq(evsnn_ctime_push(ct, 50, 0), EVSNN_EORDER); /* advance promised nothing before 51 */
  /* A recorded spike of hidden layer 1 goes straight into layer 2. */
  cr_assert_eq(evsnn_ctime_inject(ct, 60, 1, 0), 0);
  cr_assert_eq(evsnn_ctime_flush(ct), 0);
  cr_expect_eq(rec.n, 1); /* injected, not produced */
  float v;
  evsnn_ctime_potentials(ct, 2, 60, &v);
  double tau = -1000.0 / log(0.8);
  cr_expect(fabs(v - (exp(-10 / tau) + 1.0)) < 1e-6, "%g", v);
  cr_expect_eq(evsnn_ctime_inject(ct, 70, 2, 0), EVSNN_ERANGE); /* the readout projects nowhere */
  cr_expect(strstr(evsnn_error_detail(), "projects nowhere"), "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_ctime_inject(ct, 70, 1, 1), EVSNN_ERANGE); /* layer 1 has one neuron */
  cr_expect_eq(evsnn_ctime_inject(ct, 70, 9, 0), EVSNN_ERANGE);
  evsnn_ctime_free(ct);
  /* Spikes fed into two populations: dense1's own spike of 100 us reaches
   * dense2 at 150 us, and one injected into dense1 at 80 us would arrive
   * behind it, at 130 us. */
  o.delay_us[1] = 100, o.delay_us[2] = 50;
  cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
  cr_assert_eq(evsnn_ctime_push(ct, 0, 0), 0);
  cr_expect_eq(evsnn_ctime_inject(ct, 80, 1, 0), EVSNN_EORDER);
  cr_expect(strstr(evsnn_error_detail(), "behind one queued for 150 us"), "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_ctime_inject(ct, 100, 1, 0), 0);
  evsnn_ctime_free(ct);
  evsnn_net_free(&net);
}
