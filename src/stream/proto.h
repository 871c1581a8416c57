/* The serve protocol's frames, one encoder and one decoder each, shared by
 * the server's session (session.c), the client (client.c), the tests and
 * the fuzz harness. The byte layout is specified in docs/protocol.md, which
 * is the reference, and written in code only in proto.c: change both
 * together, and raise EVSNN_PROTO_VERSION for any change an old peer would
 * misread. Nothing here allocates or knows about sockets. */
#ifndef EVSNN_STREAM_PROTO_H
#define EVSNN_STREAM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "evsnn/events.h"

#define EVSNN_PROTO_MAGIC "EVSNNPRO"
#define EVSNN_PROTO_VERSION 1
#define EVSNN_PROTO_FRAME_HEADER 5          /* type u8, payload length u32 */
#define EVSNN_PROTO_MAX_PAYLOAD 65536       /* largest payload either side sends */
#define EVSNN_PROTO_MAX_META 4096           /* event-header metadata the server accepts */
#define EVSNN_PROTO_HELLO_FIXED 16          /* magic 8, version 2, mode 2, reserved 4 */
#define EVSNN_PROTO_MAX_HELLO (EVSNN_PROTO_HELLO_FIXED + EVSNN_EVENT_HEADER_FIXED + EVSNN_PROTO_MAX_META)
#define EVSNN_PROTO_WELCOME_SIZE 32   /* magic 8, version 2, mode 2, max payload 4, idle ms 4,
                                         inputs 4, outputs 4, reserved 4 */
#define EVSNN_PROTO_DECISION_SIZE 20  /* t i64, events u64, class u32 */
#define EVSNN_PROTO_RESULT_FIXED 32   /* events u64, t_last i64, digest u64, class i32,
                                         outputs u32; then outputs x f32 potentials */
#define EVSNN_PROTO_MAX_OUTPUTS 1024  /* RESULT carries the potentials of at most this many outputs */
#define EVSNN_PROTO_END_SIZE 9        /* the end record: 01, event count u64 */
#define EVSNN_PROTO_ERROR_FIXED 12    /* code i32, byte offset u64, then the message */
#define EVSNN_PROTO_MAX_MESSAGE 400
/* The whole ERROR frame at its longest: room a sender keeps for it. */
#define EVSNN_PROTO_ERROR_MAX (EVSNN_PROTO_FRAME_HEADER + EVSNN_PROTO_ERROR_FIXED + EVSNN_PROTO_MAX_MESSAGE)

/* Frame types: client to server in upper case A-Z, server to client too;
 * the letters make a hex dump readable. */
enum {
  EVSNN_FRAME_HELLO = 'H',    /* client: protocol + event header */
  EVSNN_FRAME_EVENTS = 'E',   /* client: whole event records */
  EVSNN_FRAME_END = 'Z',      /* client: the end record */
  EVSNN_FRAME_WELCOME = 'W',  /* server: accepted, limits and network sizes */
  EVSNN_FRAME_DECISION = 'D', /* server: the decision changed */
  EVSNN_FRAME_RESULT = 'R',   /* server: after END, the stream's totals */
  EVSNN_FRAME_ERROR = 'X',    /* server: why it drops the connection */
};

/* Reply modes asked for in HELLO. */
enum { EVSNN_REPLY_DECISIONS = 0 };

/* Every frame: writes the 5-byte header at p, returns where the payload
 * goes. The decoder reads a header that is all there. */
uint8_t *evsnn__frame_put(uint8_t *p, int type, uint32_t len);
void evsnn__frame_get(const uint8_t *p, int *type, uint32_t *len);

/* The decoders check a whole payload; on a fault they return its code with
 * the message in evsnn_error_detail() and set *at to the offset, within the
 * payload, of the byte at fault. */

typedef struct evsnn__hello_s {
  uint16_t version, mode;
  evsnn_event_info_t sensor;  /* its meta is "" after decoding */
} evsnn__hello_t;

/* The HELLO payload's size for this sensor header, and its encoder (room
 * for that size; EVSNN_EINVAL as evsnn_event_header_encode). */
size_t evsnn__hello_size(const evsnn_event_info_t *sensor);
int evsnn__hello_encode(uint8_t *p, const evsnn__hello_t *h);
/* Checks magic, version, mode, metadata length (at most
 * EVSNN_PROTO_MAX_META), the event header and that nothing follows it. */
int evsnn__hello_decode(const uint8_t *p, uint32_t len, evsnn__hello_t *h, uint32_t *at);

typedef struct evsnn__welcome_s {
  uint16_t version, mode;
  uint32_t max_payload, idle_ms, inputs, outputs;
} evsnn__welcome_t;

void evsnn__welcome_encode(uint8_t *p, const evsnn__welcome_t *w);
int evsnn__welcome_decode(const uint8_t *p, uint32_t len, evsnn__welcome_t *w, uint32_t *at);

typedef struct evsnn__decision_s {
  int64_t t;
  uint64_t events;
  uint32_t cls;
} evsnn__decision_t;

void evsnn__decision_encode(uint8_t *p, const evsnn__decision_t *d);
int evsnn__decision_decode(const uint8_t *p, uint32_t len, evsnn__decision_t *d, uint32_t *at);

/* What the server sent back after END, as the client decoded it. */
typedef struct evsnn__result_s {
  uint64_t events;     /* events the server decoded */
  int64_t t_last;      /* the last event's timestamp */
  uint64_t digest;     /* the server's digest of them (evsnn__digest) */
  int32_t decision;    /* final class, -1 if none */
  uint32_t n_outputs;  /* output potentials that follow */
  float outputs[64];   /* the first min(n_outputs, 64) */
} evsnn__result_t;

/* The RESULT payload is EVSNN_PROTO_RESULT_FIXED + 4 x n_outputs bytes;
 * the encoder takes all n_outputs potentials from v, not from r->outputs. */
void evsnn__result_encode(uint8_t *p, const evsnn__result_t *r, const float *v);
int evsnn__result_decode(const uint8_t *p, uint32_t len, evsnn__result_t *r, uint32_t *at);

/* ERROR: the message is cut at EVSNN_PROTO_MAX_MESSAGE bytes; the encoder
 * returns the payload's size. The decoded message points into p and is not
 * terminated. */
uint32_t evsnn__error_encode(uint8_t *p, int code, uint64_t offset, const char *msg);
int evsnn__error_decode(const uint8_t *p, uint32_t len, int *code, uint64_t *offset, const char **msg,
                        uint32_t *msg_len, uint32_t *at);

/* END: the 9-byte end record. */
void evsnn__end_encode(uint8_t *p, uint64_t events);
int evsnn__end_decode(const uint8_t *p, uint32_t len, uint64_t *events, uint32_t *at);

/* FNV-1a, 64 bits, over each event's t (8 bytes LE), x, y (2 bytes LE) and
 * p (1 byte): both ends compute it, so the RESULT proves that the server
 * decoded exactly the events the client read. Start from
 * EVSNN_DIGEST_INIT. */
#define EVSNN_DIGEST_INIT 0xcbf29ce484222325ull
static inline uint64_t evsnn__digest(uint64_t h, const evsnn_event_t *ev, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t b[13];
    evsnn__put_le64(b, (uint64_t)ev[i].t);
    evsnn__put_le16(b + 8, ev[i].x);
    evsnn__put_le16(b + 10, ev[i].y);
    b[12] = ev[i].p;
    for (int k = 0; k < 13; k++) h = (h ^ b[k]) * 0x100000001b3ull;
  }
  return h;
}

#endif
