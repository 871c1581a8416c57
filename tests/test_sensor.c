/* Sensor events as input: the pixel-to-input map (crop, pooling,
 * polarity), the fitting rules, binning into steps (count and binary), and
 * that the binned discrete path and the continuous-time engine agree on a
 * recording whose events sit on step boundaries. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evsnn/ctime.h"
#include "evsnn/error.h"
#include "evsnn/engine.h"
#include "evsnn/sensor.h"

static evsnn_event_t ev(int64_t t, uint16_t x, uint16_t y, uint8_t p) {
  evsnn_event_t e = {0};
  e.t = t, e.x = x, e.y = y, e.p = p;
  return e;
}

Test(sensor, map_indexes_channels_crop_and_pool) {
  evsnn_sensor_map_t m;
  cr_assert_eq(evsnn_sensor_map_init(&m, 34, 34, 0, 0, 0, 0, 1, EVSNN_POL_BOTH), 0);
  cr_expect_eq(m.n_inputs, 2 * 34 * 34);
  evsnn_event_t e = ev(0, 5, 7, 1);
  cr_expect_eq(evsnn_sensor_map_index(&m, &e), 34 * 34 + 7 * 34 + 5);
  e.p = 0;
  cr_expect_eq(evsnn_sensor_map_index(&m, &e), 7 * 34 + 5);
  cr_assert_eq(evsnn_sensor_map_init(&m, 34, 34, 3, 3, 28, 28, 2, EVSNN_POL_ON), 0);
  cr_expect_eq(m.n_inputs, 14 * 14);
  e = ev(0, 3 + 5, 3 + 9, 1);
  cr_expect_eq(evsnn_sensor_map_index(&m, &e), 4 * 14 + 2);
  e.p = 0;
  cr_expect_eq(evsnn_sensor_map_index(&m, &e), -1); /* OFF dropped */
  e = ev(0, 2, 10, 1);
  cr_expect_eq(evsnn_sensor_map_index(&m, &e), -1); /* left of the window */
  e = ev(0, 31, 10, 1);
  cr_expect_eq(evsnn_sensor_map_index(&m, &e), -1); /* right of it */
  cr_expect_eq(evsnn_sensor_map_init(&m, 34, 34, 10, 0, 30, 34, 1, EVSNN_POL_BOTH), EVSNN_EINVAL);
  cr_expect_eq(evsnn_sensor_map_init(&m, 34, 34, 0, 0, 0, 0, 40, EVSNN_POL_BOTH), EVSNN_EINVAL);
}

Test(sensor, fit_picks_channels_pooling_or_a_centred_crop) {
  evsnn_sensor_map_t m;
  cr_assert_eq(evsnn_sensor_map_fit(&m, 34, 34, 2312), 0);
  cr_expect(m.polarity == EVSNN_POL_BOTH && m.pool == 1);
  cr_assert_eq(evsnn_sensor_map_fit(&m, 34, 34, 1156), 0);
  cr_expect(m.polarity == EVSNN_POL_MERGE && m.pool == 1);
  cr_assert_eq(evsnn_sensor_map_fit(&m, 34, 34, 578), 0);
  cr_expect(m.polarity == EVSNN_POL_BOTH && m.pool == 2);
  cr_assert_eq(evsnn_sensor_map_fit(&m, 34, 34, 784), 0);
  cr_expect(m.polarity == EVSNN_POL_MERGE && m.pool == 1 && m.x0 == 3 && m.y0 == 3 && m.crop_w == 28);
  cr_assert_eq(evsnn_sensor_map_fit(&m, 346, 260, 2 * 32 * 32), 0);
  cr_expect(m.polarity == EVSNN_POL_BOTH && m.x0 == 157 && m.y0 == 114);
  cr_expect_eq(evsnn_sensor_map_fit(&m, 5, 5, 7), EVSNN_EINVAL);
  cr_expect_eq(evsnn_sensor_map_fit(&m, 0, 0, 784), EVSNN_EINVAL);
}

Test(sensor, binning_counts_or_dedups_per_step) {
  evsnn_sensor_map_t m;
  cr_assert_eq(evsnn_sensor_map_init(&m, 4, 1, 0, 0, 0, 0, 1, EVSNN_POL_MERGE), 0);
  evsnn_event_t e[] = {ev(5, 1, 0, 1),  ev(10, 1, 0, 0), ev(10, 2, 0, 1), ev(10, 1, 0, 1), ev(25, 3, 0, 1),
                       ev(40, 0, 0, 1), ev(55, 0, 0, 1), ev(70, 2, 0, 1)};
  for (int mode = 0; mode < 2; mode++) {
    evsnn_binned_t b;
    cr_assert_eq(evsnn_binned_init(&b, 4, 4, 0, mode), 0);
    evsnn_binned_begin(&b, 10, 15.0); /* steps [10,25) [25,40) [40,55) [55,70) */
    cr_assert_eq(evsnn_binned_add(&b, &m, e, 3), 0);
    cr_assert_eq(evsnn_binned_add(&b, &m, e + 3, 5), 0); /* split across calls */
    evsnn_binned_end(&b);
    uint32_t want_count[] = {1, 2, 1}, want_binary[] = {1, 2};
    uint32_t n0 = b.start[1] - b.start[0];
    if (mode == EVSNN_BIN_COUNT) {
      cr_assert_eq(n0, 3);
      for (int i = 0; i < 3; i++) cr_expect_eq(b.idx[i], want_count[i]);
    } else {
      cr_assert_eq(n0, 2);
      for (int i = 0; i < 2; i++) cr_expect_eq(b.idx[i], want_binary[i]);
    }
    cr_expect_eq(b.start[2] - b.start[1], 1);
    cr_expect_eq(b.idx[b.start[1]], 3);
    cr_expect_eq(b.start[3] - b.start[2], 1);
    cr_expect_eq(b.start[4] - b.start[3], 1);
    cr_expect_eq(b.events_in, 8);
    cr_expect_eq(b.events_used, 6); /* t=5 before t0, t=70 after the last step */
    evsnn_event_t back = ev(60, 0, 0, 1);
    cr_expect_eq(evsnn_binned_add(&b, &m, &back, 1), EVSNN_EORDER);
    evsnn_binned_free(&b);
  }
  evsnn_binned_t b;
  cr_assert_eq(evsnn_binned_init(&b, 4, 4, 2, EVSNN_BIN_COUNT), 0);
  evsnn_binned_begin(&b, 10, 15.0);
  cr_expect_eq(evsnn_binned_add(&b, &m, e, 8), EVSNN_ERANGE);
  evsnn_binned_free(&b);
}

