/* Tests of the DVS emulator (src/encode/dvs.c): threshold crossings at
 * interpolated times, polarity, refractory period, mismatch, background
 * noise rate, seeded determinism, the all-or-nothing feed, and an MNIST
 * digit on N-MNIST's saccades landing in a 34 x 34 recording that the
 * event reader reads back; then `evsnn encode dvs` as a user runs it. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "evsnn/dataset.h"
#include "evsnn/error.h"
#include "evsnn/dvs.h"
#include "evsnn/events.h"

static evsnn_dvs_params_t params(uint32_t w, uint32_t h) {
  evsnn_dvs_params_t p;
  evsnn_dvs_params_default(&p);
  p.width = w, p.height = h;
  return p;
}

/* The events of a feed of a frame whose every pixel has intensity v. */
static size_t feed_const(evsnn_dvs_t *s, float v, double t, evsnn_event_t *ev, size_t cap) {
  float *f = malloc(sizeof(float) * s->n);
  for (uint32_t i = 0; i < s->n; i++) f[i] = v;
  size_t n;
  cr_assert_eq(evsnn_dvs_feed(s, f, t, ev, cap, &n), 0);
  free(f);
  return n;
}

/* Pixel 0 goes from I0 to I1 between t = 0 and t = 1000 us, pixel 1 stays. */
static size_t ramp(evsnn_dvs_t *s, float i0, float i1, evsnn_event_t *ev, size_t cap) {
  size_t n;
  float f0[2] = {i0, 0.5f}, f1[2] = {i1, 0.5f};
  cr_assert_eq(evsnn_dvs_feed(s, f0, 0, ev, cap, &n), 0);
  cr_assert_eq(n, 0, "the first frame only sets the references");
  cr_assert_eq(evsnn_dvs_feed(s, f1, 1000, ev, cap, &n), 0);
  return n;
}

Test(dvs, brightening_pixel_gives_on_events_at_interpolated_times) {
  evsnn_dvs_params_t p = params(2, 1);
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_event_t ev[64];
  size_t n = ramp(&s, 0.0f, 1.0f, ev, 64);
  double dL = log(1.1) - log(0.1); /* 2.398: 9 crossings of 0.25 */
  cr_assert_eq(n, (size_t)floor(dL / 0.25), "got %zu events", n);
  for (size_t k = 0; k < n; k++) {
    double t = (k + 1) * 0.25 / dL * 1000;
    cr_assert_eq(ev[k].p, 1);
    cr_assert_eq(ev[k].x, 0);
    cr_assert_eq(ev[k].y, 0);
    cr_assert(llabs(ev[k].t - (int64_t)floor(t + 0.5)) <= 0, "event %zu at %lld, expected %.2f", k,
              (long long)ev[k].t, t);
  }
  evsnn_dvs_free(&s);
}

Test(dvs, darkening_pixel_gives_off_events) {
  evsnn_dvs_params_t p = params(2, 1);
  p.c_off = 0.3f;
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_event_t ev[64];
  size_t n = ramp(&s, 1.0f, 0.0f, ev, 64);
  double dL = log(1.1) - log(0.1);
  cr_assert_eq(n, 7, "the OFF threshold sets the count (2.398 / 0.3): got %zu", n);
  for (size_t k = 0; k < n; k++) {
    cr_assert_eq(ev[k].p, 0);
    cr_assert_eq(ev[k].t, (int64_t)floor((k + 1) * 0.3 / dL * 1000 + 0.5));
  }
  /* Back up: ON events from the reference the OFF ones left, 7 x 0.3 = 2.1
   * below the start: 2.1 / 0.25 = 8.4, so 8. */
  float f[2] = {1.0f, 0.5f};
  cr_assert_eq(evsnn_dvs_feed(&s, f, 2000, ev, 64, &n), 0);
  cr_assert_eq(n, 8, "got %zu", n);
  for (size_t k = 0; k < n; k++) cr_assert_eq(ev[k].p, 1);
  evsnn_dvs_free(&s);
}

