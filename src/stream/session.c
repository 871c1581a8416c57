/* One connection of evsnn serve (session.h), with no libuv: the protocol's
 * rules, back-pressure, the deadlines and the memory one connection holds.
 *
 * Memory. A session starts with no buffer at all. The first bytes from the
 * peer get an input buffer of IN_FIRST bytes, grown to exactly one frame
 * (header + payload) when a frame header announces more, so never beyond
 * IN_CAP. HELLO gets reply buffers with room for WELCOME and an ERROR
 * (SMALL_OUT); the full ones (two of OUT_CAP: one being written while the
 * other fills), the event scratch and the network's state
 * (evsnn_ctime_new, its bytes counted with the buffers') come with the
 * first EVENTS or END frame that is whole. A connection refused earlier
 * gets only the room of its ERROR frame.
 * So a session holds at most evsnn__session_max_bytes(), whatever the peer
 * does.
 *
 * Back-pressure. A frame is processed as soon as it is whole, in chunks of
 * CHUNK events; before each chunk the reply buffer must have room for the
 * most that chunk could say (one DECISION per event), otherwise the session
 * pauses mid-frame and takes no input until its replies are written. So a
 * client that sends fast but does not read is held by TCP's flow control.
 *
 * Deadlines (the transport calls evsnn__session_tick): HELLO must be whole
 * within header_ms of accept; over each window of rate_ms the peer must
 * move min_rate bytes/s (bytes received plus reply bytes it took); and no
 * progress at all for idle_ms ends any connection. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/proto.h"
#include "stream/session.h"

#define IN_FIRST 256
#define IN_CAP (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_MAX_PAYLOAD)
#define OUT_CAP (64 * 1024)
/* The reply buffers until the first EVENTS: WELCOME, or an ERROR. */
#define SMALL_OUT (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_WELCOME_SIZE + EVSNN_PROTO_ERROR_MAX)
#define CHUNK 1024
#define FRAME_DECISION (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_DECISION_SIZE)
#define CHUNK_REPLY ((size_t)CHUNK * FRAME_DECISION)
/* Room END needs: the flush's last DECISION, the RESULT, and ERROR's reserve. */
#define END_REPLY (FRAME_DECISION + EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_RESULT_FIXED + 4 * EVSNN_PROTO_MAX_OUTPUTS)

struct evsnn__session_s {
  evsnn__session_limits_t lim;
  int phase;
  int paused;  /* stopped mid-frame until the replies drain */
  int taken;   /* out[cur ^ 1] is handed out, not yet written */
  /* Input: bytes in[pos .. len) not yet consumed; in[0 .. pos) are done. */
  uint8_t *in;
  size_t in_cap, len, pos;
  size_t frame_done;   /* payload bytes of the frame at pos already decoded */
  uint64_t in_offset;  /* stream offset of in[0] */
  /* Replies: out[cur] fills while out[cur ^ 1] may be out being written. */
  uint8_t *out_mem, *out[2];
  size_t out_cap, out_len[2];
  int cur;
  evsnn_event_t *ev;  /* CHUNK events, in out_mem after the reply buffers */
  size_t bytes;
  /* The stream, and the network: the library's sensor map and
   * continuous-time state, the same calls a local run makes. */
  int64_t t;
  uint64_t events, digest, decisions, synops, spikes;
  int32_t decision;
  evsnn_sensor_map_t map;
  evsnn_ctime_t *ct;     /* NULL until the first EVENTS or END, or without a network */
  int net_err;  /* the first error of the decision callback */
  /* Deadlines. */
  uint64_t t_start, t_progress, t_window, window_bytes;
  size_t unsent_seen;
  int slow;
  char why[EVSNN_PROTO_MAX_MESSAGE + 100];
};

void evsnn__session_limits(evsnn__session_limits_t *l) {
  if (!(l->dt_us > 0)) l->dt_us = 1000;
  if (l->idle_ms == 0) l->idle_ms = 30000;
  if (l->header_ms == 0) l->header_ms = 10000;
  if (l->min_rate == 0) l->min_rate = 256;
  if (l->rate_ms == 0) l->rate_ms = 5000;
}

static void on_decision(void *ud, int64_t t, uint32_t cls);

static int state_new(evsnn_ctime_t **ct, const evsnn__session_limits_t *lim, void *ud) {
  evsnn_ctime_opts_t o = {.dt_us = lim->dt_us, .on_decision = ud ? on_decision : NULL, .ud = ud};
  return evsnn_ctime_new(ct, lim->net, &o);
}

