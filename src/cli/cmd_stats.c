/* evsnn stats: what sparsity buys, per layer, for a saved model on MNIST
 * (discrete time, the same encoding streams and engine as `evsnn test`) or
 * on event files (continuous time, evsnn/ctime.h): neurons, spikes and
 * their rate, the fraction of neurons silent through a sample, synaptic
 * operations against the dense engine's multiply-accumulates, and an
 * energy estimate from per-operation costs. On event files, SIGINT or
 * SIGTERM ends the file being read as if it ended there and reports the
 * files done so far, then exits 128 + the signal (polled between chunks of
 * events, so within one chunk's work). */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "evsnn.h"

/* 45 nm figures (M. Horowitz, "Computing's energy problem", ISSCC 2014),
 * the usual convention for SNN vs ANN estimates: a 32-bit float add costs
 * 0.9 pJ, a multiply-accumulate (3.7 pJ multiply + 0.9 pJ add) 4.6 pJ.
 * Memory access, which dominates real chips, is not counted. */
#define PJ_AC 0.9
#define PJ_MAC 4.6

typedef struct {
  const evsnn_net_t *net;
  uint32_t *stamp[EVSNN_MAX_LAYERS + 1]; /* per neuron: sample + 1 when it last spiked */
  uint32_t sample;                       /* current sample + 1 */
  uint64_t silent[EVSNN_MAX_LAYERS + 1]; /* sum over samples of neurons that never spiked */
  uint64_t samples, correct, labelled, input_events, dropped;
  uint32_t T;                            /* discrete time: steps per sample */
  double seconds;                        /* continuous time: summed recording spans */
} acc_t;

static void mark(acc_t *a, uint32_t layer, uint32_t neuron) { a->stamp[layer][neuron] = a->sample; }

static void end_sample(acc_t *a) {
  for (uint32_t m = 0; m < a->net->n_layers; m++)
    for (uint32_t i = 0; i < a->net->sizes[m]; i++) a->silent[m] += a->stamp[m][i] != a->sample;
  a->samples++;
}

/* After step k of sample i: mark the neurons that spiked; close the
 * sample after its last step. */
static void on_step(void *ud, uint32_t i, uint32_t k, const evsnn_state_t *st) {
  acc_t *a = ud;
  a->sample = i + 1;
  for (uint32_t m = 0; m < a->net->n_layers; m++)
    for (uint32_t s = 0; s < st->n_spikes[m]; s++) mark(a, m, st->spikes[m][s]);
  if (k + 1 == a->T) end_sample(a);
}

static void on_spike(void *ud, int64_t t, uint32_t layer, uint32_t neuron) {
  (void)t;
  mark(ud, layer, neuron);
}

static int usage_stats(void) {
  printf("usage: evsnn stats --model MODEL (--data DIR | FILE...) [--steps T] [--limit N] [--seed S] [--dt US]\n"
         "                   [--crop x0,y0,w,h] [--pool K] [--polarity both|merge|on|off] [--json]\n"
         "  --data DIR   MNIST (IDX) test images, Poisson-encoded for T steps (default 5) as in evsnn test;\n"
         "               an event dataset (DIR/train, DIR/test): its test recordings in continuous time\n"
         "  FILE...      event files, run in continuous time (tau = -dt / ln beta, --dt default: the\n"
         "               model's own step, recorded when it was trained on event recordings, else 1000 us)\n");
  return 0;
}

static int run_mnist(acc_t *a, const evsnn_net_t *net, const char *dir, uint32_t T, uint32_t limit, uint64_t seed,
                     evsnn_counts_t *counts, char *used, size_t cap) {
  evsnn_dataset_t train = {0}, test = {0};
  int is_sample = 0, err = evsnn_dataset_load_dir(&train, &test, dir, &is_sample, used, cap);
  if (err) return cli_fail(err, dir ? dir : "MNIST");
  evsnn_dataset_free(&train);
  if (limit) evsnn_dataset_limit(&test, limit);
  if (is_sample) fprintf(stderr, "evsnn: NOTE: using the EMBEDDED SAMPLE (%s), not the full MNIST test set\n", used);
  size_t px = (size_t)test.rows * test.cols;
  if (px != net->sizes[0]) {
    evsnn_dataset_free(&test);
    fprintf(stderr, "evsnn: %s: %zu pixels per image, the model takes %u inputs\n", used, px, net->sizes[0]);
    return 1;
  }
  /* evsnn test's pass (image i from stream (seed, i)), marking which
   * neurons spiked after every step. */
  a->T = T;
  evsnn_test_t pass = {.T = T, .seed = seed, .engine = EVSNN_ENGINE_EVENT, .counts = counts, .on_step = on_step, .ud = a};
  double acc;
  err = evsnn_test_accuracy(net, &test, &pass, &acc);
  a->correct = (uint64_t)llround(acc * test.n), a->labelled = test.n;
  a->input_events = counts->spikes[0];
  evsnn_dataset_free(&test);
  if (err) return cli_fail(err, "stats");
  return 0;
}

