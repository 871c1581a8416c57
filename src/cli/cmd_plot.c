/* `evsnn plot KIND ...`: the pictures people judge a spiking network by
 * (PNG, or SVG with --svg). This file holds the options and the files; the
 * figures are src/plot's functions over arrays. Every number drawn comes
 * from the library functions the other subcommands print from:
 * evsnn_test_accuracy for the anytime curve and the sparsity counters (as
 * `evsnn test` does), the event engine's per-step state for membrane
 * potentials and spikes, the Poisson encoder for reconstructions, the
 * event readers for DVS frames, train's --log CSV for the curves. */
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
         "  maps --model M FILE [--window MS]               spike counts per channel of each convolutional\n"
         "                                                  population over the first MS of a recording (all\n"
         "                                                  of it by default), in steps of the model's dt;\n"
         "                                                  one picture per population, OUT-NAME.png\n"
         "--data DIR may be an event dataset: its test recordings, each binned into --steps steps as evsnn test\n"
         "bins them. Images are test images; each is Poisson-encoded from stream (--seed, index), seed 2 by default,\n"
         "as evsnn test does. The default output is plot-KIND.png (.svg with --svg).\n");
  return 0;
}

/* ------------------------------------------------------------- inputs ---- */

static int load_model(const opts_t *o, evsnn_net_t *net) { return cli_load_model(o->model, net); }

/* The test set of --data (as evsnn test reads it), checked against net's
 * input size when net is given, and --index against its length. */
