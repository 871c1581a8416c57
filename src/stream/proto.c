/* The frames of the serve protocol (docs/protocol.md): each frame's layout
 * is written once here, as the field offsets below, and both its encoder
 * and its decoder use them. The decoders are what a hostile peer reaches
 * first, so they check lengths before they read and are fuzzed
 * (tests/fuzz/fuzz_proto.c). */
#include <string.h>

#include "stream/proto.h"

/* Field offsets, per frame, in the order of docs/protocol.md's tables. */
enum { F_TYPE = 0, F_LEN = 1 };
enum { H_MAGIC = 0, H_VERSION = 8, H_MODE = 10, H_RESERVED = 12, H_HEADER = EVSNN_PROTO_HELLO_FIXED };
enum { W_MAGIC = 0, W_VERSION = 8, W_MODE = 10, W_MAX_PAYLOAD = 12, W_IDLE = 16, W_INPUTS = 20, W_OUTPUTS = 24,
       W_RESERVED = 28 };
enum { D_T = 0, D_EVENTS = 8, D_CLASS = 16 };
enum { R_EVENTS = 0, R_T_LAST = 8, R_DIGEST = 16, R_CLASS = 24, R_OUTPUTS = 28, R_V = EVSNN_PROTO_RESULT_FIXED };
enum { X_CODE = 0, X_OFFSET = 4, X_MESSAGE = EVSNN_PROTO_ERROR_FIXED };
enum { Z_TAG = 0, Z_COUNT = 1 };
/* In the event header that HELLO carries (docs/event-format.md). */
enum { EH_META_LEN = 28 };

uint8_t *evsnn__frame_put(uint8_t *p, int type, uint32_t len) {
  p[F_TYPE] = (uint8_t)type;
  evsnn__put_le32(p + F_LEN, len);
  return p + EVSNN_PROTO_FRAME_HEADER;
}

void evsnn__frame_get(const uint8_t *p, int *type, uint32_t *len) {
  *type = p[F_TYPE];
  *len = evsnn__le32(p + F_LEN);
}

static int fail_at(uint32_t *at, uint32_t where, int err) {
  *at = where;
  return err;
}

/* -------------------------------------------------------------- HELLO ---- */

size_t evsnn__hello_size(const evsnn_event_info_t *sensor) {
  return EVSNN_PROTO_HELLO_FIXED + evsnn_event_header_size(sensor);
}

int evsnn__hello_encode(uint8_t *p, const evsnn__hello_t *h) {
  memcpy(p + H_MAGIC, EVSNN_PROTO_MAGIC, 8);
  evsnn__put_le16(p + H_VERSION, h->version);
  evsnn__put_le16(p + H_MODE, h->mode);
  evsnn__put_le32(p + H_RESERVED, 0);
  return evsnn_event_header_encode(&h->sensor, p + H_HEADER);
}

int evsnn__hello_decode(const uint8_t *p, uint32_t len, evsnn__hello_t *h, uint32_t *at) {
  if (len < EVSNN_PROTO_HELLO_FIXED || memcmp(p + H_MAGIC, EVSNN_PROTO_MAGIC, 8) != 0)
    return fail_at(at, H_MAGIC, evsnn__fail(EVSNN_EFORMAT, "HELLO: expected magic \"" EVSNN_PROTO_MAGIC "\""));
  h->version = evsnn__le16(p + H_VERSION);
  h->mode = evsnn__le16(p + H_MODE);
  if (h->version != EVSNN_PROTO_VERSION)
    return fail_at(at, H_VERSION, evsnn__fail(EVSNN_EVERSION, "HELLO: protocol version %u, this server speaks %d",
                                              h->version, EVSNN_PROTO_VERSION));
  if (h->mode != EVSNN_REPLY_DECISIONS)
    return fail_at(at, H_MODE, evsnn__fail(EVSNN_EUNSUPPORTED, "HELLO: reply mode %u, this server knows 0 (decisions)",
                                           h->mode));
  const uint8_t *eh = p + H_HEADER;
  size_t hl = len - H_HEADER, used;
  if (hl >= EVSNN_EVENT_HEADER_FIXED && evsnn__le32(eh + EH_META_LEN) > EVSNN_PROTO_MAX_META)
    return fail_at(at, H_HEADER + EH_META_LEN,
                   evsnn__fail(EVSNN_ERANGE, "HELLO: %u bytes of metadata, this server takes %d",
                               evsnn__le32(eh + EH_META_LEN), EVSNN_PROTO_MAX_META));
  int err = evsnn_event_header_decode(eh, hl, &h->sensor, &used);
  if (err != 0) return fail_at(at, H_HEADER, evsnn__fail(err, "HELLO: event %s", evsnn_error_detail()));
  if (used != hl)
    return fail_at(at, H_HEADER + (uint32_t)used,
                   evsnn__fail(EVSNN_EPROTO, "HELLO: %zu bytes after the event header", hl - used));
  return 0;
}