static int run_files(acc_t *a, const evsnn_net_t *net, char **files, int n_files, double dt, const cli_map_t *mapo,
                     evsnn_counts_t *counts) {
  evsnn_ctime_opts_t o = {.dt_us = dt, .on_spike = on_spike, .ud = a};
  evsnn_ctime_t *ct;
  int err = evsnn_ctime_new(&ct, net, &o);
  if (err) return cli_fail(err, "stats");
  enum { CHUNK = 8192 };
  evsnn_event_t *ev = malloc(sizeof *ev * CHUNK);
  memset(counts, 0, sizeof *counts);
  cli_stop_catch();
  for (int f = 0; f < n_files && !err && !cli_stop_signal(); f++) {
    evsnn_event_reader_t *r;
    if ((err = evsnn_event_reader_open(&r, files[f], NULL))) {
      cli_fail(err, files[f]);
      break;
    }
    const evsnn_event_info_t *info = evsnn_event_reader_info(r);
    evsnn_sensor_map_t map;
    if ((err = cli_map_make(mapo, info->width, info->height, &net->sensor, net->sizes[0], &map))) {
      cli_fail(err, files[f]);
      evsnn_event_reader_close(r);
      break;
    }
    evsnn_ctime_reset(ct);
    a->sample++;
    size_t n;
    int64_t t0 = 0, t1 = 0;
    uint64_t seen = 0;
    while (!cli_stop_signal() && !(err = evsnn_event_read(r, ev, CHUNK, &n)) && n) {
      if (!seen) t0 = ev[0].t;
      t1 = ev[n - 1].t;
      seen += n;
      for (size_t i = 0; i < n && !err; i++) {
        int64_t j = evsnn_sensor_map_index(&map, &ev[i]);
        if (j < 0) {
          a->dropped++;
        } else {
          mark(a, 0, (uint32_t)j);
          err = evsnn_ctime_push(ct, ev[i].t, (uint32_t)j);
        }
      }
      if (err) break;
    }
    if (!err) err = evsnn_ctime_flush(ct);
    if (err) {
      cli_fail(err, files[f]);
      evsnn_event_reader_close(r);
      break;
    }
    a->input_events += seen;
    a->seconds += (double)(t1 - t0) * 1e-6;
    if (info->label >= 0) a->labelled++, a->correct += evsnn_ctime_decision(ct) == info->label;
    evsnn_counts_t c;
    evsnn_ctime_counts(ct, &c);
    counts->steps += c.steps;
    for (uint32_t m = 0; m <= net->n_layers; m++) counts->spikes[m] += c.spikes[m];
    for (uint32_t m = 0; m < net->n_layers; m++) counts->synops[m] += c.synops[m], counts->dense_macs[m] += c.dense_macs[m];
    end_sample(a);
    evsnn_event_reader_close(r);
  }
  cli_stop_release();
  free(ev);
  evsnn_ctime_free(ct);
  return err ? 1 : 0;
}

