/* evsnn serve: a libuv TCP server that takes event streams in the project's
 * record encoding, framed (docs/protocol.md), and answers each connection
 * from its own network state.
 *
 * Everything runs on the loop's thread. Each connection owns one allocation,
 * sized at accept and never grown: an input buffer that holds one frame at
 * most, two reply buffers (one being written while the other fills) and
 * event scratch. A frame is processed as soon as it is whole, in chunks of
 * CHUNK events; before each chunk the reply buffer must have room for the
 * most that chunk could say, otherwise the connection pauses mid-frame and
 * stops reading (uv_read_stop) until its writes drain. So a client that
 * sends fast but does not read its replies is held by TCP's own flow
 * control, and the server's memory is (connections x conn_bytes) whatever
 * the clients do.
 *
 * A connection that breaks the protocol gets an ERROR frame and is closed
 * once that frame is written; one that stalls (no bytes in, no replies
 * taken for idle_ms) or disconnects mid-frame is closed. Either way one log
 * line says why, and nothing else is touched.
 */
#include <linux/sockios.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evsnn/ctime.h"
#include "evsnn/sensor.h"
#include "stream/proto.h"
#include "stream/serve.h"

#define IN_CAP (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_MAX_PAYLOAD)
#define OUT_CAP (64 * 1024)
#define CHUNK 1024
/* Room kept in a reply buffer for the ERROR frame that may end the stream. */
#define OUT_RESERVE (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_ERROR_FIXED + EVSNN_PROTO_MAX_MESSAGE)
#define CHUNK_REPLY ((size_t)CHUNK * (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_DECISION_SIZE))

enum {
  P_HELLO,    /* waiting for HELLO */
  P_STREAM,   /* EVENTS until END */
  P_DONE,     /* RESULT queued: close once written (input discarded) */
  P_FAILING,  /* ERROR queued: close once written (input discarded) */
  P_CLOSING,  /* uv_close issued */
};

typedef struct conn_s conn_t;

struct evsnn__server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  evsnn__server_opts_t o;
  int port;
  int closing;
  int listener_open;
  conn_t *conns;  /* doubly linked, newest first */
  uint64_t next_id;
  evsnn__server_stats_t st;
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
  uint64_t id;
  char peer[64];
  int phase;
  int reading;        /* uv_read_start in effect */
  int paused;         /* stopped mid-frame until the replies drain */
  int writing;        /* wreq in flight with out[cur ^ 1] */
  int shut;           /* uv_shutdown issued */
  size_t wq_seen;     /* unsent() at the last look while a write is in flight */
  int handles;        /* handles still open */
  uint64_t last_active; /* loop time (ms), for the idle timeout */
  uint64_t started;     /* uv_hrtime (ns) at accept: the loop's cached time may not move during a stream */
  /* Input: bytes in[pos .. len) not yet consumed; in[0 .. pos) are done. */
  uint8_t *in;
  size_t len, pos;
  size_t frame_done;  /* payload bytes of the frame at pos already decoded */
  uint64_t in_offset; /* stream offset of in[0] */
  /* Replies: out[cur] fills while out[cur ^ 1] may be in flight. */
  uint8_t *out[2];
  size_t out_len[2];
  int cur;
  evsnn_event_t *ev;
  /* The stream. */
  int64_t t;
  uint64_t events, digest;
  evsnn_event_info_t sensor;
  size_t bytes;
  /* The network: the library's sensor map and continuous-time state, the
   * same calls a local run makes (evsnn/sensor.h, evsnn/ctime.h). */
  evsnn_sensor_map_t map;
  evsnn_ctime_t ct;
  int ct_ready;
  int net_err;          /* first error the engine returned while feeding */
  uint64_t decisions;
};

