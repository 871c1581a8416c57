/* evsnn stats: what sparsity buys, per population, for a saved model of
 * any graph on MNIST (discrete time, the same encoding streams and engine
 * as `evsnn test`), on an event dataset binned into steps as `evsnn test`
 * bins it, or on event files (continuous time, evsnn/ctime.h): shape,
 * spikes and their rate, the fraction of neurons silent through a sample,
 * synaptic operations against the dense engine's multiply-accumulates,
 * and an energy estimate from per-operation costs. The counters and the
 * figures are the library's (evsnn/stats.h); this file picks the pass and
 * prints. On event files, SIGINT or SIGTERM ends the file being read as if
 * it ended there and reports the files done so far, then exits 128 + the
 * signal (polled between chunks of events, so within one chunk's work). */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "evsnn.h"

/* What the passes below share: the per-population counters (evsnn/stats.h)
 * and what only the command counts. */
typedef struct {
  evsnn_stats_t st;
  uint64_t correct, labelled, input_events, dropped;
  uint32_t T; /* discrete time: steps per sample */
} acc_t;

/* After step k of sample i: note the neurons that spiked; close the
 * sample after its last step. */
static void on_step(void *ud, uint32_t i, uint32_t k, const evsnn_state_t *st) {
  acc_t *a = ud;
  (void)i;
  evsnn_stats_step(&a->st, st);
  if (k + 1 == a->T) evsnn_stats_end_sample(&a->st);
}

static void on_spike(void *ud, int64_t t, uint32_t pop, uint32_t neuron) {
  (void)t;
  evsnn_stats_spikes(&((acc_t *)ud)->st, pop, &neuron, 1);
}

static int usage_stats(void) {
  printf("usage: evsnn stats --model MODEL (--data DIR | FILE...) [--steps T] [--limit N] [--seed S] [--dt US]\n"
         "                   [--crop x0,y0,w,h] [--pool K] [--polarity both|merge|on|off] [--json]\n"
         "  --data DIR   MNIST (IDX) test images, Poisson-encoded for T steps (default 5) as in evsnn test;\n"
         "               an event dataset (DIR/train, DIR/test): its test recordings in continuous time,\n"
         "               or with --steps T each binned into T steps over its span, as evsnn test does\n"
         "  FILE...      event files, run in continuous time (tau = -dt / ln beta, --dt default: the\n"
         "               model's own step, recorded when it was trained on event recordings, else 1000 us)\n"
         "  One row per population (any network: dense, conv, pooling, recurrent): its shape, spikes,\n"
         "  rate, silent fraction, and the synaptic ops and dense MACs of the projections into it.\n");
  return 0;
}

/* A discrete pass over test (images Poisson-encoded, or binned event
 * recordings): evsnn test's pass (sample i from stream (seed, i)), noting
 * which neurons spiked after every step. */
static int run_discrete(acc_t *a, const evsnn_net_t *net, const evsnn_dataset_t *test, uint32_t T, uint64_t seed) {
  a->T = T;
  evsnn_counts_t counts;
  evsnn_test_t pass = {.T = T, .seed = seed, .engine = EVSNN_ENGINE_EVENT, .counts = &counts, .on_step = on_step, .ud = a};
  double acc;
  int err = evsnn_test_accuracy(net, test, &pass, &acc);
  if (err) return cli_fail(err, "stats");
  evsnn_stats_add(&a->st, &counts);
  a->correct = (uint64_t)llround(acc * test->n), a->labelled = test->n;
  a->input_events = counts.spikes[0];
  return 0;
}

static int run_mnist(acc_t *a, const evsnn_net_t *net, const char *dir, uint32_t T, uint32_t limit, uint64_t seed,
                     char *used, size_t cap) {
  evsnn_dataset_t train = {0}, test = {0};
  int is_sample = 0, err = evsnn_dataset_load_dir(&train, &test, dir, &is_sample, used, cap);
  if (err) return cli_fail(err, dir ? dir : "MNIST");
  evsnn_dataset_free(&train);
  if (limit) evsnn_dataset_limit(&test, limit);
  if (is_sample) fprintf(stderr, "evsnn: NOTE: using the EMBEDDED SAMPLE (%s), not the full MNIST test set\n", used);
  size_t px = (size_t)test.rows * test.cols;
  int rc = 0;
  if (px != evsnn_net_inputs(net)) {
    fprintf(stderr, "evsnn: %s: %zu pixels per image, the model takes %u inputs\n", used, px, evsnn_net_inputs(net));
    rc = 1;
  }
  if (!rc) rc = run_discrete(a, net, &test, T, seed);
  evsnn_dataset_free(&test);
  return rc;
}

