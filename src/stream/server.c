/* evsnn serve's transport: the libuv TCP listener and connections that carry
 * the sessions of session.c (the protocol and all per-connection rules live
 * there; the frames in proto.c).
 *
 * Admission before allocation. An accepted connection first gets only its
 * handles (accept_bytes) and waits in `pending` until the loop's check
 * phase, after this turn's reads have been handled, so that peers that have
 * hung up meanwhile have freed their slots. Then it is either admitted
 * (a session, no buffer yet: session.c allocates when the peer sends) or,
 * with every slot taken, answered "server full" from one ERROR frame built
 * at start and closed at once. Before it is refused it waits for loop
 * turns that free slots, and DEFER_TURNS more (without blocking: the idle
 * handle makes those polls return at once), because peers that connected,
 * sent and hung up in the same instant may have been admitted in this same
 * check, and libuv reads their bytes in one turn and their hang-up in the
 * next; only when the slots stay taken is a connection refused. But first
 * the oldest connection that has held its slot EVICT_MS without completing
 * HELLO gives it up ("evicted"): an honest client sends HELLO as it
 * connects, so a flood of idle or trickling connections evicts its own
 * members, not the honest clients, and honest clients still find slots. A slot is freed the moment its connection is dropped or its peer
 * hangs up, not when libuv has finished closing it.
 *
 * Deadlines. Each admitted connection has one repeating timer of tick_ms
 * (a tenth of the shortest deadline, 5..250 ms) that asks its session
 * whether a deadline has passed, handing it the reply bytes the peer has
 * not taken yet (unsent). A dropped connection is closed without a word.
 *
 * Logging. One line per connection that ends, through opts->log, which must
 * not block (cmd_serve.c's writes through evsnn__logw); these lines are
 * rate-limited here (LOG_BURST at once, LOG_PER_S after that), the number
 * left out said by the next line that passes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include "stream/proto.h"
#include "stream/serve.h"
#include "stream/session.h"

#define LOG_BURST 100
#define LOG_PER_S 20
#define BACKLOG 511 /* as nginx: a burst of connects is queued, not met by SYN retries */
#define DEFER_TURNS 3
#define EVICT_MS 100 /* an honest client's HELLO follows its connect within a round trip */

enum { C_PENDING, C_OPEN, C_CLOSING };

typedef struct conn_s conn_t;

struct evsnn__server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_check_t check;  /* admits the connections accepted during the turn */
  uv_idle_t idle;    /* while some wait a turn to be refused: no blocking poll */
  evsnn__server_opts_t o;
  evsnn__session_limits_t lim;
  uint32_t tick_ms;
  int port;
  int closing;
  int handles;       /* listener, check and idle, while open */
  conn_t *conns;     /* doubly linked, newest first: admitted and pending */
  uint32_t pending;
  uint64_t freed, freed_seen; /* slots freed, in all and as of the last check */
  uint64_t next_id;
  evsnn__server_stats_t st;
  uint8_t full[EVSNN_PROTO_ERROR_MAX]; /* the "server full" ERROR frame */
  size_t full_len;
  double log_tokens;
  uint64_t log_t, log_missed;
  void (*done)(void *, const evsnn__server_stats_t *);
  void *done_ud;
};

struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t wreq;
  uv_shutdown_t sreq;
  evsnn__server_t *srv;
  conn_t *prev, *next;
  evsnn__session_t *ses;
  uint64_t id;
  char peer[64];
  int state;
  int slot;           /* holds one of max_conns */
  int deferred;       /* pending: the turns it found no slot and none was freed */
  int reading, writing, shut, served_logged;
  int handles;        /* handles still open */
  uint64_t started;   /* uv_hrtime (ns) at accept */
  uint64_t admitted;  /* loop time (ms) of admission */
  size_t bytes;       /* counted in st.bytes_now */
  uint64_t events_seen;
};