static void process(conn_t *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static void conn_log(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_log(conn_t *c, const char *fmt, ...) {
  evsnn__server_t *s = c->srv;
  if (!s->o.log) return;
  char line[640];
  int n = snprintf(line, sizeof line, "conn %llu %s: ", (unsigned long long)c->id, c->peer);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  s->o.log(s->o.log_ud, line);
}

static void server_maybe_done(evsnn__server_t *s) {
  if (!s->closing || s->listener_open || s->conns) return;
  void (*done)(void *, const evsnn__server_stats_t *) = s->done;
  void *ud = s->done_ud;
  evsnn__server_stats_t st = s->st;
  free(s);
  if (done) done(ud, &st);
}

/* ------------------------------------------------------------ closing ---- */

static void on_conn_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->handles > 0) return;
  evsnn__server_t *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->st.active--;
  s->st.bytes_now -= c->bytes;
  if (c->ct_ready) evsnn_ctime_free(&c->ct);
  free(c);
  server_maybe_done(s);
}

static void conn_close(conn_t *c) {
  if (c->phase == P_CLOSING) return;
  c->phase = P_CLOSING;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

/* Closes without a word to the peer (it is gone or stalled). */
static void conn_drop(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_drop(conn_t *c, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (c->phase != P_DONE && c->phase != P_FAILING) {
    c->srv->st.dropped++;
    conn_log(c, "dropped: %s", why);
  }
  conn_close(c);
}

/* ------------------------------------------------------------ replies ---- */

static void flush(conn_t *c);

/* Reply bytes not yet taken by the peer: those libuv still holds plus those
 * in the kernel's send queue (SIOCOUTQ). Falling means the peer reads. */
static size_t unsent(conn_t *c) {
  size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
  uv_os_fd_t fd;
  int k = 0;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, SIOCOUTQ, &k) == 0 && k > 0) q += (size_t)k;
  return q;
}

static void after_flush(conn_t *c) {
  if ((c->phase == P_DONE || c->phase == P_FAILING) && !c->shut) {
    c->shut = 1;
    /* Everything we had to say is in the kernel: send FIN, then wait for the
     * peer's EOF (closing with unread input would reset the connection and
     * could destroy the reply in flight). */
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, NULL) != 0) conn_close(c);
  }
}

static void on_write(uv_write_t *req, int status) {
  conn_t *c = req->data;
  c->writing = 0;
  if (c->phase == P_CLOSING) return;
  if (status < 0) {
    conn_drop(c, "write failed: %s", uv_strerror(status));
    return;
  }
  c->last_active = uv_now(c->srv->loop);
  flush(c);
  if (c->phase == P_CLOSING) return;
  if (c->paused) {  /* out[cur] is empty now: room to go on mid-frame */
    c->paused = 0;
    process(c);
  } else if (!c->writing) {
    after_flush(c);
  }
}

static void flush(conn_t *c) {
  if (c->writing || c->out_len[c->cur] == 0) return;
  uv_buf_t b = uv_buf_init((char *)c->out[c->cur], (unsigned)c->out_len[c->cur]);
  int r = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (r != 0) {
    conn_drop(c, "write failed: %s", uv_strerror(r));
    return;
  }
  c->writing = 1;
  c->wq_seen = unsent(c);
  c->cur ^= 1;
  c->out_len[c->cur] = 0;
}

static uint8_t *reply(conn_t *c, int type, uint32_t len) {
  uint8_t *p = c->out[c->cur] + c->out_len[c->cur];
  c->out_len[c->cur] += EVSNN_PROTO_FRAME_HEADER + len;
  return evsnn__frame_put(p, type, len);
}

/* Sends ERROR (code, stream offset, message), logs the reason and closes
 * once it is written. Returns -1 so that handlers can `return conn_fail(..)`. */