/* ------------------------------------------------------------ WELCOME ---- */

void evsnn__welcome_encode(uint8_t *p, const evsnn__welcome_t *w) {
  memcpy(p + W_MAGIC, EVSNN_PROTO_MAGIC, 8);
  evsnn__put_le16(p + W_VERSION, w->version);
  evsnn__put_le16(p + W_MODE, w->mode);
  evsnn__put_le32(p + W_MAX_PAYLOAD, w->max_payload);
  evsnn__put_le32(p + W_IDLE, w->idle_ms);
  evsnn__put_le32(p + W_INPUTS, w->inputs);
  evsnn__put_le32(p + W_OUTPUTS, w->outputs);
  evsnn__put_le32(p + W_RESERVED, 0);
}

int evsnn__welcome_decode(const uint8_t *p, uint32_t len, evsnn__welcome_t *w, uint32_t *at) {
  if (len < EVSNN_PROTO_WELCOME_SIZE || memcmp(p + W_MAGIC, EVSNN_PROTO_MAGIC, 8) != 0 ||
      evsnn__le16(p + W_VERSION) != EVSNN_PROTO_VERSION)
    return fail_at(at, W_MAGIC, evsnn__fail(EVSNN_EPROTO, "WELCOME: not an evsnn server of protocol version %d",
                                            EVSNN_PROTO_VERSION));
  w->version = evsnn__le16(p + W_VERSION);
  w->mode = evsnn__le16(p + W_MODE);
  w->max_payload = evsnn__le32(p + W_MAX_PAYLOAD);
  w->idle_ms = evsnn__le32(p + W_IDLE);
  w->inputs = evsnn__le32(p + W_INPUTS);
  w->outputs = evsnn__le32(p + W_OUTPUTS);
  return 0;
}

/* ----------------------------------------------------------- DECISION ---- */

void evsnn__decision_encode(uint8_t *p, const evsnn__decision_t *d) {
  evsnn__put_le64(p + D_T, (uint64_t)d->t);
  evsnn__put_le64(p + D_EVENTS, d->events);
  evsnn__put_le32(p + D_CLASS, d->cls);
}

int evsnn__decision_decode(const uint8_t *p, uint32_t len, evsnn__decision_t *d, uint32_t *at) {
  if (len != EVSNN_PROTO_DECISION_SIZE)
    return fail_at(at, 0, evsnn__fail(EVSNN_EPROTO, "DECISION: %u bytes, expected %d", len,
                                      EVSNN_PROTO_DECISION_SIZE));
  d->t = (int64_t)evsnn__le64(p + D_T);
  d->events = evsnn__le64(p + D_EVENTS);
  d->cls = evsnn__le32(p + D_CLASS);
  return 0;
}

/* ------------------------------------------------------------- RESULT ---- */