static void pump(conn_t *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

/* ------------------------------------------------------------ logging ---- */

static void srv_log(evsnn__server_t *s, const char *line) {
  if (s->o.log) s->o.log(s->o.log_ud, line);
}

static void conn_log(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_log(conn_t *c, const char *fmt, ...) {
  evsnn__server_t *s = c->srv;
  if (!s->o.log) return;
  /* A token bucket: LOG_BURST lines at once, LOG_PER_S a second after. */
  uint64_t now = uv_now(s->loop);
  s->log_tokens += (double)(now - s->log_t) * LOG_PER_S / 1000.0;
  if (s->log_tokens > LOG_BURST) s->log_tokens = LOG_BURST;
  s->log_t = now;
  if (s->log_tokens < 1) {
    s->log_missed++;
    s->st.log_suppressed++;
    return;
  }
  s->log_tokens -= 1;
  char line[768];
  if (s->log_missed > 0) {
    snprintf(line, sizeof line, "%llu connection lines left out (more than %d a second)",
             (unsigned long long)s->log_missed, LOG_PER_S);
    srv_log(s, line);
    s->log_missed = 0;
  }
  int n = snprintf(line, sizeof line, "conn %llu %s: ", (unsigned long long)c->id, c->peer);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  srv_log(s, line);
}

/* ------------------------------------------------------------ closing ---- */

static void server_maybe_done(evsnn__server_t *s) {
  if (!s->closing || s->handles > 0 || s->conns) return;
  void (*done)(void *, const evsnn__server_stats_t *) = s->done;
  void *ud = s->done_ud;
  evsnn__server_stats_t st = s->st;
  free(s);
  if (done) done(ud, &st);
}

static void on_conn_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->handles > 0) return;
  evsnn__server_t *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->st.bytes_now -= c->bytes;
  evsnn__session_free(c->ses);
  free(c);
  server_maybe_done(s);
}

/* Frees the slot now; the memory once libuv has closed the handles. */
static void conn_close(conn_t *c) {
  if (c->state == C_CLOSING) return;
  if (c->state == C_PENDING) c->srv->pending--;
  c->state = C_CLOSING;
  if (c->slot) {
    c->slot = 0;
    c->srv->st.active--;
    c->srv->freed++;
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  if (c->handles == 2) uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void conn_drop(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_drop(conn_t *c, const char *fmt, ...) {
  char why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  c->srv->st.dropped++;
  conn_log(c, "dropped: %s", why);
  conn_close(c);
}

/* A session that ended: dropped is 1 when it is a drop to count and log. */
static void conn_ended(conn_t *c, int dropped) {
  if (dropped) {
    evsnn__session_info_t in;
    evsnn__session_info(c->ses, &in);
    if (in.slow) c->srv->st.slow++;
    conn_drop(c, "%s", evsnn__session_why(c->ses));
  } else {
    conn_close(c);
  }
}

/* ------------------------------------------------------------ replies ---- */

/* Reply bytes the peer has not taken: those libuv still holds plus, on
 * Linux, the kernel's send queue (SIOCOUTQ: bytes not yet acknowledged), so
 * that a slow reader's progress shows while one write is still out. This
 * is the one Linux-only call of the server; elsewhere only libuv's queue
 * counts, and a reader slower than one reply buffer per idle timeout is
 * then taken for a stalled one. */
static size_t unsent(conn_t *c) {
  size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
#ifdef SIOCOUTQ
  uv_os_fd_t fd;
  int k = 0;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, SIOCOUTQ, &k) == 0 && k > 0) q += (size_t)k;
#endif
  return q;
}

/* Whether the socket holds input not read yet (bytes, a hang-up or an
 * error): a loop turn that was late has not read it, and this turn's poll
 * will. */
static int input_waiting(conn_t *c) {
  uv_os_fd_t fd;
  char b;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) return 0;
  ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

static void on_write(uv_write_t *req, int status) {
  conn_t *c = req->data;
  c->writing = 0;
  if (c->state == C_CLOSING) return;
  if (status < 0) {
    conn_drop(c, "write failed: %s", uv_strerror(status));
    return;
  }
  evsnn__session_written(c->ses, uv_now(c->srv->loop));
  pump(c);
}

/* After every session call: counters, replies, reading, shutdown. */
static void pump(conn_t *c) {
  evsnn__server_t *s = c->srv;
  evsnn__session_info_t in;
  evsnn__session_info(c->ses, &in);
  size_t bytes = sizeof *c + in.bytes;
  s->st.bytes_now += bytes - c->bytes;
  c->bytes = bytes;
  if (s->st.bytes_now > s->st.bytes_peak) s->st.bytes_peak = s->st.bytes_now;
  s->st.events += in.events - c->events_seen;
  c->events_seen = in.events;
  int ph = evsnn__session_phase(c->ses);
  if (ph == EVSNN__SESSION_DROP) {
    conn_ended(c, 1);
    return;
  }
  if (ph == EVSNN__SESSION_DONE && !c->served_logged) {
    c->served_logged = 1;
    s->st.served++;
    s->st.synops += in.synops;
    s->st.spikes += in.spikes;
    conn_log(c, "served %llu events in %.1f ms, %llu decision changes, final decision %d",
             (unsigned long long)in.events, (double)(uv_hrtime() - c->started) * 1e-6,
             (unsigned long long)in.decisions, in.decision);
  }
  if (ph == EVSNN__SESSION_FAILED && !c->served_logged) {
    c->served_logged = 1;
    s->st.dropped++;
    conn_log(c, "dropped: %s", evsnn__session_why(c->ses));
  }
  if (!c->writing) {
    size_t len;
    const uint8_t *p = evsnn__session_take(c->ses, &len, uv_now(s->loop));
    if (p) {
      uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
      int r = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
      if (r != 0) {
        conn_drop(c, "write failed: %s", uv_strerror(r));
        return;
      }
      c->writing = 1;
    }
  }
  /* Read on (discarding, after RESULT or ERROR, until the peer's EOF)
   * unless paused for back-pressure. */
  int want = evsnn__session_reading(c->ses);
  if (want && !c->reading) {
    int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r != 0) {
      conn_drop(c, "read failed: %s", uv_strerror(r));
      return;
    }
    c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    s->st.read_pauses++;
  }
  if (!c->writing && !c->shut && evsnn__session_flushed(c->ses)) {
    c->shut = 1;
    /* Everything we had to say is in the kernel: send FIN, then wait for the
     * peer's EOF (closing with unread input would reset the connection and
     * could destroy the reply in flight). */
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, NULL) != 0) conn_close(c);
  }
}