static int load_test(const opts_t *o, const evsnn_net_t *net, evsnn_dataset_t *test, int need_index) {
  evsnn_dataset_t train = {0};
  int err;
  if (net && evsnn_dataset_is_events_dir(o->data)) {
    /* An event dataset's test recordings, each binned into --steps steps
     * over its span through the model's sensor map, as evsnn test does. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/test", o->data);
    err = evsnn_dataset_load_events(test, dir, evsnn_net_inputs(net), (uint32_t)o->steps, 0, EVSNN_BIN_BINARY,
                                    &net->sensor);
  } else {
    err = evsnn_dataset_load_dir(&train, test, o->data, NULL, NULL, 0);
  }
  if (err) return cli_fail(err, o->data);
  evsnn_dataset_free(&train);
  if (o->limit) evsnn_dataset_limit(test, (uint32_t)o->limit);
  if (net && (size_t)test->rows * test->cols != evsnn_net_inputs(net)) {
    evsnn_dataset_free(test);
    return fail("%s: images of %ux%u pixels, the model %s takes %u inputs", o->data, test->rows, test->cols,
                o->model, evsnn_net_inputs(net));
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
  if ((err = evsnn_poisson_init(&enc, evsnn_net_inputs(net)))) {
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

/* Writes the picture a figure drew (st 0), or drops it with one line on why
 * it could not be drawn: no half-written picture is left behind. */
static int close_canvas(const opts_t *o, plot_canvas_t *c, int st) {
  int w = c->width, h = c->height, wst = plot_canvas_close(c);
  if (st || wst) {
    unlink(o->out);
    return fail("%s: cannot %s the picture: %s", o->out, st ? "draw" : "write", cairo_status_to_string(st ? st : wst));
  }
  printf("wrote %s (%dx%d %s)\n", o->out, w, h, o->svg ? "SVG" : "PNG");
  return 0;
}

/* Population m as the pictures label it: for a chain of dense layers the
 * layer view's names (input, hidden 1, ...), otherwise its own; a flat
 * population is 1 x 1 x n there (plot.h), a map keeps its shape. */
static plot_pop_t pop_of(const evsnn_net_t *net, uint32_t m, char *name, size_t cap) {
  const evsnn_pop_t *p = &net->pop[m];
  if (!net->n_layers) snprintf(name, cap, "%s", p->name);
  else if (m == 0) snprintf(name, cap, "input");
  else snprintf(name, cap, "hidden %u", m);
  if (p->h == 1 && p->w == 1) return (plot_pop_t){name, 1, 1, p->n};
  return (plot_pop_t){name, p->c, p->h, p->w};
}

/* The populations that spike: all but an LI readout (LI is only ever the
 * readout), so populations 0 .. n - 1. */
static uint32_t n_spiking(const evsnn_net_t *net) {
  return net->n_pops - (evsnn_net_out(net)->model == EVSNN_NEURON_LI);
}

/* ------------------------------------------------------------- curves ---- */

static int kind_curves(const opts_t *o) {
  FILE *f = fopen(o->file, "r");
  if (!f) return fail("%s: %s", o->file, strerror(errno));
  plot_log_t log;
  int err = plot_log_read(&log, f);
  fclose(f);
  if (err) return cli_fail(err, o->file);
  size_t n = log.n, best = plot_log_best(&log);
  char sub[256];
  snprintf(sub, sizeof sub, "%s: %zu epochs; final test accuracy %.2f%%, best %.2f%% (epoch %g)", o->file, n,
           log.test_accuracy[n - 1] * 100, log.test_accuracy[best] * 100, log.epoch[best]);
  plot_canvas_t cv;
  int rc = open_canvas(o, &cv, 1000, 440);
  if (!rc) rc = close_canvas(o, &cv, plot_curves(&cv, &log, sub));
  plot_log_free(&log);
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

static int kind_membrane(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  if ((rc = load_test(o, &net, &test, 1))) {
    evsnn_net_free(&net);
    return rc;
  }
  uint32_t T = (uint32_t)o->steps, L = net.n_pops - 1, n_out = net.pop[L].n, label = test.labels[o->index];
  uint32_t n_hid = L > 1 ? (uint32_t)fmin((double)o->hidden, net.pop[1].n) : 0;
  membrane_t m = {n_out, L, T, n_hid, calloc((size_t)(T + 1) * n_out, sizeof(double)),
                  calloc((size_t)(T + 1) * (n_hid ? n_hid : 1), sizeof(double)),
                  calloc((size_t)(T + 1) * (n_hid ? n_hid : 1), 1), calloc(net.pop[1].n, sizeof(uint32_t)), NULL};
  uint32_t *pick = calloc(n_hid ? n_hid : 1, sizeof(uint32_t));
  if (!m.v || !m.h || !m.fired || !m.counts || !pick) {
    rc = cli_fail(EVSNN_ENOMEM, "plot");
    goto done;
  }
  int err = run_image(&net, &test, (uint32_t)o->index, T, (uint64_t)o->seed, membrane_visit, &m);
  if (!err && n_hid) {
    /* Show hidden neurons that integrate and fire a few times: spike
     * counts nearest T/4. They are found on a first pass; the second pass
     * is the same draw, so the two agree. */
    plot_pick_neurons(m.counts, net.pop[1].n, T / 4.0, n_hid, pick);
    m.pick = pick;
    err = run_image(&net, &test, (uint32_t)o->index, T, (uint64_t)o->seed, membrane_visit, &m);
  }
  if (err) {
    rc = cli_fail(err, "plot membrane");
    goto done;
  }
  uint32_t pred = plot_argmax(m.v + (size_t)T * n_out, n_out);
  char sub[256];
  if (test.pixels)
    snprintf(sub, sizeof sub, "test image %ld of %s (label %u), predicted %u after %u steps; Poisson seed %ld",
             o->index, o->data, label, pred, T, o->seed);
  else
    snprintf(sub, sizeof sub, "test recording %ld of %s (label %u), predicted %u after %u steps, binned over its span",
             o->index, o->data, label, pred, T);
  size_t px = (size_t)test.rows * test.cols;
  plot_membrane_t fig = {.T = T, .n_out = n_out, .v = m.v, .label = (int32_t)label,
                         /* binned event recordings have no image */
                         .image = test.pixels ? test.pixels + o->index * px : NULL, .image_w = test.cols,
                         .image_h = test.rows, .n_hid = n_hid, .h = m.h, .fired = m.fired, .hid_ids = pick,
                         .threshold = net.pop[1].threshold, .subtitle = sub};
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 900, n_hid ? 900 : 540))) goto done;
  rc = close_canvas(o, &cv, plot_membrane(&cv, &fig));
  if (!rc) printf("label %u, predicted %u\n", label, pred);
done:
  free(m.v), free(m.h), free(m.fired), free(m.counts), free(pick);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* ------------------------------------------------------------- raster ---- */

/* Spikes of the spiking populations (input and hidden: an LI readout
 * never spikes) as spike records (evsnn/events.h, t = step x 1 ms, the
 * record's layer the population), in step order. */
typedef struct {
  evsnn_event_t *ev;
  size_t n, cap;
  uint32_t n_pops; /* spiking populations: 0 = input .. n_pops - 1 */
  int err;
} spikes_t;

static void spikes_add(spikes_t *s, uint32_t k, uint32_t pop, uint32_t neuron) {
  if (s->err) return;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 4096;
    evsnn_event_t *p = realloc(s->ev, cap * sizeof *p);
    if (!p) {
      s->err = EVSNN_ENOMEM;
      return;
    }
    s->ev = p, s->cap = cap;
  }
  if (!(s->err = evsnn_spike_event(&s->ev[s->n], (int64_t)k * EVSNN_SPIKE_STEP_US, pop, neuron))) s->n++;
}