Test(dvs, refractory_period_blinds_the_pixel_then_fires_the_built_up_change) {
  evsnn_dvs_params_t p = params(2, 1);
  p.refractory_us = 300;
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_event_t ev[64];
  size_t n = ramp(&s, 0.0f, 1.0f, ev, 64);
  double dL = log(1.1) - log(0.1), t1 = 0.25 / dL * 1000;
  /* First crossing at t1, then each time it re-arms (the change over 300 us,
   * 0.72, exceeds the threshold): t1, t1 + 300, t1 + 600. */
  cr_assert_eq(n, 3, "got %zu", n);
  for (size_t k = 0; k < n; k++) cr_assert_eq(ev[k].t, (int64_t)floor(t1 + 300 * k + 0.5));
  /* The change left at 1000 us fires when it re-arms in the next frame. */
  float f[2] = {1.0f, 0.5f};
  cr_assert_eq(evsnn_dvs_feed(&s, f, 2000, ev, 64, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(ev[0].t, (int64_t)floor(t1 + 900 + 0.5));
  cr_assert_eq(ev[0].p, 1);
  evsnn_dvs_free(&s);
}

/* Random frames and background noise: no pixel ever fires twice within
 * the refractory period, noise events included (they are resets too). */
Test(dvs, refractory_period_respected_on_random_frames) {
  evsnn_dvs_params_t p = params(8, 8);
  p.refractory_us = 250;
  p.noise_hz = 2000;
  p.c_on = p.c_off = 0.1f;
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, 7, 0);
  float f[64];
  size_t cap = 1 << 14, n, total = 0;
  evsnn_event_t *ev = malloc(sizeof *ev * cap);
  int64_t last[64];
  for (int i = 0; i < 64; i++) last[i] = INT64_MIN / 2;
  for (int k = 0; k < 200; k++) {
    for (int i = 0; i < 64; i++) f[i] = evsnn_rng_uniform(&rng);
    cr_assert_eq(evsnn_dvs_feed(&s, f, 1000.0 * k, ev, cap, &n), 0);
    for (size_t e = 0; e < n; e++) {
      int i = ev[e].y * 8 + ev[e].x;
      cr_assert_geq(ev[e].t - last[i], 250 - 1, "pixel %d: %lld after %lld", i, (long long)ev[e].t,
                    (long long)last[i]);
      last[i] = ev[e].t;
      if (e) cr_assert_geq(ev[e].t, ev[e - 1].t, "a frame's events come in time order");
    }
    total += n;
  }
  cr_assert_gt(total, 64 * 200, "the scene is busy enough to test something: %zu events", total);
  free(ev);
  evsnn_dvs_free(&s);
}

Test(dvs, noise_rate_and_polarity_as_asked) {
  evsnn_dvs_params_t p = params(34, 34);
  p.noise_hz = 50;
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_event_t *ev = malloc(sizeof *ev * 4096);
  size_t total = 0, on = 0;
  feed_const(&s, 0.3f, 0, ev, 4096);
  for (int k = 1; k <= 100; k++) { /* 1 s of a still scene, 10 ms frames */
    size_t n = feed_const(&s, 0.3f, 10000.0 * k, ev, 4096);
    for (size_t e = 0; e < n; e++) {
      cr_assert(ev[e].t >= 10000 * (k - 1) && ev[e].t <= 10000 * k); /* (t0, t1], rounded to us */
      on += ev[e].p;
    }
    total += n;
  }
  double expect = 50.0 * 34 * 34; /* 57,800; Poisson sd 240 */
  cr_assert(fabs(total - expect) < 5 * sqrt(expect), "%zu noise events in 1 s, expected %.0f", total, expect);
  cr_assert(fabs((double)on / total - 0.5) < 0.02, "ON fraction %.3f", (double)on / total);
  /* Without noise a still scene is silent. */
  evsnn_dvs_free(&s);
  p.noise_hz = 0;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  feed_const(&s, 0.3f, 0, ev, 4096);
  cr_assert_eq(feed_const(&s, 0.3f, 1e6, ev, 4096), 0);
  free(ev);
  evsnn_dvs_free(&s);
}

Test(dvs, mismatch_spreads_thresholds_and_counts) {
  evsnn_dvs_params_t p = params(64, 64);
  p.mismatch = 0.05f;
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  double m = 0, m2 = 0;
  for (uint32_t i = 0; i < s.n; i++) m += s.thr_on[i], m2 += (double)s.thr_on[i] * s.thr_on[i];
  m /= s.n;
  double sd = sqrt(m2 / s.n - m * m);
  cr_assert(fabs(m - 0.25) < 0.005 && fabs(sd - 0.05) < 0.005, "ON thresholds: mean %.4f sd %.4f", m, sd);
  size_t cap = 1 << 16;
  evsnn_event_t *ev = malloc(sizeof *ev * cap);
  feed_const(&s, 0.0f, 0, ev, cap);
  size_t n = feed_const(&s, 1.0f, 1000, ev, cap);
  int *count = calloc(s.n, sizeof(int)), lo = 1000, hi = 0;
  for (size_t e = 0; e < n; e++) count[ev[e].y * 64 + ev[e].x]++;
  for (uint32_t i = 0; i < s.n; i++) {
    cr_assert_eq(count[i], (int)floor((log(1.1) - log(0.1)) / s.thr_on[i] + 1e-9), "pixel %u", i);
    lo = count[i] < lo ? count[i] : lo, hi = count[i] > hi ? count[i] : hi;
  }
  cr_assert_lt(lo, hi, "a uniform change gives different counts: %d..%d", lo, hi);
  free(count);
  free(ev);
  evsnn_dvs_free(&s);
}

/* All events of a short random movie, as one array. */
static size_t movie(const evsnn_dvs_params_t *p, uint64_t stream, evsnn_event_t *all, size_t cap) {
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, p), 0);
  evsnn_dvs_reset(&s, stream);
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, 99, 0);
  float *f = malloc(sizeof(float) * s.n);
  size_t total = 0, n;
  for (int k = 0; k < 20; k++) {
    for (uint32_t i = 0; i < s.n; i++) f[i] = evsnn_rng_uniform(&rng);
    cr_assert_eq(evsnn_dvs_feed(&s, f, 500.0 * k, all + total, cap - total, &n), 0);
    total += n;
  }
  free(f);
  evsnn_dvs_free(&s);
  return total;
}

