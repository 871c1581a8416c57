/* Continuous-time engine throughput on one core: a long recording of MNIST
 * test digits, one after another, each shown for --ms milliseconds on a
 * 34x34 sensor (centred), every pixel firing as a Poisson process at
 * intensity x 1 kHz with a random polarity. This is a rate-coded stream in
 * continuous time, not a DVS emulation (no brightness changes, no
 * saccades). The engine runs it in memory (no decoding), starting afresh
 * at each digit, and the decision at each digit's end is scored against
 * its label. Prints events/s, synaptic ops/s, the factor over real time and
 * the accuracy; --out also writes the recording for `evsnn replay`.
 *
 *   bench_ctime --model M [--data DIR] [--digits N] [--ms MS] [--out FILE] [--repeat R] [--delay US]
 * --delay sets every population's synaptic delay, which deepens the event
 * queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn.h"

int main(int argc, char **argv) {
  const char *model = NULL, *dir = NULL, *out = NULL;
  uint32_t digits = 1000, ms = 20, repeat = 3;
  long delay = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!strcmp(argv[i], "--data")) dir = argv[i + 1];
    else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
    else if (!strcmp(argv[i], "--digits")) digits = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--ms")) ms = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--repeat")) repeat = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--delay")) delay = atol(argv[i + 1]);
    else return fprintf(stderr, "bench_ctime: unknown option %s\n", argv[i]), 2;
  }
  if (!model || !digits || !ms || !repeat) return fprintf(stderr, "usage: bench_ctime --model M [--data DIR] [--digits N] [--ms MS] [--out FILE] [--repeat R]\n"), 2;
  evsnn_net_t net;
  int err = evsnn_model_load(model, &net, NULL, NULL);
  if (err) return fprintf(stderr, "%s: %s: %s\n", model, evsnn_strerror(err), evsnn_error_detail()), 1;
  evsnn_dataset_t train, test;
  char used[1024];
  if ((err = evsnn_dataset_load_dir(&train, &test, dir, NULL, used, sizeof used)))
    return fprintf(stderr, "data: %s: %s\n", evsnn_strerror(err), evsnn_error_detail()), 1;
  evsnn_dataset_free(&train);
  if (digits > test.n) digits = test.n;
  if (test.rows != 28 || test.cols != 28 || net.sizes[0] != 784)
    return fprintf(stderr, "bench_ctime: needs 28x28 images and a 784-input model\n"), 1;

  /* The recording: at most one event per pixel per ms, sorted within each ms. */
  size_t cap = (size_t)digits * ms * 784;
  evsnn_event_t *ev = malloc(sizeof *ev * cap);
  size_t n = 0;
  evsnn_rng_t r;
  evsnn_rng_init(&r, 2026, 0);
  for (uint32_t d = 0; d < digits; d++) {
    const uint8_t *px = test.pixels + (size_t)d * 784;
    for (uint32_t k = 0; k < ms; k++) {
      size_t first = n;
      int64_t t_ms = ((int64_t)d * ms + k) * 1000;
      for (uint32_t j = 0; j < 784; j++) {
        if (!px[j] || evsnn_rng_uniform(&r) >= px[j] / 255.0f) continue;
        evsnn_event_t e = {0};
        e.t = t_ms + evsnn_rng_below(&r, 1000);
        e.x = (uint16_t)(3 + j % 28), e.y = (uint16_t)(3 + j / 28), e.p = (uint8_t)evsnn_rng_below(&r, 2);
        ev[n++] = e;
      }
      for (size_t a = first + 1; a < n; a++)
        for (size_t b = a; b > first && ev[b].t < ev[b - 1].t; b--) {
          evsnn_event_t t = ev[b];
          ev[b] = ev[b - 1], ev[b - 1] = t;
        }
    }
  }
  if (out) {
    evsnn_event_info_t info = {.format = "evsnn", .width = 34, .height = 34, .channels = 2, .label = -1,
                               .meta = "source=bench_ctime: MNIST test digits, Poisson in continuous time"};
    evsnn_event_writer_t *w;
    if ((err = evsnn_event_writer_open(&w, out, &info)) || (err = evsnn_event_write(w, ev, n)) ||
        (err = evsnn_event_writer_close(w)))
      return fprintf(stderr, "%s: %s: %s\n", out, evsnn_strerror(err), evsnn_error_detail()), 1;
  }
  evsnn_sensor_map_t map;
  if ((err = evsnn_sensor_map_fit(&map, 34, 34, 784))) return 1;
  uint32_t *idx = malloc(sizeof(uint32_t) * n);
  for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)evsnn_sensor_map_index(&map, &ev[i]);

  /* --delay US: every population's synaptic delay, to measure a deeper queue. */
  evsnn_ctime_opts_t o = {0};
  for (uint32_t m = 1; m < net.n_pops; m++) o.delay_us[m] = delay;
  evsnn_ctime_t *ct;
  if ((err = evsnn_ctime_new(&ct, &net, &o))) return 1;
  uint32_t max_depth = 0;
  double best = 1e30;
  uint64_t synops = 0, correct = 0;
  for (uint32_t rep = 0; rep < repeat; rep++) {
    uint64_t syn = 0;
    correct = 0;
    double t0 = evsnn__now();
    size_t i = 0;
    for (uint32_t d = 0; d < digits; d++) {
      int64_t end = ((int64_t)d + 1) * ms * 1000;
      evsnn_ctime_reset(ct);
      for (; i < n && ev[i].t < end; i++) {
        if ((err = evsnn_ctime_push(ct, ev[i].t, idx[i]))) return fprintf(stderr, "push: %s\n", evsnn_error_detail()), 1;
        if (evsnn_ctime_pending(ct) > max_depth) max_depth = (uint32_t)evsnn_ctime_pending(ct);
      }
      if ((err = evsnn_ctime_flush(ct))) return 1;
      correct += evsnn_ctime_decision(ct) == test.labels[d];
      evsnn_counts_t c;
      evsnn_ctime_counts(ct, &c);
      for (uint32_t q = 0; q < net.n_projs; q++) syn += c.synops[q];
    }
    double s = evsnn__now() - t0;
    if (s < best) best = s;
    synops = syn;
  }
  double span = (double)digits * ms * 1e-3;
  printf("bench_ctime: %s, %u digits x %u ms from %s: %zu events, %.3f s of recording\n", model, digits, ms, used, n, span);
  printf("continuous time, 1 thread, kernels %s, delay %ld us, deepest %u, best of %u: %.3f s, %.2f M events/s, "
         "%.1f M synaptic ops/s, %.0fx real time; accuracy %.2f%% (decision at each digit's end)\n",
         evsnn_kernels()->name, delay, max_depth, repeat, best, n / best * 1e-6, synops / best * 1e-6, span / best,
         100.0 * correct / digits);
  evsnn_ctime_free(ct);
  free(idx);
  free(ev);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return 0;
}