static void raster_visit(void *ctx, evsnn_state_t *st, uint32_t k) {
  spikes_t *s = ctx;
  for (uint32_t m = 0; m < s->n_pops; m++)
    for (uint32_t i = 0; i < st->n_spikes[m]; i++) spikes_add(s, k, m, st->spikes[m][i]);
}

/* Reads a spike recording checked against the model's population sizes. */
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
      uint32_t pop, neuron;
      evsnn_spike_decode(&buf[i], &pop, &neuron);
      int64_t t = buf[i].t;
      if (pop >= s->n_pops || neuron >= net->pop[pop].n || t < 0 || t / EVSNN_SPIKE_STEP_US >= MAX_STEPS) {
        evsnn_event_reader_close(r);
        return fail("%s: spike of neuron %u in layer %u at t=%lld us does not fit the model (%u spiking layers) "
                    "or %d steps", path, neuron, pop, (long long)t, s->n_pops, MAX_STEPS);
      }
      uint32_t k = (uint32_t)(t / EVSNN_SPIKE_STEP_US);
      spikes_add(s, k, pop, neuron);
      if (k + 1 > *T) *T = k + 1;
    }
  evsnn_event_reader_close(r);
  return err ? cli_fail(err, path) : 0;
}

static int record_spikes(const char *path, const evsnn_net_t *net, const spikes_t *s) {
  uint32_t sizes[EVSNN_MAX_POPS];
  for (uint32_t m = 0; m < s->n_pops; m++) sizes[m] = net->pop[m].n;
  evsnn_event_info_t info;
  evsnn_spike_info(&info, sizes, 0, s->n_pops, -1, "evsnn plot raster: t = step x 1 ms");
  evsnn_event_writer_t *w;
  int err = evsnn_event_writer_open(&w, path, &info);
  if (err) return cli_fail(err, path);
  err = evsnn_event_write(w, s->ev, s->n);
  int err2 = evsnn_event_writer_close(w);
  if (!err) err = err2;
  return err ? cli_fail(err, path) : 0;
}

/* Draws the records as one raster per population: each population's
 * (step, neuron) pairs, in the records' order. */
