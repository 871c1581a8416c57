/* The evsnn command: a table of subcommands, each in its own cmd_*.c file.
 * Only the CLI prints and exits; the library returns error codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "evsnn.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} commands[] = {
    {"train", evsnn_cmd_train, "train the paper's LIF network on Poisson-encoded MNIST (BPTT, Adam)"},
    {"test", evsnn_cmd_test, "accuracy of a saved model, with the anytime curve over steps"},
    {"stats", evsnn_cmd_stats, "per-population spikes, silent neurons, synaptic ops vs dense MACs, energy estimate"},
    {"replay", evsnn_cmd_replay, "run an event recording through a model in continuous time, paced by a libuv timer"},
    {"bench", evsnn_cmd_bench, "time inference with the event engine and the dense CBLAS engine"},
    {"plot", evsnn_cmd_plot, "pictures: curves, membrane, raster, reconstruct, anytime, events, sparsity, maps"},
    {"events", evsnn_cmd_events, "event files: info, cat (crop, slice, downsample), convert"},
    {"encode", evsnn_cmd_encode, "images to DVS events: an emulated sensor on N-MNIST's saccades (encode dvs)"},
    {"serve", evsnn_cmd_serve, "TCP server: event streams in, decisions out (docs/protocol.md)"},
    {"send", evsnn_cmd_send, "stream an event file to evsnn serve and print its decisions"},
    {"nir", evsnn_cmd_nir, "NIR graphs (HDF5): info, import into a model, export a model (docs/nir.md)"},
};

int cli_fail(int err, const char *what) {
  const char *detail = evsnn_error_detail(), *name = evsnn_strerror(err);
  /* The library's detail often starts with the name the caller gives too
   * ("FILE: ..."), and for a missing file says no more than the code: say
   * each thing once. */
  size_t n = strlen(what);
  if (!strncmp(detail, what, n) && !strncmp(detail + n, ": ", 2)) detail += n + 2;
  if (!strcasecmp(detail, name)) detail = "";
  if (detail[0])
    fprintf(stderr, "evsnn: %s: %s: %s\n", what, name, detail);
  else
    fprintf(stderr, "evsnn: %s: %s\n", what, name);
  return 1;
}

int cli_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("evsnn: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 2;
}

const char *cli_meta_get(const char *meta, const char *key, char *buf, size_t cap) {
  size_t n = strlen(key);
  for (const char *line = meta; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    if (!strncmp(line, key, n) && line[n] == '=') {
      size_t len = strcspn(line + n + 1, "\n");
      if (len >= cap) len = cap - 1;
      memcpy(buf, line + n + 1, len);
      buf[len] = '\0';
      return buf;
    }
  return NULL;
}

bool cli_is_nir(const char *path) {
  size_t n = strlen(path);
  return n > 4 && !strcmp(path + n - 4, ".nir");
}

int cli_load_model(const char *path, evsnn_net_t *net) {
  evsnn_nir_import_t o;
  evsnn_nir_import_defaults(&o);
  int err = cli_is_nir(path) ? evsnn_nir_load_net(path, &o, net) : evsnn_model_load(path, net, NULL, NULL);
  return err ? cli_fail(err, path) : 0;
}

int cli_load_model_dt(const char *path, evsnn_net_t *net, double *dt_us) {
  if (cli_is_nir(path)) {
    /* The continuous-time engine decays with tau = -dt / ln(beta): the exact
     * rule at the run's step gives back the file's own tau, whatever dt. */
    evsnn_nir_import_t o;
    evsnn_nir_import_defaults(&o);
    o.rule = EVSNN_NIR_EXACT;
    if (!(*dt_us > 0)) *dt_us = 1000;
    o.dt = *dt_us * 1e-6;
    int err = evsnn_nir_load_net(path, &o, net);
    return err ? cli_fail(err, path) : 0;
  }
  char *meta, v[64];
  int err = evsnn_model_load(path, net, &meta, NULL);
  if (err) return cli_fail(err, path);
  if (!(*dt_us > 0)) {
    char *end = NULL;
    double dt = cli_meta_get(meta, "dt_us", v, sizeof v) ? strtod(v, &end) : 0;
    *dt_us = end && !*end && dt > 0 ? dt : 1000;
  }
  free(meta);
  return 0;
}

bool cli_parse_long(const char *opt, const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || errno || end == s || *end || v < min || v > max) {
    cli_usage("%s: expected an integer in [%ld, %ld], got '%s'", opt, min, max, s ? s : "");
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_double(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = s ? strtod(s, &end) : 0;
  if (!s || errno || end == s || *end) {
    cli_usage("%s: expected a number, got '%s'", opt, s ? s : "");
    return false;
  }
  *out = v;
  return true;
}

static const char *const engine_names[] = {"event", "dense", "dense-batch"};

bool cli_parse_engine(const char *opt, const char *s, evsnn_engine_t *out) {
  for (size_t e = 0; e < sizeof engine_names / sizeof engine_names[0]; e++)
    if (s && !strcmp(s, engine_names[e])) return *out = (evsnn_engine_t)e, true;
  return cli_usage("%s: expected event, dense or dense-batch, got '%s'", opt, s ? s : ""), false;
}

const char *cli_engine_name(evsnn_engine_t e) { return engine_names[e]; }

static void usage(FILE *f) {
  fprintf(f, "usage: evsnn <command> [options]   (evsnn <command> --help for its options)\n\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("evsnn %s\n", EVSNN_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "evsnn: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
