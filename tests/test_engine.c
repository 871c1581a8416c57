/* The event engine against the dense CBLAS reference on random networks,
 * thresholds and input rasters; the Poisson encoder; sparsity counters. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "evsnn/encode.h"
#include "evsnn/engine.h"

static void random_net(evsnn_net_t *net, evsnn_rng_t *r, uint32_t n_sizes, uint32_t max_size) {
  uint32_t sizes[EVSNN_MAX_LAYERS + 1];
  for (uint32_t m = 0; m < n_sizes; m++) sizes[m] = 1 + evsnn_rng_below(r, max_size);
  float beta = 0.5f + 0.5f * evsnn_rng_uniform(r);
  cr_assert_eq(evsnn_net_init(net, sizes, n_sizes, beta), 0);
  float scale[EVSNN_MAX_LAYERS];
  for (uint32_t m = 0; m < n_sizes; m++) scale[m] = 0.5f + 4.0f * evsnn_rng_uniform(r);
  evsnn_net_init_params(net, evsnn_rng_next(r), evsnn_rng_below(r, 2), scale);
}

/* Runs both engines on the same random raster and compares every step. */
static void compare_engines(uint64_t seed, uint32_t n_sizes, uint32_t max_size, float density) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, seed, 0);
  evsnn_net_t net;
  random_net(&net, &r, n_sizes, max_size);
  evsnn_state_t st;
  evsnn_dense_t d;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  cr_assert_eq(evsnn_dense_init(&d, &net), 0);
  uint32_t *in = malloc(sizeof(uint32_t) * net.sizes[0]);
  uint32_t T = 1 + evsnn_rng_below(&r, 30);
  for (uint32_t k = 0; k < T; k++) {
    uint32_t n = 0;
    /* Some steps silent, so lazy leak across several steps is exercised. */
    float dens = evsnn_rng_below(&r, 4) == 0 ? 0.0f : density;
    for (uint32_t j = 0; j < net.sizes[0]; j++)
      if (evsnn_rng_uniform(&r) < dens) in[n++] = j;
    evsnn_state_step(&st, in, n);
    evsnn_dense_step(&d, in, n);
    for (uint32_t m = 1; m <= net.n_layers; m++) {
      if (m < net.n_layers) {
        uint32_t ns = 0;
        for (uint32_t i = 0; i < net.sizes[m]; i++) ns += d.b[m][i] != 0.0f;
        cr_assert_eq(st.n_spikes[m], ns, "seed %llu step %u layer %u: spike count", (unsigned long long)seed, k, m);
        for (uint32_t s = 0; s < ns; s++)
          cr_assert_eq(d.b[m][st.spikes[m][s]], 1.0f, "seed %llu step %u layer %u", (unsigned long long)seed, k, m);
      }
      const float *v = evsnn_state_potentials(&st, m);
      for (uint32_t i = 0; i < net.sizes[m]; i++)
        cr_assert(fabsf(v[i] - d.v[m - 1][i]) <= 1e-5f * fmaxf(1.0f, fabsf(v[i])),
                  "seed %llu step %u layer %u neuron %u: %g vs %g", (unsigned long long)seed, k, m, i, v[i], d.v[m - 1][i]);
    }
  }
  /* The counters mean the same in both engines: synops the spikes
   * delivered times their fan-out, dense_macs the dense equivalent. */
  for (uint32_t m = 0; m <= net.n_layers; m++) cr_expect_eq(st.counts.spikes[m], d.counts.spikes[m]);
  for (uint32_t m = 0; m < net.n_layers; m++) {
    cr_expect_eq(st.counts.synops[m], d.counts.synops[m], "seed %llu layer %u: synops", (unsigned long long)seed, m);
    cr_expect_eq(st.counts.dense_macs[m], d.counts.dense_macs[m], "seed %llu layer %u", (unsigned long long)seed, m);
    cr_expect_eq(d.counts.synops[m], d.counts.spikes[m] * net.layer[m].n_out, "seed %llu layer %u: spikes x fan-out",
                 (unsigned long long)seed, m);
  }
  free(in);
  evsnn_state_free(&st);
  evsnn_dense_free(&d);
  evsnn_net_free(&net);
}

Test(engine, matches_dense_on_random_networks) {
  static const float densities[] = {0.0f, 0.05f, 0.3f, 1.0f};
  for (uint64_t seed = 1; seed <= 200; seed++)
    compare_engines(seed, 2 + (uint32_t)(seed % 4), seed % 3 == 0 ? 300 : 40, densities[seed % 4]);
}

