/* `evsnn plot KIND ...`: the pictures people judge a spiking network by,
 * drawn with the shared axes of src/plot (PNG, or SVG with --svg). Every
 * number drawn comes from the library functions the other subcommands
 * print from: evsnn_test_accuracy for the anytime curve and the sparsity
 * counters (as `evsnn test` does), the event engine's per-step state for
 * membrane potentials and spikes, the Poisson encoder for reconstructions,
 * the event readers for DVS frames, train's --log CSV for the curves. */
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "evsnn.h"
#include "plot/plot.h"

#define MAX_STEPS 10000
#define MAX_RECON 12
#define SPIKE_STEP_US 1000 /* spike records: one engine step = 1 ms */

typedef struct {
  const char *kind, *out, *model, *data, *file, *record;
  int svg, width, height, split;
  long index, steps, seed, limit, frames, hidden;
  double window_ms;
  uint32_t recon[MAX_RECON];
  size_t n_recon;
} opts_t;

/* A failure that is not a library error code: one line, exit status 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("evsnn: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

static int usage_plot(void) {
  printf("usage: evsnn plot KIND [--out FILE] [--svg] [--size WxH] [--seed S]\n"
         "  curves LOG                                      accuracy and loss per epoch (train --log CSV)\n"
         "  membrane --model M --data DIR --index N [--steps T] [--hidden K]\n"
         "                                                  output potentials over steps for one test image\n"
         "  raster --model M (--data DIR --index N [--steps T] [--record SPIKES] | SPIKES)\n"
         "                                                  spikes of every spiking layer, spikes per step\n"
         "  reconstruct --data DIR --index N [--steps 5,10,20,50,255]\n"
         "                                                  images rebuilt by counting Poisson input spikes\n"
         "  anytime --model M --data DIR [--steps T] [--limit N]\n"
         "                                                  test accuracy deciding after k = 1..T steps\n"
         "  events FILE [--window MS] [--frames N] [--split] ON/OFF event frames of a DVS recording (--split:\n"
         "                                                  one picture per window, OUT-000.png, OUT-001.png, ...)\n"
         "  sparsity --model M --data DIR [--steps T] [--limit N]\n"
         "                                                  spike rates and synaptic ops vs dense MACs\n"
         "Images are test images; each is Poisson-encoded from stream (--seed, index), seed 2 by default,\n"
         "as evsnn test does. The default output is plot-KIND.png (.svg with --svg).\n");
  return 0;
}

/* ------------------------------------------------------------- inputs ---- */

static int load_model(const opts_t *o, evsnn_net_t *net) { return cli_load_model(o->model, net); }

/* The test set of --data (as evsnn test reads it), checked against net's
 * input size when net is given, and --index against its length. */
static int load_test(const opts_t *o, const evsnn_net_t *net, evsnn_dataset_t *test, int need_index) {
  evsnn_dataset_t train = {0};
  int err = evsnn_dataset_load_dir(&train, test, o->data, NULL, NULL, 0);
  if (err) return cli_fail(err, o->data);
  evsnn_dataset_free(&train);
  if (o->limit) evsnn_dataset_limit(test, (uint32_t)o->limit);
  if (net && (size_t)test->rows * test->cols != net->sizes[0]) {
    evsnn_dataset_free(test);
    return fail("%s: images of %ux%u pixels, the model %s takes %u inputs", o->data, test->rows, test->cols,
                o->model, net->sizes[0]);
  }
  if (need_index && (uint32_t)o->index >= test->n) {
    uint32_t n = test->n;
    evsnn_dataset_free(test);
    return fail("--index %ld: out of range, %s has %u test images (0..%u)", o->index, o->data, n, n ? n - 1 : 0);
  }
  return 0;
}

/* Runs test sample i for T steps with the input evsnn_test_accuracy gives
 * it (evsnn_dataset_input from stream (seed, i)) and calls visit after
 * every step. */
typedef void (*visit_fn)(void *ctx, evsnn_state_t *st, uint32_t k);
static int run_image(const evsnn_net_t *net, const evsnn_dataset_t *d, uint32_t i, uint32_t T, uint64_t seed,
                     visit_fn visit, void *ctx) {
  evsnn_state_t st;
  evsnn_poisson_t enc;
  int err = evsnn_state_init(&st, net);
  if (err) return err;
  if ((err = evsnn_poisson_init(&enc, net->sizes[0]))) {
    evsnn_state_free(&st);
    return err;
  }
  evsnn_rng_t rng;
  evsnn_input_t in;
  evsnn_rng_init(&rng, seed, i);
  evsnn_dataset_input(d, i, &enc, &rng, &in);
  for (uint32_t k = 0; k < T; k++) {
    evsnn_state_step(&st, st.spikes[0], evsnn_input_step(&in, k, st.spikes[0]));
    visit(ctx, &st, k);
  }
  evsnn_state_free(&st);
  evsnn_poisson_free(&enc);
  return 0;
}

/* A grey MNIST image as RGB (white digit on black, as the data stores it). */
static void grey_to_rgb(const uint8_t *g, size_t n, uint8_t *rgb) {
  for (size_t i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i];
}

static int open_canvas(const opts_t *o, plot_canvas_t *c, int w, int h) {
  if (o->width) w = o->width, h = o->height;
  /* cairo only says "error while writing"; opening the file first lets
   * the message say why (no such directory, permission denied). */
  FILE *f = fopen(o->out, "wb");
  if (!f) return fail("%s: %s", o->out, strerror(errno));
  fclose(f);
  int st = plot_canvas_open(c, o->out, o->svg, w, h);
  if (st) unlink(o->out);
  return st ? fail("%s: cannot create the picture: %s", o->out, cairo_status_to_string(st)) : 0;
}

static int close_canvas(const opts_t *o, plot_canvas_t *c) {
  int w = c->width, h = c->height, st = plot_canvas_close(c);
  if (st) {
    unlink(o->out); /* no half-written picture */
    return fail("%s: cannot write the picture: %s", o->out, cairo_status_to_string(st));
  }
  printf("wrote %s (%dx%d %s)\n", o->out, w, h, o->svg ? "SVG" : "PNG");
  return 0;
}

/* Drops a picture that could not be drawn, with one line on why. */
static int abort_canvas(const opts_t *o, plot_canvas_t *c, int st) {
  plot_canvas_close(c);
  unlink(o->out);
  return fail("%s: cannot draw the picture: %s", o->out, cairo_status_to_string(st));
}

/* lo rounded down to a multiple of unit: the bottom of an accuracy axis. */
static double floor_to(double lo, double unit) { return floor(lo / unit) * unit; }

/* ------------------------------------------------------------- curves ---- */

/* train --log CSV: a header naming the columns (later versions may add
 * some), then one row of numbers per epoch. */