Test(dvs, seeded_determinism) {
  evsnn_dvs_params_t p = params(16, 16);
  p.mismatch = 0.03f, p.noise_hz = 200, p.refractory_us = 50;
  size_t cap = 1 << 16;
  evsnn_event_t *a = malloc(sizeof *a * cap), *b = malloc(sizeof *b * cap);
  size_t na = movie(&p, 3, a, cap), nb = movie(&p, 3, b, cap);
  cr_assert_eq(na, nb);
  cr_assert_eq(memcmp(a, b, na * sizeof *a), 0, "same seed and stream, same events");
  nb = movie(&p, 4, b, cap);
  cr_assert(na != nb || memcmp(a, b, na * sizeof *a), "another stream, other noise");
  p.seed = 2;
  nb = movie(&p, 3, b, cap);
  cr_assert(na != nb || memcmp(a, b, na * sizeof *a), "another seed, another sensor");
  free(a);
  free(b);
}

Test(dvs, feed_too_small_buffer_changes_nothing) {
  evsnn_dvs_params_t p = params(8, 8);
  p.noise_hz = 1000;
  evsnn_dvs_t s, r;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  cr_assert_eq(evsnn_dvs_init(&r, &p), 0);
  evsnn_event_t a[4096], b[4096];
  feed_const(&s, 0.0f, 0, a, 4096);
  feed_const(&r, 0.0f, 0, b, 4096);
  float f[64];
  for (int i = 0; i < 64; i++) f[i] = 1.0f;
  size_t n = 7;
  cr_assert_eq(evsnn_dvs_feed(&s, f, 1000, a, 10, &n), EVSNN_ERANGE);
  cr_assert_eq(n, 0);
  size_t na, nb;
  cr_assert_eq(evsnn_dvs_feed(&s, f, 1000, a, 4096, &na), 0);
  cr_assert_eq(evsnn_dvs_feed(&r, f, 1000, b, 4096, &nb), 0);
  cr_assert_eq(na, nb);
  cr_assert_gt(na, 64 * 8);
  cr_assert_eq(memcmp(a, b, na * sizeof *a), 0, "the failed feed left no trace");
  evsnn_dvs_free(&s);
  evsnn_dvs_free(&r);
}

