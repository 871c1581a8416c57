/* evsnn serve over loopback: input events per second that one server
 * sustains with several clients streaming at once. The server runs on its
 * own thread and loop, as `evsnn serve` runs it; the clients (the same code
 * as `evsnn send`) share a second thread. Each client streams its own copy
 * of a synthetic 34 x 34 DVS recording; every RESULT is checked (count and
 * digest) before a figure is printed.
 *
 *   bench_serve [--clients N,N,...] [--events M] [--repeat R]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/events.h"
#include "evsnn/net.h"
#include "stream/proto.h"
#include "stream/serve.h"

typedef struct {
  evsnn_net_t net;
  uv_loop_t loop;
  uv_async_t stop;
  evsnn__server_t *srv;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int port, ready;
  evsnn__server_stats_t st;
} bsrv_t;

static void on_closed(void *ud, const evsnn__server_stats_t *st) { ((bsrv_t *)ud)->st = *st; }

static void on_stop(uv_async_t *a) {
  bsrv_t *s = a->data;
  evsnn__server_close(s->srv, on_closed, s);
  uv_close((uv_handle_t *)a, NULL);
}

static void srv_log(void *ud, const char *line) {
  if (!strstr(line, ": served ")) fprintf(stderr, "bench_serve: server: %s\n", line);
}

static void *srv_main(void *arg) {
  bsrv_t *s = arg;
  uv_loop_init(&s->loop);
  uv_async_init(&s->loop, &s->stop, on_stop);
  s->stop.data = s;
  evsnn__server_opts_t o = {.net = &s->net, .host = "127.0.0.1", .port = 0, .log = srv_log};
  if (evsnn__server_start(&s->srv, &s->loop, &o) != 0) {
    fprintf(stderr, "bench_serve: server: %s\n", evsnn_error_detail());
    exit(1);
  }
  pthread_mutex_lock(&s->mu);
  s->port = evsnn__server_port(s->srv);
  s->ready = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
  return NULL;
}

typedef struct {
  int err;
  char msg[600];
  evsnn__result_t res;
} outcome_t;

static void on_done(void *ud, int err, const char *msg, const evsnn__result_t *res) {
  outcome_t *o = ud;
  o->err = err;
  snprintf(o->msg, sizeof o->msg, "%s", msg);
  if (res) o->res = *res;
}

int main(int argc, char **argv) {
  const char *clients = "1,2,4,8";
  long events = 2000000, repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--clients")) clients = argv[i + 1];
    else if (!strcmp(argv[i], "--events")) events = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--repeat")) repeat = atol(argv[i + 1]);
  }
  if (events <= 0 || repeat <= 0) return 2;
  /* One recording, 100k events/s of sensor time, uniform over 34 x 34. */
  evsnn_event_t *ev = malloc(sizeof *ev * (size_t)events);
  uint64_t x = 88172645463325252ull;
  int64_t t = 0;
  for (long i = 0; i < events; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    t += (int64_t)(x % 20);
    ev[i] = (evsnn_event_t){.t = t, .x = (uint16_t)((x >> 20) % 34), .y = (uint16_t)((x >> 30) % 34),
                            .p = (uint8_t)(x >> 40 & 1)};
  }
  uint64_t digest = evsnn__digest(EVSNN_DIGEST_INIT, ev, (size_t)events);
  evsnn_event_info_t info = {.format = "evsnn", .width = 34, .height = 34, .channels = 2,
                             .kind = EVSNN_EVENTS_DVS, .label = -1, .meta = ""};
  evsnn_event_buf_t body;
  if (evsnn_event_buf_init(&body, &info) || evsnn_event_buf_write(&body, ev, (size_t)events) ||
      evsnn_event_buf_finish(&body)) {
    fprintf(stderr, "bench_serve: %s\n", evsnn_error_detail());
    return 1;
  }
  free(ev);

  bsrv_t s = {0};
  /* The paper's shape behind a 2 x 34 x 34 input (N-MNIST's sensor). */
  uint32_t sizes[] = {2 * 34 * 34, 300, 300, 10};
  const float scale[] = {5.0f, 3.0f};
  if (evsnn_net_init(&s.net, sizes, 4, 0.8187f)) return 1;
  evsnn_net_init_params(&s.net, 1, EVSNN_INIT_FANIN, scale);
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  pthread_create(&s.th, NULL, srv_main, &s);
  pthread_mutex_lock(&s.mu);
  while (!s.ready) pthread_cond_wait(&s.cv, &s.mu);
  pthread_mutex_unlock(&s.mu);

  printf("bench_serve: %ld events per client (%.2f bytes/event on the wire), server and clients on loopback\n",
         events, (double)body.len / (double)events);
  printf("%8s %14s %10s %16s\n", "clients", "events", "seconds", "events/s");
  int failed = 0;
  for (const char *p = clients; *p && !failed;) {
    int n = atoi(p);
    if (n < 1 || n > 64) return 2;
    double best = 1e30;
    for (long r = 0; r < repeat && !failed; r++) {
      uv_loop_t loop;
      uv_loop_init(&loop);
      evsnn_event_reader_t *rd[64];
      outcome_t out[64];
      memset(out, 0, sizeof out);
      double t0 = evsnn__now();
      for (int i = 0; i < n; i++) {
        evsnn__client_t *c;
        evsnn__client_cbs_t cbs = {.done = on_done, .ud = &out[i]};
        if (evsnn_event_reader_open_mem(&rd[i], body.data, body.len, NULL) ||
            evsnn__client_start(&c, &loop, "127.0.0.1", s.port, rd[i], NULL, &cbs)) {
          fprintf(stderr, "bench_serve: client: %s\n", evsnn_error_detail());
          return 1;
        }
      }
      uv_run(&loop, UV_RUN_DEFAULT);
      double dt = evsnn__now() - t0;
      uv_loop_close(&loop);
      for (int i = 0; i < n; i++) {
        evsnn_event_reader_close(rd[i]);
        if (out[i].err || out[i].res.events != (uint64_t)events || out[i].res.digest != digest) {
          fprintf(stderr, "bench_serve: client %d: %s: %s\n", i, evsnn_err_name(out[i].err), out[i].msg);
          failed = 1;
        }
      }
      if (dt < best) best = dt;
    }
    if (!failed)
      printf("%8d %14ld %10.3f %16.0f\n", n, events * n, best, (double)events * n / best);
    fflush(stdout);
    while (*p && *p != ',') p++;
    if (*p == ',') p++;
  }
  uv_async_send(&s.stop);
  pthread_join(s.th, NULL);
  printf("server: %.0f synaptic ops and %.0f hidden spikes per input event\n",
         (double)s.st.synops / (double)s.st.events, (double)s.st.spikes / (double)s.st.events);
  printf("server: %zu bytes per connection, peak %zu bytes for all connections, %llu read pauses\n",
         s.st.conn_bytes, s.st.bytes_peak, (unsigned long long)s.st.read_pauses);
  evsnn_net_free(&s.net);
  evsnn_event_buf_free(&body);
  return failed;
}