static int plot_curves(const opts_t *o) {
  FILE *f = fopen(o->file, "r");
  if (!f) return fail("%s: %s", o->file, strerror(errno));
  static const char *want[] = {"epoch", "train_loss", "train_accuracy", "test_accuracy"};
  int col[4] = {-1, -1, -1, -1}, ncol = 0, rc = 0;
  char line[4096];
  double *v[4] = {0};
  size_t n = 0, cap = 0;
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return fail("%s: empty file, expected a training log (evsnn train --log)", o->file);
  }
  line[strcspn(line, "\r\n")] = 0;
  for (char *s = line, *tok; (tok = strsep(&s, ",")); ncol++)
    for (int j = 0; j < 4; j++)
      if (!strcmp(tok, want[j])) col[j] = ncol;
  for (int j = 0; j < 4; j++)
    if (col[j] < 0) {
      fclose(f);
      return fail("%s: line 1: no column '%s': not a training log (evsnn train --log)", o->file, want[j]);
    }
  for (unsigned ln = 2; fgets(line, sizeof line, f); ln++) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      for (int j = 0; j < 4; j++) {
        double *p = realloc(v[j], cap * sizeof(double));
        if (!p) { rc = fail("%s: out of memory", o->file); goto done; }
        v[j] = p;
      }
    }
    int c = 0, got = 0;
    for (char *s = line, *tok; (tok = strsep(&s, ",")); c++)
      for (int j = 0; j < 4; j++)
        if (c == col[j]) {
          char *end;
          errno = 0;
          v[j][n] = strtod(tok, &end);
          if (errno || end == tok || *end || !isfinite(v[j][n])) {
            rc = fail("%s: line %u: column '%s': expected a number, got '%s'", o->file, ln, want[j], tok);
            goto done;
          }
          got++;
        }
    if (got != 4) {
      rc = fail("%s: line %u: %d fields, the header has %d", o->file, ln, c, ncol);
      goto done;
    }
    n++;
  }
  if (n == 0) {
    rc = fail("%s: no epochs after the header", o->file);
    goto done;
  }
  double lo = 100, hi = 0, lmax = 0;
  size_t best = 0;
  for (size_t i = 0; i < n; i++) {
    v[2][i] *= 100, v[3][i] *= 100;
    lo = fmin(lo, fmin(v[2][i], v[3][i]));
    hi = fmax(hi, fmax(v[2][i], v[3][i]));
    lmax = fmax(lmax, v[1][i]);
    if (v[3][i] > v[3][best]) best = i;
  }
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 1000, 440))) goto done;
  char sub[256], lab[64];
  snprintf(sub, sizeof sub, "%s: %zu epochs; final test accuracy %.2f%%, best %.2f%% (epoch %g)", o->file, n,
           v[3][n - 1], v[3][best], v[0][best]);
  plot_title(&cv, "Accuracy and loss per epoch", sub);
  double W = cv.width, H = cv.height;
  plot_axes_t a;
  plot_axes_init(&a, &cv, 10, 58, W * 0.55, H - 62, "accuracy");
  a.xint = 1;
  double top = fmin(100, ceil(hi + 0.5));
  plot_axes_range(&a, v[0][0] - 0.5, v[0][n - 1] + 0.5, floor_to(lo - 0.5, top - lo > 10 ? 5 : 1), top);
  plot_axes_draw(&a, "epoch", "accuracy (%)", 8, 6);
  plot_line(&a, v[0], v[2], n, plot_color(0), 2.2);
  plot_points(&a, v[0], v[2], n, plot_color(0), 3.5);
  plot_line(&a, v[0], v[3], n, plot_color(1), 2.2);
  plot_points(&a, v[0], v[3], n, plot_color(1), 3.5);
  a.legend_y = a.y + a.h - 50;
  snprintf(lab, sizeof lab, "train (final %.2f%%)", v[2][n - 1]);
  plot_legend(&a, lab, plot_color(0), 2.2, 0, PLOT_LEGEND_RIGHT);
  snprintf(lab, sizeof lab, "test (final %.2f%%)", v[3][n - 1]);
  plot_legend(&a, lab, plot_color(1), 2.2, 0, PLOT_LEGEND_RIGHT);
  plot_axes_init(&a, &cv, W * 0.55 + 20, 58, W * 0.45 - 30, H - 62, "training loss (cross-entropy)");
  a.xint = 1;
  plot_axes_range(&a, v[0][0] - 0.5, v[0][n - 1] + 0.5, 0, lmax * 1.08);
  plot_axes_draw(&a, "epoch", "mean loss", 8, 6);
  plot_line(&a, v[0], v[1], n, plot_color(2), 2.2);
  plot_points(&a, v[0], v[1], n, plot_color(2), 3.5);
  rc = close_canvas(o, &cv);
done:
  for (int j = 0; j < 4; j++) free(v[j]);
  fclose(f);
  return rc;
}

/* ----------------------------------------------------------- membrane ---- */

typedef struct {
  uint32_t n_out, L, T, n_hid;
  double *v;        /* (T + 1) x n_out output potentials, row 0 = 0 */
  double *h;        /* (T + 1) x n_hid first-hidden potentials (after reset) */
  uint8_t *fired;   /* (T + 1) x n_hid: spiked at that step */
  uint32_t *counts; /* spikes per first-hidden neuron */
  const uint32_t *pick; /* first-hidden neurons shown; NULL on the counting pass */
} membrane_t;

static void membrane_visit(void *ctx, evsnn_state_t *st, uint32_t k) {
  membrane_t *m = ctx;
  const float *v = evsnn_state_potentials(st, m->L);
  for (uint32_t c = 0; c < m->n_out; c++) m->v[(size_t)(k + 1) * m->n_out + c] = v[c];
  if (!m->n_hid) return;
  for (uint32_t s = 0; s < st->n_spikes[1]; s++) m->counts[st->spikes[1][s]]++;
  if (!m->pick) return;
  const float *h = evsnn_state_potentials(st, 1);
  /* Potentials read after the step are post-reset (0 after a spike); the
   * spike itself is marked separately. */
  for (uint32_t j = 0; j < m->n_hid; j++) {
    m->h[(size_t)(k + 1) * m->n_hid + j] = h[m->pick[j]];
    for (uint32_t s = 0; s < st->n_spikes[1]; s++)
      if (st->spikes[1][s] == m->pick[j]) m->fired[(size_t)(k + 1) * m->n_hid + j] = 1;
  }
}

