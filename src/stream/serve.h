/* The TCP server and client of `evsnn serve` / `evsnn send` (docs/protocol.md),
 * on a caller's libuv loop. This convenience library (libevsnn_stream) is
 * the only place besides the CLI that includes uv.h; libevsnn itself never
 * links libuv. Both run on the loop's thread only and never print: the
 * server reports through a log callback, the client through its callbacks.
 */
#ifndef EVSNN_STREAM_SERVE_H
#define EVSNN_STREAM_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "evsnn/events.h"
#include "evsnn/net.h"
#include "stream/proto.h"

/* ------------------------------------------------------------- server ---- */

typedef struct evsnn__server_s evsnn__server_t;

typedef struct evsnn__server_opts_s {
  const evsnn_net_t *net;  /* shared read-only by every connection; must outlive the server */
  const char *host;        /* IPv4 or IPv6 literal to bind */
  int port;                /* 0: the system picks a free port (see evsnn__server_port) */
  uint32_t idle_ms;        /* drop a connection that makes no progress this long; 0: 30000 */
  uint32_t header_ms;      /* HELLO must be whole this long after accept; 0: 10000 */
  uint32_t min_rate;       /* bytes/s a connection must move over each rate window; 0: 256 */
  uint32_t rate_ms;        /* that window; 0: 5000 */
  int no_min_rate;         /* 1: no rate rule (a live source may send less) */
  uint32_t max_conns;      /* connections served at once; more are refused; 0: 256 */
  double dt_us;            /* the step the model was trained with: tau = -dt / ln(beta); 0: 1000 */
  /* One line per connection that ends (served or dropped, with the reason)
   * and per server event; NULL: silent. The line has no newline. The
   * connection lines are rate-limited (LOG_BURST, LOG_PER_S in server.c);
   * the callback must not block (cmd_serve.c's goes through evsnn__logw). */
  void (*log)(void *ud, const char *line);
  void *log_ud;
} evsnn__server_opts_t;

typedef struct evsnn__server_stats_s {
  uint64_t accepted;      /* connections accepted */
  uint64_t served;        /* streams that ended with RESULT */
  uint64_t dropped;       /* connections dropped (garbage, stall, disconnect, refused, shutdown) */
  uint64_t refused;       /* of those, refused "server full" before any buffer was allocated */
  uint64_t slow;          /* of those, dropped by the HELLO deadline or the minimum rate */
  uint64_t log_suppressed; /* connection log lines left out by the rate limit */
  uint64_t events;        /* events decoded, all connections */
  uint64_t synops;        /* synaptic operations of the streams that ended with RESULT */
  uint64_t spikes;        /* hidden-layer spikes of those streams */
  uint64_t read_pauses;   /* times a connection's reading stopped for back-pressure */
  uint32_t active;        /* connections admitted and open now (the slots taken) */
  uint32_t pending_peak;  /* the most connections accepted in one loop turn, waiting for admission */
  size_t accept_bytes;    /* bytes a connection holds from accept until it first sends data */
  size_t conn_bytes;      /* the most bytes one admitted connection ever holds (buffers and state) */
  size_t bytes_now;       /* all connections' buffers and states (the networks' states apart) */
  size_t bytes_peak;      /* the most bytes_now has been: at most
                             max_conns x conn_bytes + pending_peak x accept_bytes */
} evsnn__server_stats_t;

/* Binds, listens and serves on loop. On failure nothing is left open and the
 * code is EVSNN_ESYS (bind/listen, with libuv's message in the detail) or
 * EVSNN_EINVAL (bad host) or EVSNN_ENOMEM. */
int evsnn__server_start(evsnn__server_t **out, uv_loop_t *loop, const evsnn__server_opts_t *opts);
/* The port bound (the one picked when opts->port was 0). */
int evsnn__server_port(const evsnn__server_t *s);
void evsnn__server_stats(const evsnn__server_t *s, evsnn__server_stats_t *st);
/* Stops listening and drops every connection ("server shutting down").
 * Once all its handles are closed it frees s and calls done (may be NULL)
 * with the final statistics (active and bytes_now are then 0). The loop
 * then has nothing of the server's left and uv_run returns. */
void evsnn__server_close(evsnn__server_t *s, void (*done)(void *ud, const evsnn__server_stats_t *st), void *ud);

/* ------------------------------------------------------------- client ---- */

typedef struct evsnn__client_s evsnn__client_t;

typedef struct evsnn__client_cbs_s {
  /* A DECISION frame: after event number `events` (1-based), at time t,
   * the decision became `cls`. May be NULL. */
  void (*decision)(void *ud, int64_t t, uint64_t events, uint32_t cls);
  /* The stream is over: err 0 with the RESULT, or the failure (an
   * ERROR frame from the server: its code, and its message in the detail
   * that evsnn_error_detail() cannot carry across callbacks, so in msg).
   * Called exactly once; the client then closes itself. */
  void (*done)(void *ud, int err, const char *msg, const evsnn__result_t *res);
  void *ud;
} evsnn__client_cbs_t;

typedef struct evsnn__client_opts_s {
  uint32_t frame_events;  /* events per EVENTS frame; 0: as many as fit the payload limit */
  uint32_t timeout_ms;    /* give up when the server makes no progress this long; 0: 30000 */
} evsnn__client_opts_t;

/* Connects to host:port and streams every event r yields (r is borrowed
 * until done is called; the client does not close it). The client's own
 * digest of what it sent is compared with the server's: a mismatch fails
 * with EVSNN_ECORRUPT. Returns 0 when started (done will be called) or an
 * error (done will not be called). */
int evsnn__client_start(evsnn__client_t **out, uv_loop_t *loop, const char *host, int port,
                        evsnn_event_reader_t *r, const evsnn__client_opts_t *opts,
                        const evsnn__client_cbs_t *cbs);

#endif