Test(dvs, bad_input_is_an_error) {
  evsnn_dvs_params_t p = params(0, 4);
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), EVSNN_EINVAL);
  p = params(65536, 65536);
  cr_assert_eq(evsnn_dvs_init(&s, &p), EVSNN_EINVAL, "2^32 pixels would wrap the pixel count");
  p = params(4, 4), p.c_on = 0;
  cr_assert_eq(evsnn_dvs_init(&s, &p), EVSNN_EINVAL);
  p = params(4, 4), p.refractory_us = -1;
  cr_assert_eq(evsnn_dvs_init(&s, &p), EVSNN_EINVAL);
  p = params(4, 4);
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_event_t ev[256];
  feed_const(&s, 0.5f, 100, ev, 256);
  float f[16] = {0};
  size_t n;
  cr_assert_eq(evsnn_dvs_feed(&s, f, 100, ev, 256, &n), EVSNN_EINVAL, "time must advance");
  evsnn_dvs_free(&s);
  evsnn_saccades_t sac;
  cr_assert_eq(evsnn_saccades_nmnist(&sac, 34, 34, 40, 28, 1e5), EVSNN_EINVAL);
}

Test(dvs, saccade_path_is_the_nmnist_triangle) {
  evsnn_saccades_t sac;
  cr_assert_eq(evsnn_saccades_nmnist(&sac, 34, 34, 28, 28, 1e5), 0);
  cr_assert_eq(evsnn_saccades_span(&sac), 3e5);
  float x, y;
  const double t[] = {0, 5e4, 1e5, 2e5, 2.5e5, 3e5, 4e5};
  const float ex[] = {3, 4.5f, 6, 0, 1.5f, 3, 3}, ey[] = {0, 3, 6, 6, 3, 0, 0};
  for (int k = 0; k < 7; k++) {
    evsnn_saccades_at(&sac, t[k], &x, &y);
    cr_assert(fabsf(x - ex[k]) < 1e-5f && fabsf(y - ey[k]) < 1e-5f, "t %g: (%g, %g)", t[k], x, y);
  }
}

Test(dvs, render_shifts_by_subpixels) {
  uint8_t img[4] = {255, 0, 0, 0}; /* 2x2, top-left white */
  float f[16];
  evsnn_dvs_render(f, 4, 4, img, 2, 2, 1.0f, 2.0f);
  for (int i = 0; i < 16; i++) cr_assert_float_eq(f[i], i == 2 * 4 + 1 ? 1.0f : 0.0f, 1e-6, "pixel %d", i);
  evsnn_dvs_render(f, 4, 4, img, 2, 2, 1.25f, 0.0f);
  cr_assert_float_eq(f[1], 0.75f, 1e-6);
  cr_assert_float_eq(f[2], 0.25f, 1e-6);
}

typedef struct {
  evsnn_event_t *ev;
  size_t n, cap;
} collect_t;

