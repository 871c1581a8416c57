/* One connection of evsnn serve, as a state machine with no sockets and no
 * clock of its own (session.c): the transport (server.c) hands it the bytes
 * that arrived, takes the reply bytes it has to send, tells it when they are
 * written, and asks it at every tick, with the time and the bytes the peer
 * has not yet taken, whether a deadline has passed. So every rule about a
 * connection (the protocol, back-pressure, the deadlines, the memory it
 * holds) is tested here directly (tests/test_serve.c, suite session). */
#ifndef EVSNN_STREAM_SESSION_H
#define EVSNN_STREAM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/ctime.h"
#include "evsnn/net.h"
#include "evsnn/sensor.h"

/* The limits a server gives all its sessions; evsnn__session_limits fills
 * the defaults in place of zeros. */
typedef struct evsnn__session_limits_s {
  const evsnn_net_t *net; /* NULL: events are decoded and counted, no network runs */
  double dt_us;           /* tau = -dt / ln(beta); 0: 1000 */
  uint32_t idle_ms;       /* no progress at all this long: dropped; 0: 30000 */
  uint32_t header_ms;     /* HELLO whole within this of accept; 0: 10000 */
  uint32_t min_rate;      /* bytes/s a connection must move over each rate window; 0: 256 */
  uint32_t rate_ms;       /* the rate window; 0: 5000 */
  int no_min_rate;        /* 1: no rate rule (live sources that may send less than min_rate) */
} evsnn__session_limits_t;

void evsnn__session_limits(evsnn__session_limits_t *l);

/* The most bytes one session under lim ever holds: its buffers and the
 * network's continuous-time state (evsnn_ctime_bytes). */
size_t evsnn__session_max_bytes(const evsnn__session_limits_t *lim);

enum {
  EVSNN__SESSION_HELLO,  /* waiting for HELLO */
  EVSNN__SESSION_STREAM, /* EVENTS until END */
  EVSNN__SESSION_DONE,   /* RESULT queued: close once written (input discarded) */
  EVSNN__SESSION_FAILED, /* ERROR queued: close once written (input discarded) */
  EVSNN__SESSION_DROP,   /* close now, without a word to the peer (evsnn__session_why) */
};

typedef struct evsnn__session_s evsnn__session_t;

/* A session holds no buffer until its peer first sends data; *out is
 * owned by the caller through evsnn__session_free. now_ms: any monotonic
 * clock in milliseconds, the same in every call. */
int evsnn__session_new(evsnn__session_t **out, const evsnn__session_limits_t *lim, uint64_t now_ms);
void evsnn__session_free(evsnn__session_t *s);

/* Where the next bytes read from the peer go, (re)allocated to what the
 * frame being received needs; *cap is 0 when the session takes no input
 * now (paused for back-pressure: see evsnn__session_reading). EVSNN_ENOMEM
 * (the session is then in DROP). */
int evsnn__session_buf(evsnn__session_t *s, uint8_t **p, size_t *cap);
/* n bytes arrived in the buffer of evsnn__session_buf: the whole frames
 * are processed (events decoded and run through the network, replies
 * queued). Returns the phase. */
int evsnn__session_received(evsnn__session_t *s, size_t n, uint64_t now_ms);
/* The peer closed (err 0) or reset (err: its description): the phase is
 * DROP with the reason, or, after RESULT or ERROR, the session is just over
 * (returns 0 then, 1 for a drop). */
int evsnn__session_eof(evsnn__session_t *s, const char *err);

/* The replies queued and not handed out yet: one buffer, swapped out, that
 * the caller writes and keeps until evsnn__session_written. NULL when there
 * is nothing, or a write is still out. */
const uint8_t *evsnn__session_take(evsnn__session_t *s, size_t *len, uint64_t now_ms);
/* The write of the last buffer taken completed: a paused session goes on
 * with its input. Returns the phase. */
int evsnn__session_written(evsnn__session_t *s, uint64_t now_ms);
/* Whether the session wants input (not paused for its replies). */
int evsnn__session_reading(const evsnn__session_t *s);
int evsnn__session_phase(const evsnn__session_t *s);
/* Everything the session had to say after RESULT or ERROR has been taken
 * and written. */
int evsnn__session_flushed(const evsnn__session_t *s);

/* Checks the deadlines at now_ms. unsent: bytes of the reply buffer taken
 * (and not yet written) that the peer has not yet acknowledged, which
 * falling counts as progress; ignored while no buffer is taken. Returns 1 and moves to DROP (reason in
 * evsnn__session_why) when a deadline has passed. */
int evsnn__session_tick(evsnn__session_t *s, uint64_t now_ms, size_t unsent, int input_waiting);
/* Whether a deadline may have passed at now_ms: the transport then looks
 * whether input is waiting unread (bytes or a hang-up) and passes that to
 * evsnn__session_tick as input_waiting, which postpones the verdict of a
 * session that reads: a server slow to read must not blame its peer. */
int evsnn__session_due(const evsnn__session_t *s, uint64_t now_ms);

/* Whether the session may give its slot to a newer connection: it has had
 * min_age_ms and has not completed HELLO (an honest client sends HELLO as
 * it connects). */
int evsnn__session_evictable(const evsnn__session_t *s, uint64_t now_ms, uint32_t min_age_ms);

/* What happened, for the transport's one log line per connection. */
typedef struct evsnn__session_info_s {
  uint64_t events, decisions;   /* events decoded; DECISION frames sent */
  uint64_t synops, spikes;      /* of a stream that ended with RESULT */
  int32_t decision;             /* the final one, -1 if none */
  size_t bytes;                 /* buffer bytes held now */
  int slow;                     /* dropped by a deadline (header, rate) */
} evsnn__session_info_t;

void evsnn__session_info(const evsnn__session_t *s, evsnn__session_info_t *info);
/* Why the session ended: the ERROR's text with its code and offset, the
 * drop reason, or "" after RESULT. */
const char *evsnn__session_why(const evsnn__session_t *s);

#endif