static int conn_fail(conn_t *c, int code, uint64_t at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int conn_fail(conn_t *c, int code, uint64_t at, const char *fmt, ...) {
  char msg[EVSNN_PROTO_MAX_MESSAGE];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
  c->srv->st.dropped++;
  conn_log(c, "dropped: byte %llu: %s: %s", (unsigned long long)at, evsnn_err_name(code), msg);
  uint8_t *p = reply(c, EVSNN_FRAME_ERROR, EVSNN_PROTO_ERROR_FIXED + (uint32_t)n);
  evsnn__put_le32(p, (uint32_t)code);
  evsnn__put_le64(p + 4, at);
  memcpy(p + EVSNN_PROTO_ERROR_FIXED, msg, (size_t)n);
  c->phase = P_FAILING;
  c->paused = 0;
  if (c->writing) return -1;
  flush(c);
  return -1;
}

/* ------------------------------------------------------------- frames ---- */

/* From the engine, inside evsnn_ctime_push/flush: the decision changed at t.
 * on_events made room for one DECISION per event of the chunk (the engine
 * reports at most one change per instant, and each event is at most one
 * new instant); if that ever failed to hold the stream fails, it does not
 * overrun the buffer. */
static void on_decision(void *ud, int64_t t, uint32_t cls) {
  conn_t *c = ud;
  if (OUT_CAP - c->out_len[c->cur] < OUT_RESERVE + EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_DECISION_SIZE) {
    if (!c->net_err) c->net_err = EVSNN_ERANGE;
    return;
  }
  uint8_t *p = reply(c, EVSNN_FRAME_DECISION, EVSNN_PROTO_DECISION_SIZE);
  evsnn__put_le64(p, (uint64_t)t);
  evsnn__put_le64(p + 8, c->ct.input_events);
  evsnn__put_le32(p + 16, cls);
  c->decisions++;
}

/* Runs n decoded events through the connection's network, in order. */
static int run_events(conn_t *c, const evsnn_event_t *ev, size_t n) {
  if (!c->ct_ready) return 0;
  for (size_t i = 0; i < n; i++) {
    int64_t j = evsnn_sensor_map_index(&c->map, &ev[i]);
    if (j < 0) continue;
    int err = evsnn_ctime_push(&c->ct, ev[i].t, (uint32_t)j);
    if (err != 0) return err;
  }
  return c->net_err;
}

static int on_hello(conn_t *c, const uint8_t *p, uint32_t len, uint64_t at) {
  if (len < EVSNN_PROTO_HELLO_FIXED || memcmp(p, EVSNN_PROTO_MAGIC, 8) != 0)
    return conn_fail(c, EVSNN_EFORMAT, at, "HELLO: expected magic \"" EVSNN_PROTO_MAGIC "\"");
  unsigned version = evsnn__le16(p + 8), mode = evsnn__le16(p + 10);
  if (version != EVSNN_PROTO_VERSION)
    return conn_fail(c, EVSNN_EVERSION, at + 8, "HELLO: protocol version %u, this server speaks %d", version,
                     EVSNN_PROTO_VERSION);
  if (mode != EVSNN_REPLY_DECISIONS)
    return conn_fail(c, EVSNN_EUNSUPPORTED, at + 10, "HELLO: reply mode %u, this server knows 0 (decisions)",
                     mode);
  const uint8_t *h = p + EVSNN_PROTO_HELLO_FIXED;
  size_t hl = len - EVSNN_PROTO_HELLO_FIXED, used;
  at += EVSNN_PROTO_HELLO_FIXED;
  if (hl >= EVSNN_EVENT_HEADER_FIXED && evsnn__le32(h + 28) > EVSNN_PROTO_MAX_META)
    return conn_fail(c, EVSNN_ERANGE, at + 28, "HELLO: %u bytes of metadata, this server takes %d",
                     evsnn__le32(h + 28), EVSNN_PROTO_MAX_META);
  int err = evsnn_event_header_decode(h, hl, &c->sensor, &used);
  if (err != 0) return conn_fail(c, err, at, "HELLO: event %s", evsnn_error_detail());
  if (used != hl)
    return conn_fail(c, EVSNN_EPROTO, at + used, "HELLO: %zu bytes after the event header", hl - used);
  if (c->sensor.kind != EVSNN_EVENTS_DVS)
    return conn_fail(c, EVSNN_EUNSUPPORTED, at + 11, "HELLO: event kind %d, this server takes DVS events (0)",
                     c->sensor.kind);
  const evsnn_net_t *net = c->srv->o.net;
  if (net) {
    err = evsnn_sensor_map_fit(&c->map, c->sensor.width, c->sensor.height, net->sizes[0]);
    if (err != 0) return conn_fail(c, err, at + 12, "HELLO: sensor %ux%u: %s", c->sensor.width, c->sensor.height,
                                   evsnn_error_detail());
    evsnn_ctime_opts_t o = {.dt_us = c->srv->o.dt_us, .on_decision = on_decision, .ud = c};
    err = evsnn_ctime_init(&c->ct, net, &o);
    if (err != 0) return conn_fail(c, err, at, "HELLO: network state: %s", evsnn_error_detail());
    c->ct_ready = 1;
  }
  uint8_t *w = reply(c, EVSNN_FRAME_WELCOME, EVSNN_PROTO_WELCOME_SIZE);
  memcpy(w, EVSNN_PROTO_MAGIC, 8);
  evsnn__put_le16(w + 8, EVSNN_PROTO_VERSION);
  evsnn__put_le16(w + 10, EVSNN_REPLY_DECISIONS);
  evsnn__put_le32(w + 12, EVSNN_PROTO_MAX_PAYLOAD);
  evsnn__put_le32(w + 16, c->srv->o.idle_ms);
  evsnn__put_le32(w + 20, net ? net->sizes[0] : 0);
  evsnn__put_le32(w + 24, net ? net->sizes[net->n_layers] : 0);
  evsnn__put_le32(w + 28, 0);
  c->phase = P_STREAM;
  return 0;
}

/* Decodes and runs the payload from frame_done on; 1 when it pauses. */
static int on_events(conn_t *c, const uint8_t *p, uint32_t len, uint64_t at) {
  if (len == 0) return conn_fail(c, EVSNN_EPROTO, at, "EVENTS: empty frame");
  while (c->frame_done < len) {
    if (OUT_CAP - c->out_len[c->cur] < CHUNK_REPLY + OUT_RESERVE) {
      c->paused = 1;
      return 1;
    }
    size_t n, used;
    int err = evsnn_event_records_decode(&c->t, p + c->frame_done, len - c->frame_done, c->ev, CHUNK, &n, &used);
    if (n > 0) {
      c->digest = evsnn__digest(c->digest, c->ev, n);
      int nerr = run_events(c, c->ev, n);
      if (nerr != 0)
        return conn_fail(c, nerr, at + c->frame_done, "EVENTS: the network refused an event of events %llu..%llu: %s",
                         (unsigned long long)c->events, (unsigned long long)(c->events + n - 1),
                         nerr == c->net_err ? "more decisions than the reply buffer holds" : evsnn_error_detail());
      c->events += n;
      c->srv->st.events += n;
    }
    if (err != 0)
      return conn_fail(c, err, at + c->frame_done + used, "EVENTS: event %llu: %s",
                       (unsigned long long)c->events, evsnn_error_detail());
    if (n == 0)
      return conn_fail(c, EVSNN_EPROTO, at + c->frame_done, "EVENTS: frame ends mid-record (%zu bytes left)",
                       (size_t)len - c->frame_done);
    c->frame_done += used;
  }
  return 0;
}

static int on_end(conn_t *c, const uint8_t *p, uint32_t len, uint64_t at) {
  /* Room for the flush's last DECISION and the RESULT. */
  if (OUT_CAP - c->out_len[c->cur] < OUT_RESERVE + 2 * EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_DECISION_SIZE +
                                         EVSNN_PROTO_RESULT_FIXED + 4 * EVSNN_PROTO_MAX_OUTPUTS) {
    c->paused = 1;
    return 1;
  }
  if (len != 9 || p[0] != 1)
    return conn_fail(c, EVSNN_EPROTO, at, "END: expected the 9-byte end record (01, u64 count), got %u bytes", len);
  uint64_t want = evsnn__le64(p + 1);
  if (want != c->events)
    return conn_fail(c, EVSNN_ECORRUPT, at + 1, "END: says %llu events, %llu arrived",
                     (unsigned long long)want, (unsigned long long)c->events);
  const evsnn_net_t *net = c->srv->o.net;
  uint32_t n_out = 0;
  int32_t cls = -1;
  if (c->ct_ready) {
    int err = evsnn_ctime_flush(&c->ct);
    if (err == 0) err = c->net_err;
    if (err != 0) return conn_fail(c, err, at, "END: running the rest: %s", evsnn_error_detail());
    cls = evsnn_ctime_decision(&c->ct);
    evsnn_counts_t k;
    evsnn_ctime_counts(&c->ct, &k);
    for (uint32_t m = 0; m < net->n_layers; m++) c->srv->st.synops += k.synops[m];
    for (uint32_t m = 1; m < net->n_layers; m++) c->srv->st.spikes += k.spikes[m];
    n_out = net->sizes[net->n_layers];
    if (n_out > EVSNN_PROTO_MAX_OUTPUTS) n_out = 0;
  }
  uint8_t *w = reply(c, EVSNN_FRAME_RESULT, EVSNN_PROTO_RESULT_FIXED + 4 * n_out);
  evsnn__put_le64(w, c->events);
  evsnn__put_le64(w + 8, (uint64_t)c->t);
  evsnn__put_le64(w + 16, c->digest);
  evsnn__put_le32(w + 24, (uint32_t)cls);
  evsnn__put_le32(w + 28, n_out);
  if (n_out > 0) {
    float *v = (float *)c->ev; /* scratch: 16 KiB, room for EVSNN_PROTO_MAX_OUTPUTS floats */
    evsnn_ctime_potentials(&c->ct, net->n_layers, c->t, v);
    for (uint32_t k = 0; k < n_out; k++) {
      uint32_t bits;
      memcpy(&bits, &v[k], 4);
      evsnn__put_le32(w + EVSNN_PROTO_RESULT_FIXED + 4 * k, bits);
    }
  }
  c->phase = P_DONE;
  c->srv->st.served++;
  conn_log(c, "served %llu events in %.1f ms, %llu decision changes, final decision %d",
           (unsigned long long)c->events, (double)(uv_hrtime() - c->started) * 1e-6,
           (unsigned long long)c->decisions, cls);
  return 0;
}

/* Handles every whole frame held, pausing mid-frame when the replies are
 * full; then flushes the replies and decides whether to keep reading. */
static void process(conn_t *c) {
  while ((c->phase == P_HELLO || c->phase == P_STREAM) && c->len - c->pos >= EVSNN_PROTO_FRAME_HEADER) {
    const uint8_t *f = c->in + c->pos;
    uint64_t at = c->in_offset + c->pos;
    int type = f[0];
    uint32_t len = evsnn__le32(f + 1);
    /* Checked on the header, before the payload arrives. */
    if (c->phase == P_HELLO && type != EVSNN_FRAME_HELLO) {
      conn_fail(c, EVSNN_EPROTO, at, "expected a HELLO frame ('H'), got type 0x%02x", type);
      break;
    }
    if (c->phase == P_STREAM && type != EVSNN_FRAME_EVENTS && type != EVSNN_FRAME_END) {
      conn_fail(c, EVSNN_EPROTO, at, "expected EVENTS ('E') or END ('Z'), got type 0x%02x", type);
      break;
    }
    if (len > EVSNN_PROTO_MAX_PAYLOAD) {
      conn_fail(c, EVSNN_EPROTO, at, "frame of %u bytes over the %d-byte limit", len, EVSNN_PROTO_MAX_PAYLOAD);
      break;
    }
    if (c->len - c->pos < EVSNN_PROTO_FRAME_HEADER + (size_t)len) break;
    const uint8_t *pl = f + EVSNN_PROTO_FRAME_HEADER;
    uint64_t pat = at + EVSNN_PROTO_FRAME_HEADER;
    int r = type == EVSNN_FRAME_HELLO ? on_hello(c, pl, len, pat)
            : type == EVSNN_FRAME_EVENTS ? on_events(c, pl, len, pat)
                                         : on_end(c, pl, len, pat);
    if (r != 0) break;
    c->pos += EVSNN_PROTO_FRAME_HEADER + (size_t)len;
    c->frame_done = 0;
  }
  if (c->phase == P_CLOSING) return;
  /* Keep the unconsumed bytes (at most one partial frame) at the front. */
  if (c->pos > 0) {
    memmove(c->in, c->in + c->pos, c->len - c->pos);
    c->len -= c->pos;
    c->in_offset += c->pos;
    c->pos = 0;
  }
  if (c->phase == P_DONE || c->phase == P_FAILING) c->len = 0;
  /* Read on (discarding, after RESULT or ERROR, until the peer's EOF)
   * unless paused for back-pressure. */
  if (!c->paused && !c->reading) {
    int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r != 0) {
      conn_drop(c, "read failed: %s", uv_strerror(r));
      return;
    }
    c->reading = 1;
  } else if (c->paused && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    c->srv->st.read_pauses++;
  }
  flush(c);
}

