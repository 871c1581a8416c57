/* The serve protocol's constants and frame helpers, shared by the server
 * (server.c) and the client (client.c); the byte layout is specified in
 * docs/protocol.md, which is the reference: change both together, and raise
 * EVSNN_PROTO_VERSION for any change an old peer would misread. */
#ifndef EVSNN_STREAM_PROTO_H
#define EVSNN_STREAM_PROTO_H

#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/events.h"

#define EVSNN_PROTO_MAGIC "EVSNNPRO"
#define EVSNN_PROTO_VERSION 1
#define EVSNN_PROTO_FRAME_HEADER 5          /* type u8, payload length u32 */
#define EVSNN_PROTO_MAX_PAYLOAD 65536       /* largest payload either side sends */
#define EVSNN_PROTO_MAX_META 4096           /* event-header metadata the server accepts */
#define EVSNN_PROTO_HELLO_FIXED 16          /* magic 8, version 2, mode 2, reserved 4 */

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

#define EVSNN_PROTO_WELCOME_SIZE 32   /* magic 8, version 2, mode 2, max payload 4, idle ms 4,
                                         inputs 4, outputs 4, reserved 4 */
#define EVSNN_PROTO_DECISION_SIZE 20  /* t i64, events u64, class u32 */
#define EVSNN_PROTO_RESULT_FIXED 32   /* events u64, t_last i64, digest u64, class i32,
                                         outputs u32; then outputs x f32 potentials */
#define EVSNN_PROTO_MAX_OUTPUTS 1024  /* RESULT carries the potentials of at most this many outputs */
#define EVSNN_PROTO_ERROR_FIXED 12    /* code i32, byte offset u64, then the message */
#define EVSNN_PROTO_MAX_MESSAGE 400

static inline uint8_t *evsnn__frame_put(uint8_t *p, int type, uint32_t len) {
  p[0] = (uint8_t)type;
  evsnn__put_le32(p + 1, len);
  return p + EVSNN_PROTO_FRAME_HEADER;
}

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