/* The digit itself, as a small inset (cx, cy: its box's top-left). */
static void draw_digit(cairo_t *cr, const evsnn_dataset_t *d, uint32_t i, double cx, double cy, double size) {
  size_t px = (size_t)d->rows * d->cols;
  uint8_t *rgb = d->pixels ? malloc(3 * px) : NULL; /* binned events have no image */
  if (!rgb) return;
  grey_to_rgb(d->pixels + i * px, px, rgb);
  plot_image(cr, rgb, (int)d->cols, (int)d->rows, cx, cy, size, size);
  free(rgb);
}

static int plot_membrane(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  if ((rc = load_test(o, &net, &test, 1))) {
    evsnn_net_free(&net);
    return rc;
  }
  uint32_t T = (uint32_t)o->steps, L = net.n_layers, n_out = net.sizes[L], label = test.labels[o->index];
  uint32_t n_hid = L > 1 ? (uint32_t)fmin((double)o->hidden, net.sizes[1]) : 0;
  membrane_t m = {n_out, L, T, n_hid, calloc((size_t)(T + 1) * n_out, sizeof(double)),
                  calloc((size_t)(T + 1) * (n_hid ? n_hid : 1), sizeof(double)),
                  calloc((size_t)(T + 1) * (n_hid ? n_hid : 1), 1), calloc(net.sizes[1], sizeof(uint32_t)), NULL};
  uint32_t *pick = calloc(n_hid ? n_hid : 1, sizeof(uint32_t));
  uint8_t *taken = calloc(net.sizes[1], 1);
  double *xs = malloc((T + 1) * sizeof(double)), *ys = malloc((T + 1) * sizeof(double));
  if (!m.v || !m.h || !m.fired || !m.counts || !pick || !taken || !xs || !ys) {
    rc = cli_fail(EVSNN_ENOMEM, "plot");
    goto done;
  }
  int err = run_image(&net, &test, (uint32_t)o->index, T, (uint64_t)o->seed, membrane_visit, &m);
  if (!err && n_hid) {
    /* Show hidden neurons that integrate and fire a few times: those whose
     * spike count is nearest T/4 (ties: lower index). Neurons that fire at
     * every step or never show little. They are found on a first pass; the
     * second pass is the same draw, so the two agree. */
    double target = T / 4.0;
    for (uint32_t j = 0; j < n_hid; j++) {
      uint32_t best = UINT32_MAX;
      for (uint32_t i = 0; i < net.sizes[1]; i++)
        if (!taken[i] && (best == UINT32_MAX || fabs(m.counts[i] - target) < fabs(m.counts[best] - target))) best = i;
      pick[j] = best;
      taken[best] = 1;
    }
    m.pick = pick;
    err = run_image(&net, &test, (uint32_t)o->index, T, (uint64_t)o->seed, membrane_visit, &m);
  }
  if (err) {
    rc = cli_fail(err, "plot membrane");
    goto done;
  }
  const double *last = m.v + (size_t)T * n_out;
  uint32_t pred = 0;
  double lo = 0, hi = 0;
  for (uint32_t c = 0; c < n_out; c++) pred = last[c] > last[pred] ? c : pred;
  for (size_t i = 0; i < (size_t)(T + 1) * n_out; i++) lo = fmin(lo, m.v[i]), hi = fmax(hi, m.v[i]);
  for (uint32_t k = 0; k <= T; k++) xs[k] = k;
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 900, n_hid ? 900 : 540))) goto done;
  char sub[256], lab[64];
  snprintf(sub, sizeof sub, "test image %ld of %s (label %u), predicted %u after %u steps; Poisson seed %ld",
           o->index, o->data, label, pred, T, o->seed);
  plot_title(&cv, "Membrane potentials of the output neurons", sub);
  double W = cv.width, H = cv.height, ph = n_hid ? (H - 60) * 0.55 : H - 60;
  plot_axes_t a;
  plot_axes_init(&a, &cv, 10, 56, W - 140, ph, NULL);
  a.xint = 1;
  double pad = 0.05 * (hi - lo);
  plot_axes_range(&a, 0, T, lo - pad, hi + pad);
  plot_axes_draw(&a, "time step", "membrane potential v (output layer)", 10, 7);
  /* The true class last and thick, so no other line hides it. */
  for (uint32_t pass = 0; pass < 2; pass++)
    for (uint32_t c = 0; c < n_out; c++) {
      if ((c == label) != pass) continue;
      for (uint32_t k = 0; k <= T; k++) ys[k] = m.v[(size_t)k * n_out + c];
      plot_line(&a, xs, ys, T + 1, c == label ? PLOT_BLACK : plot_color(c), c == label ? 3.6 : 1.5);
    }
  for (uint32_t c = 0; c < n_out; c++) {
    snprintf(lab, sizeof lab, c == label ? "class %u (true)" : "class %u", c);
    plot_legend(&a, lab, c == label ? PLOT_BLACK : plot_color(c), c == label ? 3.6 : 1.5, 0, PLOT_LEGEND_OUTSIDE);
  }
  draw_digit(cv.cr, &test, (uint32_t)o->index, a.x + a.w + 30, a.legend_y + 14, 84);
  if (n_hid) {
    double hl = 0, hh = net.layer[0].threshold;
    for (size_t i = 0; i < (size_t)(T + 1) * n_hid; i++) hl = fmin(hl, m.h[i]), hh = fmax(hh, m.h[i]);
    snprintf(sub, sizeof sub, "first hidden layer: %u neurons firing about every 4th step (dots: spikes, reset to 0)", n_hid);
    plot_axes_init(&a, &cv, 10, 60 + ph, W - 140, H - 64 - ph, sub);
    a.xint = 1;
    plot_axes_range(&a, 0, T, hl - 0.05 * (hh - hl), hh * 1.1);
    plot_axes_draw(&a, "time step", "v (hidden layer 1)", 10, 5);
    snprintf(lab, sizeof lab, "threshold s = %.3g", net.layer[0].threshold);
    plot_hline(&a, net.layer[0].threshold, PLOT_BLACK, lab);
    for (uint32_t j = 0; j < n_hid; j++) {
      for (uint32_t k = 0; k <= T; k++) ys[k] = m.h[(size_t)k * n_hid + j];
      plot_line(&a, xs, ys, T + 1, plot_color(j), 1.6);
      double s = net.layer[0].threshold;
      for (uint32_t k = 0; k <= T; k++)
        if (m.fired[(size_t)k * n_hid + j]) plot_points(&a, &xs[k], &s, 1, plot_color(j), 4);
      snprintf(lab, sizeof lab, "neuron %u", pick[j]);
      plot_legend(&a, lab, plot_color(j), 1.6, 0, PLOT_LEGEND_OUTSIDE);
    }
  }
  rc = close_canvas(o, &cv);
  if (!rc) printf("label %u, predicted %u\n", label, pred);
done:
  free(m.v), free(m.h), free(m.fired), free(m.counts), free(pick), free(taken), free(xs), free(ys);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* ------------------------------------------------------------- raster ---- */