/* Writes a 6x5 recording whose events sit at t0 + k dt, bins it from the
 * file, runs the bins through the discrete engine and the raw events
 * through the continuous-time engine: the output potentials agree. */
Test(sensor, binned_file_and_continuous_time_agree_on_boundaries) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/evsnn-sensor-%d.evs.gz", (int)getpid());
  evsnn_event_info_t info = {.format = "evsnn", .width = 6, .height = 5, .channels = 2, .label = 3, .meta = ""};
  evsnn_event_writer_t *w;
  cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0);
  evsnn_rng_t r;
  evsnn_rng_init(&r, 5, 0);
  const uint32_t T = 12;
  const int64_t t0 = 1000, dt = 500;
  evsnn_event_t *all = malloc(sizeof(evsnn_event_t) * 4096);
  size_t n_all = 0;
  for (uint32_t k = 0; k < T; k++)
    for (uint32_t i = 0, n = evsnn_rng_below(&r, 40); i < n; i++)
      all[n_all++] = ev(t0 + k * dt, (uint16_t)evsnn_rng_below(&r, 6), (uint16_t)evsnn_rng_below(&r, 5),
                        (uint8_t)evsnn_rng_below(&r, 2));
  all[n_all - 1].t = t0 + (T - 1) * dt; /* the span is exactly T - 1 steps */
  cr_assert_eq(evsnn_event_write(w, all, n_all), 0);
  cr_assert_eq(evsnn_event_writer_close(w), 0);

  uint32_t sizes[] = {60, 40, 10};
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_init(&net, sizes, 3, 0.8187f), 0);
  float scale[] = {2.0f, 1.0f};
  evsnn_net_init_params(&net, 9, EVSNN_INIT_FANIN, scale);
  evsnn_binned_t b;
  cr_assert_eq(evsnn_binned_init(&b, 60, T, 0, EVSNN_BIN_COUNT), 0);
  int32_t label;
  cr_assert_eq(evsnn_binned_read_file(&b, path, NULL, dt, &label), 0);
  cr_expect_eq(label, 3);
  cr_expect_eq(b.t0, t0);
  cr_expect_eq(b.events_used, n_all);
  /* With dt 0 the span (T - 1) dt + 1 us is spread over T steps: each event
   * still lands in its own step. */
  evsnn_binned_t b2;
  cr_assert_eq(evsnn_binned_init(&b2, 60, T, 0, EVSNN_BIN_COUNT), 0);
  cr_assert_eq(evsnn_binned_read_file(&b2, path, NULL, 0, NULL), 0);
  for (uint32_t k = 0; k <= T; k++) cr_expect_eq(b2.start[k], b.start[k], "step %u", k);

  evsnn_state_t st;
  evsnn_ctime_t *ct;
  evsnn_sensor_map_t m;
  cr_assert_eq(evsnn_sensor_map_fit(&m, 6, 5, 60), 0);
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  evsnn_ctime_opts_t o = {.dt_us = dt};
  cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0);
  for (uint32_t k = 0; k < T; k++) evsnn_state_step(&st, b.idx + b.start[k], b.start[k + 1] - b.start[k]);
  for (size_t i = 0; i < n_all; i++) cr_assert_eq(evsnn_ctime_push(ct, all[i].t, (uint32_t)evsnn_sensor_map_index(&m, &all[i])), 0);
  cr_assert_eq(evsnn_ctime_flush(ct), 0);
  float v[10];
  const float *vd = evsnn_state_potentials(&st, 2);
  evsnn_ctime_potentials(ct, 2, t0 + (T - 1) * dt, v);
  for (int i = 0; i < 10; i++) cr_expect(fabsf(v[i] - vd[i]) <= 1e-5f * fmaxf(1.0f, fabsf(vd[i])), "%d: %g vs %g", i, v[i], vd[i]);
  evsnn_counts_t c;
  evsnn_ctime_counts(ct, &c);
  cr_expect_eq(c.spikes[1], st.counts.spikes[1]);
  cr_expect_gt(st.counts.spikes[1], 0);
  evsnn_ctime_free(ct);
  evsnn_state_free(&st);
  evsnn_binned_free(&b);
  evsnn_binned_free(&b2);
  evsnn_net_free(&net);
  free(all);
  unlink(path);
}