static int draw_raster(const opts_t *o, const evsnn_net_t *net, const spikes_t *s, uint32_t T, const char *sub) {
  plot_spikes_t pops[EVSNN_MAX_POPS];
  char names[EVSNN_MAX_POPS][24];
  size_t cap = s->n ? s->n : 1, at = 0;
  uint32_t *step = malloc(2 * cap * sizeof(uint32_t)), *neuron = step + cap;
  if (!step) return cli_fail(EVSNN_ENOMEM, "plot raster");
  for (uint32_t m = 0; m < s->n_pops; m++) {
    plot_spikes_t *p = &pops[m];
    *p = (plot_spikes_t){pop_of(net, m, names[m], sizeof names[m]), 0, step + at, neuron + at};
    for (size_t i = 0; i < s->n; i++) {
      uint32_t pop, j;
      evsnn_spike_decode(&s->ev[i], &pop, &j);
      if (pop != m) continue;
      step[at] = (uint32_t)(s->ev[i].t / EVSNN_SPIKE_STEP_US), neuron[at++] = j;
      p->n++;
    }
  }
  plot_canvas_t cv;
  int rc = open_canvas(o, &cv, 1200, 720);
  if (!rc) rc = close_canvas(o, &cv, plot_raster(&cv, pops, s->n_pops, T, sub));
  free(step);
  return rc;
}

static int kind_raster(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  spikes_t s = {.n_pops = n_spiking(&net)};
  uint32_t T = 0, label = 0;
  if (!o->file) {
    if ((rc = load_test(o, &net, &test, 1))) goto done;
    T = (uint32_t)o->steps;
    label = test.labels[o->index];
    int err = run_image(&net, &test, (uint32_t)o->index, T, (uint64_t)o->seed, raster_visit, &s);
    if (err || s.err) {
      rc = cli_fail(err ? err : s.err, "plot raster");
      goto done;
    }
    if (o->record && (rc = record_spikes(o->record, &net, &s))) goto done;
  } else if ((rc = read_spikes(o->file, &net, &s, &T))) {
    goto done;
  }
  if (s.err) {
    rc = cli_fail(s.err, "plot raster");
    goto done;
  }
  if (T == 0) T = 1;
  char sub[512];
  if (!o->file)
    if (test.pixels)
      snprintf(sub, sizeof sub, "test image %ld of %s (label %u), %u steps, Poisson seed %ld; the output layer never "
               "spikes", o->index, o->data, label, T, o->seed);
    else
      snprintf(sub, sizeof sub, "test recording %ld of %s (label %u), binned into %u steps over its span", o->index,
               o->data, label, T);
  else
    snprintf(sub, sizeof sub, "%s: %zu spikes over %u steps", o->file, s.n, T);
  if (!(rc = draw_raster(o, &net, &s, T, sub))) printf("%zu spikes over %u steps\n", s.n, T);
done:
  free(s.ev);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* -------------------------------------------------------- reconstruct ---- */

static int kind_reconstruct(const opts_t *o) {
  evsnn_dataset_t test = {0};
  int rc = load_test(o, NULL, &test, 1);
  if (rc) return rc;
  size_t px = (size_t)test.rows * test.cols;
  uint8_t *rebuilt = malloc(px * o->n_recon);
  double mae[MAX_RECON];
  const uint8_t *img = test.pixels + (size_t)o->index * px;
  int err = rebuilt ? plot_reconstruct_poisson(img, px, (uint64_t)o->seed, (uint64_t)o->index, o->recon, o->n_recon,
                                               rebuilt, mae)
                    : EVSNN_ENOMEM;
  if (err) {
    rc = cli_fail(err, "plot reconstruct");
    goto done;
  }
  char sub[256];
  snprintf(sub, sizeof sub, "test image %ld of %s (label %u): spikes per input counted over the first T steps, "
           "shown as count / T", o->index, o->data, test.labels[o->index]);
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 40 + 170 * (int)(o->n_recon + 1), 290))) goto done;
  rc = close_canvas(o, &cv, plot_reconstruct(&cv, img, rebuilt, test.cols, test.rows, o->recon, mae, o->n_recon, sub));
  if (!rc) {
    printf("mean absolute error (0-255):");
    for (size_t j = 0; j < o->n_recon; j++) printf("%s T=%u %.2f", j ? "," : "", o->recon[j], mae[j]);
    printf("\n");
  }
