/* evsnn serve and evsnn send: the CLI faces of the TCP server and client in
 * src/stream (protocol: docs/protocol.md). serve prints the address it
 * listens on (the port the system picked for port 0) as its first stdout
 * line, logs one line per connection on stderr and stops cleanly on SIGINT
 * or SIGTERM. send streams one event file and prints the decisions. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "evsnn.h"
#include "core/internal.h"
#include "stream/serve.h"

bool cli_parse_hostport(const char *opt, const char *s, char *host, size_t cap, int *port) {
  const char *colon = s ? strrchr(s, ':') : NULL;
  long p;
  if (!colon || colon == s || (size_t)(colon - s) >= cap) {
    cli_usage("%s: expected HOST:PORT, got '%s'", opt, s ? s : "");
    return false;
  }
  const char *h = s;
  size_t hl = (size_t)(colon - s);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') h++, hl -= 2; /* [::1]:PORT */
  memcpy(host, h, hl);
  host[hl] = '\0';
  if (!cli_parse_long(opt, colon + 1, 0, 65535, &p)) return false;
  *port = (int)p;
  return true;
}

/* ---------------------------------------------------------------- serve --- */

typedef struct {
  evsnn__server_t *srv;
  uv_signal_t sig[2];
  int stopping;
} serve_ctx_t;

static void serve_log(void *ud, const char *line) {
  fprintf(stderr, "evsnn serve: %s\n", line);
  fflush(stderr);
}

static void on_closed(void *ud, const evsnn__server_stats_t *st) {
  fprintf(stderr, "evsnn serve: %llu connections, %llu served, %llu dropped, %llu events\n",
          (unsigned long long)st->accepted, (unsigned long long)st->served, (unsigned long long)st->dropped,
          (unsigned long long)st->events);
}

static void on_signal(uv_signal_t *h, int signum) {
  serve_ctx_t *x = h->data;
  if (x->stopping) return;
  x->stopping = 1;
  fprintf(stderr, "evsnn serve: %s: shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  evsnn__server_close(x->srv, on_closed, x);
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&x->sig[i], NULL);
}

static int usage_serve(void) {
  printf("usage: evsnn serve --model MODEL [--listen HOST:PORT] [--idle-timeout MS] [--max-conns N] [--dt US]\n"
         "  each connection runs the model in continuous time (as evsnn replay does), its sensor\n"
         "  fitted onto the model's input (evsnn_sensor_map_fit), and gets the decision changes\n"
         "  --listen        address to listen on (default 127.0.0.1:7463; port 0: pick a free one)\n"
         "  --idle-timeout  drop a connection that makes no progress this long (default 30000)\n"
         "  --max-conns     connections served at once, more are refused (default 256)\n"
         "  --dt            the step the model was trained with, tau = -dt / ln(beta) (default: the\n"
         "                  model's own, recorded when it was trained on event recordings, else 1000)\n"
         "Prints 'listening on HOST:PORT' first; stops on SIGINT/SIGTERM. Protocol: docs/protocol.md\n");
  return 0;
}

int evsnn_cmd_serve(int argc, char **argv) {
  const char *model = NULL, *listen = "127.0.0.1:7463";
  long idle = 30000, max_conns = 256;
  double dt = 0; /* 0: the model's own step */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_serve();
    if (!val) return cli_usage("serve: %s needs a value", a);
    i++;
    if (!strcmp(a, "--model")) model = val;
    else if (!strcmp(a, "--listen")) listen = val;
    else if (!strcmp(a, "--idle-timeout")) { if (!cli_parse_long(a, val, 1, 86400000L, &idle)) return 2; }
    else if (!strcmp(a, "--max-conns")) { if (!cli_parse_long(a, val, 1, 100000, &max_conns)) return 2; }
    else if (!strcmp(a, "--dt")) {
      if (!cli_parse_double(a, val, &dt)) return 2;
      if (!(dt > 0)) return cli_usage("serve: --dt must be > 0 us");
    }
    else return cli_usage("serve: unknown option '%s' (see evsnn serve --help)", a);
  }
  if (!model) return cli_usage("serve: --model MODEL is required");
  char host[256];
  int port;
  if (!cli_parse_hostport("--listen", listen, host, sizeof host, &port)) return 2;
  evsnn_net_t net;
  if (cli_load_model_dt(model, &net, &dt)) return 1;
  uv_loop_t loop;
  uv_loop_init(&loop);
  serve_ctx_t x = {0};
  evsnn__server_opts_t o = {.net = &net, .host = host, .port = port, .idle_ms = (uint32_t)idle,
                            .max_conns = (uint32_t)max_conns, .dt_us = dt, .log = serve_log};
  int err = evsnn__server_start(&x.srv, &loop, &o);
  if (err) {
    uv_loop_close(&loop);
    evsnn_net_free(&net);
    return cli_fail(err, "serve");
  }
  signal(SIGPIPE, SIG_IGN);
  int sigs[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&loop, &x.sig[i]);
    x.sig[i].data = &x;
    uv_signal_start(&x.sig[i], on_signal, sigs[i]);
  }
  printf("listening on %s%s%s:%d\n", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
         evsnn__server_port(x.srv));
  fflush(stdout);
  uv_run(&loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop);
  evsnn_net_free(&net);
  if (rc != 0) return cli_fail(EVSNN_ESYS, "serve: handles left open at exit");
  fprintf(stderr, "evsnn serve: stopped\n");
  return 0;
}

