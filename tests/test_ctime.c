/* The continuous-time engine: against the discrete engine when every input
 * sits on a step boundary (same spikes, potentials within float tolerance,
 * same counters); exact exponential decay between events; synaptic delay;
 * refractory period; determinism at equal timestamps; refused input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evsnn/ctime.h"
#include "evsnn/error.h"
#include "evsnn/engine.h"

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

/* Random raster, some steps silent; the discrete engine steps through it
 * while the continuous one gets each spike at t0 + k dt. */
static void compare_on_boundaries(uint64_t seed, uint32_t n_sizes, uint32_t max_size, float density, double dt,
                                  int64_t t0) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, seed, 7);
  evsnn_net_t net;
  random_net(&net, &r, n_sizes, max_size);
  uint32_t L = net.n_layers;
  evsnn_state_t st;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  record_t rec = {0};
  rec.cap = 1 << 20;
  rec.s = malloc(sizeof(spike_t) * rec.cap);
  evsnn_ctime_opts_t o = {.dt_us = dt, .on_spike = on_spike, .ud = &rec};
  evsnn_ctime_t ct;
  cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
  uint32_t *in = malloc(sizeof(uint32_t) * net.sizes[0]);
  float *v = malloc(sizeof(float) * 65536);
  uint32_t T = 1 + evsnn_rng_below(&r, 30);
  uint64_t compared = 0;
  for (uint32_t k = 0; k < T; k++) {
    int64_t t = t0 + (int64_t)llround(k * dt);
    uint32_t n = 0;
    float dens = evsnn_rng_below(&r, 4) == 0 ? 0.0f : density;
    for (uint32_t j = 0; j < net.sizes[0]; j++)
      if (evsnn_rng_uniform(&r) < dens) in[n++] = j;
    evsnn_state_step(&st, in, n);
    size_t before = rec.n;
    for (uint32_t i = 0; i < n; i++) cr_assert_eq(evsnn_ctime_push(&ct, t, in[i]), 0);
    cr_assert_eq(evsnn_ctime_advance(&ct, t + 1), 0);
    /* This step's spikes, layer by layer, in the discrete engine's order. */
    size_t at = before;
    for (uint32_t m = 1; m < L; m++) {
      for (uint32_t s = 0; s < st.n_spikes[m]; s++, at++) {
        cr_assert_lt(at, rec.n, "seed %llu step %u layer %u: continuous time has fewer spikes",
                     (unsigned long long)seed, k, m);
        cr_assert_eq(rec.s[at].t, t);
        cr_assert_eq(rec.s[at].layer, m, "seed %llu step %u", (unsigned long long)seed, k);
        cr_assert_eq(rec.s[at].neuron, st.spikes[m][s], "seed %llu step %u layer %u", (unsigned long long)seed, k, m);
        compared++;
      }
    }
    cr_assert_eq(at, rec.n, "seed %llu step %u: continuous time has more spikes", (unsigned long long)seed, k);
    for (uint32_t m = 1; m <= L; m++) {
      const float *vd = evsnn_state_potentials(&st, m);
      evsnn_ctime_potentials(&ct, m, t, v);
      for (uint32_t i = 0; i < net.sizes[m]; i++)
        cr_assert(fabsf(v[i] - vd[i]) <= 2e-5f * fmaxf(1.0f, fabsf(vd[i])),
                  "seed %llu step %u layer %u neuron %u: %g vs %g", (unsigned long long)seed, k, m, i, v[i], vd[i]);
    }
  }
  evsnn_counts_t c;
  evsnn_ctime_counts(&ct, &c);
  for (uint32_t m = 0; m <= L; m++) cr_expect_eq(c.spikes[m], st.counts.spikes[m], "layer %u spikes", m);
  for (uint32_t m = 0; m < L; m++) cr_expect_eq(c.synops[m], st.counts.synops[m], "layer %u synops", m + 1);
  free(in);
  free(v);
  free(rec.s);
  evsnn_ctime_free(&ct);
  evsnn_state_free(&st);
  evsnn_net_free(&net);
}

Test(ctime, on_step_boundaries_matches_discrete_engine) {
  for (uint64_t seed = 1; seed <= 60; seed++)
    compare_on_boundaries(seed, 2 + (uint32_t)(seed % 4), 80, 0.3f, seed % 2 ? 1000.0 : 733.0, (int64_t)seed * 17);
}

Test(ctime, on_step_boundaries_matches_with_wide_layers) {
  /* More than one kernel batch (1024 columns) per instant. */
  for (uint64_t seed = 100; seed < 104; seed++) compare_on_boundaries(seed, 3, 1600, 0.9f, 1000.0, 0);
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
  evsnn_ctime_t ct;
  evsnn_ctime_opts_t o = {.dt_us = 1000};
  cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
  double tau = -1000.0 / log(0.8187f);
  cr_assert_eq(evsnn_ctime_push(&ct, 0, 0), 0);
  cr_assert_eq(evsnn_ctime_push(&ct, 1234, 0), 0);
  cr_assert_eq(evsnn_ctime_flush(&ct), 0);
  float v;
  evsnn_ctime_potentials(&ct, 1, 1234, &v);
  double want = 0.75 * exp(-1234 / tau) + 0.75;
  cr_expect(fabs(v - want) < 1e-6, "%g vs %g", v, want);
  evsnn_ctime_potentials(&ct, 1, 5000, &v);
  cr_expect(fabs(v - want * exp(-(5000 - 1234) / tau)) < 1e-6);
  /* Reading does not change the state. */
  evsnn_ctime_potentials(&ct, 1, 1234, &v);
  cr_expect(fabs(v - want) < 1e-6);
  evsnn_ctime_free(&ct);
  evsnn_net_free(&net);
}