int evsnn_cmd_stats(int argc, char **argv) {
  const char *dir = NULL, *model = NULL;
  long T = 5, limit = 0, seed = 2;
  double dt = 0; /* 0: the model's own step */
  int json = 0, n_files = 0;
  cli_map_t mapo;
  cli_map_init(&mapo);
  char **files = calloc((size_t)argc, sizeof *files);
  if (!files) return cli_fail(EVSNN_ENOMEM, "stats");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return free(files), usage_stats();
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (a[0] != '-') { files[n_files++] = argv[i]; continue; }
    if (!val) return free(files), cli_usage("stats: %s needs a value", a);
    i++;
    int ok = 1, mo = cli_map_option(&mapo, a, val);
    if (mo < 0) return free(files), 2;
    if (mo > 0) continue;
    if (!strcmp(a, "--model")) model = val;
    else if (!strcmp(a, "--data")) dir = val;
    else if (!strcmp(a, "--steps")) ok = cli_parse_long(a, val, 1, 10000, &T);
    else if (!strcmp(a, "--limit")) ok = cli_parse_long(a, val, 1, 100000000, &limit);
    else if (!strcmp(a, "--seed")) ok = cli_parse_long(a, val, 0, 0x7fffffffL, &seed);
    else if (!strcmp(a, "--dt")) {
      ok = cli_parse_double(a, val, &dt);
      if (ok && !(dt > 0)) ok = 0, cli_usage("stats: --dt must be > 0 microseconds");
    } else {
      free(files);
      return cli_usage("stats: unknown option '%s' (see evsnn stats --help)", a);
    }
    if (!ok) return free(files), 2;
  }
  if (!model) return free(files), cli_usage("stats: --model MODEL is required");
  if (dir && n_files) return free(files), cli_usage("stats: give --data DIR or event files, not both");
  evsnn_net_t net;
  if (cli_load_model_dt(model, &net, &dt)) return free(files), 1;
  uint32_t L = net.n_layers;
  acc_t a = {.net = &net};
  int rc = 0;
  for (uint32_t m = 0; m < L && !rc; m++)
    if (!(a.stamp[m] = calloc(net.sizes[m], sizeof(uint32_t)))) rc = cli_fail(EVSNN_ENOMEM, "stats");
  evsnn_counts_t c = {0};
  char used[1024] = "";
  /* An event dataset directory: its test recordings, in name order, in
   * continuous time. */
  struct dirent **ents = NULL;
  int n_ents = 0;
  char **paths = NULL;
  if (!rc && dir && evsnn_dataset_is_events_dir(dir)) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/test", dir);
    n_ents = scandir(sub, &ents, NULL, alphasort);
    if (n_ents < 0) n_ents = 0;
    paths = calloc((size_t)n_ents + 1, sizeof *paths);
    for (int i = 0; paths && i < n_ents; i++)
      if (ents[i]->d_name[0] != '.' && (paths[n_files] = malloc(strlen(sub) + strlen(ents[i]->d_name) + 2)))
        sprintf(paths[n_files++], "%s/%s", sub, ents[i]->d_name);
    if (limit && n_files > limit) n_files = (int)limit;
    if (!n_files) rc = cli_fail(EVSNN_ENOENT, sub);
    free(files);
    files = paths;
  }
  int ctime = n_files > 0;
  if (!rc) rc = ctime ? run_files(&a, &net, files, n_files, dt, &mapo, &c)
                      : run_mnist(&a, &net, dir, (uint32_t)T, (uint32_t)limit, (uint64_t)seed, &c, used, sizeof used);
  if (rc) goto out;
  int stopped = cli_stop_signal();

  double ns = a.samples ? (double)a.samples : 1, syn = 0, mac = 0, spikes = 0;
  for (uint32_t m = 0; m < L; m++) syn += (double)c.synops[m], mac += (double)c.dense_macs[m];
  for (uint32_t m = 1; m < L; m++) spikes += (double)c.spikes[m];
  /* Rate per neuron: per step (discrete) or per second (continuous). */
  double per = ctime ? (a.seconds > 0 ? a.seconds : 1) : (double)c.steps;
  const char *unit = ctime ? "s" : "step";
  if (!json) {
    if (ctime)
      printf("%s on %llu event files (%.3f s of recording, %llu input events, %llu outside the input map), "
             "continuous time, dt %.0f us\n", model, (unsigned long long)a.samples, a.seconds,
             (unsigned long long)a.input_events, (unsigned long long)a.dropped, dt);
    else
      printf("%s on %llu MNIST test images from %s, T=%ld, Poisson streams (seed %ld, image)\n", model,
             (unsigned long long)a.samples, used, T, seed);
    if (a.labelled) printf("accuracy %.2f%% (%llu labelled)\n", 100.0 * a.correct / a.labelled, (unsigned long long)a.labelled);
    printf("%-6s %8s %14s %16s %8s %16s %16s %10s\n", "layer", "neurons", "spikes", ctime ? "spikes/neuron/s" : "spikes/neuron/step",
           "silent", "synops", "dense MACs", "synops/MAC");
    for (uint32_t m = 0; m <= L; m++) {
      char name[16];
      snprintf(name, sizeof name, m == 0 ? "input" : m == L ? "out %u" : "%u", m);
      if (m < L)
        printf("%-6s %8u %14llu %16.4f %7.1f%%", name, net.sizes[m], (unsigned long long)c.spikes[m],
               (double)c.spikes[m] / net.sizes[m] / per, 100.0 * a.silent[m] / ns / net.sizes[m]);
      else
        printf("%-6s %8u %14s %16s %8s", name, net.sizes[m], "-", "-", "-");
      if (m == 0) printf("\n");
      else printf(" %16llu %16llu %10.4f\n", (unsigned long long)c.synops[m - 1], (unsigned long long)c.dense_macs[m - 1],
                  c.dense_macs[m - 1] ? (double)c.synops[m - 1] / c.dense_macs[m - 1] : 0.0);
    }
    printf("total  hidden spikes %.0f, synops %.0f vs dense MACs %.0f: %.4f (%.1fx fewer); per sample %.0f vs %.0f\n", spikes,
           syn, mac, mac ? syn / mac : 0.0, syn ? mac / syn : 0.0, syn / ns, mac / ns);
    printf("energy ESTIMATE per sample (45 nm, Horowitz 2014: %.1f pJ per accumulate, %.1f pJ per MAC; arithmetic only, "
           "no memory): event-driven %.3f nJ vs dense %.3f nJ\n", PJ_AC, PJ_MAC, syn / ns * PJ_AC * 1e-3, mac / ns * PJ_MAC * 1e-3);
  } else {
    char rate_key[40];
    snprintf(rate_key, sizeof rate_key, "spikes_per_neuron_per_%s", unit);
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_string(&j, "model", model);
    cli_json_string(&j, "mode", ctime ? "continuous" : "discrete");
    cli_json_uint(&j, "samples", a.samples);
    cli_json_uint(&j, "steps", c.steps);
    cli_json_number(&j, "seconds", "%.6f", a.seconds);
    if (ctime) cli_json_number(&j, "dt_us", "%g", dt);
    if (a.labelled) cli_json_number(&j, "accuracy", "%.6f", (double)a.correct / a.labelled);
    /* The input is not a layer of weights: its own object. Every layer
     * has spikes (0 for the output layer, which never spikes), synops
     * into it and the dense MACs they replace. */
    cli_json_object(&j, "input");
    cli_json_uint(&j, "neurons", net.sizes[0]);
    cli_json_uint(&j, "spikes", c.spikes[0]);
    cli_json_number(&j, rate_key, "%.6g", (double)c.spikes[0] / net.sizes[0] / per);
    cli_json_number(&j, "silent_fraction", "%.6f", (double)a.silent[0] / ns / net.sizes[0]);
    cli_json_end(&j);
    cli_json_array(&j, "layers");
    for (uint32_t m = 1; m <= L; m++) {
      uint64_t sp = m < L ? c.spikes[m] : 0;
      cli_json_object(&j, NULL);
      cli_json_uint(&j, "layer", m);
      cli_json_uint(&j, "neurons", net.sizes[m]);
      cli_json_bool(&j, "spiking", m < L);
      cli_json_uint(&j, "spikes", sp);
      cli_json_number(&j, rate_key, "%.6g", (double)sp / net.sizes[m] / per);
      if (m < L) cli_json_number(&j, "silent_fraction", "%.6f", (double)a.silent[m] / ns / net.sizes[m]);
      cli_json_uint(&j, "synops", c.synops[m - 1]);
      cli_json_uint(&j, "dense_macs", c.dense_macs[m - 1]);
      cli_json_number(&j, "ratio", "%.6g", c.dense_macs[m - 1] ? (double)c.synops[m - 1] / c.dense_macs[m - 1] : 0.0);
      cli_json_end(&j);
    }
    cli_json_end(&j);
    cli_json_object(&j, "totals");
    cli_json_uint(&j, "input_events", a.input_events);
    cli_json_number(&j, "spikes", "%.0f", spikes);
    cli_json_number(&j, "synops", "%.0f", syn);
    cli_json_number(&j, "dense_macs", "%.0f", mac);
    cli_json_number(&j, "ratio", "%.6g", mac ? syn / mac : 0.0);
    cli_json_object(&j, "energy_estimate_nj_per_sample");
    cli_json_number(&j, "event", "%.6g", syn / ns * PJ_AC * 1e-3);
    cli_json_number(&j, "dense", "%.6g", mac / ns * PJ_MAC * 1e-3);
    cli_json_number(&j, "pj_per_ac", "%.1f", PJ_AC);
    cli_json_number(&j, "pj_per_mac", "%.1f", PJ_MAC);
    cli_json_string(&j, "source", "Horowitz 2014, 45 nm, arithmetic only");
    cli_json_end(&j);
    cli_json_end(&j);
    cli_json_end(&j);
  }
  if (stopped) {
    fflush(stdout);
    fprintf(stderr, "evsnn: stats: stopped by %s after %" PRIu64 " input events of %" PRIu64 " file(s)\n",
            stopped == SIGINT ? "SIGINT" : "SIGTERM", a.input_events, a.samples);
    rc = 128 + stopped;
  }
out:
  for (int i = 0; paths && i < n_ents; i++) free(paths[i]);
  for (int i = 0; i < n_ents; i++) free(ents[i]);
  free(ents);
  for (uint32_t m = 0; m < L; m++) free(a.stamp[m]);
  free(files);
  evsnn_net_free(&net);
  return rc;
}