/* Spikes of the spiking layers (input and hidden: the output layer never
 * spikes) as (step, layer, neuron) triples, in step order. */
typedef struct {
  evsnn_event_t *ev;
  size_t n, cap;
  uint32_t n_layers; /* spiking layers: 0 = input .. L-1 */
  int oom;
} spikes_t;

static void spikes_add(spikes_t *s, uint32_t k, uint32_t layer, uint32_t neuron) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 4096;
    evsnn_event_t *p = realloc(s->ev, cap * sizeof *p);
    if (!p) {
      s->oom = 1;
      return;
    }
    s->ev = p, s->cap = cap;
  }
  s->ev[s->n++] = (evsnn_event_t){.t = (int64_t)k * SPIKE_STEP_US, .x = (uint16_t)neuron, .y = (uint16_t)layer, .p = 1};
}

static void raster_visit(void *ctx, evsnn_state_t *st, uint32_t k) {
  spikes_t *s = ctx;
  for (uint32_t m = 0; m < s->n_layers; m++)
    for (uint32_t i = 0; i < st->n_spikes[m]; i++) spikes_add(s, k, m, st->spikes[m][i]);
}

/* Reads a spike recording (kind SPIKES, t = step x 1 ms) checked against
 * the model's layer sizes. */
static int read_spikes(const char *path, const evsnn_net_t *net, spikes_t *s, uint32_t *T) {
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  if (err) return cli_fail(err, path);
  if (evsnn_event_reader_info(r)->kind != EVSNN_EVENTS_SPIKES) {
    evsnn_event_reader_close(r);
    return fail("%s: a DVS recording, not network spikes (see evsnn plot events)", path);
  }
  static evsnn_event_t buf[4096];
  size_t n;
  while ((err = evsnn_event_read(r, buf, 4096, &n)) == 0 && n > 0)
    for (size_t i = 0; i < n; i++) {
      const evsnn_event_t *e = &buf[i];
      if (e->y >= s->n_layers || e->x >= net->sizes[e->y] || e->t < 0 || e->t / SPIKE_STEP_US >= MAX_STEPS) {
        evsnn_event_reader_close(r);
        return fail("%s: spike of neuron %u in layer %u at t=%lld us does not fit the model (%u spiking layers) "
                    "or %d steps", path, e->x, e->y, (long long)e->t, s->n_layers, MAX_STEPS);
      }
      uint32_t k = (uint32_t)(e->t / SPIKE_STEP_US);
      spikes_add(s, k, e->y, e->x);
      if (k + 1 > *T) *T = k + 1;
    }
  evsnn_event_reader_close(r);
  return err ? cli_fail(err, path) : 0;
}

/* Writes the spikes as an evsnn event file of kind SPIKES. */
static int record_spikes(const char *path, const evsnn_net_t *net, const spikes_t *s) {
  uint32_t widest = 0;
  for (uint32_t m = 0; m < s->n_layers; m++) widest = net->sizes[m] > widest ? net->sizes[m] : widest;
  evsnn_event_info_t info = {.format = "evsnn", .width = widest, .height = s->n_layers, .channels = 1,
                             .kind = EVSNN_EVENTS_SPIKES, .label = -1, .meta = "evsnn plot raster: t = step x 1 ms"};
  evsnn_event_writer_t *w;
  int err = evsnn_event_writer_open(&w, path, &info);
  if (err) return cli_fail(err, path);
  err = evsnn_event_write(w, s->ev, s->n);
  int err2 = evsnn_event_writer_close(w);
  if (!err) err = err2;
  return err ? cli_fail(err, path) : 0;
}

static int plot_raster(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  spikes_t s = {.n_layers = net.n_layers};
  uint32_t T = 0, label = 0;
  int from_data = o->file == NULL;
  if (from_data) {
    if ((rc = load_test(o, &net, &test, 1))) goto done;
    T = (uint32_t)o->steps;
    label = test.labels[o->index];
    int err = run_image(&net, &test, (uint32_t)o->index, T, (uint64_t)o->seed, raster_visit, &s);
    if (err || s.oom) {
      rc = cli_fail(err ? err : EVSNN_ENOMEM, "plot raster");
      goto done;
    }
    if (o->record && (rc = record_spikes(o->record, &net, &s))) goto done;
  } else if ((rc = read_spikes(o->file, &net, &s, &T))) {
    goto done;
  }
  if (s.oom) {
    rc = cli_fail(EVSNN_ENOMEM, "plot raster");
    goto done;
  }
  if (T == 0) T = 1;
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 1200, 720))) goto done;
  char sub[512], title[128];
  if (from_data)
    snprintf(sub, sizeof sub, "test image %ld of %s (label %u), %u steps, Poisson seed %ld; the output layer never "
             "spikes", o->index, o->data, label, T, o->seed);
  else
    snprintf(sub, sizeof sub, "%s: %zu spikes over %u steps", o->file, s.n, T);
  plot_title(&cv, "Spike raster per layer", sub);
  double W = cv.width, H = cv.height, cw = (W - 10) / s.n_layers, rh = (H - 60) * 0.7;
  uint32_t *per_step = calloc(T, sizeof(uint32_t));
  if (!per_step) {
    rc = abort_canvas(o, &cv, CAIRO_STATUS_NO_MEMORY);
    goto done;
  }
  for (uint32_t m = 0; m < s.n_layers; m++) {
    uint32_t n = net.sizes[m];
    size_t total = 0;
    memset(per_step, 0, T * sizeof(uint32_t));
    for (size_t i = 0; i < s.n; i++)
      if (s.ev[i].y == m) per_step[s.ev[i].t / SPIKE_STEP_US]++, total++;
    if (m == 0) snprintf(title, sizeof title, "input (%u), %zu spikes", n, total);
    else snprintf(title, sizeof title, "hidden %u (%u), %zu spikes", m, n, total);
    plot_axes_t a;
    plot_axes_init(&a, &cv, 5 + m * cw, 56, cw, rh, title);
    a.xint = 1;
    plot_axes_range(&a, 0.5, T + 0.5, -0.5, n - 0.5);
    plot_axes_draw(&a, NULL, "neuron", 8, 6);
    /* One mark per spike: a step wide, at least a pixel high. */
    double dy = fmax(1.0, a.h / n);
    cairo_save(cv.cr);
    cairo_rectangle(cv.cr, a.x, a.y, a.w, a.h);
    cairo_clip(cv.cr);
    plot_rgb_t col = plot_color(m);
    cairo_set_source_rgb(cv.cr, col.r, col.g, col.b);
    for (size_t i = 0; i < s.n; i++)
      if (s.ev[i].y == m) {
        double k = (double)(s.ev[i].t / SPIKE_STEP_US) + 1;
        cairo_rectangle(cv.cr, plot_x(&a, k - 0.4), plot_y(&a, s.ev[i].x) - dy / 2, plot_x(&a, k + 0.4) - plot_x(&a, k - 0.4), dy);
      }
    cairo_fill(cv.cr);
    cairo_restore(cv.cr);
    uint32_t peak = 1;
    for (uint32_t k = 0; k < T; k++) peak = per_step[k] > peak ? per_step[k] : peak;
    plot_axes_init(&a, &cv, 5 + m * cw, 60 + rh, cw, H - 64 - rh, NULL);
    a.xint = 1;
    plot_axes_range(&a, 0.5, T + 0.5, 0, peak * 1.1);
    plot_axes_draw(&a, "time step", "spikes / step", 8, 3);
    for (uint32_t k = 0; k < T; k++) plot_bar(&a, k + 1, 0.8, 0, per_step[k], col);
  }
  free(per_step);
  rc = close_canvas(o, &cv);
  if (!rc) printf("%zu spikes over %u steps\n", s.n, T);