static int collect(void *arg, const evsnn_event_t *ev, size_t n) {
  collect_t *c = arg;
  cr_assert_leq(c->n + n, c->cap);
  memcpy(c->ev + c->n, ev, n * sizeof *ev);
  c->n += n;
  return 0;
}

Test(dvs, mnist_digit_on_saccades_lands_in_34x34_and_reads_back, .timeout = 30) {
  char dir[1024], path[1100];
  snprintf(dir, sizeof dir, "%s/datasets/sample", getenv("EVSNN_SRCDIR") ? getenv("EVSNN_SRCDIR") : ".");
  evsnn_dataset_t train, test;
  cr_assert_eq(evsnn_dataset_load_dir(&train, &test, dir, NULL, NULL, 0), 0);
  evsnn_dvs_params_t p = params(34, 34);
  evsnn_dvs_t s;
  cr_assert_eq(evsnn_dvs_init(&s, &p), 0);
  evsnn_saccades_t sac;
  cr_assert_eq(evsnn_saccades_nmnist(&sac, 34, 34, 28, 28, 1e5), 0);
  float frame[34 * 34];
  collect_t c = {malloc(sizeof(evsnn_event_t) * 200000), 0, 200000};
  cr_assert_eq(evsnn_dvs_encode_image(&s, test.pixels, 28, 28, &sac, 1000, 0, frame, collect, &c), 0);
  size_t on = 0, per_saccade[3] = {0};
  static int diff[34 * 34];
  for (size_t e = 0; e < c.n; e++) {
    const evsnn_event_t *ev = &c.ev[e];
    cr_assert(ev->x < 34 && ev->y < 34 && ev->t >= 0 && ev->t <= 300000);
    if (e) cr_assert_geq(ev->t, c.ev[e - 1].t);
    on += ev->p;
    per_saccade[ev->t <= 100000 ? 0 : ev->t <= 200000 ? 1 : 2]++;
    diff[ev->y * 34 + ev->x] += ev->p ? 1 : -1;
  }
  cr_assert(c.n > 1000 && c.n < 50000, "%zu events", c.n);
  for (int k = 0; k < 3; k++) cr_assert_gt(per_saccade[k], c.n / 10, "saccade %d: %zu events", k, per_saccade[k]);
  /* The path is closed: each pixel ends where it began, so its ON and OFF
   * counts differ by at most one threshold's worth. */
  for (int i = 0; i < 34 * 34; i++) cr_assert(abs(diff[i]) <= 1, "pixel %d: ON - OFF = %d", i, diff[i]);
  cr_assert_gt(on, 0);
  cr_assert_lt(on, c.n);

  /* The same recording through the writer and the generic reader. */
  snprintf(path, sizeof path, "/tmp/evsnn-test-dvs-%d.evs", (int)getpid());
  evsnn_event_info_t info = {.format = "evsnn", .width = 34, .height = 34, .channels = 2,
                             .kind = EVSNN_EVENTS_DVS, .label = test.labels[0], .meta = "source=test"};
  evsnn_event_writer_t *w;
  cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0);
  cr_assert_eq(evsnn_event_write(w, c.ev, c.n), 0);
  cr_assert_eq(evsnn_event_writer_close(w), 0);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open(&r, path, NULL), 0);
  const evsnn_event_info_t *ri = evsnn_event_reader_info(r);
  cr_assert_eq(ri->width, 34);
  cr_assert_eq(ri->height, 34);
  cr_assert_eq(ri->label, test.labels[0]);
  evsnn_event_t *back = malloc(sizeof *back * c.n);
  size_t got = 0, n;
  while (evsnn_event_read(r, back + got, c.n - got, &n) == 0 && n) got += n;
  cr_assert_eq(got, c.n);
  for (size_t e = 0; e < got; e++)
    cr_assert(back[e].t == c.ev[e].t && back[e].x == c.ev[e].x && back[e].y == c.ev[e].y && back[e].p == c.ev[e].p);
  evsnn_event_reader_close(r);
  unlink(path);
  free(back);
  free(c.ev);
  evsnn_dvs_free(&s);
  evsnn_dataset_free(&train);
  evsnn_dataset_free(&test);
}

