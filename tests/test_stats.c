/* The per-population counters (evsnn/stats.h) and the commands that print
 * them (evsnn stats, evsnn test) on convolutional graphs. The expected
 * figures are derived here, independently of the projections' tables:
 * synaptic operations as the sum over recorded spikes of a fan-out counted
 * from the geometry (the output positions whose window holds the spike),
 * dense MACs from the shapes, silent fractions from the recorded spikes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "evsnn/engine.h"
#include "evsnn/model.h"
#include "evsnn/net.h"
#include "evsnn/rng.h"
#include "evsnn/stats.h"

/* A graph with every kind of projection: a padded convolution, a pooled
 * convolution, dense, recurrent, and an LI readout. */
#define GRAPH "2x6x6 conv3c3p1 lif[th=0.4] pool2 conv2c3p1 lif[th=0.4] dense4 lif[th=0.4] rec dense3 li"

/* Weights |U(-a, a)|, so that activity reaches every population. */
static void make_net(evsnn_net_t *net, const char *desc) {
  cr_assert_eq(evsnn_net_parse(net, desc), 0, "%s", desc);
  evsnn_net_init_params(net, 7, EVSNN_INIT_FANIN, NULL);
  for (size_t i = 0; i < net->n_params; i++) net->params[i] = fabsf(net->params[i]);
}

/* (c, y, x) of neuron i of population m: channels first for the input,
 * channels last for the others (docs/net-description.md). */
static void coords(const evsnn_net_t *net, uint32_t m, uint32_t i, uint32_t *c, uint32_t *y, uint32_t *x) {
  const evsnn_pop_t *p = &net->pop[m];
  if (m == 0) *c = i / (p->h * p->w), *y = i / p->w % p->h, *x = i % p->w;
  else *c = i % p->c, *x = i / p->c % p->w, *y = i / p->c / p->w;
}

/* Output positions o in [0, n_out) whose window [o s - pad, o s - pad + k)
 * holds position i. */
static uint32_t covering(uint32_t i, uint32_t n_out, uint32_t k, uint32_t s, uint32_t pad) {
  uint32_t n = 0;
  for (uint32_t o = 0; o < n_out; o++) {
    long lo = (long)o * s - pad;
    n += (long)i >= lo && (long)i < lo + (long)k;
  }
  return n;
}

/* Weights one spike of neuron i of the projection's source adds. */
static uint64_t fanout(const evsnn_net_t *net, const evsnn_proj_t *p, uint32_t i) {
  const evsnn_pop_t *src = &net->pop[p->src], *dst = &net->pop[p->dst];
  if (p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT) return dst->n;
  cr_assert_eq(p->kind, EVSNN_PROJ_CONV);
  uint32_t c, y, x;
  coords(net, p->src, i, &c, &y, &x);
  if (p->pool_k) { /* pool2: stride 2, every position in one window */
    y /= p->pool_k, x /= p->pool_k;
    if (y >= src->h / p->pool_k || x >= src->w / p->pool_k) return 0;
  }
  return (uint64_t)dst->c * covering(y, dst->h, p->k, p->stride, p->pad) * covering(x, dst->w, p->k, p->stride, p->pad);
}

static uint64_t macs_per_step(const evsnn_net_t *net, const evsnn_proj_t *p) {
  const evsnn_pop_t *src = &net->pop[p->src], *dst = &net->pop[p->dst];
  uint32_t c_in = src->c, pooled = p->pool_k ? p->pool_k * p->pool_k : 1;
  if (p->kind == EVSNN_PROJ_CONV) return (uint64_t)dst->n * p->k * p->k * c_in;
  return (uint64_t)src->n / pooled * dst->n;
}