done:
  free(s.ev);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* -------------------------------------------------------- reconstruct ---- */

/* The paper's figure 2: each input's Poisson spikes counted over the first
 * T steps of one draw, shown as count / T. */
static int plot_reconstruct(const opts_t *o) {
  evsnn_dataset_t test = {0};
  int rc = load_test(o, NULL, &test, 1);
  if (rc) return rc;
  size_t px = (size_t)test.rows * test.cols, nimg = o->n_recon + 1;
  uint32_t Tmax = 0;
  for (size_t j = 0; j < o->n_recon; j++) Tmax = o->recon[j] > Tmax ? o->recon[j] : Tmax;
  uint32_t *count = calloc(px, sizeof(uint32_t)), *spk = malloc(px * sizeof(uint32_t));
  uint8_t *rgb = malloc(3 * px * nimg), *grey = malloc(px);
  double mae[MAX_RECON];
  evsnn_poisson_t enc;
  int err = evsnn_poisson_init(&enc, (uint32_t)px);
  if (err || !count || !spk || !rgb || !grey) {
    rc = cli_fail(err ? err : EVSNN_ENOMEM, "plot reconstruct");
    goto done;
  }
  const uint8_t *img = test.pixels + (size_t)o->index * px;
  grey_to_rgb(img, px, rgb);
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, (uint64_t)o->seed, (uint64_t)o->index);
  evsnn_poisson_set_image(&enc, img);
  for (uint32_t k = 1; k <= Tmax; k++) {
    uint32_t n = evsnn_poisson_step(&enc, &rng, spk);
    for (uint32_t i = 0; i < n; i++) count[spk[i]]++;
    for (size_t j = 0; j < o->n_recon; j++) {
      if (o->recon[j] != k) continue;
      double e = 0;
      for (size_t p = 0; p < px; p++) {
        grey[p] = (uint8_t)lround(255.0 * count[p] / k);
        e += fabs((double)grey[p] - img[p]);
      }
      mae[j] = e / px;
      grey_to_rgb(grey, px, rgb + 3 * px * (j + 1));
    }
  }
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 40 + 170 * (int)nimg, 290))) goto done;
  char sub[256], lab[64];
  snprintf(sub, sizeof sub, "test image %ld of %s (label %u): spikes per input counted over the first T steps, "
           "shown as count / T", o->index, o->data, test.labels[o->index]);
  plot_title(&cv, "Images rebuilt from Poisson spike trains", sub);
  double cell = (cv.width - 40.0) / nimg, side = fmin(cell - 16, cv.height - 130);
  for (size_t j = 0; j < nimg; j++) {
    double x = 20 + j * cell + (cell - side) / 2, y = 74;
    if ((err = plot_image(cv.cr, rgb + 3 * px * j, (int)test.cols, (int)test.rows, x, y, side, side))) break;
    cairo_set_source_rgb(cv.cr, 0.1, 0.1, 0.1);
    if (j == 0) snprintf(lab, sizeof lab, "original");
    else snprintf(lab, sizeof lab, "T = %u", o->recon[j - 1]);
    plot_text(cv.cr, x + side / 2, y + side + 8, 0.5, 0, 14, 1, 0, lab);
    if (j == 0) snprintf(lab, sizeof lab, "8-bit pixels");
    else snprintf(lab, sizeof lab, "mean |error| %.1f", mae[j - 1]);
    cairo_set_source_rgb(cv.cr, 0.3, 0.3, 0.3);
    plot_text(cv.cr, x + side / 2, y + side + 28, 0.5, 0, 12, 0, 0, lab);
  }
  rc = err ? abort_canvas(o, &cv, err) : close_canvas(o, &cv);
  if (!rc) {
    printf("mean absolute error (0-255):");
    for (size_t j = 0; j < o->n_recon; j++) printf("%s T=%u %.2f", j ? "," : "", o->recon[j], mae[j]);
    printf("\n");
  }
done:
  evsnn_poisson_free(&enc);
  free(count), free(spk), free(rgb), free(grey);
  evsnn_dataset_free(&test);
  return rc;
}

/* ------------------------------------------------------------ anytime ---- */

static int plot_anytime(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  if ((rc = load_test(o, &net, &test, 0))) {
    evsnn_net_free(&net);
    return rc;
  }
  uint32_t T = (uint32_t)o->steps;
  double acc, *any = malloc(T * sizeof(double)), *ks = malloc(T * sizeof(double));
  evsnn_test_t pass = {.T = T, .seed = (uint64_t)o->seed, .engine = EVSNN_ENGINE_EVENT, .anytime = any};
  int err = any && ks ? evsnn_test_accuracy(&net, &test, &pass, &acc) : EVSNN_ENOMEM;
  if (err) {
    rc = cli_fail(err, "plot anytime");
    goto done;
  }
  double lo = 100;
  for (uint32_t k = 0; k < T; k++) ks[k] = k + 1, any[k] *= 100, lo = fmin(lo, any[k]);
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 860, 500))) goto done;
  char sub[256], lab[64];
  snprintf(sub, sizeof sub, "%s on %u test images of %s, Poisson seed %ld; %.2f%% at T = %u", o->model, test.n, o->data,
           o->seed, 100 * acc, T);
  plot_title(&cv, "Accuracy when deciding after k steps", sub);
  plot_axes_t a;
  plot_axes_init(&a, &cv, 10, 56, cv.width - 20, cv.height - 60, NULL);
  a.xint = 1;
  double top = fmin(100, ceil(any[T - 1] + 1));
  for (uint32_t k = 0; k < T; k++) top = fmax(top, fmin(100, ceil(any[k] + 0.5)));
  plot_axes_range(&a, 0.5, T + 0.5, floor_to(lo - 0.5, top - lo > 10 ? 5 : 1), top);
  plot_axes_draw(&a, "steps k used for the decision (argmax of the output potentials after step k)",
                 "test accuracy (%)", 10, 8);
  plot_line(&a, ks, any, T, plot_color(0), 2.2);
  plot_points(&a, ks, any, T, plot_color(0), 3.5);
  a.legend_y = a.y + a.h - 30;
  snprintf(lab, sizeof lab, "k = 1: %.2f%%, k = %u: %.2f%%", any[0], T, any[T - 1]);
  plot_legend(&a, lab, plot_color(0), 2.2, 0, PLOT_LEGEND_RIGHT);
  rc = close_canvas(o, &cv);
  if (!rc) {
    /* The same line evsnn test prints, so the two can be compared. */
    printf("anytime (accuracy deciding after k steps):");
    for (uint32_t k = 0; k < T; k++) printf("%s k=%u %.2f%%", k ? "," : "", k + 1, any[k]);
    printf("\n");
  }