/* --------------------------------------------------------------- input ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn_t *c = h->data;
  uint8_t *p;
  size_t cap;
  evsnn__session_buf(c->ses, &p, &cap);
  b->base = (char *)p;
  b->len = cap;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b) {
  conn_t *c = st->data;
  if (nread == 0 || c->state == C_CLOSING) return;
  if (nread > 0) {
    evsnn__session_received(c->ses, (size_t)nread, uv_now(c->srv->loop));
    pump(c);
    return;
  }
  if (nread == UV_ENOBUFS) { /* out of memory in session_buf, or paused: pump says which */
    pump(c);
    return;
  }
  /* EOF, or a reset (a peer that closes with our replies unread resets). */
  conn_ended(c, evsnn__session_eof(c->ses, nread == UV_EOF ? NULL : uv_strerror((int)nread)));
}

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  if (c->state == C_CLOSING) return;
  uint64_t now = uv_now(c->srv->loop);
  /* Only a write still out has bytes the peer may be taking. */
  int waiting = evsnn__session_due(c->ses, now) && input_waiting(c);
  int dropped = evsnn__session_tick(c->ses, now, c->writing ? unsent(c) : 0, waiting);
  if (evsnn__session_phase(c->ses) == EVSNN__SESSION_DROP) conn_ended(c, dropped);
}

/* ---------------------------------------------------------- admission ---- */