done:
  free(rebuilt);
  evsnn_dataset_free(&test);
  return rc;
}

/* ------------------------------------------------------------ anytime ---- */

static int kind_anytime(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  if ((rc = load_test(o, &net, &test, 0))) {
    evsnn_net_free(&net);
    return rc;
  }
  uint32_t T = (uint32_t)o->steps;
  double acc, *any = malloc(T * sizeof(double));
  evsnn_test_t pass = {.T = T, .seed = (uint64_t)o->seed, .engine = EVSNN_ENGINE_EVENT, .anytime = any};
  int err = any ? evsnn_test_accuracy(&net, &test, &pass, &acc) : EVSNN_ENOMEM;
  if (err) {
    rc = cli_fail(err, "plot anytime");
    goto done;
  }
  char sub[256];
  snprintf(sub, sizeof sub, "%s on %u test images of %s, Poisson seed %ld; %.2f%% at T = %u", o->model, test.n, o->data,
           o->seed, 100 * acc, T);
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 860, 500))) goto done;
  rc = close_canvas(o, &cv, plot_anytime(&cv, any, T, sub));
  if (!rc) {
    /* The same line evsnn test prints, so the two can be compared. */
    printf("anytime (accuracy deciding after k steps):");
    for (uint32_t k = 0; k < T; k++) printf("%s k=%u %.2f%%", k ? "," : "", k + 1, any[k] * 100);
    printf("\n");
  }
done:
  free(any);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}

/* ------------------------------------------------------------- events ---- */

/* The first pass over a sensor recording: its extent, and its format and
 * sensor size from the header. Refuses network spikes and an empty file. */
static evsnn_event_t ev_buf[65536];
static int read_extent(const char *path, plot_extent_t *ext, uint32_t *W, uint32_t *H, char *format, size_t cap) {
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  if (err) return cli_fail(err, path);
  const evsnn_event_info_t *info = evsnn_event_reader_info(r);
  if (info->kind == EVSNN_EVENTS_SPIKES) {
    evsnn_event_reader_close(r);
    return fail("%s: network spikes, not a DVS recording (see evsnn plot raster)", path);
  }
  snprintf(format, cap, "%s", info->format); /* info dies with the reader */
  *W = info->width, *H = info->height;
  *ext = (plot_extent_t){0};
  size_t n;
  while ((err = evsnn_event_read(r, ev_buf, 65536, &n)) == 0 && n > 0) plot_extent_add(ext, ev_buf, n);
  evsnn_event_reader_close(r);
  if (err) return cli_fail(err, path);
  return ext->n ? 0 : fail("%s: no events", path);
}

/* Reads the recording twice (readers stream; nothing is held whole): the
 * first pass finds its extent, the second bins its events into frames. */
static int read_frames(const opts_t *o, plot_frames_t *fr, uint64_t *total, char *format, size_t cap) {
  plot_extent_t ext;
  uint32_t W, H;
  evsnn_event_reader_t *r;
  size_t n;
  int err = read_extent(o->file, &ext, &W, &H, format, cap);
  if (err) return err;
  int64_t win = o->window_ms > 0 ? (int64_t)ceil(o->window_ms * 1000) : 0;
  if ((err = plot_frames_init(fr, &ext, W, H, win, (uint32_t)o->frames))) return cli_fail(err, "plot events");
  if ((err = evsnn_event_reader_open(&r, o->file, NULL))) {
    plot_frames_free(fr);
    return cli_fail(err, o->file);
  }
  while ((err = evsnn_event_read(r, ev_buf, 65536, &n)) == 0 && n > 0) plot_frames_add(fr, ev_buf, n);
  evsnn_event_reader_close(r);
  if (err) {
    plot_frames_free(fr);
    return cli_fail(err, o->file);
  }
  *total = ext.n;
  return 0;
}