Test(stats, counters_per_population_match_the_recorded_spikes) {
  evsnn_net_t net;
  make_net(&net, GRAPH);
  evsnn_state_t st;
  evsnn_stats_t s;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  cr_assert_eq(evsnn_stats_init(&s, &net), 0);
  enum { SAMPLES = 3, T = 8 };
  uint32_t P = net.n_pops;
  uint64_t spikes[EVSNN_MAX_POPS] = {0}, synops[EVSNN_MAX_POPS] = {0}, silent[EVSNN_MAX_POPS] = {0};
  uint8_t *fired = calloc(4096, 1);
  uint32_t *prev = calloc(4096, sizeof(uint32_t)), n_prev = 0, in[72];
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, 3, 0);
  for (uint32_t smp = 0; smp < SAMPLES; smp++) {
    evsnn_state_reset(&st);
    memset(fired, 0, 4096);
    n_prev = 0;
    for (uint32_t k = 0; k < T; k++) {
      uint32_t n = 0;
      for (uint32_t i = 0; i < net.pop[0].n; i++)
        if (evsnn_rng_uniform(&rng) < 0.08f) in[n++] = i;
      evsnn_state_step(&st, in, n);
      evsnn_stats_step(&s, &st);
      for (uint32_t q = 0; q < net.n_projs; q++) {
        const evsnn_proj_t *p = &net.proj[q];
        /* A recurrent projection carries the previous step's spikes. */
        const uint32_t *idx = p->kind == EVSNN_PROJ_RECURRENT ? prev : st.spikes[p->src];
        uint32_t cnt = p->kind == EVSNN_PROJ_RECURRENT ? n_prev : st.n_spikes[p->src];
        for (uint32_t j = 0; j < cnt; j++) synops[p->dst] += fanout(&net, p, idx[j]);
      }
      for (uint32_t m = 0; m < P; m++) {
        spikes[m] += st.n_spikes[m];
        for (uint32_t j = 0; j < st.n_spikes[m]; j++) fired[m * 256 + st.spikes[m][j]] = 1;
      }
      uint32_t r = P - 2; /* the recurrent population */
      memcpy(prev, st.spikes[r], sizeof(uint32_t) * st.n_spikes[r]);
      n_prev = st.n_spikes[r];
    }
    evsnn_stats_end_sample(&s);
    for (uint32_t m = 0; m < P; m++)
      for (uint32_t i = 0; i < net.pop[m].n; i++) silent[m] += !fired[m * 256 + i];
  }
  evsnn_stats_add(&s, &st.counts);
  uint64_t total_synops = 0, total_macs = 0, hidden = 0;
  for (uint32_t m = 0; m < P; m++) {
    evsnn_stats_pop_t r;
    evsnn_stats_pop(&s, m, &r);
    const evsnn_pop_t *p = &net.pop[m];
    uint64_t macs = 0;
    for (uint32_t q = 0; q < net.n_projs; q++)
      if (net.proj[q].dst == m) macs += macs_per_step(&net, &net.proj[q]) * SAMPLES * T;
    cr_expect_eq(r.neurons, p->n);
    cr_expect_eq(r.synops, synops[m], "%s: synops %llu, from the spikes %llu", p->name, (unsigned long long)r.synops,
                 (unsigned long long)synops[m]);
    cr_expect_eq(r.dense_macs, macs, "%s: dense MACs %llu, from the shapes %llu", p->name,
                 (unsigned long long)r.dense_macs, (unsigned long long)macs);
    cr_expect_float_eq(r.event_nj, synops[m] / 3.0 * 0.9e-3, 1e-9);
    cr_expect_float_eq(r.dense_nj, macs / 3.0 * 4.6e-3, 1e-9);
    total_synops += synops[m], total_macs += macs;
    if (m + 1 == P) { /* the LI readout never spikes */
      cr_expect(!r.spiking && r.spikes == 0 && r.silent_fraction == 0);
      continue;
    }
    cr_assert_gt(spikes[m], 0, "%s never spiked: the case tests nothing", p->name);
    cr_expect(r.spiking);
    cr_expect_eq(r.spikes, spikes[m], "%s", p->name);
    cr_expect_float_eq(r.per_step, (double)spikes[m] / p->n / (SAMPLES * T), 1e-12);
    cr_expect_eq(r.per_second, 0);
    cr_expect_float_eq(r.silent_fraction, (double)silent[m] / SAMPLES / p->n, 1e-12, "%s", p->name);
    if (m) hidden += spikes[m];
  }
  cr_expect_gt(silent[1], 0, "conv1 has no silent neuron: the silent fraction is not tested");
  evsnn_stats_total_t tot;
  evsnn_stats_total(&s, &tot);
  cr_expect_eq(tot.synops, total_synops);
  cr_expect_eq(tot.dense_macs, total_macs);
  cr_expect_eq(tot.hidden_spikes, hidden);
  cr_expect_float_eq(tot.event_nj, total_synops / 3.0 * 0.9e-3, 1e-9);
  /* Seconds of recording give the rate per second. */
  s.seconds = 2.0;
  evsnn_stats_pop_t r;
  evsnn_stats_pop(&s, 1, &r);
  cr_expect_float_eq(r.per_second, (double)spikes[1] / net.pop[1].n / 2.0, 1e-12);
  free(fired), free(prev);
  evsnn_stats_free(&s);
  evsnn_stats_free(&s); /* a freed accumulator may be freed again */
  evsnn_state_free(&st);
  evsnn_net_free(&net);
}