static void admit(conn_t *c) {
  evsnn__server_t *s = c->srv;
  s->pending--;
  c->state = C_OPEN;
  if (s->closing) {
    conn_close(c);
    return;
  }
  if (s->st.active >= s->o.max_conns) {
    /* Over the limit: the ERROR frame from the server's own buffer, in
     * the kernel at once (a fresh socket's send buffer takes 417 bytes),
     * then close; nothing of the connection's own is allocated. */
    s->st.refused++;
    uv_buf_t b = uv_buf_init((char *)s->full, (unsigned)s->full_len);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    conn_drop(c, "refused: server full (%u connections)%s", s->o.max_conns, r < 0 ? ", the ERROR not sent" : "");
    return;
  }
  int err = evsnn__session_new(&c->ses, &s->lim, uv_now(s->loop));
  if (err != 0) {
    conn_drop(c, "out of memory for its session");
    return;
  }
  c->slot = 1;
  c->admitted = uv_now(s->loop);
  s->st.active++;
  uv_timer_init(s->loop, &c->timer);
  c->timer.data = c;
  c->handles = 2;
  uv_timer_start(&c->timer, on_timer, s->tick_ms, s->tick_ms);
  pump(c);
}

static void on_idle(uv_idle_t *h) { (void)h; }

/* With every slot taken: frees the slot of the oldest connection that may
 * be evicted; 0 when there is none. */
static int evict(evsnn__server_t *s, conn_t *last) {
  uint64_t now = uv_now(s->loop);
  for (conn_t *c = last; c; c = c->prev)
    if (c->state == C_OPEN && c->slot && evsnn__session_evictable(c->ses, now, EVICT_MS)) {
      s->st.slow++;
      conn_drop(c, "evicted: no HELLO after %llu ms, its slot given to a newer connection",
                (unsigned long long)(now - c->admitted));
      return 1;
    }
  return 0;
}

static void on_check(uv_check_t *h) {
  evsnn__server_t *s = h->data;
  if (s->pending > s->st.pending_peak) s->st.pending_peak = s->pending;
  /* Oldest first: the list is newest first, so walk it from the tail. */
  conn_t *last = NULL;
  for (conn_t *c = s->conns; c; c = c->next) last = c;
  /* The loop's time is that of the turn's start, and a turn of many
   * accepts can be long: the sessions' clocks and timers start from now. */
  uv_update_time(s->loop);
  int freeing = s->freed != s->freed_seen;
  s->freed_seen = s->freed;
  for (conn_t *c = last, *prev; c; c = prev) {
    prev = c->prev;
    if (c->state != C_PENDING) continue;
    if (s->st.active >= s->o.max_conns && !s->closing) evict(s, last);
    if (s->st.active < s->o.max_conns || s->closing) admit(c);
    else if (!freeing && c->deferred++ >= DEFER_TURNS) admit(c); /* refused */
  }
  if (s->pending == 0) {
    uv_check_stop(h);
    uv_idle_stop(&s->idle);
  } else {
    uv_idle_start(&s->idle, on_idle);
  }
}