/* An event dataset's test recordings, each binned into T steps over its
 * span through the model's sensor map: what evsnn test runs. */
static int run_binned(acc_t *a, const evsnn_net_t *net, const char *dir, uint32_t T, uint32_t limit, uint64_t seed,
                      char *used, size_t cap) {
  evsnn_dataset_t test = {0};
  snprintf(used, cap, "%s/test", dir);
  int err = evsnn_dataset_load_events(&test, used, evsnn_net_inputs(net), T, 0, EVSNN_BIN_BINARY, &net->sensor);
  if (err) return cli_fail(err, dir);
  if (limit) evsnn_dataset_limit(&test, limit);
  int rc = run_discrete(a, net, &test, T, seed);
  evsnn_dataset_free(&test);
  return rc;
}

static int run_files(acc_t *a, const evsnn_net_t *net, char **files, int n_files, double dt, const cli_map_t *mapo) {
  evsnn_ctime_opts_t o = {.dt_us = dt, .on_spike = on_spike, .ud = a};
  evsnn_ctime_t *ct;
  int err = evsnn_ctime_new(&ct, net, &o);
  if (err) return cli_fail(err, "stats");
  enum { CHUNK = 8192 };
  evsnn_event_t *ev = malloc(sizeof *ev * CHUNK);
  if (!ev) {
    evsnn_ctime_free(ct);
    return cli_fail(EVSNN_ENOMEM, "stats");
  }
  cli_stop_catch();
  for (int f = 0; f < n_files && !err && !cli_stop_signal(); f++) {
    evsnn_event_reader_t *r;
    if ((err = evsnn_event_reader_open(&r, files[f], NULL))) {
      cli_fail(err, files[f]);
      break;
    }
    const evsnn_event_info_t *info = evsnn_event_reader_info(r);
    evsnn_sensor_map_t map;
    if ((err = cli_map_make(mapo, info->width, info->height, &net->sensor, evsnn_net_inputs(net), &map))) {
      cli_fail(err, files[f]);
      evsnn_event_reader_close(r);
      break;
    }
    evsnn_ctime_reset(ct);
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
          uint32_t in = (uint32_t)j;
          evsnn_stats_spikes(&a->st, 0, &in, 1);
          err = evsnn_ctime_push(ct, ev[i].t, in);
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
    a->st.seconds += (double)(t1 - t0) * 1e-6;
    if (info->label >= 0) a->labelled++, a->correct += evsnn_ctime_decision(ct) == info->label;
    evsnn_counts_t c;
    evsnn_ctime_counts(ct, &c);
    evsnn_stats_add(&a->st, &c);
    evsnn_stats_end_sample(&a->st);
    evsnn_event_reader_close(r);
  }
  cli_stop_release();
  free(ev);
  evsnn_ctime_free(ct);
  return err ? 1 : 0;
}

/* A population's label in the table: for a chain of dense layers the
 * layer view's (input, 1, 2, out 3), for any other graph its name and
 * shape. */
static void row_label(char *buf, size_t cap, const evsnn_net_t *net, uint32_t m) {
  const evsnn_pop_t *p = &net->pop[m];
  if (net->n_layers) snprintf(buf, cap, m == 0 ? "input" : m == net->n_layers ? "out %u" : "%u", m);
  else if (p->h == 1 && p->w == 1) snprintf(buf, cap, "%s", p->name);
  else snprintf(buf, cap, "%s %ux%ux%u", p->name, p->c, p->h, p->w);
}