Test(engine, matches_dense_on_paper_shape) {
  for (uint64_t seed = 1000; seed < 1004; seed++) {
    evsnn_rng_t r;
    evsnn_rng_init(&r, seed, 0);
    evsnn_net_t net;
    uint32_t sizes[] = {784, 300, 300, 10};
    cr_assert_eq(evsnn_net_init(&net, sizes, 4, 0.8187f), 0);
    evsnn_net_init_params(&net, seed, EVSNN_INIT_FANIN, (float[]){5, 3});
    evsnn_state_t st;
    evsnn_dense_t d;
    cr_assert_eq(evsnn_state_init(&st, &net), 0);
    cr_assert_eq(evsnn_dense_init(&d, &net), 0);
    uint32_t in[784];
    for (int k = 0; k < 20; k++) {
      uint32_t n = 0;
      for (uint32_t j = 0; j < 784; j++)
        if (evsnn_rng_uniform(&r) < 0.15f) in[n++] = j;
      evsnn_state_step(&st, in, n);
      evsnn_dense_step(&d, in, n);
      for (uint32_t m = 1; m < 3; m++) {
        uint32_t ns = 0;
        for (uint32_t i = 0; i < 300; i++) ns += d.b[m][i] != 0.0f;
        cr_assert_eq(st.n_spikes[m], ns);
      }
    }
    const float *v = evsnn_state_potentials(&st, 3);
    for (int i = 0; i < 10; i++) cr_assert_float_eq(v[i], d.v[2][i], 1e-5);
    cr_expect_gt(st.counts.spikes[1], 0, "the paper's thresholds should let layer 1 fire");
    evsnn_state_free(&st);
    evsnn_dense_free(&d);
    evsnn_net_free(&net);
  }
}

Test(engine, silent_input_costs_nothing_and_counts) {
  evsnn_net_t net;
  uint32_t sizes[] = {20, 8, 3};
  cr_assert_eq(evsnn_net_init(&net, sizes, 3, 0.9f), 0);
  evsnn_net_init_params(&net, 5, EVSNN_INIT_FANIN, (float[]){0.1f});
  evsnn_state_t st;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  uint32_t in[] = {1, 4, 19};
  evsnn_state_step(&st, in, 3);
  float v0 = st.v[0][0];
  evsnn_state_step(&st, NULL, 0);
  evsnn_state_step(&st, NULL, 0);
  cr_expect_eq(st.counts.spikes[0], 3);
  cr_expect_eq(st.counts.synops[0], 3 * 8);
  cr_expect_eq(st.counts.dense_macs[0], 3 * 20 * 8);
  cr_expect_eq(st.counts.steps, 3);
  /* The first layer was touched once: its potentials are still those of
   * step 0 until read, then decayed twice. */
  cr_expect_eq(st.v[0][0], v0, "silent steps must not touch the layer");
  const float *v = evsnn_state_potentials(&st, 1);
  cr_expect_float_eq(v[0], v0 * 0.9f * 0.9f, 1e-7);
  evsnn_state_free(&st);
  evsnn_net_free(&net);
}

Test(net, rejects_bad_sizes) {
  evsnn_net_t net;
  cr_expect_eq(evsnn_net_init(&net, (uint32_t[]){10}, 1, 0.5f), EVSNN_EINVAL);
  cr_expect_eq(evsnn_net_init(&net, (uint32_t[]){10, 0}, 2, 0.5f), EVSNN_EINVAL);
  cr_expect_eq(evsnn_net_init(&net, (uint32_t[]){10, 70000}, 2, 0.5f), EVSNN_EINVAL);
  cr_expect_eq(evsnn_net_init(&net, (uint32_t[]){10, 5}, 2, 1.5f), EVSNN_EINVAL);
  cr_expect_eq(evsnn_net_init(&net, (uint32_t[]){784, 300, 300, 10}, 4, 0.8187f), 0);
  cr_expect_eq(evsnn_net_n_weights(&net), 328200);
  evsnn_net_free(&net);
}

Test(net, init_bounds_follow_h) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_init(&net, (uint32_t[]){784, 300, 300, 10}, 4, 0.8187f), 0);
  evsnn_net_init_params(&net, 1, EVSNN_INIT_WIDTH, (float[]){5, 3});
  cr_expect_float_eq(net.layer[0].threshold, 5 * sqrtf(3.0f / 300), 1e-6);
  cr_expect_float_eq(net.layer[1].threshold, 3 * sqrtf(3.0f / 300), 1e-6);
  float a = sqrtf(3.0f / 10), maxw = 0;
  for (uint32_t j = 0; j < 300; j++)
    for (uint32_t i = 0; i < 10; i++) maxw = fmaxf(maxw, fabsf(*evsnn_net_w(&net, 3, i, j)));
  cr_expect(maxw <= a && maxw > 0.9f * a);
  for (uint32_t j = 0; j < 784; j++)
    for (uint32_t i = 300; i < net.layer[0].ld; i++) cr_assert_eq(net.layer[0].W[j * net.layer[0].ld + i], 0.0f);
  evsnn_net_free(&net);
}

Test(encode, rate_matches_intensity_and_black_never_spikes) {
  evsnn_poisson_t enc;
  cr_assert_eq(evsnn_poisson_init(&enc, 4), 0);
  uint8_t img[4] = {0, 255, 128, 26};
  evsnn_poisson_set_image(&enc, img);
  cr_expect_eq(enc.n_active, 3);
  evsnn_rng_t r;
  evsnn_rng_init(&r, 3, 0);
  uint32_t out[4], count[4] = {0};
  for (int k = 0; k < 20000; k++) {
    uint32_t n = evsnn_poisson_step(&enc, &r, out);
    for (uint32_t s = 0; s < n; s++) count[out[s]]++;
  }
  cr_expect_eq(count[0], 0);
  cr_expect_eq(count[1], 20000);
  cr_expect_float_eq(count[2] / 20000.0, 128 / 255.0, 0.02);
  cr_expect_float_eq(count[3] / 20000.0, 26 / 255.0, 0.01);
  evsnn_poisson_free(&enc);
}