/* Spikes noted one at a time (as the continuous-time engine reports them)
 * or a step at a time count the same silent neurons; a neuron noted twice
 * counts once, and the counters only add up. */
Test(stats, spikes_one_by_one_or_per_step_agree) {
  evsnn_net_t net;
  make_net(&net, "4 dense3 lif dense2 li");
  evsnn_stats_t s;
  cr_assert_eq(evsnn_stats_init(&s, &net), 0);
  uint32_t a[] = {1, 3, 3}, b = 2;
  evsnn_stats_spikes(&s, 0, a, 3);
  evsnn_stats_spikes(&s, 1, &b, 1);
  evsnn_stats_end_sample(&s);
  evsnn_stats_end_sample(&s); /* a sample with no spike at all */
  cr_expect_eq(s.samples, 2);
  cr_expect_eq(s.silent[0], 2 + 4);
  cr_expect_eq(s.silent[1], 2 + 3);
  evsnn_counts_t c = {.steps = 5, .spikes = {7, 2}, .synops = {6, 4}, .dense_macs = {60, 30}};
  evsnn_stats_add(&s, &c);
  evsnn_stats_add(&s, &c);
  evsnn_stats_pop_t r;
  evsnn_stats_pop(&s, 1, &r);
  cr_expect(r.spikes == 4 && r.synops == 12 && r.dense_macs == 120, "%llu %llu %llu", (unsigned long long)r.spikes,
            (unsigned long long)r.synops, (unsigned long long)r.dense_macs);
  cr_expect_float_eq(r.per_step, 4.0 / 3 / 10, 1e-12);
  cr_expect_float_eq(r.silent_fraction, 5.0 / 2 / 3, 1e-12);
  evsnn_stats_free(&s);
  evsnn_net_free(&net);
}

/* ------------------------------------------------------ the commands ---- */

/* The document --json printed: the last line that starts with '{'. */
static json_t *parse_last_line(const char *out) {
  const char *p = out, *doc = NULL;
  while (p && *p) {
    if (*p == '{') doc = p;
    p = strchr(p, '\n');
    if (p) p++;
  }
  cr_assert(doc, "no JSON line in %s", out);
  json_error_t e;
  json_t *j = json_loads(doc, JSON_DISABLE_EOF_CHECK, &e);
  cr_assert(j, "%s: %s", e.text, doc);
  return j;
}

static uint64_t jint(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  cr_assert(v, "no %s", key);
  return (uint64_t)json_number_value(v);
}

static void expect_pop(json_t *o, const char *name, uint32_t c, uint32_t h, uint32_t w) {
  cr_expect_str_eq(json_string_value(json_object_get(o, "name")), name);
  json_t *sh = json_object_get(o, "shape");
  cr_assert(json_is_array(sh) && json_array_size(sh) == 3, "%s: no shape", name);
  cr_expect(json_integer_value(json_array_get(sh, 0)) == c && json_integer_value(json_array_get(sh, 1)) == h &&
                json_integer_value(json_array_get(sh, 2)) == w,
            "%s: shape", name);
  cr_expect_eq(jint(o, "neurons"), (uint64_t)c * h * w);
}