void evsnn__result_encode(uint8_t *p, const evsnn__result_t *r, const float *v) {
  evsnn__put_le64(p + R_EVENTS, r->events);
  evsnn__put_le64(p + R_T_LAST, (uint64_t)r->t_last);
  evsnn__put_le64(p + R_DIGEST, r->digest);
  evsnn__put_le32(p + R_CLASS, (uint32_t)r->decision);
  evsnn__put_le32(p + R_OUTPUTS, r->n_outputs);
  for (uint32_t k = 0; k < r->n_outputs; k++) {
    uint32_t bits;
    memcpy(&bits, &v[k], 4);
    evsnn__put_le32(p + R_V + 4 * k, bits);
  }
}

int evsnn__result_decode(const uint8_t *p, uint32_t len, evsnn__result_t *r, uint32_t *at) {
  if (len < EVSNN_PROTO_RESULT_FIXED)
    return fail_at(at, 0, evsnn__fail(EVSNN_EPROTO, "RESULT: %u bytes, at least %d expected", len,
                                      EVSNN_PROTO_RESULT_FIXED));
  memset(r, 0, sizeof *r);
  r->events = evsnn__le64(p + R_EVENTS);
  r->t_last = (int64_t)evsnn__le64(p + R_T_LAST);
  r->digest = evsnn__le64(p + R_DIGEST);
  r->decision = (int32_t)evsnn__le32(p + R_CLASS);
  r->n_outputs = evsnn__le32(p + R_OUTPUTS);
  if (r->n_outputs > EVSNN_PROTO_MAX_OUTPUTS || len != EVSNN_PROTO_RESULT_FIXED + 4u * r->n_outputs)
    return fail_at(at, R_OUTPUTS, evsnn__fail(EVSNN_EPROTO, "RESULT: %u bytes do not hold %u output potentials",
                                              len, r->n_outputs));
  for (uint32_t k = 0; k < r->n_outputs && k < 64; k++) {
    uint32_t bits = evsnn__le32(p + R_V + 4 * k);
    memcpy(&r->outputs[k], &bits, 4);
  }
  return 0;
}

/* -------------------------------------------------------------- ERROR ---- */

uint32_t evsnn__error_encode(uint8_t *p, int code, uint64_t offset, const char *msg) {
  size_t n = strlen(msg);
  if (n > EVSNN_PROTO_MAX_MESSAGE) n = EVSNN_PROTO_MAX_MESSAGE;
  evsnn__put_le32(p + X_CODE, (uint32_t)code);
  evsnn__put_le64(p + X_OFFSET, offset);
  memcpy(p + X_MESSAGE, msg, n);
  return EVSNN_PROTO_ERROR_FIXED + (uint32_t)n;
}

int evsnn__error_decode(const uint8_t *p, uint32_t len, int *code, uint64_t *offset, const char **msg,
                        uint32_t *msg_len, uint32_t *at) {
  if (len < EVSNN_PROTO_ERROR_FIXED)
    return fail_at(at, 0, evsnn__fail(EVSNN_EPROTO, "ERROR: %u bytes, at least %d expected", len,
                                      EVSNN_PROTO_ERROR_FIXED));
  *code = (int32_t)evsnn__le32(p + X_CODE);
  *offset = evsnn__le64(p + X_OFFSET);
  *msg = (const char *)p + X_MESSAGE;
  *msg_len = len - EVSNN_PROTO_ERROR_FIXED;
  return 0;
}

/* ---------------------------------------------------------------- END ---- */

void evsnn__end_encode(uint8_t *p, uint64_t events) {
  p[Z_TAG] = 1;
  evsnn__put_le64(p + Z_COUNT, events);
}

int evsnn__end_decode(const uint8_t *p, uint32_t len, uint64_t *events, uint32_t *at) {
  if (len != EVSNN_PROTO_END_SIZE)
    return fail_at(at, 0, evsnn__fail(EVSNN_EPROTO, "END: %u bytes, the end record is %d (01, u64 count)", len,
                                      EVSNN_PROTO_END_SIZE));
  if (p[Z_TAG] != 1)
    return fail_at(at, Z_TAG, evsnn__fail(EVSNN_EPROTO, "END: first byte 0x%02x, the end record starts with 01",
                                          p[Z_TAG]));
  *events = evsnn__le64(p + Z_COUNT);
  return 0;
}