static int kind_events(const opts_t *o) {
  plot_frames_t fr;
  uint64_t total = 0;
  char format[32];
  int rc = read_frames(o, &fr, &total, format, sizeof format);
  if (rc) return rc;
  uint32_t sat = plot_frames_saturation(&fr), nf = fr.n_frames;
  double win_ms = fr.window / 1000.0;
  /* One picture holding every window as a grid, or with --split one
   * picture per window (OUT-000.png, OUT-001.png, ...): frames to flip
   * through or assemble into an animation. */
  uint32_t per = o->split ? 1 : nf;
  int width = o->split ? 640 : 1200;
  for (uint32_t first = 0; first < nf && !rc; first += per) {
    opts_t po = *o;
    char path[1024], sub[512], title[64];
    if (o->split) {
      const char *slash = strrchr(o->out, '/'), *dot = strrchr(o->out, '.');
      int stem = dot && (!slash || dot > slash) ? (int)(dot - o->out) : (int)strlen(o->out);
      snprintf(path, sizeof path, "%.*s-%03u%s", stem, o->out, first, o->out + stem);
      po.out = path;
      snprintf(title, sizeof title, "Event frame %u of %u", first + 1, nf);
      snprintf(sub, sizeof sub, "%s (%s, %ux%u): red ON (brighter), blue OFF (darker)", o->file, format, fr.width,
               fr.height);
    } else {
      snprintf(title, sizeof title, "Event frames");
      snprintf(sub, sizeof sub, "%s (%s, %ux%u): %llu events, windows of %.3g ms; red ON (brighter), blue OFF (darker)",
               o->file, format, fr.width, fr.height, (unsigned long long)total, win_ms);
    }
    plot_canvas_t cv;
    int height = plot_grid_height(per, plot_frames_cols(per), fr.cols, fr.rows, width);
    if ((rc = open_canvas(&po, &cv, width, height))) break;
    rc = close_canvas(&po, &cv, plot_event_frames(&cv, &fr, first, per, sat, title, sub));
  }
  if (!rc) printf("%u frames of %.3g ms, %llu of %llu events shown\n", nf, win_ms, (unsigned long long)fr.shown,
                  (unsigned long long)total);
  plot_frames_free(&fr);
  return rc;
}

/* ----------------------------------------------------------- sparsity ---- */