/* ----------------------------------------------------------------- send --- */

typedef struct {
  const char *path;
  int err;
  int json;
  uint64_t decisions;
  evsnn__result_t res;
} send_ctx_t;

static void send_decision(void *ud, int64_t t, uint64_t events, uint32_t cls) {
  send_ctx_t *x = ud;
  x->decisions++;
  if (!x->json) printf("t=%lld us event %llu: decision %u\n", (long long)t, (unsigned long long)events, cls);
}

static void send_done(void *ud, int err, const char *msg, const evsnn__result_t *res) {
  send_ctx_t *x = ud;
  x->err = err;
  if (err) {
    fprintf(stderr, "evsnn: %s: %s: %s\n", x->path, evsnn_strerror(err), msg);
    return;
  }
  x->res = *res;
}

static int usage_send(void) {
  printf("usage: evsnn send FILE --to HOST:PORT [--format NAME] [--frame-events N] [--timeout MS] [--json]\n"
         "  streams the events of FILE (any format evsnn events reads) to an evsnn serve,\n"
         "  prints each decision as it arrives and the server's result; exit 1 on any error\n");
  return 0;
}

int evsnn_cmd_send(int argc, char **argv) {
  const char *path = NULL, *to = NULL, *format = NULL;
  long frame_events = 0, timeout = 30000;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_send();
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (a[0] != '-' || !a[1]) {
      if (path) return cli_usage("send: one FILE only ('%s' and '%s')", path, a);
      path = a;
      continue;
    }
    if (!val) return cli_usage("send: %s needs a value", a);
    i++;
    if (!strcmp(a, "--to")) to = val;
    else if (!strcmp(a, "--format")) format = val;
    else if (!strcmp(a, "--frame-events")) { if (!cli_parse_long(a, val, 1, 4681, &frame_events)) return 2; }
    else if (!strcmp(a, "--timeout")) { if (!cli_parse_long(a, val, 1, 86400000L, &timeout)) return 2; }
    else return cli_usage("send: unknown option '%s' (see evsnn send --help)", a);
  }
  if (!path) return cli_usage("send: FILE is required");
  if (!to) return cli_usage("send: --to HOST:PORT is required");
  char host[256];
  int port;
  if (!cli_parse_hostport("--to", to, host, sizeof host, &port)) return 2;
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, format);
  if (err) return cli_fail(err, path);
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  uv_loop_init(&loop);
  send_ctx_t x = {.path = path, .json = json};
  evsnn__client_opts_t o = {.frame_events = (uint32_t)frame_events, .timeout_ms = (uint32_t)timeout};
  evsnn__client_cbs_t cbs = {.decision = send_decision, .done = send_done, .ud = &x};
  evsnn__client_t *c;
  double t0 = evsnn__now();
  if ((err = evsnn__client_start(&c, &loop, host, port, r, &o, &cbs))) {
    evsnn_event_reader_close(r);
    uv_loop_close(&loop);
    return cli_fail(err, path);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  evsnn_event_reader_close(r);
  if (x.err) return 1;
  double dt = evsnn__now() - t0;
  if (json) {
    char digest[17];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)x.res.digest);
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_uint(&j, "events", x.res.events);
    cli_json_int(&j, "t_last", x.res.t_last);
    cli_json_string(&j, "digest", digest);
    cli_json_int(&j, "decision", x.res.decision);
    cli_json_uint(&j, "decisions", x.decisions);
    cli_json_number(&j, "seconds", "%.6f", dt);
    cli_json_end(&j);
  } else
    printf("%s: %llu events served by %s:%d in %.3f s, digest %016llx matches; final decision %d\n", path,
           (unsigned long long)x.res.events, host, port, dt, (unsigned long long)x.res.digest, x.res.decision);
  return 0;
}