/* ------------------------------------------------- evsnn encode dvs ---- */

static int files_equal(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = fgetc(fa), cb = fgetc(fb);
    if (ca != cb) same = 0;
    if (ca == EOF || cb == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

Test(encode_cli, writes_labelled_files_the_same_for_any_thread_count, .timeout = 60) {
  char out[4096], err[4096], args[1024], d1[256], d2[256];
  snprintf(d1, sizeof d1, "/tmp/evsnn-dvs-cli-%d-a", (int)getpid());
  snprintf(d2, sizeof d2, "/tmp/evsnn-dvs-cli-%d-b", (int)getpid());
  snprintf(args, sizeof args, "encode dvs --data datasets/sample --limit 5 --noise 5 --mismatch 0.02 "
           "--refractory 100 --threads 2 --json --out %s", d1);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_assert(strstr(out, "\"images\": 10,") != NULL, "stdout: %s", out);
  snprintf(args, sizeof args, "encode dvs --data datasets/sample --limit 5 --noise 5 --mismatch 0.02 "
           "--refractory 100 --threads 1 --out %s", d2);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);

  char dir[1024];
  snprintf(dir, sizeof dir, "%s/datasets/sample", getenv("EVSNN_SRCDIR") ? getenv("EVSNN_SRCDIR") : ".");
  evsnn_dataset_t train, test;
  cr_assert_eq(evsnn_dataset_load_dir(&train, &test, dir, NULL, NULL, 0), 0);
  const char *split[2] = {"train", "test"};
  const evsnn_dataset_t *ds[2] = {&train, &test};
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 5; i++) {
      char a[512], b[512], want[64];
      snprintf(a, sizeof a, "%s/%s/%05d.evs.gz", d1, split[s], i);
      snprintf(b, sizeof b, "%s/%s/%05d.evs.gz", d2, split[s], i);
      cr_assert(files_equal(a, b), "%s differs between 2 threads and 1", a);
      evsnn_event_reader_t *r;
      cr_assert_eq(evsnn_event_reader_open(&r, a, NULL), 0, "%s", a);
      const evsnn_event_info_t *info = evsnn_event_reader_info(r);
      cr_assert_eq(info->width, 34);
      cr_assert_eq(info->channels, 2);
      cr_assert_eq(info->label, ds[s]->labels[i], "%s", a);
      snprintf(want, sizeof want, "split=%s\nindex=%d\n", split[s], i);
      cr_assert(strstr(info->meta, want) != NULL, "%s meta: %s", a, info->meta);
      cr_assert(strstr(info->meta, "refractory_us=100\n") != NULL, "%s meta: %s", a, info->meta);
      evsnn_event_reader_close(r);
    }
  snprintf(args, sizeof args, "events info %s/test/00003.evs.gz --json", d1);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_assert(strstr(out, "\"format\": \"evsnn\"") != NULL || strstr(out, "\"format\":\"evsnn\"") != NULL,
            "stdout: %s", out);

  /* The training side reads the directory as an event dataset. */
  evsnn_dataset_t et, ev;
  cr_assert_eq(evsnn_dataset_load_events_dir(&et, &ev, d1, 784, 10, 0, EVSNN_BIN_BINARY, NULL), 0, "%s",
               evsnn_error_detail());
  cr_assert_eq(et.n, 5);
  cr_assert_eq(ev.n, 5);
  for (int i = 0; i < 5; i++) cr_assert_eq(ev.labels[i], test.labels[i]);
  evsnn_dataset_free(&et);
  evsnn_dataset_free(&ev);
  evsnn_dataset_free(&train);
  evsnn_dataset_free(&test);
  snprintf(args, sizeof args, "rm -rf '%s' '%s'", d1, d2);
  cr_assert_eq(system(args), 0);
}