static char model[128];
static void save_model(const char *desc) {
  evsnn_net_t net;
  make_net(&net, desc);
  snprintf(model, sizeof model, "/tmp/evsnn-stats-%d.evsnn", (int)getpid());
  cr_assert_eq(evsnn_model_save(model, &net, NULL, NULL), 0);
  evsnn_net_free(&net);
}

/* Convolutions of stride = kernel: every spike has the same fan-out (the
 * C_out channels of the one window holding it), so the synops of each
 * population follow from the spikes of the one before it. */
#define CONV_MNIST "1x28x28 conv4c2s2 lif[th=0.3] conv4c2s2 lif[th=0.3] dense10 li"

Test(stats_cli, stats_and_test_report_a_conv_graph_per_population, .timeout = 60) {
  save_model(CONV_MNIST);
  char out[65536], err[8192], args[512];
  snprintf(args, sizeof args, "stats --model %s --data datasets/sample --limit 6 --steps 4 --json", model);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  json_t *doc = parse_last_line(out), *in = json_object_get(doc, "input"), *layers = json_object_get(doc, "layers");
  cr_assert(in && json_is_array(layers) && json_array_size(layers) == 3, "%s", out);
  expect_pop(in, "in", 1, 28, 28);
  json_t *c1 = json_array_get(layers, 0), *c2 = json_array_get(layers, 1), *d = json_array_get(layers, 2);
  expect_pop(c1, "conv1", 4, 14, 14);
  expect_pop(c2, "conv2", 4, 7, 7);
  expect_pop(d, "dense3", 10, 1, 1);
  uint64_t s0 = jint(in, "spikes"), s1 = jint(c1, "spikes"), s2 = jint(c2, "spikes"), steps = 6 * 4;
  cr_assert(s0 && s1 && s2, "a population never spiked: %s", out);
  cr_expect_eq(jint(c1, "synops"), 4 * s0);
  cr_expect_eq(jint(c2, "synops"), 4 * s1);
  cr_expect_eq(jint(d, "synops"), 10 * s2);
  cr_expect_eq(jint(c1, "dense_macs"), steps * 4 * 14 * 14 * (2 * 2 * 1));
  cr_expect_eq(jint(c2, "dense_macs"), steps * 4 * 7 * 7 * (2 * 2 * 4));
  cr_expect_eq(jint(d, "dense_macs"), steps * 196 * 10);
  cr_expect(json_is_false(json_object_get(d, "spiking")) && !json_object_get(d, "silent_fraction"));
  double f = json_number_value(json_object_get(c1, "silent_fraction"));
  cr_expect(f >= 0 && f <= 1);
  cr_expect_float_eq(json_number_value(json_object_get(c1, "spikes_per_neuron_per_step")), (double)s1 / 784 / steps, 1e-5);
  json_t *tot = json_object_get(doc, "totals");
  cr_expect_eq(jint(tot, "synops"), 4 * s0 + 4 * s1 + 10 * s2);
  cr_expect_eq(jint(tot, "spikes"), s1 + s2);
  cr_expect_float_eq(json_number_value(json_object_get(json_object_get(c2, "energy_estimate_nj_per_sample"), "event")),
                     4.0 * s1 / 6 * 0.9e-3, 1e-3);
  /* evsnn test counts the same (its pass is the same). */
  snprintf(args, sizeof args, "test --model %s --data datasets/sample --limit 6 --steps 4 --json", model);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  json_t *t = parse_last_line(out), *tp = json_object_get(t, "populations");
  cr_assert(json_is_array(tp) && json_array_size(tp) == 4, "%s", out);
  expect_pop(json_array_get(tp, 1), "conv1", 4, 14, 14);
  cr_expect_eq(jint(json_array_get(tp, 1), "spikes"), s1);
  cr_expect_eq(jint(json_array_get(tp, 2), "synops"), 4 * s1);
  cr_expect_eq(jint(json_array_get(tp, 3), "dense_macs"), steps * 1960);
  cr_expect_eq(jint(t, "synops"), jint(tot, "synops"));
  json_decref(t);
  json_decref(doc);
  /* The table names each population with its shape. */
  snprintf(args, sizeof args, "stats --model %s --data datasets/sample --limit 6 --steps 4", model);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "\nconv1 4x14x14 ") && strstr(out, "\nconv2 4x7x7 ") && strstr(out, "\ndense3 "), "%s", out);
  cr_expect(strstr(out, "population") && strstr(out, "ESTIMATE"), "%s", out);
  unlink(model);
}