int evsnn_cmd_stats(int argc, char **argv) {
  const char *dir = NULL, *model = NULL;
  long T = 5, limit = 0, seed = 2;
  double dt = 0; /* 0: the model's own step */
  int json = 0, n_files = 0, steps_given = 0;
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
    else if (!strcmp(a, "--steps")) ok = cli_parse_long(a, val, 1, 10000, &T), steps_given = 1;
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
  if (n_files && steps_given)
    return free(files), cli_usage("stats: --steps bins an event dataset (--data DIR); event files run in continuous time");
  evsnn_net_t net;
  if (cli_load_model_dt(model, &net, &dt)) return free(files), 1;
  acc_t a = {0};
  int rc = evsnn_stats_init(&a.st, &net) ? cli_fail(EVSNN_ENOMEM, "stats") : 0;
  char used[1024] = "";
  int events_dir = dir && evsnn_dataset_is_events_dir(dir), binned = events_dir && steps_given;
  /* An event dataset directory in continuous time: its test recordings, in
   * name order. */
  struct dirent **ents = NULL;
  int n_ents = 0;
  char **paths = NULL;
  if (!rc && events_dir && !binned) {
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
  if (!rc) {
    if (ctime) rc = run_files(&a, &net, files, n_files, dt, &mapo);
    else if (binned) rc = run_binned(&a, &net, dir, (uint32_t)T, (uint32_t)limit, (uint64_t)seed, used, sizeof used);
    else rc = run_mnist(&a, &net, dir, (uint32_t)T, (uint32_t)limit, (uint64_t)seed, used, sizeof used);
  }
  if (rc) goto out;
  int stopped = cli_stop_signal();

  const evsnn_stats_t *st = &a.st;
  uint32_t P = net.n_pops;
  evsnn_stats_total_t tot;
  evsnn_stats_total(st, &tot);
  double ns = st->samples ? (double)st->samples : 1, syn = (double)tot.synops, mac = (double)tot.dense_macs;
  /* Rate per neuron: per step (discrete) or per second (continuous). */
  const char *unit = ctime ? "s" : "step";
  if (!json) {
    if (ctime)
      printf("%s on %llu event files (%.3f s of recording, %llu input events, %llu outside the input map), "
             "continuous time, dt %.0f us\n", model, (unsigned long long)st->samples, st->seconds,
             (unsigned long long)a.input_events, (unsigned long long)a.dropped, dt);
    else if (binned)
      printf("%s on %llu event recordings from %s, T=%ld, each binned into T steps over its span (as evsnn test)\n",
             model, (unsigned long long)st->samples, used, T);
    else
      printf("%s on %llu MNIST test images from %s, T=%ld, Poisson streams (seed %ld, image)\n", model,
             (unsigned long long)st->samples, used, T, seed);
    if (a.labelled) printf("accuracy %.2f%% (%llu labelled)\n", 100.0 * a.correct / a.labelled, (unsigned long long)a.labelled);
    char lab[48];
    int lw = 6;
    for (uint32_t m = 0; m < P; m++) {
      row_label(lab, sizeof lab, &net, m);
      if ((int)strlen(lab) > lw) lw = (int)strlen(lab);
    }
    printf("%-*s %8s %14s %16s %8s %16s %16s %10s\n", lw, net.n_layers ? "layer" : "population", "neurons", "spikes",
           ctime ? "spikes/neuron/s" : "spikes/neuron/step", "silent", "synops", "dense MACs", "synops/MAC");
    for (uint32_t m = 0; m < P; m++) {
      evsnn_stats_pop_t p;
      evsnn_stats_pop(st, m, &p);
      row_label(lab, sizeof lab, &net, m);
      if (p.spiking)
        printf("%-*s %8u %14llu %16.4f %7.1f%%", lw, lab, p.neurons, (unsigned long long)p.spikes,
               ctime ? p.per_second : p.per_step, 100.0 * p.silent_fraction);
      else
        printf("%-*s %8u %14s %16s %8s", lw, lab, p.neurons, "-", "-", "-");
      if (m == 0) printf("\n");
      else printf(" %16llu %16llu %10.4f\n", (unsigned long long)p.synops, (unsigned long long)p.dense_macs,
                  p.dense_macs ? (double)p.synops / p.dense_macs : 0.0);
    }
    printf("total  hidden spikes %llu, synops %.0f vs dense MACs %.0f: %.4f (%.1fx fewer); per sample %.0f vs %.0f\n",
           (unsigned long long)tot.hidden_spikes, syn, mac, mac ? syn / mac : 0.0, syn ? mac / syn : 0.0, syn / ns, mac / ns);
    printf("energy ESTIMATE per sample (45 nm, Horowitz 2014: %.1f pJ per accumulate, %.1f pJ per MAC; arithmetic only, "
           "no memory): event-driven %.3f nJ vs dense %.3f nJ\n", EVSNN_PJ_AC, EVSNN_PJ_MAC, tot.event_nj, tot.dense_nj);
  } else {
    char rate_key[40];
    snprintf(rate_key, sizeof rate_key, "spikes_per_neuron_per_%s", unit);
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_string(&j, "model", model);
    cli_json_string(&j, "mode", ctime ? "continuous" : "discrete");
    cli_json_uint(&j, "samples", st->samples);
    cli_json_uint(&j, "steps", st->counts.steps);
    cli_json_number(&j, "seconds", "%.6f", st->seconds);
    if (ctime) cli_json_number(&j, "dt_us", "%g", dt);
    if (a.labelled) cli_json_number(&j, "accuracy", "%.6f", (double)a.correct / a.labelled);
    /* The input is not a population of weights: its own object. Every
     * other population has spikes (0 for an LI readout, which never
     * spikes), the synops of the projections into it and the dense MACs
     * they replace. */
    for (uint32_t m = 0; m < P; m++) {
      evsnn_stats_pop_t p;
      evsnn_stats_pop(st, m, &p);
      if (m == 0) {
        cli_json_object(&j, "input");
      } else {
        if (m == 1) cli_json_array(&j, "layers");
        cli_json_object(&j, NULL);
        cli_json_uint(&j, "layer", m);
      }
      cli_json_pop(&j, &net.pop[m]);
      cli_json_uint(&j, "neurons", p.neurons);
      if (m) cli_json_bool(&j, "spiking", p.spiking);
      cli_json_uint(&j, "spikes", p.spikes);
      cli_json_number(&j, rate_key, "%.6g", ctime ? p.per_second : p.per_step);
      if (p.spiking) cli_json_number(&j, "silent_fraction", "%.6f", p.silent_fraction);
      if (m) {
        cli_json_uint(&j, "synops", p.synops);
        cli_json_uint(&j, "dense_macs", p.dense_macs);
        cli_json_number(&j, "ratio", "%.6g", p.dense_macs ? (double)p.synops / p.dense_macs : 0.0);
        cli_json_object(&j, "energy_estimate_nj_per_sample");
        cli_json_number(&j, "event", "%.6g", p.event_nj);
        cli_json_number(&j, "dense", "%.6g", p.dense_nj);
        cli_json_end(&j);
      }
      cli_json_end(&j);
    }
    cli_json_end(&j);
    cli_json_object(&j, "totals");
    cli_json_uint(&j, "input_events", a.input_events);
    cli_json_uint(&j, "spikes", tot.hidden_spikes);
    cli_json_number(&j, "synops", "%.0f", syn);
    cli_json_number(&j, "dense_macs", "%.0f", mac);
    cli_json_number(&j, "ratio", "%.6g", mac ? syn / mac : 0.0);
    cli_json_object(&j, "energy_estimate_nj_per_sample");
    cli_json_number(&j, "event", "%.6g", tot.event_nj);
    cli_json_number(&j, "dense", "%.6g", tot.dense_nj);
    cli_json_number(&j, "pj_per_ac", "%.1f", EVSNN_PJ_AC);
    cli_json_number(&j, "pj_per_mac", "%.1f", EVSNN_PJ_MAC);
    cli_json_string(&j, "source", "Horowitz 2014, 45 nm, arithmetic only");
    cli_json_end(&j);
    cli_json_end(&j);
    cli_json_end(&j);
  }
  if (stopped) {
    fflush(stdout);
    fprintf(stderr, "evsnn: stats: stopped by %s after %" PRIu64 " input events of %" PRIu64 " file(s)\n",
            stopped == SIGINT ? "SIGINT" : "SIGTERM", a.input_events, st->samples);
    rc = 128 + stopped;
  }
out:
  for (int i = 0; paths && i < n_ents; i++) free(paths[i]);
  for (int i = 0; i < n_ents; i++) free(ents[i]);
  free(ents);
  evsnn_stats_free(&a.st);
  free(files);
  evsnn_net_free(&net);
  return rc;
}