static void on_connection(uv_stream_t *ls, int status) {
  evsnn__server_t *s = ls->data;
  if (status < 0) {
    char line[160];
    snprintf(line, sizeof line, "accept failed: %s", uv_strerror(status));
    srv_log(s, line);
    return;
  }
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    srv_log(s, "accept: out of memory, connection left in the backlog");
    return;
  }
  c->srv = s;
  c->id = ++s->next_id;
  c->bytes = sizeof *c;
  c->state = C_PENDING;
  c->started = uv_hrtime();
  snprintf(c->peer, sizeof c->peer, "?");
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = c->wreq.data = c->sreq.data = c;
  c->handles = 1;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->pending++;
  s->st.accepted++;
  s->st.bytes_now += c->bytes;
  if (s->st.bytes_now > s->st.bytes_peak) s->st.bytes_peak = s->st.bytes_now;
  int r = uv_accept(ls, (uv_stream_t *)&c->tcp);
  if (r != 0) {
    conn_drop(c, "accept failed: %s", uv_strerror(r));
    return;
  }
  struct sockaddr_storage sa;
  int sl = sizeof sa;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &sl) == 0) {
    char ip[48] = "?";
    int port = 0;
    if (sa.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_check_start(&s->check, on_check);
}

/* ------------------------------------------------------------- server ---- */

int evsnn__server_start(evsnn__server_t **out, uv_loop_t *loop, const evsnn__server_opts_t *opts) {
  *out = NULL;
  struct sockaddr_storage sa;
  if (uv_ip4_addr(opts->host, opts->port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(opts->host, opts->port, (struct sockaddr_in6 *)&sa) != 0)
    return evsnn__fail(EVSNN_EINVAL, "%s: not an IPv4 or IPv6 address", opts->host);
  evsnn__server_t *s = calloc(1, sizeof *s);
  if (s == NULL) return evsnn__fail(EVSNN_ENOMEM, "server");
  s->loop = loop;
  s->o = *opts;
  if (s->o.max_conns == 0) s->o.max_conns = 256;
  s->lim = (evsnn__session_limits_t){.net = opts->net, .dt_us = opts->dt_us, .idle_ms = opts->idle_ms,
                                     .header_ms = opts->header_ms, .min_rate = opts->min_rate,
                                     .rate_ms = opts->rate_ms, .no_min_rate = opts->no_min_rate};
  evsnn__session_limits(&s->lim);
  s->o.idle_ms = s->lim.idle_ms;
  uint32_t shortest = s->lim.idle_ms < s->lim.header_ms ? s->lim.idle_ms : s->lim.header_ms;
  if (!s->lim.no_min_rate && s->lim.rate_ms < shortest) shortest = s->lim.rate_ms;
  s->tick_ms = shortest / 10 < 5 ? 5 : shortest / 10 > 250 ? 250 : shortest / 10;
  s->st.accept_bytes = sizeof(conn_t);
  s->st.conn_bytes = sizeof(conn_t) + evsnn__session_max_bytes(&s->lim);
  s->log_tokens = LOG_BURST;
  s->log_t = uv_now(loop);
  char msg[96];
  snprintf(msg, sizeof msg, "server full: %u connections", s->o.max_conns);
  uint8_t *p = s->full + EVSNN_PROTO_FRAME_HEADER;
  uint32_t n = evsnn__error_encode(p, EVSNN_ERANGE, 0, msg);
  evsnn__frame_put(s->full, EVSNN_FRAME_ERROR, n);
  s->full_len = EVSNN_PROTO_FRAME_HEADER + n;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  uv_check_init(loop, &s->check);
  s->check.data = s;
  uv_idle_init(loop, &s->idle);
  s->idle.data = s;
  s->handles = 3;
  int r = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
  if (r == 0) r = uv_listen((uv_stream_t *)&s->listener, BACKLOG, on_connection);
  if (r == 0) {
    struct sockaddr_storage b;
    int bl = sizeof b;
    r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&b, &bl);
    s->port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                            : ((struct sockaddr_in *)&b)->sin_port);
  }
  if (r != 0) {
    int err = evsnn__fail(EVSNN_ESYS, "listen on %s:%d: %s", opts->host, opts->port, uv_strerror(r));
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_close((uv_handle_t *)&s->check, NULL);
    uv_close((uv_handle_t *)&s->idle, NULL);
    /* The handles are closed on the next loop turn; run it so s can be freed. */
    uv_run(loop, UV_RUN_NOWAIT);
    free(s);
    return err;
  }
  *out = s;
  return 0;
}

int evsnn__server_port(const evsnn__server_t *s) { return s->port; }

void evsnn__server_stats(const evsnn__server_t *s, evsnn__server_stats_t *st) { *st = s->st; }

static void on_server_handle_closed(uv_handle_t *h) {
  evsnn__server_t *s = h->data;
  s->handles--;
  server_maybe_done(s);
}

void evsnn__server_close(evsnn__server_t *s, void (*done)(void *ud, const evsnn__server_stats_t *st), void *ud) {
  if (s->closing) return;
  s->closing = 1;
  s->done = done;
  s->done_ud = ud;
  for (conn_t *c = s->conns; c; c = c->next) {
    if (c->state == C_OPEN && evsnn__session_phase(c->ses) <= EVSNN__SESSION_STREAM)
      conn_drop(c, "server shutting down");
    else
      conn_close(c);
  }
  uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
  uv_close((uv_handle_t *)&s->check, on_server_handle_closed);
  uv_close((uv_handle_t *)&s->idle, on_server_handle_closed);
}