static int kind_sparsity(const opts_t *o) {
  evsnn_net_t net;
  evsnn_dataset_t test = {0};
  int rc = load_model(o, &net);
  if (rc) return rc;
  if ((rc = load_test(o, &net, &test, 0))) {
    evsnn_net_free(&net);
    return rc;
  }
  uint32_t T = (uint32_t)o->steps;
  double acc;
  evsnn_counts_t cnt;
  evsnn_test_t pass = {.T = T, .seed = (uint64_t)o->seed, .engine = EVSNN_ENGINE_EVENT, .counts = &cnt};
  int err = evsnn_test_accuracy(&net, &test, &pass, &acc);
  if (err) {
    rc = cli_fail(err, "plot sparsity");
    goto done;
  }
  /* The spiking populations and every projection, W1..Wq, labelled by the
   * sizes they join for a chain and by the populations' names otherwise. */
  double n = test.n ? test.n : 1;
  uint32_t S = n_spiking(&net), Q = net.n_projs;
  char names[EVSNN_MAX_POPS][24], proj_names[EVSNN_MAX_PROJS][8], routes[EVSNN_MAX_PROJS][48], sub[256];
  plot_pop_count_t pops[EVSNN_MAX_POPS];
  plot_proj_count_t projs[EVSNN_MAX_PROJS];
  for (uint32_t m = 0; m < S; m++) pops[m] = (plot_pop_count_t){pop_of(&net, m, names[m], sizeof names[m]), cnt.spikes[m]};
  for (uint32_t q = 0; q < Q; q++) {
    const evsnn_pop_t *a = &net.pop[net.proj[q].src], *b = &net.pop[net.proj[q].dst];
    snprintf(proj_names[q], sizeof proj_names[q], "W%u", q + 1);
    if (net.n_layers) snprintf(routes[q], sizeof routes[q], "%u -> %u", a->n, b->n);
    else snprintf(routes[q], sizeof routes[q], "%s -> %s", a->name, b->name);
    projs[q] = (plot_proj_count_t){proj_names[q], routes[q], cnt.synops[q], cnt.dense_macs[q]};
  }
  snprintf(sub, sizeof sub, "%s on %u test %s of %s at T = %u (accuracy %.2f%%); per %s", o->model, test.n,
           test.pixels ? "images" : "recordings", o->data, T, 100 * acc, test.pixels ? "image" : "recording");
  plot_canvas_t cv;
  if ((rc = open_canvas(o, &cv, 1100, 480))) goto done;
  rc = close_canvas(o, &cv, plot_sparsity(&cv, pops, S, projs, Q, n, T, sub));
  if (!rc) {
    uint64_t so = 0, dm = 0;
    for (uint32_t q = 0; q < Q; q++) so += cnt.synops[q], dm += cnt.dense_macs[q];
    printf("per image: spikes");
    for (uint32_t m = 0; m < S; m++) printf(" %.1f", cnt.spikes[m] / n);
    printf("; synaptic ops %.0f vs dense MACs %.0f\n", so / n, dm / n);
  }
done:
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return rc;
}
/* --------------------------------------------------------------- maps ---- */

/* The populations a convolution projects into: the maps worth drawing. */
static uint32_t conv_pops(const evsnn_net_t *net, uint32_t *pops) {
  uint32_t n = 0;
  for (uint32_t m = 1; m < net->n_pops; m++)
    for (uint32_t q = 0; q < net->n_projs; q++)
      if (net->proj[q].dst == m && net->proj[q].kind == EVSNN_PROJ_CONV) {
        pops[n++] = m;
        break;
      }
  return n;
}

/* Bins the first window_ms of the recording (all of it when 0) into steps
 * of dt_us, the step the model was trained with, through its sensor map. */
static int bin_window(const opts_t *o, const evsnn_net_t *net, double dt_us, evsnn_binned_t *b, int32_t *label) {
  plot_extent_t ext;
  uint32_t W, H;
  char format[32];
  int err = read_extent(o->file, &ext, &W, &H, format, sizeof format);
  if (err) return err;
  double span = (double)(ext.t1 - ext.t0 + 1), win = o->window_ms > 0 ? fmin(o->window_ms * 1000, span) : span;
  double T = ceil(win / dt_us);
  if (T > MAX_STEPS)
    return fail("%s: a window of %.6g ms is %.0f steps of the model's %.6g us, more than %d", o->file, win / 1000, T,
                dt_us, MAX_STEPS);
  if ((err = evsnn_binned_init(b, evsnn_net_inputs(net), (uint32_t)T, 0, EVSNN_BIN_BINARY)))
    return cli_fail(err, "plot maps");
  evsnn_sensor_map_t map = net->sensor;
  if ((err = evsnn_binned_read_file(b, o->file, &map, dt_us, label))) {
    evsnn_binned_free(b);
    return cli_fail(err, o->file);
  }
  return 0;
}