Test(ctime, synaptic_delay_postpones_delivery) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  for (int64_t d = 0; d <= 500; d += 500) {
    record_t rec = {0};
    spike_t s[8];
    rec.s = s, rec.cap = 8;
    evsnn_ctime_opts_t o = {.dt_us = 1000, .on_spike = on_spike, .on_decision = on_decision, .ud = &rec};
    o.delay_us[1] = d;
    evsnn_ctime_t ct;
    cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
    cr_assert_eq(evsnn_ctime_push(&ct, 100, 0), 0);
    cr_assert_eq(evsnn_ctime_decision(&ct), -1);
    cr_assert_eq(evsnn_ctime_flush(&ct), 0);
    cr_assert_eq(rec.n, 1);
    cr_expect_eq(rec.s[0].t, 100);
    cr_expect_eq(rec.s[0].layer, 1);
    cr_assert_eq(rec.n_dec, 1);
    cr_expect_eq(rec.dec_t[0], 100 + d, "delay %lld: decision at %lld", (long long)d, (long long)rec.dec_t[0]);
    float v;
    evsnn_ctime_potentials(&ct, 2, 100 + d + 1000, &v);
    cr_expect(fabsf(v - 0.8f) < 1e-6f, "%g", v);
    evsnn_ctime_free(&ct);
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
    o.refractory_us[0] = with ? 250 : 0;
    evsnn_ctime_t ct;
    cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
    for (int64_t t = 0; t <= 300; t += 100) cr_assert_eq(evsnn_ctime_push(&ct, t, 0), 0);
    cr_assert_eq(evsnn_ctime_flush(&ct), 0);
    if (with) {
      cr_assert_eq(rec.n, 2);
      cr_expect_eq(rec.s[0].t, 0);
      cr_expect_eq(rec.s[1].t, 300); /* 100 and 200 fall in [0, 250): input lost */
    } else {
      cr_expect_eq(rec.n, 4);
    }
    evsnn_ctime_free(&ct);
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
    evsnn_ctime_t ct;
    cr_assert_eq(evsnn_ctime_init(&ct, &net, NULL), 0);
    evsnn_rng_t in;
    evsnn_rng_init(&in, 43, 0);
    int64_t t = 0;
    for (int e = 0; e < 5000; e++) {
      t += evsnn_rng_below(&in, 3) == 0; /* many events share a timestamp */
      cr_assert_eq(evsnn_ctime_push(&ct, t, evsnn_rng_below(&in, net.sizes[0])), 0);
    }
    cr_assert_eq(evsnn_ctime_flush(&ct), 0);
    v[run] = malloc(sizeof(float) * net.sizes[3]);
    evsnn_ctime_potentials(&ct, 3, t, v[run]);
    evsnn_ctime_free(&ct);
  }
  cr_expect_eq(memcmp(v[0], v[1], sizeof(float) * net.sizes[3]), 0);
  free(v[0]);
  free(v[1]);
  evsnn_net_free(&net);
}

Test(ctime, refuses_bad_input_and_a_full_queue) {
  evsnn_net_t net;
  tiny_net(&net, 0.8f);
  evsnn_ctime_t ct;
  evsnn_ctime_opts_t o = {.queue_cap = 3};
  cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
  cr_expect_eq(evsnn_ctime_push(&ct, 10, 1), EVSNN_ERANGE);
  cr_expect_eq(evsnn_ctime_push(&ct, 10, 0), 0);
  cr_expect_eq(evsnn_ctime_push(&ct, 9, 0), EVSNN_EORDER);
  cr_expect_eq(evsnn_ctime_push(&ct, 10, 0), 0);
  cr_expect_eq(evsnn_ctime_push(&ct, 10, 0), 0);
  cr_expect_eq(evsnn_ctime_push(&ct, 10, 0), EVSNN_ERANGE); /* three pending at t=10, room for three */
  cr_expect_eq(evsnn_ctime_push(&ct, 11, 0), 0);            /* t=10 can run now */
  cr_expect_eq(ct.input_events, 4);
  evsnn_ctime_free(&ct);
  net.beta = 1.0f;
  cr_expect_eq(evsnn_ctime_init(&ct, &net, NULL), EVSNN_EINVAL);
  evsnn_net_free(&net);
}

/* A deep queue: random delays per layer, a refractory period, 20,000
 * input events. Spikes leave in time order, and the per-layer FIFOs give
 * exactly the heap's spikes (same times, layers, neurons, order) and the
 * same potentials bit for bit. */
