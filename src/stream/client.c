/* The client of `evsnn send` (and of bench_serve): streams the events of any
 * readable event file to a server in the framed protocol of
 * docs/protocol.md and collects its replies.
 *
 * Two frame buffers alternate: while one is being written the next frame is
 * encoded into the other, so at most two frames are in flight and a slow
 * server slows the reader down (TCP's flow control reaches the file). The
 * client keeps its own digest of the events it sent and checks the
 * server's RESULT against it, so a run that ends with exit code 0 means the
 * server decoded exactly the events of the file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/proto.h"
#include "stream/serve.h"

#define FRAME_CAP (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_MAX_PAYLOAD)
#define MAX_FRAME_EVENTS (EVSNN_PROTO_MAX_PAYLOAD / EVSNN_EVENT_RECORD_MAX)

struct evsnn__client_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_write_t wreq[2];
  uv_loop_t *loop;
  evsnn_event_reader_t *r;
  evsnn__client_opts_t o;
  evsnn__client_cbs_t cb;
  char where[300];
  uint8_t *out[2];
  int busy[2];
  uint8_t *in;
  size_t in_len;
  evsnn_event_t *ev;
  int64_t last_t;
  uint64_t sent, digest;
  int end_sent, finished, handles, welcomed;
  uint64_t last_active;
};

static void on_closed(uv_handle_t *h) {
  evsnn__client_t *c = h->data;
  if (--c->handles == 0) free(c);
}

/* Reports once, then closes. */
static void finish(evsnn__client_t *c, int err, const evsnn__result_t *res, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void finish(evsnn__client_t *c, int err, const evsnn__result_t *res, const char *fmt, ...) {
  if (c->finished) return;
  c->finished = 1;
  char msg[600] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  c->cb.done(c->cb.ud, err, msg, res);
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  uv_close((uv_handle_t *)&c->timer, on_closed);
}

/* ------------------------------------------------------------- sending ---- */

static void on_write(uv_write_t *req, int status);

/* Encodes the next frame (EVENTS, or END when the reader is done) into
 * buffer i and writes it. */
static void send_next(evsnn__client_t *c, int i) {
  if (c->end_sent || c->finished) return;
  uint8_t *f = c->out[i];
  size_t want = c->o.frame_events, n = 0;
  while (n < want) {
    size_t got;
    int err = evsnn_event_read(c->r, c->ev + n, want - n, &got);
    if (err != 0) {
      finish(c, err, NULL, "%s", evsnn_error_detail());
      return;
    }
    if (got == 0) break;
    n += got;
  }
  uint32_t len;
  if (n > 0) {
    size_t k;
    int err = evsnn_event_records_encode(&c->last_t, c->ev, n, f + EVSNN_PROTO_FRAME_HEADER, &k);
    if (err != 0) {
      finish(c, err, NULL, "event %llu: %s", (unsigned long long)c->sent, evsnn_error_detail());
      return;
    }
    c->digest = evsnn__digest(c->digest, c->ev, n);
    c->sent += n;
    len = (uint32_t)k;
    evsnn__frame_put(f, EVSNN_FRAME_EVENTS, len);
  } else {
    evsnn__end_encode(evsnn__frame_put(f, EVSNN_FRAME_END, EVSNN_PROTO_END_SIZE), c->sent);
    len = EVSNN_PROTO_END_SIZE;
    c->end_sent = 1;
  }
  uv_buf_t b = uv_buf_init((char *)f, EVSNN_PROTO_FRAME_HEADER + len);
  int r = uv_write(&c->wreq[i], (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (r != 0) {
    finish(c, EVSNN_ESYS, NULL, "%s: write: %s", c->where, uv_strerror(r));
    return;
  }
  c->busy[i] = 1;
}

static void on_write(uv_write_t *req, int status) {
  evsnn__client_t *c = req->data;
  int i = req == &c->wreq[1];
  c->busy[i] = 0;
  if (c->finished) return;
  if (status < 0) {
    /* The server may have said why before it hung up: let the read side
     * report that ERROR; this is only the fallback. */
    if (status != UV_ECANCELED && status != UV_EPIPE && status != UV_ECONNRESET)
      finish(c, EVSNN_ESYS, NULL, "%s: write: %s", c->where, uv_strerror(status));
    return;
  }
  c->last_active = uv_now(c->loop);
  send_next(c, i);
}

/* ------------------------------------------------------------- replies ---- */

/* Handles one whole reply frame; 1 when the stream is over. */
static int on_reply(evsnn__client_t *c, int type, const uint8_t *p, uint32_t len) {
  uint32_t at;
  int err = EVSNN_EPROTO;
  switch (type) {
  case EVSNN_FRAME_WELCOME: {
    evsnn__welcome_t w;
    if ((err = evsnn__welcome_decode(p, len, &w, &at)) != 0) break;
    c->welcomed = 1;
    return 0;
  }
  case EVSNN_FRAME_DECISION: {
    evsnn__decision_t d;
    if ((err = evsnn__decision_decode(p, len, &d, &at)) != 0) break;
    if (c->cb.decision) c->cb.decision(c->cb.ud, d.t, d.events, d.cls);
    return 0;
  }
  case EVSNN_FRAME_RESULT: {
    evsnn__result_t res;
    if ((err = evsnn__result_decode(p, len, &res, &at)) != 0) break;
    if (res.events != c->sent || res.digest != c->digest)
      finish(c, EVSNN_ECORRUPT, &res, "%s: the server decoded %llu events (digest %016llx), %llu were sent (%016llx)",
             c->where, (unsigned long long)res.events, (unsigned long long)res.digest,
             (unsigned long long)c->sent, (unsigned long long)c->digest);
    else
      finish(c, 0, &res, NULL);
    return 1;
  }
  case EVSNN_FRAME_ERROR: {
    int code;
    uint64_t offset;
    const char *msg;
    uint32_t n;
    if ((err = evsnn__error_decode(p, len, &code, &offset, &msg, &n, &at)) != 0) break;
    if (code >= 0 || code <= EVSNN__ERR_FIRST || code >= EVSNN__ERR_END) code = EVSNN_EPROTO;
    finish(c, code, NULL, "%s: server: byte %llu: %.*s", c->where, (unsigned long long)offset, (int)n, msg);
    return 1;
  }
  default:
    finish(c, EVSNN_EPROTO, NULL, "%s: reply frame type 0x%02x of %u bytes not understood", c->where, type, len);
    return 1;
  }
  finish(c, err, NULL, "%s: %s", c->where, evsnn_error_detail());
  return 1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  evsnn__client_t *c = h->data;
  b->base = (char *)c->in + c->in_len;
  b->len = FRAME_CAP - c->in_len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  evsnn__client_t *c = s->data;
  if (c->finished || nread == 0) return;
  if (nread < 0) {
    if (nread == UV_EOF)
      finish(c, EVSNN_EPROTO, NULL, "%s: the server hung up before its RESULT (%llu events sent)", c->where,
             (unsigned long long)c->sent);
    else
      finish(c, EVSNN_ESYS, NULL, "%s: read: %s", c->where, uv_strerror((int)nread));
    return;
  }
  c->in_len += (size_t)nread;
  c->last_active = uv_now(c->loop);
  size_t pos = 0;
  while (c->in_len - pos >= EVSNN_PROTO_FRAME_HEADER) {
    int type;
    uint32_t len;
    evsnn__frame_get(c->in + pos, &type, &len);
    if (len > EVSNN_PROTO_MAX_PAYLOAD) {
      finish(c, EVSNN_EPROTO, NULL, "%s: reply frame of %u bytes over the limit", c->where, len);
      return;
    }
    if (c->in_len - pos < EVSNN_PROTO_FRAME_HEADER + (size_t)len) break;
    if (on_reply(c, type, c->in + pos + EVSNN_PROTO_FRAME_HEADER, len)) return;
    pos += EVSNN_PROTO_FRAME_HEADER + (size_t)len;
  }
  memmove(c->in, c->in + pos, c->in_len - pos);
  c->in_len -= pos;
}

/* ------------------------------------------------------------- connect ---- */

static void on_timer(uv_timer_t *t) {
  evsnn__client_t *c = t->data;
  uint64_t idle = uv_now(c->loop) - c->last_active;
  if (idle < c->o.timeout_ms) {
    uv_timer_start(t, on_timer, c->o.timeout_ms - idle, 0);
    return;
  }
  finish(c, EVSNN_EIO, NULL, "%s: no progress for %llu ms (%llu events sent%s)", c->where,
         (unsigned long long)idle, (unsigned long long)c->sent, c->end_sent ? ", waiting for the RESULT" : "");
}

static void on_connect(uv_connect_t *req, int status) {
  evsnn__client_t *c = req->data;
  if (c->finished) return;
  if (status < 0) {
    finish(c, EVSNN_ESYS, NULL, "%s: connect: %s", c->where, uv_strerror(status));
    return;
  }
  c->last_active = uv_now(c->loop);
  uv_tcp_nodelay(&c->tcp, 1);
  int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (r != 0) {
    finish(c, EVSNN_ESYS, NULL, "%s: read: %s", c->where, uv_strerror(r));
    return;
  }
  /* HELLO from the reader's header, in buffer 0; the first EVENTS in 1. */
  const evsnn_event_info_t *info = evsnn_event_reader_info(c->r);
  evsnn_event_info_t h = *info;
  h.kind = EVSNN_EVENTS_DVS;
  h.meta = "";  /* the file's own metadata stays with the file */
  h.channels = info->channels ? info->channels : 2;
  evsnn__hello_t hello = {.version = EVSNN_PROTO_VERSION, .mode = EVSNN_REPLY_DECISIONS, .sensor = h};
  size_t hs = evsnn__hello_size(&h);
  int err = evsnn__hello_encode(evsnn__frame_put(c->out[0], EVSNN_FRAME_HELLO, (uint32_t)hs), &hello);
  if (err != 0) {
    finish(c, err, NULL, "%s", evsnn_error_detail());
    return;
  }
  uv_buf_t b = uv_buf_init((char *)c->out[0], (unsigned)(EVSNN_PROTO_FRAME_HEADER + hs));
  r = uv_write(&c->wreq[0], (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (r != 0) {
    finish(c, EVSNN_ESYS, NULL, "%s: write: %s", c->where, uv_strerror(r));
    return;
  }
  c->busy[0] = 1;
  send_next(c, 1);
}

int evsnn__client_start(evsnn__client_t **out, uv_loop_t *loop, const char *host, int port,
                        evsnn_event_reader_t *r, const evsnn__client_opts_t *opts,
                        const evsnn__client_cbs_t *cbs) {
  *out = NULL;
  const evsnn_event_info_t *info = evsnn_event_reader_info(r);
  if (info->kind != EVSNN_EVENTS_DVS)
    return evsnn__fail(EVSNN_EUNSUPPORTED, "the server takes sensor (DVS) events; this is a spike recording");
  struct sockaddr_storage sa;
  const char *ip = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
  if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&sa) != 0)
    return evsnn__fail(EVSNN_EINVAL, "%s: not an IPv4 or IPv6 address (or localhost)", host);
  size_t bytes = sizeof(evsnn__client_t) + 3 * (size_t)FRAME_CAP + MAX_FRAME_EVENTS * sizeof(evsnn_event_t);
  evsnn__client_t *c = calloc(1, bytes);
  if (c == NULL) return evsnn__fail(EVSNN_ENOMEM, "client");
  c->ev = (evsnn_event_t *)(c + 1); /* first: the events need their alignment */
  c->out[0] = (uint8_t *)(c->ev + MAX_FRAME_EVENTS);
  c->out[1] = c->out[0] + FRAME_CAP;
  c->in = c->out[1] + FRAME_CAP;
  c->loop = loop;
  c->r = r;
  c->cb = *cbs;
  if (opts) c->o = *opts;
  if (c->o.frame_events == 0 || c->o.frame_events > MAX_FRAME_EVENTS) c->o.frame_events = MAX_FRAME_EVENTS;
  if (c->o.timeout_ms == 0) c->o.timeout_ms = 30000;
  c->digest = EVSNN_DIGEST_INIT;
  snprintf(c->where, sizeof c->where, "%s:%d", host, port);
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->handles = 2;
  c->tcp.data = c->timer.data = c->creq.data = c->wreq[0].data = c->wreq[1].data = c;
  c->last_active = uv_now(loop);
  uv_timer_start(&c->timer, on_timer, c->o.timeout_ms, 0);
  int rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&sa, on_connect);
  if (rc != 0) {
    /* Report through done like every other failure once the handles exist. */
    finish(c, EVSNN_ESYS, NULL, "%s: connect: %s", c->where, uv_strerror(rc));
  }
  *out = c;
  return 0;
}