static int kind_maps(const opts_t *o) {
  evsnn_net_t net;
  double dt = 0; /* the model's own step */
  if (cli_load_model_dt(o->model, &net, &dt)) return 1;
  uint32_t pops[EVSNN_MAX_POPS], n_maps = conv_pops(&net, pops), *counts[EVSNN_MAX_POPS] = {0};
  evsnn_binned_t b = {0};
  evsnn_state_t st = {0};
  int32_t label = -1;
  int rc = 0;
  if (!n_maps) {
    rc = fail("%s: no convolutional population to draw (plot maps shows the channels of convolutions)", o->model);
    goto done;
  }
  if ((rc = bin_window(o, &net, dt, &b, &label))) goto done;
  int err = evsnn_state_init(&st, &net);
  for (uint32_t i = 0; i < n_maps && !err; i++)
    if (!(counts[i] = calloc(net.pop[pops[i]].n, sizeof(uint32_t)))) err = EVSNN_ENOMEM;
  if (err) {
    rc = cli_fail(err, "plot maps");
    goto done;
  }
  /* The figure takes counts channel by channel (c-major); the engine
   * numbers a computed map channels last, (y W + x) C + c. */
  for (uint32_t k = 0; k < b.T; k++) {
    evsnn_state_step(&st, b.idx + b.start[k], b.start[k + 1] - b.start[k]);
    for (uint32_t i = 0; i < n_maps; i++) {
      const evsnn_pop_t *p = &net.pop[pops[i]];
      for (uint32_t s = 0; s < st.n_spikes[pops[i]]; s++) {
        uint32_t j = st.spikes[pops[i]][s], c = j % p->c, px = j / p->c;
        counts[i][c * p->h * p->w + px]++;
      }
    }
  }
  /* One picture per population: OUT itself for one, else OUT-NAME.png. */
  const char *slash = strrchr(o->out, '/'), *dot = strrchr(o->out, '.');
  int stem = dot && (!slash || dot > slash) ? (int)(dot - o->out) : (int)strlen(o->out);
  for (uint32_t i = 0; i < n_maps && !rc; i++) {
    const evsnn_pop_t *p = &net.pop[pops[i]];
    opts_t po = *o;
    char path[1024], sub[512];
    if (n_maps > 1) snprintf(path, sizeof path, "%.*s-%s%s", stem, o->out, p->name, o->out + stem), po.out = path;
    snprintf(sub, sizeof sub, "%s: %.6g ms in %u steps of %.6g us", o->file, b.T * b.dt_us / 1000, b.T, b.dt_us);
    if (label >= 0) snprintf(sub + strlen(sub), sizeof sub - strlen(sub), ", label %d", label);
    plot_pop_t pp = {p->name, p->c, p->h, p->w};
    int w, h;
    plot_maps_size(&pp, &w, &h);
    plot_canvas_t cv;
    if ((rc = open_canvas(&po, &cv, w, h))) break;
    rc = close_canvas(&po, &cv, plot_maps(&cv, &pp, counts[i], sub));
  }
  if (!rc) {
    printf("%u steps of %.6g us:", b.T, b.dt_us);
    for (uint32_t i = 0; i < n_maps; i++) printf("%s %s %llu spikes", i ? "," : "", net.pop[pops[i]].name,
                                                 (unsigned long long)st.counts.spikes[pops[i]]);
    printf("\n");
  }
done:
  for (uint32_t i = 0; i < n_maps; i++) free(counts[i]);
  evsnn_state_free(&st);
  evsnn_binned_free(&b);
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
    {"curves", kind_curves, "", 1},
    {"membrane", kind_membrane, " --model --data --index --steps --hidden ", 0},
    {"raster", kind_raster, " --model --data --index --steps --record ", 2},
    {"reconstruct", kind_reconstruct, " --data --index --steps ", 0},
    {"anytime", kind_anytime, " --model --data --steps --limit ", 0},
    {"events", kind_events, " --window --frames ", 1},
    {"sparsity", kind_sparsity, " --model --data --steps --limit ", 0},
    {"maps", kind_maps, " --model --window ", 1},
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