Test(encode_cli, bad_options_are_usage_errors) {
  char out[4096], err[4096];
  cr_expect_eq(run("encode dvs --data datasets/sample", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--out") != NULL, "stderr: %s", err);
  cr_expect_eq(run("encode dvs --out /tmp/x --threshold abc", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("encode dvs --out /tmp/x --sensor 34", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("encode dvs --out /tmp/x --sensor 20x20 --data datasets/sample", out, sizeof out, err,
                   sizeof err), 1, "a 28x28 image does not fit: %s", err);
  cr_expect(strstr(err, "does not fit") != NULL, "stderr: %s", err);
  cr_expect_eq(run("encode dvs --out /tmp/x --threshold 0", out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "threshold") != NULL, "stderr: %s", err);
  cr_expect_eq(run("encode png --out /tmp/x", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("encode dvs --data datasets/sample --limit 1 --out /nonexistent/dir/x", out, sizeof out, err,
                   sizeof err), 1);
  cr_expect(strstr(err, "/nonexistent/dir/x") != NULL, "stderr: %s", err);
}

static void write_pgm(const char *path, const char *header, const uint8_t *px, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert(f);
  fputs(header, f);
  fwrite(px, 1, n, f);
  fclose(f);
}

Test(encode_cli, frames_of_an_image_sequence_become_one_recording, .timeout = 30) {
  char dir[256], path[512], file[300], args[1024], out[4096], err[4096];
  snprintf(dir, sizeof dir, "/tmp/evsnn-dvs-frames-%d", (int)getpid());
  snprintf(file, sizeof file, "%s.evs.gz", dir);
  cr_assert_eq(mkdir(dir, 0777), 0);
  /* 4 x 2: pixel (1, 0) goes from black to white between frames 0 and 1. */
  uint8_t black[8] = {0}, lit[8] = {0, 255, 0, 0, 0, 0, 0, 0};
  snprintf(path, sizeof path, "%s/a0.pgm", dir);
  write_pgm(path, "P5\n4 2\n255\n", black, 8);
  snprintf(path, sizeof path, "%s/a1.pgm", dir);
  write_pgm(path, "P5\n# a comment\n4 2\n255\n", lit, 8);
  snprintf(path, sizeof path, "%s/a2.pgm", dir);
  write_pgm(path, "P5 4 2 255\n", lit, 8);
  snprintf(args, sizeof args, "encode dvs --frames %s --out %s --label 3 --frame-us 1000", dir, file);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open(&r, file, NULL), 0);
  const evsnn_event_info_t *info = evsnn_event_reader_info(r);
  cr_assert(info->width == 4 && info->height == 2 && info->label == 3);
  evsnn_event_t ev[64];
  size_t n;
  cr_assert_eq(evsnn_event_read(r, ev, 64, &n), 0);
  double dL = log(1.1) - log(0.1);
  cr_assert_eq(n, 9, "the same 9 crossings as the library test: %zu", n);
  for (size_t k = 0; k < n; k++)
    cr_assert(ev[k].x == 1 && ev[k].y == 0 && ev[k].p == 1 && ev[k].t == (int64_t)floor((k + 1) * 0.25 / dL * 1000 + 0.5));
  evsnn_event_reader_close(r);

  /* A frame of another size: one line naming it, and no output left. */
  snprintf(path, sizeof path, "%s/a3.pgm", dir);
  write_pgm(path, "P5\n5 2\n255\n", lit, 8);
  cr_assert_eq(unlink(file), 0);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_assert(strstr(err, "a3.pgm") != NULL && strstr(err, "first frame is 4x2") != NULL, "stderr: %s", err);
  cr_assert_neq(access(file, F_OK), 0, "the partial recording was removed");
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  cr_assert_eq(system(args), 0);
}