/* --------------------------------------------------------------- input ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn_t *c = h->data;
  b->base = (char *)c->in + c->len;
  b->len = IN_CAP - c->len;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b) {
  conn_t *c = st->data;
  if (nread == 0 || c->phase == P_CLOSING) return;
  if (nread > 0) {
    if (c->phase == P_DONE || c->phase == P_FAILING) return; /* discarded */
    c->len += (size_t)nread;
    c->last_active = uv_now(c->srv->loop);
    process(c);
    return;
  }
  if (nread == UV_ENOBUFS) { /* cannot happen: a paused connection does not read */
    conn_drop(c, "input buffer full");
    return;
  }
  /* EOF, or a reset (a peer that closes with our replies unread resets). */
  char how[96] = "";
  if (nread != UV_EOF) snprintf(how, sizeof how, " (%s)", uv_strerror((int)nread));
  if (c->phase == P_DONE || c->phase == P_FAILING)
    conn_close(c);
  else if (c->len > c->pos)
    conn_drop(c, "disconnected mid-frame: %zu bytes of a frame at byte %llu%s", c->len - c->pos,
              (unsigned long long)(c->in_offset + c->pos), how);
  else if (c->phase == P_STREAM)
    conn_drop(c, "disconnected before END, after %llu events%s", (unsigned long long)c->events, how);
  else
    conn_drop(c, "disconnected before HELLO%s", how);
}

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  if (c->phase == P_CLOSING) return;
  uint64_t lim = c->srv->o.idle_ms, idle = uv_now(c->srv->loop) - c->last_active;
  if (idle >= lim && c->writing) {
    /* A slow reader: the write in flight is not complete, but the kernel
     * has taken more of it since the last look. That is progress. */
    size_t q = unsent(c);
    if (q < c->wq_seen) {
      c->wq_seen = q;
      c->last_active = uv_now(c->srv->loop);
      idle = 0;
    }
  }
  if (idle < lim) {
    uv_timer_start(t, on_timer, lim - idle, 0);
    return;
  }
  if (c->phase == P_DONE || c->phase == P_FAILING)
    conn_close(c); /* the peer did not take its last reply or did not hang up */
  else if (c->paused)
    conn_drop(c, "stalled: its replies not read for %llu ms", (unsigned long long)idle);
  else if (c->len > 0)
    conn_drop(c, "stalled mid-frame for %llu ms (%zu bytes of a frame at byte %llu)", (unsigned long long)idle,
              c->len, (unsigned long long)c->in_offset);
  else if (c->phase == P_HELLO)
    conn_drop(c, "no HELLO within %llu ms", (unsigned long long)idle);
  else
    conn_drop(c, "idle for %llu ms after %llu events", (unsigned long long)idle, (unsigned long long)c->events);
}

