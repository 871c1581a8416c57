/* Shared by the CLI's subcommand files: one function per subcommand and the
 * few helpers they all use to report errors the same way. */
#ifndef EVSNN_CLI_H
#define EVSNN_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "evsnn/train.h"

/* Each subcommand: argv[0] is the subcommand's name; returns the exit code. */
int evsnn_cmd_bench(int argc, char **argv);
int evsnn_cmd_train(int argc, char **argv);
int evsnn_cmd_test(int argc, char **argv);
int evsnn_cmd_stats(int argc, char **argv);
int evsnn_cmd_replay(int argc, char **argv);
int evsnn_cmd_events(int argc, char **argv);
int evsnn_cmd_encode(int argc, char **argv);
int evsnn_cmd_plot(int argc, char **argv);
int evsnn_cmd_serve(int argc, char **argv);
int evsnn_cmd_send(int argc, char **argv);
int evsnn_cmd_nir(int argc, char **argv);

/* Prints "evsnn: <what>: <message>[: <detail>]" on stderr for a library
 * error code and returns the exit status 1, so `return cli_fail(...)`. */
int cli_fail(int err, const char *what);
/* Prints "evsnn: <formatted>" on stderr, returns 2 (usage errors). */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* evsnn_parallel_t on libuv's thread pool, for at most CLI_MAX_THREADS
 * workers. init sets the pool size, so call it before any other libuv work. */
#define CLI_MAX_THREADS 64
typedef struct {
  uv_work_t req;
  void (*job)(void *ctx, uint32_t w);
  void *ctx;
  uint32_t w;
} cli_job_t;

typedef struct {
  evsnn_parallel_t base;
  uv_loop_t loop;
  cli_job_t jobs[CLI_MAX_THREADS];
} cli_parallel_t;

void cli_parallel_init(cli_parallel_t *p, uint32_t n_workers);
void cli_parallel_close(cli_parallel_t *p);

/* --crop x0,y0,w,h, --pool K, --polarity both|merge|on|off (replay, stats):
 * how a recording's sensor maps onto the network's inputs; without them,
 * evsnn_sensor_map_fit picks the map. */
struct evsnn_sensor_map_s;
typedef struct {
  long x0, y0, w, h, pool;
  int polarity; /* evsnn_polarity_t, -1: both */
  int given;
} cli_map_t;
void cli_map_init(cli_map_t *m);
/* 1 if opt is one of the three (val parsed), 0 if not, -1 after a usage error. */
int cli_map_option(cli_map_t *m, const char *opt, const char *val);
/* The map for a width x height sensor onto n_inputs: the options given, else
 * the map the model was built for (built, width 0: none), else the fitted one. */
int cli_map_make(const cli_map_t *m, uint32_t width, uint32_t height, const struct evsnn_sensor_map_s *built,
                 uint32_t n_inputs, struct evsnn_sensor_map_s *out);

/* SIGINT, SIGTERM and SIGUSR1 for long runs (src/cli/stop.c): catch installs the
 * handlers; cli_stop_signal() is then 0 until one arrives, then its number,
 * for the loop to poll (a second signal ends the process); release restores
 * the default action. */
void cli_stop_catch(void);
int cli_stop_signal(void);
void cli_stop_release(void);

/* Option parsing helpers: strict number parsing with a clear error. */
bool cli_parse_long(const char *opt, const char *s, long min, long max, long *out);
bool cli_parse_double(const char *opt, const char *s, double *out);

/* The value of KEY in a model's "key=value" metadata lines, into buf (cap
 * bytes, cut to fit); NULL when the key is absent. */
const char *cli_meta_get(const char *meta, const char *key, char *buf, size_t cap);

/* Loads MODEL for a continuous-time run. *dt_us > 0 is the --dt given;
 * 0 takes the step the model was trained with (its dt_us metadata, written
 * when it was trained on event recordings), else 1000 us. A NIR graph
 * (FILE.nir) is imported with the exact rule at that step. */
int cli_load_model_dt(const char *path, evsnn_net_t *net, double *dt_us);
/* Whether MODEL names a NIR graph (FILE.nir) rather than an evsnn model. */
bool cli_is_nir(const char *path);
/* Loads MODEL, an evsnn model or a NIR graph imported with evsnn nir
 * import's defaults (docs/nir.md); 1 after printing the error. */
int cli_load_model(const char *path, evsnn_net_t *net);
/* "event", "dense" or "dense-batch" for --engine. */
bool cli_parse_engine(const char *opt, const char *s, evsnn_engine_t *out);
/* "event", "dense" or "dense-batch". */
const char *cli_engine_name(evsnn_engine_t e);
/* "HOST:PORT" or "[V6]:PORT" into host (cap bytes) and port (0-65535). */
bool cli_parse_hostport(const char *opt, const char *s, char *host, size_t cap, int *port);

#endif