size_t evsnn__session_max_bytes(const evsnn__session_limits_t *lim) {
  size_t state = 0;
  evsnn__session_limits_t l = *lim;
  evsnn__session_limits(&l);
  evsnn_ctime_t *ct;
  if (l.net && state_new(&ct, &l, NULL) == 0) state = evsnn_ctime_bytes(ct), evsnn_ctime_free(ct);
  return sizeof(evsnn__session_t) + IN_CAP + 2 * (size_t)OUT_CAP + CHUNK * sizeof(evsnn_event_t) + state;
}

int evsnn__session_new(evsnn__session_t **out, const evsnn__session_limits_t *lim, uint64_t now_ms) {
  evsnn__session_t *s = calloc(1, sizeof *s);
  *out = s;
  if (s == NULL) return evsnn__fail(EVSNN_ENOMEM, "session");
  s->lim = *lim;
  evsnn__session_limits(&s->lim);
  s->phase = EVSNN__SESSION_HELLO;
  s->digest = EVSNN_DIGEST_INIT;
  s->decision = -1;
  s->bytes = sizeof *s;
  s->t_start = s->t_progress = s->t_window = now_ms;
  return 0;
}

void evsnn__session_free(evsnn__session_t *s) {
  if (s == NULL) return;
  evsnn_ctime_free(s->ct);
  free(s->in);
  free(s->out_mem);
  free(s);
}

static int drop(evsnn__session_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int drop(evsnn__session_t *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->why, sizeof s->why, fmt, ap);
  va_end(ap);
  s->phase = EVSNN__SESSION_DROP;
  s->paused = 0;
  return -1;
}

/* The reply buffers: two of cap bytes, with the event scratch before them
 * when scratch is set. First small (WELCOME or ERROR), then, for the first
 * EVENTS or END, the full size: the bytes queued in out[cur] move along;
 * the caller makes sure none is out being written (taken). */
static int out_alloc(evsnn__session_t *s, size_t cap, int scratch) {
  size_t ev = scratch ? CHUNK * sizeof(evsnn_event_t) : 0;
  uint8_t *m = malloc(ev + 2 * cap);
  if (m == NULL) return drop(s, "out of memory for its replies");
  uint8_t *out0 = m + ev;
  if (s->out_mem) {
    memcpy(out0, s->out[s->cur], s->out_len[s->cur]);
    s->out_len[0] = s->out_len[s->cur];
    s->out_len[1] = 0;
    s->cur = 0;
    s->bytes -= (s->ev ? CHUNK * sizeof(evsnn_event_t) : 0) + 2 * s->out_cap;
    free(s->out_mem);
  }
  s->out_mem = m;
  s->ev = scratch ? (evsnn_event_t *)m : NULL; /* first: the events need their alignment */
  s->out[0] = out0;
  s->out[1] = out0 + cap;
  s->out_cap = cap;
  s->bytes += ev + 2 * cap;
  return 0;
}

