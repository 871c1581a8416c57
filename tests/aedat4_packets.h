/* AEDAT 4.0 pieces for tests that make their own files (test_events_formats.c,
 * test_limits.c): an event packet, a packet frame, and the smallest IOHeader. */
#ifndef EVSNN_TESTS_AEDAT4_PACKETS_H
#define EVSNN_TESTS_AEDAT4_PACKETS_H

#include <stdint.h>
#include <string.h>

#include "evsnn/events.h"

/* One EVTS packet as DV writes it before compression: a size-prefixed
 * EventPacket flatbuffer (identifier "EVTS") whose field 0 is a vector of
 * struct Event { i64 t; i16 x; i16 y; bool on; } (16 bytes, 8-aligned). */
static inline size_t event_packet(uint8_t *p, const evsnn_event_t *ev, uint32_t n) {
  uint8_t *fb = p + 4;
  memset(p, 0, 36);
  fb[0] = 16;                                 /* root table at 16 */
  memcpy(fb + 4, "EVTS", 4);                  /* file identifier */
  fb[8] = 6, fb[10] = 8, fb[12] = 4;          /* vtable: 6 bytes, table 8 bytes, field 0 at +4 */
  fb[16] = 8;                                 /* table - vtable */
  fb[20] = 8;                                 /* field 0: the vector, 8 bytes on */
  for (int i = 0; i < 4; i++) fb[28 + i] = (uint8_t)(n >> (8 * i));
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *e = fb + 32 + 16 * (size_t)i;
    uint64_t t = (uint64_t)ev[i].t;
    for (int k = 0; k < 8; k++) e[k] = (uint8_t)(t >> (8 * k));
    e[8] = (uint8_t)ev[i].x, e[9] = (uint8_t)(ev[i].x >> 8), e[10] = (uint8_t)ev[i].y, e[11] = (uint8_t)(ev[i].y >> 8);
    e[12] = ev[i].p, e[13] = e[14] = e[15] = 0;
  }
  size_t len = 32 + 16 * (size_t)n;
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(len >> (8 * i));
  return 4 + len;
}

static inline size_t put_packet(uint8_t *dst, uint32_t stream, const uint8_t *data, size_t n) {
  for (int i = 0; i < 4; i++) dst[i] = (uint8_t)(stream >> (8 * i)), dst[4 + i] = (uint8_t)(n >> (8 * i));
  memcpy(dst + 8, data, n);
  return 8 + n;
}

/* "#!AER-DAT4.0", then an IOHeader with no fields: no compression, no index,
 * events in stream 0, sensor size not stated. Returns its 30 bytes. */
static inline size_t aedat4_bare_header(uint8_t *p) {
  static const uint8_t fb[12] = {8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0}; /* root at 8, vtable at 4 (no fields) */
  memcpy(p, "#!AER-DAT4.0\r\n", 14);
  p[14] = 12, p[15] = p[16] = p[17] = 0;
  memcpy(p + 18, fb, 12);
  return 30;
}

#endif