done:
  free(any), free(ks);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* ------------------------------------------------------------- events ---- */

#define FRAME_CELLS 320 /* frames are binned down to at most this many cells across */

/* Two passes over the file (readers stream; nothing is held whole): the
 * first finds the time span and the sensor size if the header lacks it,
 * the second bins ON and OFF events per time window and display cell. */
static int plot_events(const opts_t *o) {
  static evsnn_event_t buf[65536];
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, o->file, NULL);
  if (err) return cli_fail(err, o->file);
  const evsnn_event_info_t *info = evsnn_event_reader_info(r);
  if (info->kind == EVSNN_EVENTS_SPIKES) {
    evsnn_event_reader_close(r);
    return fail("%s: network spikes, not a DVS recording (see evsnn plot raster)", o->file);
  }
  char format[32];
  snprintf(format, sizeof format, "%s", info->format); /* info dies with the reader */
  uint32_t W = info->width, H = info->height, mx = 0, my = 0;
  int64_t t0 = 0, t1 = 0;
  uint64_t total = 0;
  size_t n;
  while ((err = evsnn_event_read(r, buf, 65536, &n)) == 0 && n > 0) {
    if (!total) t0 = t1 = buf[0].t;
    /* Extremes, not first and last: some formats are only nearly ordered. */
    for (size_t i = 0; i < n; i++) {
      mx = buf[i].x > mx ? buf[i].x : mx, my = buf[i].y > my ? buf[i].y : my;
      t0 = buf[i].t < t0 ? buf[i].t : t0, t1 = buf[i].t > t1 ? buf[i].t : t1;
    }
    total += n;
  }
  evsnn_event_reader_close(r);
  if (err) return cli_fail(err, o->file);
  if (!total) return fail("%s: no events", o->file);
  if (!W || mx >= W) W = mx + 1;
  if (!H || my >= H) H = my + 1;
  int64_t span = t1 - t0 + 1;
  int64_t win = o->window_ms > 0 ? (int64_t)ceil(o->window_ms * 1000) : (span + o->frames - 1) / o->frames;
  if (win < 1) win = 1;
  int64_t nf64 = (span + win - 1) / win;
  uint32_t nf = (uint32_t)(nf64 < o->frames ? nf64 : o->frames);
  uint32_t ds = (W + FRAME_CELLS - 1) / FRAME_CELLS, cw = (W + ds - 1) / ds, ch = (H + ds - 1) / ds;
  size_t cells = (size_t)cw * ch;
  uint32_t *on = calloc(cells * nf, sizeof(uint32_t)), *off = calloc(cells * nf, sizeof(uint32_t));
  uint8_t *rgb = malloc(3 * cells);
  uint64_t shown = 0;
  int rc = 0;
  if (!on || !off || !rgb) {
    rc = cli_fail(EVSNN_ENOMEM, "plot events");
    goto done;
  }
  if ((err = evsnn_event_reader_open(&r, o->file, NULL))) {
    rc = cli_fail(err, o->file);
    goto done;
  }
  while ((err = evsnn_event_read(r, buf, 65536, &n)) == 0 && n > 0)
    for (size_t i = 0; i < n; i++) {
      int64_t f = (buf[i].t - t0) / win;
      if (f < 0 || f >= nf || buf[i].x >= W || buf[i].y >= H) continue;
      size_t c = (size_t)f * cells + (size_t)(buf[i].y / ds) * cw + buf[i].x / ds;
      (buf[i].p ? on : off)[c]++;
      shown++;
    }
  evsnn_event_reader_close(r);
  if (err) {
    rc = cli_fail(err, o->file);
    goto done;
  }
  /* Colour saturates at the 98th percentile of the non-empty cells'
   * counts, so a few hot pixels do not wash out the rest. */
  uint32_t hist[256] = {0}, sat = 1;
  uint64_t nz = 0, acc = 0;
  for (size_t c = 0; c < cells * nf; c++) {
    uint32_t v = on[c] + off[c];
    if (v) hist[v < 255 ? v : 255]++, nz++;
  }
  for (sat = 1; sat < 255 && (acc += hist[sat]) < 0.98 * nz; sat++) {}
  /* One picture holding every window as a grid, or with --split one
   * picture per window (OUT-000.png, OUT-001.png, ...): frames to flip
   * through or assemble into an animation. */
  uint32_t per = o->split ? 1 : nf;
  for (uint32_t first = 0; first < nf && !rc; first += per) {
    opts_t po = *o;
    char path[1024], sub[512], lab[96], title[64];
    if (o->split) {
      const char *slash = strrchr(o->out, '/'), *dot = strrchr(o->out, '.');
      int stem = dot && (!slash || dot > slash) ? (int)(dot - o->out) : (int)strlen(o->out);
      snprintf(path, sizeof path, "%.*s-%03u%s", stem, o->out, first, o->out + stem);
      po.out = path;
      snprintf(title, sizeof title, "Event frame %u of %u", first + 1, nf);
    } else {
      snprintf(title, sizeof title, "Event frames");
    }
    uint32_t cols = per <= 4 ? per : per <= 9 ? 3 : 4, rows = (per + cols - 1) / cols;
    double fw = (o->split ? 600.0 : 1160.0) / cols - 20, fh = fw * ch / cw;
    plot_canvas_t cv;
    if ((rc = open_canvas(&po, &cv, o->split ? 640 : 1200, (int)(80 + rows * (fh + 34))))) break;
    if (o->split)
      snprintf(sub, sizeof sub, "%s (%s, %ux%u): red ON (brighter), blue OFF (darker)", o->file, format, W, H);
    else
      snprintf(sub, sizeof sub, "%s (%s, %ux%u): %llu events, windows of %.3g ms; red ON (brighter), blue OFF (darker)",
               o->file, format, W, H, (unsigned long long)total, win / 1000.0);
    plot_title(&cv, title, sub);
    fw = (cv.width - 40.0) / cols - 20, fh = fmin(fw * ch / cw, (cv.height - 80.0) / rows - 34);
    for (uint32_t f = first; f < first + per; f++) {
      for (size_t c = 0; c < cells; c++) {
        /* sqrt: single events stay visible next to busy pixels. */
        double a = sqrt(fmin(1, (double)on[f * cells + c] / sat)), b = sqrt(fmin(1, (double)off[f * cells + c] / sat));
        /* White paper; ON pulls toward red, OFF toward blue, both toward purple. */
        double rr = 1 - 0.2 * a - 0.85 * b, gg = 1 - 0.85 * a - 0.65 * b, bb = 1 - 0.85 * a - 0.15 * b;
        rgb[3 * c] = (uint8_t)lround(255 * fmax(0, rr));
        rgb[3 * c + 1] = (uint8_t)lround(255 * fmax(0, gg));
        rgb[3 * c + 2] = (uint8_t)lround(255 * fmax(0, bb));
      }
      uint32_t i = f - first;
      double x = 20 + (i % cols) * (fw + 20) + 10, y = 64 + (i / cols) * (fh + 34);
      if ((err = plot_image(cv.cr, rgb, (int)cw, (int)ch, x, y, fw, fh))) break;
      snprintf(lab, sizeof lab, "%.4g-%.4g ms", (double)f * win / 1000, (double)(f + 1) * win / 1000);
      cairo_set_source_rgb(cv.cr, 0.1, 0.1, 0.1);
      plot_text(cv.cr, x + fw / 2, y + fh + 6, 0.5, 0, 12.5, 0, 0, lab);
    }
    rc = err ? abort_canvas(&po, &cv, err) : close_canvas(&po, &cv);
  }
  if (!rc) printf("%u frames of %.3g ms, %llu of %llu events shown\n", nf, win / 1000.0, (unsigned long long)shown,
                  (unsigned long long)total);