static int fail(evsnn__session_t *s, int code, uint64_t at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void on_decision(void *ud, int64_t t, uint32_t cls);

/* Before the first EVENTS or END: the network state and the full reply
 * buffers. 1 when it must wait for the write of WELCOME to complete first
 * (paused), -1 on failure. */
static int out_full(evsnn__session_t *s, uint64_t at) {
  if (s->out_cap == OUT_CAP) return 0;
  if (s->taken) {
    s->paused = 1;
    return 1;
  }
  if (s->lim.net) {
    int err = state_new(&s->ct, &s->lim, s);
    if (err != 0) return fail(s, err, at, "network state: %s", evsnn_error_detail());
    s->bytes += evsnn_ctime_bytes(s->ct);
  }
  return out_alloc(s, OUT_CAP, 1);
}

static uint8_t *reply(evsnn__session_t *s, int type, uint32_t len) {
  uint8_t *p = s->out[s->cur] + s->out_len[s->cur];
  s->out_len[s->cur] += EVSNN_PROTO_FRAME_HEADER + len;
  return evsnn__frame_put(p, type, len);
}

static size_t room(const evsnn__session_t *s) { return s->out_cap - s->out_len[s->cur]; }

/* Queues ERROR (code, stream offset, message); the session is then over
 * once it is written. Returns -1 so that handlers can `return fail(..)`. */
static int fail(evsnn__session_t *s, int code, uint64_t at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(evsnn__session_t *s, int code, uint64_t at, const char *fmt, ...) {
  char msg[EVSNN_PROTO_MAX_MESSAGE + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (s->out_mem == NULL && out_alloc(s, EVSNN_PROTO_ERROR_MAX, 0) != 0) return -1;
  uint32_t n = evsnn__error_encode(s->out[s->cur] + s->out_len[s->cur] + EVSNN_PROTO_FRAME_HEADER, code, at, msg);
  reply(s, EVSNN_FRAME_ERROR, n);
  snprintf(s->why, sizeof s->why, "byte %llu: %s: %s", (unsigned long long)at, evsnn_err_name(code), msg);
  s->phase = EVSNN__SESSION_FAILED;
  s->paused = 0;
  return -1;
}

/* ------------------------------------------------------------- frames ---- */

/* From the engine, inside evsnn_ctime_push/flush: the decision changed at t.
 * on_events made room for one DECISION per event of the chunk (the engine
 * reports at most one change per instant, and each event is at most one
 * new instant); if that ever failed to hold the stream fails, it does not
 * overrun the buffer. */
static void on_decision(void *ud, int64_t t, uint32_t cls) {
  evsnn__session_t *s = ud;
  if (room(s) < EVSNN_PROTO_ERROR_MAX + FRAME_DECISION) {
    if (!s->net_err) s->net_err = EVSNN_ERANGE;
    return;
  }
  evsnn__decision_t d = {.t = t, .events = evsnn_ctime_input_events(s->ct), .cls = cls};
  evsnn__decision_encode(reply(s, EVSNN_FRAME_DECISION, EVSNN_PROTO_DECISION_SIZE), &d);
  s->decisions++;
}

/* Runs n decoded events through the network, in order. */
static int run_events(evsnn__session_t *s, const evsnn_event_t *ev, size_t n) {
  if (!s->ct) return 0;
  for (size_t i = 0; i < n; i++) {
    int64_t j = evsnn_sensor_map_index(&s->map, &ev[i]);
    if (j < 0) continue;
    int err = evsnn_ctime_push(s->ct, ev[i].t, (uint32_t)j);
    if (err != 0) return err;
  }
  return s->net_err;
}

static int on_hello(evsnn__session_t *s, const uint8_t *p, uint32_t len, uint64_t at) {
  evsnn__hello_t h;
  uint32_t where;
  int err = evsnn__hello_decode(p, len, &h, &where);
  if (err != 0) return fail(s, err, at + where, "%s", evsnn_error_detail());
  if (h.sensor.kind != EVSNN_EVENTS_DVS)
    return fail(s, EVSNN_EUNSUPPORTED, at + EVSNN_PROTO_HELLO_FIXED + 11,
                "HELLO: event kind %d, this server takes DVS events (0)", h.sensor.kind);
  const evsnn_net_t *net = s->lim.net;
  if (net) {
    err = evsnn_sensor_map_for(&s->map, &net->sensor, h.sensor.width, h.sensor.height, evsnn_net_inputs(net));
    if (err != 0)
      return fail(s, err, at + EVSNN_PROTO_HELLO_FIXED + 12, "HELLO: sensor %ux%u: %s", h.sensor.width,
                  h.sensor.height, evsnn_error_detail());
  }
  if (out_alloc(s, SMALL_OUT, 0) != 0) return -1;
  evsnn__welcome_t w = {.version = EVSNN_PROTO_VERSION, .mode = EVSNN_REPLY_DECISIONS,
                        .max_payload = EVSNN_PROTO_MAX_PAYLOAD, .idle_ms = s->lim.idle_ms,
                        .inputs = net ? evsnn_net_inputs(net) : 0, .outputs = net ? evsnn_net_outputs(net) : 0};
  evsnn__welcome_encode(reply(s, EVSNN_FRAME_WELCOME, EVSNN_PROTO_WELCOME_SIZE), &w);
  s->phase = EVSNN__SESSION_STREAM;
  return 0;
}

/* Decodes and runs the payload from frame_done on; 1 when it pauses. */
static int on_events(evsnn__session_t *s, const uint8_t *p, uint32_t len, uint64_t at) {
  if (len == 0) return fail(s, EVSNN_EPROTO, at, "EVENTS: empty frame");
  int r = out_full(s, at);
  if (r != 0) return r;
  while (s->frame_done < len) {
    if (room(s) < CHUNK_REPLY + EVSNN_PROTO_ERROR_MAX) {
      s->paused = 1;
      return 1;
    }
    size_t n, used;
    int err = evsnn_event_records_decode(&s->t, p + s->frame_done, len - s->frame_done, s->ev, CHUNK, &n, &used);
    if (n > 0) {
      s->digest = evsnn__digest(s->digest, s->ev, n);
      int nerr = run_events(s, s->ev, n);
      if (nerr != 0)
        return fail(s, nerr, at + s->frame_done, "EVENTS: the network refused an event of events %llu..%llu: %s",
                    (unsigned long long)s->events, (unsigned long long)(s->events + n - 1),
                    nerr == s->net_err ? "more decisions than the reply buffer holds" : evsnn_error_detail());
      s->events += n;
    }
    if (err != 0)
      return fail(s, err, at + s->frame_done + used, "EVENTS: event %llu: %s", (unsigned long long)s->events,
                  evsnn_error_detail());
    if (n == 0)
      return fail(s, EVSNN_EPROTO, at + s->frame_done, "EVENTS: frame ends mid-record (%zu bytes left)",
                  (size_t)len - s->frame_done);
    s->frame_done += used;
  }
  return 0;
}

static int on_end(evsnn__session_t *s, const uint8_t *p, uint32_t len, uint64_t at) {
  int r0 = out_full(s, at);
  if (r0 != 0) return r0;
  if (room(s) < EVSNN_PROTO_ERROR_MAX + END_REPLY) {
    s->paused = 1;
    return 1;
  }
  uint64_t want;
  uint32_t where;
  int err = evsnn__end_decode(p, len, &want, &where);
  if (err != 0) return fail(s, err, at + where, "%s", evsnn_error_detail());
  if (want != s->events)
    return fail(s, EVSNN_ECORRUPT, at + 1, "END: says %llu events, %llu arrived", (unsigned long long)want,
                (unsigned long long)s->events);
  const evsnn_net_t *net = s->lim.net;
  evsnn__result_t r = {.events = s->events, .t_last = s->t, .digest = s->digest, .decision = -1};
  float *v = NULL;
  if (s->ct) {
    err = evsnn_ctime_flush(s->ct);
    if (err == 0) err = s->net_err;
    if (err != 0) return fail(s, err, at, "END: running the rest: %s", evsnn_error_detail());
    r.decision = evsnn_ctime_decision(s->ct);
    evsnn_counts_t k;
    evsnn_ctime_counts(s->ct, &k);
    for (uint32_t q = 0; q < net->n_projs; q++) s->synops += k.synops[q];
    for (uint32_t m = 1; m + 1 < net->n_pops; m++) s->spikes += k.spikes[m];
    r.n_outputs = evsnn_net_outputs(net);
    if (r.n_outputs > EVSNN_PROTO_MAX_OUTPUTS) r.n_outputs = 0;
    v = (float *)s->ev; /* scratch: 16 KiB, room for EVSNN_PROTO_MAX_OUTPUTS floats */
    if (r.n_outputs > 0) evsnn_ctime_potentials(s->ct, net->n_pops - 1, s->t, v);
  }
  evsnn__result_encode(reply(s, EVSNN_FRAME_RESULT, EVSNN_PROTO_RESULT_FIXED + 4 * r.n_outputs), &r, v);
  s->decision = r.decision;
  s->phase = EVSNN__SESSION_DONE;
  return 0;
}

/* Handles every whole frame held, pausing mid-frame when the replies are
 * full, and makes room in the input for the frame being received. */
static void process(evsnn__session_t *s) {
  while ((s->phase == EVSNN__SESSION_HELLO || s->phase == EVSNN__SESSION_STREAM) &&
         s->len - s->pos >= EVSNN_PROTO_FRAME_HEADER) {
    int type;
    uint32_t len;
    evsnn__frame_get(s->in + s->pos, &type, &len);
    uint64_t at = s->in_offset + s->pos;
    /* Checked on the header, before the payload arrives. */
    if (s->phase == EVSNN__SESSION_HELLO && type != EVSNN_FRAME_HELLO) {
      fail(s, EVSNN_EPROTO, at, "expected a HELLO frame ('H'), got type 0x%02x", type);
      break;
    }
    if (s->phase == EVSNN__SESSION_STREAM && type != EVSNN_FRAME_EVENTS && type != EVSNN_FRAME_END) {
      fail(s, EVSNN_EPROTO, at, "expected EVENTS ('E') or END ('Z'), got type 0x%02x", type);
      break;
    }
    if (len > EVSNN_PROTO_MAX_PAYLOAD) {
      fail(s, EVSNN_EPROTO, at, "frame of %u bytes over the %d-byte limit", len, EVSNN_PROTO_MAX_PAYLOAD);
      break;
    }
    size_t need = EVSNN_PROTO_FRAME_HEADER + (size_t)len;
    if (s->len - s->pos < need) break;
    const uint8_t *pl = s->in + s->pos + EVSNN_PROTO_FRAME_HEADER;
    uint64_t pat = at + EVSNN_PROTO_FRAME_HEADER;
    int r = type == EVSNN_FRAME_HELLO ? on_hello(s, pl, len, pat)
            : type == EVSNN_FRAME_EVENTS ? on_events(s, pl, len, pat)
                                         : on_end(s, pl, len, pat);
    if (r != 0) break;
    s->pos += need;
    s->frame_done = 0;
  }
  if (s->phase != EVSNN__SESSION_HELLO && s->phase != EVSNN__SESSION_STREAM) {
    s->len = s->pos = 0; /* input after RESULT or ERROR is discarded */
    return;
  }
  /* Keep the unconsumed bytes (at most one partial frame) at the front. */
  if (s->pos > 0) {
    memmove(s->in, s->in + s->pos, s->len - s->pos);
    s->len -= s->pos;
    s->in_offset += s->pos;
    s->pos = 0;
  }
  /* Grow the input to the frame whose header is here (its length is
   * checked above), so that it can arrive whole. */
  if (s->len >= EVSNN_PROTO_FRAME_HEADER) {
    int type;
    uint32_t len;
    evsnn__frame_get(s->in, &type, &len);
    size_t need = EVSNN_PROTO_FRAME_HEADER + (size_t)len;
    if (need > s->in_cap) {
      uint8_t *p = realloc(s->in, need);
      if (p == NULL) {
        drop(s, "out of memory for a frame of %zu bytes", need);
        return;
      }
      s->bytes += need - s->in_cap;
      s->in = p;
      s->in_cap = need;
    }
  }
}

/* ------------------------------------------------------------- driving ---- */

int evsnn__session_buf(evsnn__session_t *s, uint8_t **p, size_t *cap) {
  *p = NULL;
  *cap = 0;
  if (s->phase == EVSNN__SESSION_DROP) return 0;
  if (s->in == NULL) {
    s->in = malloc(IN_FIRST);
    if (s->in == NULL) return drop(s, "out of memory for its input"), EVSNN_ENOMEM;
    s->in_cap = IN_FIRST;
    s->bytes += IN_FIRST;
  }
  if (s->paused) return 0;
  *p = s->in + s->len;
  *cap = s->in_cap - s->len;
  return 0;
}

int evsnn__session_received(evsnn__session_t *s, size_t n, uint64_t now_ms) {
  if (n == 0) return s->phase;
  /* After RESULT or ERROR input is discarded and is no progress: the peer
   * has idle_ms to take the reply and hang up, however much it sends. */
  if (s->phase != EVSNN__SESSION_HELLO && s->phase != EVSNN__SESSION_STREAM) return s->phase;
  s->t_progress = now_ms;
  s->window_bytes += n;
  s->len += n;
  process(s);
  return s->phase;
}

int evsnn__session_eof(evsnn__session_t *s, const char *err) {
  char how[96] = "";
  if (err) snprintf(how, sizeof how, " (%s)", err);
  switch (s->phase) {
  case EVSNN__SESSION_DONE:
  case EVSNN__SESSION_FAILED:
    s->phase = EVSNN__SESSION_DROP;
    return 0;
  case EVSNN__SESSION_DROP:
    return 0;
  }
  if (s->len > s->pos)
    drop(s, "disconnected mid-frame: %zu bytes of a frame at byte %llu%s", s->len - s->pos,
         (unsigned long long)(s->in_offset + s->pos), how);
  else if (s->phase == EVSNN__SESSION_STREAM)
    drop(s, "disconnected before END, after %llu events%s", (unsigned long long)s->events, how);
  else
    drop(s, "disconnected before HELLO%s", how);
  return 1;
}

const uint8_t *evsnn__session_take(evsnn__session_t *s, size_t *len, uint64_t now_ms) {
  *len = 0;
  if (s->taken || s->out_mem == NULL || s->out_len[s->cur] == 0) return NULL;
  const uint8_t *p = s->out[s->cur];
  *len = s->out_len[s->cur];
  s->taken = 1;
  s->cur ^= 1;
  s->out_len[s->cur] = 0;
  (void)now_ms;
  return p;
}

int evsnn__session_written(evsnn__session_t *s, uint64_t now_ms) {
  s->taken = 0;
  s->t_progress = now_ms;
  if (s->paused) { /* out[cur] is empty now: room to go on mid-frame */
    s->paused = 0;
    process(s);
  }
  return s->phase;
}

int evsnn__session_reading(const evsnn__session_t *s) { return !s->paused && s->phase != EVSNN__SESSION_DROP; }

int evsnn__session_phase(const evsnn__session_t *s) { return s->phase; }

int evsnn__session_flushed(const evsnn__session_t *s) {
  return (s->phase == EVSNN__SESSION_DONE || s->phase == EVSNN__SESSION_FAILED) && !s->taken &&
         s->out_len[s->cur] == 0;
}

/* ---------------------------------------------------------- deadlines ---- */

int evsnn__session_evictable(const evsnn__session_t *s, uint64_t now_ms, uint32_t min_age_ms) {
  return s->phase == EVSNN__SESSION_HELLO && now_ms - s->t_start >= min_age_ms;
}

int evsnn__session_due(const evsnn__session_t *s, uint64_t now_ms) {
  if (s->phase == EVSNN__SESSION_DROP) return 0;
  return now_ms - s->t_progress >= s->lim.idle_ms ||
         (s->phase == EVSNN__SESSION_HELLO && now_ms - s->t_start >= s->lim.header_ms) ||
         (!s->lim.no_min_rate && now_ms - s->t_window >= s->lim.rate_ms);
}

int evsnn__session_tick(evsnn__session_t *s, uint64_t now_ms, size_t unsent, int input_waiting) {
  if (s->phase == EVSNN__SESSION_DROP) return 1;
  /* Bytes the transport has not read yet are the server's delay, not the
   * peer's: judge once they are in. */
  if (input_waiting && !s->paused) return 0;
  /* The peer took bytes of the reply being written since the last look:
   * progress. A rise is a new write, not the peer's doing; with no write
   * out there is nothing to take. */
  if (s->taken && unsent < s->unsent_seen) {
    s->window_bytes += s->unsent_seen - unsent;
    s->t_progress = now_ms;
  }
  s->unsent_seen = s->taken ? unsent : 0;
  int open = s->phase == EVSNN__SESSION_HELLO || s->phase == EVSNN__SESSION_STREAM;
  uint64_t idle = now_ms - s->t_progress;
  if (s->phase == EVSNN__SESSION_HELLO && now_ms - s->t_start >= s->lim.header_ms) {
    s->slow = 1;
    return drop(s, "no HELLO within %u ms (%zu bytes of it arrived)", s->lim.header_ms, s->len), 1;
  }
  if (open && !s->lim.no_min_rate && now_ms - s->t_window >= s->lim.rate_ms) {
    uint64_t span = now_ms - s->t_window, need = (uint64_t)s->lim.min_rate * span / 1000;
    if (s->window_bytes < need) {
      s->slow = 1;
      return drop(s, "too slow: %llu bytes in %llu ms, the minimum is %u bytes/s",
                  (unsigned long long)s->window_bytes, (unsigned long long)span, s->lim.min_rate), 1;
    }
    s->t_window = now_ms;
    s->window_bytes = 0;
  }
  if (idle < s->lim.idle_ms) return 0;
  if (!open) {
    /* The peer did not take its last reply or did not hang up: over, with
     * nothing more to say about it than the ERROR or RESULT already did. */
    s->phase = EVSNN__SESSION_DROP;
    return 0;
  }
  if (s->paused || s->taken)
    drop(s, "stalled: its replies not read for %llu ms", (unsigned long long)idle);
  else if (s->len > 0)
    drop(s, "stalled mid-frame for %llu ms (%zu bytes of a frame at byte %llu)", (unsigned long long)idle, s->len,
         (unsigned long long)s->in_offset);
  else if (s->phase == EVSNN__SESSION_HELLO)
    drop(s, "no HELLO within %llu ms", (unsigned long long)idle);
  else
    drop(s, "idle for %llu ms after %llu events", (unsigned long long)idle, (unsigned long long)s->events);
  return 1;
}

void evsnn__session_info(const evsnn__session_t *s, evsnn__session_info_t *info) {
  *info = (evsnn__session_info_t){.events = s->events, .decisions = s->decisions, .synops = s->synops,
                                  .spikes = s->spikes, .decision = s->decision, .bytes = s->bytes,
                                  .slow = s->slow};
}

const char *evsnn__session_why(const evsnn__session_t *s) { return s->why; }