Test(ctime, fifo_queue_matches_heap_with_delays) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, 77, 0);
  evsnn_net_t net;
  uint32_t sizes[] = {50, 60, 60, 60, 10};
  cr_assert_eq(evsnn_net_init(&net, sizes, 5, 0.9f), 0);
  float scale[] = {1.0f, 1.0f, 1.0f, 1.0f};
  evsnn_net_init_params(&net, 3, EVSNN_INIT_FANIN, scale);
  int64_t delay[4];
  for (int m = 0; m < 4; m++) delay[m] = evsnn_rng_below(&r, 3000);
  delay[2] = 0; /* one zero delay among them */
  record_t rec[2] = {{0}};
  float out[2][10];
  uint64_t deepest = 0;
  for (int q = 0; q < 2; q++) {
    rec[q].cap = 1 << 20;
    rec[q].s = malloc(sizeof(spike_t) * rec[q].cap);
    evsnn_ctime_opts_t o = {.dt_us = 1000, .on_spike = on_spike, .on_decision = on_decision, .ud = &rec[q]};
    o.queue = q ? EVSNN_QUEUE_HEAP : EVSNN_QUEUE_FIFO;
    for (int m = 0; m < 4; m++) o.delay_us[m] = delay[m];
    o.refractory_us[1] = 200;
    evsnn_ctime_t ct;
    cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
    evsnn_rng_t in;
    evsnn_rng_init(&in, 78, 0);
    int64_t t = 0;
    for (int e = 0; e < 20000; e++) {
      t += evsnn_rng_below(&in, 20);
      cr_assert_eq(evsnn_ctime_push(&ct, t, evsnn_rng_below(&in, 50)), 0);
      if (evsnn_ctime_pending(&ct) > deepest) deepest = evsnn_ctime_pending(&ct);
    }
    cr_assert_eq(evsnn_ctime_flush(&ct), 0);
    cr_assert_eq(evsnn_ctime_pending(&ct), 0);
    evsnn_ctime_potentials(&ct, 4, t + 10000, out[q]);
    evsnn_ctime_free(&ct);
  }
  cr_expect_gt(deepest, 500, "queue depth %llu", (unsigned long long)deepest);
  cr_assert_gt(rec[0].n, 1000, "%zu spikes", rec[0].n);
  cr_assert_eq(rec[0].n, rec[1].n);
  size_t per_layer[4] = {0};
  for (size_t i = 0; i < rec[0].n; i++) {
    per_layer[rec[0].s[i].layer - 1]++;
    if (i) cr_assert_geq(rec[0].s[i].t, rec[0].s[i - 1].t, "spike %zu at %lld after %lld", i, (long long)rec[0].s[i].t,
                         (long long)rec[0].s[i - 1].t);
    cr_assert(rec[0].s[i].t == rec[1].s[i].t && rec[0].s[i].layer == rec[1].s[i].layer &&
                  rec[0].s[i].neuron == rec[1].s[i].neuron,
              "spike %zu differs", i);
  }
  for (int m = 0; m < 3; m++) cr_expect_gt(per_layer[m], 0, "layer %d silent", m + 1);
  cr_expect_eq(memcmp(out[0], out[1], sizeof out[0]), 0);
  cr_expect_eq(rec[0].n_dec, rec[1].n_dec);
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
  evsnn_ctime_t ct;
  cr_assert_eq(evsnn_ctime_init(&ct, &net, &o), 0);
  cr_assert_eq(evsnn_ctime_push(&ct, 50, 0), 0);
  cr_expect_eq(rec.n, 0);                 /* another input at t=50 could still come */
  cr_expect_eq(evsnn_ctime_pending(&ct), 1);
  cr_assert_eq(evsnn_ctime_advance(&ct, 50), 0);
  cr_expect_eq(rec.n, 0);                 /* advance runs only what is strictly earlier */
  cr_assert_eq(evsnn_ctime_advance(&ct, 51), 0);
  cr_expect_eq(rec.n, 1);
  cr_expect_eq(rec.n_dec, 1);
  cr_expect_eq(evsnn_ctime_push(&ct, 50, 0), EVSNN_EORDER); /* advance promised nothing before 51 */
  /* A recorded spike of hidden layer 1 goes straight into layer 2. */
  cr_assert_eq(evsnn_ctime_inject(&ct, 60, 1, 0), 0);
  cr_assert_eq(evsnn_ctime_flush(&ct), 0);
  cr_expect_eq(rec.n, 1); /* injected, not produced */
  float v;
  evsnn_ctime_potentials(&ct, 2, 60, &v);
  double tau = -1000.0 / log(0.8);
  cr_expect(fabs(v - (exp(-10 / tau) + 1.0)) < 1e-6, "%g", v);
  cr_expect_eq(evsnn_ctime_inject(&ct, 70, 2, 0), EVSNN_ERANGE); /* the output layer has no layer above */
  cr_expect_eq(evsnn_ctime_inject(&ct, 70, 1, 1), EVSNN_ERANGE); /* layer 1 has one neuron */
  evsnn_ctime_free(&ct);
  evsnn_net_free(&net);
}