done:
  free(on), free(off), free(rgb);
  return rc;
}

/* ----------------------------------------------------------- sparsity ---- */

static int plot_sparsity(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  if ((rc = load_test(o, &net, &test, 0))) {
    evsnn_net_free(&net);
    return rc;
  }
  uint32_t T = (uint32_t)o->steps, L = net.n_layers;
  double acc;
  evsnn_counts_t cnt;
  evsnn_test_t pass = {.T = T, .seed = (uint64_t)o->seed, .engine = EVSNN_ENGINE_EVENT, .counts = &cnt};
  int err = evsnn_test_accuracy(&net, &test, &pass, &acc);
  if (err) {
    rc = cli_fail(err, "plot sparsity");
    goto done;
  }
  double n = test.n ? test.n : 1;
  char names[2 * EVSNN_MAX_LAYERS][32], sub[256], lab[64];
  const char *cats[EVSNN_MAX_LAYERS];
  double rate[EVSNN_MAX_LAYERS], rmax = 0, opmax = 0;
  for (uint32_t m = 0; m < L; m++) {
    rate[m] = 100.0 * cnt.spikes[m] / (n * T * net.sizes[m]);
    rmax = fmax(rmax, rate[m]);
    opmax = fmax(opmax, cnt.dense_macs[m] / n);
    if (m == 0) snprintf(names[m], sizeof names[m], "input\nn = %u", net.sizes[0]);
    else snprintf(names[m], sizeof names[m], "hidden %u\nn = %u", m, net.sizes[m]);
  }
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 1100, 480))) goto done;
  snprintf(sub, sizeof sub, "%s on %u test images of %s at T = %u (accuracy %.2f%%); per image", o->model, test.n,
           o->data, T, 100 * acc);
  plot_title(&cv, "Sparsity: spikes and synaptic operations", sub);
  double W = cv.width, H = cv.height;
  plot_axes_t a;
  plot_axes_init(&a, &cv, 10, 58, W * 0.42, H - 62, "spike rate per neuron and step");
  for (uint32_t m = 0; m < L; m++) cats[m] = names[m];
  plot_axes_categories(&a, cats, L);
  plot_axes_range(&a, -0.5, L - 0.5, 0, rmax * 1.25);
  plot_axes_draw(&a, NULL, "spikes / (neuron x step)  (%)", 0, 6);
  for (uint32_t m = 0; m < L; m++) {
    plot_bar(&a, m, 0.6, 0, rate[m], plot_color(m));
    cairo_set_source_rgb(cv.cr, 0.1, 0.1, 0.1);
    snprintf(lab, sizeof lab, "%.2f%%", rate[m]);
    plot_text(cv.cr, plot_x(&a, m), plot_y(&a, rate[m]) - 18, 0.5, 1, 12, 1, 0, lab);
    snprintf(lab, sizeof lab, "%.0f spikes", cnt.spikes[m] / n);
    plot_text(cv.cr, plot_x(&a, m), plot_y(&a, rate[m]) - 3, 0.5, 1, 11, 0, 0, lab);
  }
  plot_axes_init(&a, &cv, W * 0.42 + 20, 58, W * 0.58 - 30, H - 62, "synaptic ops vs dense MACs");
  for (uint32_t m = 0; m < L; m++) {
    snprintf(names[L + m], sizeof names[L + m], "W%u\n%u -> %u", m + 1, net.sizes[m], net.sizes[m + 1]);
    cats[m] = names[L + m];
  }
  plot_axes_categories(&a, cats, L);
  plot_axes_range(&a, -0.5, L - 0.5, 0, opmax * 1.15);
  plot_axes_draw(&a, NULL, "operations per image", 0, 6);
  for (uint32_t m = 0; m < L; m++) {
    double so = cnt.synops[m] / n, dm = cnt.dense_macs[m] / n;
    plot_bar(&a, m - 0.17, 0.32, 0, dm, PLOT_GREY);
    plot_bar(&a, m + 0.17, 0.32, 0, so, plot_color(2));
    snprintf(lab, sizeof lab, "%.1fx fewer", so > 0 ? dm / so : INFINITY);
    cairo_set_source_rgb(cv.cr, 0.1, 0.1, 0.1);
    plot_text(cv.cr, plot_x(&a, m + 0.17), plot_y(&a, so) - 4, 0.5, 1, 11.5, 1, 0, lab);
  }
  plot_legend(&a, "dense MACs (n_in x n_out per step)", PLOT_GREY, 0, 1, PLOT_LEGEND_RIGHT);
  plot_legend(&a, "synaptic ops (spikes x fan-out)", plot_color(2), 0, 1, PLOT_LEGEND_RIGHT);
  rc = close_canvas(o, &cv);
  if (!rc) {
    uint64_t so = 0, dm = 0;
    for (uint32_t m = 0; m < L; m++) so += cnt.synops[m], dm += cnt.dense_macs[m];
    printf("per image: spikes");
    for (uint32_t m = 0; m < L; m++) printf(" %.1f", cnt.spikes[m] / n);
    printf("; synaptic ops %.0f vs dense MACs %.0f\n", so / n, dm / n);
  }