/* ------------------------------------------------------------- accept ---- */

static size_t conn_size(void) {
  return sizeof(conn_t) + IN_CAP + 2 * (size_t)OUT_CAP + CHUNK * sizeof(evsnn_event_t);
}

static void on_connection(uv_stream_t *ls, int status) {
  evsnn__server_t *s = ls->data;
  if (status < 0) {
    if (s->o.log) {
      char line[160];
      snprintf(line, sizeof line, "accept failed: %s", uv_strerror(status));
      s->o.log(s->o.log_ud, line);
    }
    return;
  }
  size_t bytes = conn_size();
  conn_t *c = calloc(1, bytes);
  if (c == NULL) {
    if (s->o.log) s->o.log(s->o.log_ud, "accept: out of memory, connection left in the backlog");
    return;
  }
  /* The events first: they need their alignment, the byte buffers none. */
  c->ev = (evsnn_event_t *)(c + 1);
  c->in = (uint8_t *)(c->ev + CHUNK);
  c->out[0] = c->in + IN_CAP;
  c->out[1] = c->out[0] + OUT_CAP;
  c->srv = s;
  c->id = ++s->next_id;
  c->bytes = bytes;
  c->digest = EVSNN_DIGEST_INIT;
  c->phase = P_HELLO;
  snprintf(c->peer, sizeof c->peer, "?");
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c->wreq.data = c->sreq.data = c;
  c->handles = 2;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->st.accepted++;
  s->st.active++;
  s->st.bytes_now += bytes;
  if (s->st.bytes_now > s->st.bytes_peak) s->st.bytes_peak = s->st.bytes_now;
  s->st.conn_bytes = bytes;
  c->last_active = uv_now(s->loop);
  c->started = uv_hrtime();
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
  uv_timer_start(&c->timer, on_timer, s->o.idle_ms, 0);
  if (s->st.active > s->o.max_conns) {
    conn_fail(c, EVSNN_ERANGE, 0, "server full: %u connections", s->o.max_conns);
    process(c);
    return;
  }
  process(c);
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
  if (s->o.idle_ms == 0) s->o.idle_ms = 30000;
  if (s->o.max_conns == 0) s->o.max_conns = 256;
  if (!(s->o.dt_us > 0)) s->o.dt_us = 1000;
  s->st.conn_bytes = conn_size();
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->listener_open = 1;
  int r = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
  if (r == 0) r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (r == 0) {
    struct sockaddr_storage b;
    int bl = sizeof b;
    r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&b, &bl);
    s->port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                            : ((struct sockaddr_in *)&b)->sin_port);
  }
  if (r != 0) {
    int err = evsnn__fail(EVSNN_ESYS, "listen on %s:%d: %s", opts->host, opts->port, uv_strerror(r));
    s->closing = 1;
    s->done = NULL;
    uv_close((uv_handle_t *)&s->listener, NULL);
    /* The handle is closed on the next loop turn; run it so s can be freed. */
    uv_run(loop, UV_RUN_NOWAIT);
    free(s);
    return err;
  }
  *out = s;
  return 0;
}

int evsnn__server_port(const evsnn__server_t *s) { return s->port; }

void evsnn__server_stats(const evsnn__server_t *s, evsnn__server_stats_t *st) { *st = s->st; }

static void on_listener_closed(uv_handle_t *h) {
  evsnn__server_t *s = h->data;
  s->listener_open = 0;
  server_maybe_done(s);
}

void evsnn__server_close(evsnn__server_t *s, void (*done)(void *ud, const evsnn__server_stats_t *st), void *ud) {
  if (s->closing) return;
  s->closing = 1;
  s->done = done;
  s->done_ud = ud;
  for (conn_t *c = s->conns; c; c = c->next)
    if (c->phase != P_CLOSING) conn_drop(c, "server shutting down");
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}