/* An event dataset binned into T steps, as evsnn test bins it: the input
 * is the sensor's 2 x 34 x 34 map. */
Test(stats_cli, stats_bins_an_event_dataset_like_test, .timeout = 60) {
  save_model("2x34x34 conv2c2s2 lif[th=0.3] dense10 li");
  char out[65536], err[8192], args[512], dir[128];
  snprintf(dir, sizeof dir, "/tmp/evsnn-stats-dvs-%d", (int)getpid());
  snprintf(args, sizeof args, "encode dvs --data datasets/sample --limit 2 --out %s --threads 1", dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  snprintf(args, sizeof args, "stats --model %s --data %s --steps 5 --json", model, dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  json_t *doc = parse_last_line(out), *in = json_object_get(doc, "input"), *layers = json_object_get(doc, "layers");
  cr_expect_str_eq(json_string_value(json_object_get(doc, "mode")), "discrete");
  cr_expect_eq(jint(doc, "samples"), 2);
  expect_pop(in, "in", 2, 34, 34);
  json_t *c1 = json_array_get(layers, 0);
  expect_pop(c1, "conv1", 2, 17, 17);
  cr_assert_gt(jint(in, "spikes"), 0);
  cr_expect_eq(jint(c1, "synops"), 2 * jint(in, "spikes"));
  cr_expect_eq(jint(c1, "dense_macs"), 2 * 5 * (2 * 17 * 17) * (2 * 2 * 2));
  snprintf(args, sizeof args, "test --model %s --data %s --steps 5 --json", model, dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  json_t *t = parse_last_line(out);
  cr_expect_eq(jint(t, "synops"), jint(json_object_get(doc, "totals"), "synops"));
  cr_expect_float_eq(json_number_value(json_object_get(t, "accuracy")), json_number_value(json_object_get(doc, "accuracy")),
                     1e-9);
  json_decref(t);
  json_decref(doc);
  /* --steps bins a dataset; event files run in continuous time. */
  snprintf(args, sizeof args, "stats --model %s --steps 5 %s/test/00000.evs.gz", model, dir);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--steps bins an event dataset"), "%s", err);
  /* A model for another input than the images. */
  snprintf(args, sizeof args, "stats --model %s --data datasets/sample --limit 2", model);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "784 pixels per image") && strstr(err, "2312 inputs"), "%s", err);
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  cr_expect_eq(system(args), 0);
  unlink(model);
}

Test(stats_cli, a_missing_or_foreign_model_file_is_named) {
  char out[8192], err[8192];
  const char *cmds[] = {"stats", "test"};
  for (int i = 0; i < 2; i++) {
    char args[512];
    snprintf(args, sizeof args, "%s --model /tmp/evsnn-no-such-model.evsnn --data datasets/sample --limit 2", cmds[i]);
    cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1, "%s", cmds[i]);
    cr_expect(strstr(err, "/tmp/evsnn-no-such-model.evsnn") && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
    snprintf(args, sizeof args, "%s --model datasets/README.md --data datasets/sample --limit 2", cmds[i]);
    cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1, "%s", cmds[i]);
    cr_expect(strstr(err, "datasets/README.md") && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
  }
}