done:
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* ------------------------------------------------------------ options ---- */

static const struct {
  const char *kind;
  int (*run)(const opts_t *o);
  const char *allowed; /* options besides --out --svg --size --seed */
  int wants_file;      /* 1: a positional FILE is required, 2: optional */
} kinds[] = {
    {"curves", plot_curves, "", 1},
    {"membrane", plot_membrane, " --model --data --index --steps --hidden ", 0},
    {"raster", plot_raster, " --model --data --index --steps --record ", 2},
    {"reconstruct", plot_reconstruct, " --data --index --steps ", 0},
    {"anytime", plot_anytime, " --model --data --steps --limit ", 0},
    {"events", plot_events, " --window --frames ", 1},
    {"sparsity", plot_sparsity, " --model --data --steps --limit ", 0},
};

static int parse_steps_list(const char *s, opts_t *o) {
  char copy[256];
  snprintf(copy, sizeof copy, "%s", s);
  o->n_recon = 0;
  for (char *p = copy, *tok; (tok = strsep(&p, ","));) {
    long v;
    if (o->n_recon == MAX_RECON) return cli_usage("plot: --steps: at most %d values", MAX_RECON);
    if (!cli_parse_long("--steps", tok, 1, MAX_STEPS, &v)) return 2;
    o->recon[o->n_recon++] = (uint32_t)v;
  }
  return 0;
}

int evsnn_cmd_plot(int argc, char **argv) {
  if (argc < 2) return usage_plot(), 2;
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage_plot();
  size_t kind = 0, n_kinds = sizeof kinds / sizeof kinds[0];
  while (kind < n_kinds && strcmp(argv[1], kinds[kind].kind)) kind++;
  if (kind == n_kinds) return cli_usage("plot: unknown kind '%s' (see evsnn plot --help)", argv[1]);
  opts_t o = {.kind = argv[1], .seed = 2, .frames = 12, .index = -1};
  const char *steps = NULL;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_plot();
    if (!strcmp(a, "--svg")) { o.svg = 1; continue; }
    if (!strcmp(a, "--split") && !strcmp(o.kind, "events")) { o.split = 1; continue; }
    if (a[0] != '-' || !a[1]) {
      if (!kinds[kind].wants_file || o.file) return cli_usage("plot %s: unexpected argument '%s'", o.kind, a);
      o.file = a;
      continue;
    }
    char key[64];
    snprintf(key, sizeof key, " %s ", a);
    int common = !strcmp(a, "--out") || !strcmp(a, "--size") || !strcmp(a, "--seed");
    if (!common && !strstr(kinds[kind].allowed, key))
      return cli_usage("plot %s: unknown option '%s' (see evsnn plot --help)", o.kind, a);
    if (!val) return cli_usage("plot %s: %s needs a value", o.kind, a);
    i++;
    long v;
    if (!strcmp(a, "--out")) o.out = val;
    else if (!strcmp(a, "--model")) o.model = val;
    else if (!strcmp(a, "--data")) o.data = val;
    else if (!strcmp(a, "--record")) o.record = val;
    else if (!strcmp(a, "--steps")) steps = val;
    else if (!strcmp(a, "--size")) {
      int w, h, len = 0;
      if (sscanf(val, "%dx%d%n", &w, &h, &len) != 2 || val[len] || w < 200 || h < 150 || w > 8000 || h > 8000)
        return cli_usage("plot: --size: expected WxH between 200x150 and 8000x8000, got '%s'", val);
      o.width = w, o.height = h;
    } else if (!strcmp(a, "--window")) {
      if (!cli_parse_double(a, val, &o.window_ms)) return 2;
      if (!(o.window_ms > 0 && o.window_ms <= 1e9))
        return cli_usage("plot: --window: expected milliseconds in (0, 1e9], got '%s'", val);
    } else {
      long min = 0, max = 100000000; /* --index, --limit */
      if (!strcmp(a, "--seed")) max = 0x7fffffffL;
      else if (!strcmp(a, "--frames")) min = 1, max = 64;
      else if (!strcmp(a, "--hidden")) max = 10;
      else if (!strcmp(a, "--limit")) min = 1;
      if (!cli_parse_long(a, val, min, max, &v)) return 2;
      if (!strcmp(a, "--index")) o.index = v;
      else if (!strcmp(a, "--seed")) o.seed = v;
      else if (!strcmp(a, "--limit")) o.limit = v;
      else if (!strcmp(a, "--frames")) o.frames = v;
      else o.hidden = v;
    }
  }
  if (!strcmp(o.kind, "reconstruct")) { /* a list of step counts */
    int rc = parse_steps_list(steps ? steps : "5,10,20,50,255", &o);
    if (rc) return rc;
  } else if (steps) {
    if (!cli_parse_long("--steps", steps, 1, MAX_STEPS, &o.steps)) return 2;
  } else {
    /* membrane and raster: the paper's 20 training steps; anytime: 20 to
     * see the curve settle; sparsity: test's default 5. */
    o.steps = !strcmp(o.kind, "sparsity") ? 5 : 20;
  }
  if (kinds[kind].wants_file == 1 && !o.file) return cli_usage("plot %s: FILE is required", o.kind);
  if (strstr(kinds[kind].allowed, " --model ") && !o.model) return cli_usage("plot %s: --model MODEL is required", o.kind);
  if (strstr(kinds[kind].allowed, " --data ") && !o.data && !o.file)
    return cli_usage("plot %s: --data DIR is required%s", o.kind, kinds[kind].wants_file ? " (or a spike FILE)" : "");
  if (o.file && (o.data || o.record)) return cli_usage("plot %s: give either --data or a FILE", o.kind);
  if (strstr(kinds[kind].allowed, " --index ") && !o.file && o.index < 0)
    return cli_usage("plot %s: --index N is required (a test image)", o.kind);
  char out[256];
  if (!o.out) {
    snprintf(out, sizeof out, "plot-%s.%s", o.kind, o.svg ? "svg" : "png");
    o.out = out;
  }
  int rc = kinds[kind].run(&o);
  /* Drops cairo's and fontconfig's caches, which otherwise live until exit
   * and show as leaks under LeakSanitizer (make check with --enable-asan). */
  cairo_debug_reset_static_data();
  FcFini();
  return rc;
}
