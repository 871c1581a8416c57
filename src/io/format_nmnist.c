/* The 40-bit event records of N-MNIST and N-Caltech101 (Orchard et al.,
 * 2015): five bytes per event, no header, so only the ".bin" extension (or
 * an explicit format name) selects this decoder.
 *
 * Layout, from gorchard/event-Python eventvision.py (read_dataset) and the
 * datasets' README (https://www.garrickorchard.com/datasets/n-mnist):
 *   byte 0 x, byte 1 y, byte 2 bit 7 polarity (1 = ON), byte 2 bits 6..0 and
 *   bytes 3, 4 a 23-bit big-endian timestamp in us.
 * A record with y == 240 marks a timestamp overflow, not an event. The
 * reference adds 2^13 for it, a constant left over from the older 13-bit
 * ATIS format; the field here has 23 bits, so we add 2^23. No recording of
 * either dataset is long enough (8.4 s) for the two to differ. */
#include <string.h>

#include "core/internal.h"
#include "io/formats.h"

#define RECORDS_BYTES (5 * 13107)

typedef struct {
  evsnn_stream_t *s;
  uint64_t wrap; /* multiples of 2^23 us */
} nstate_t;

/* Without a magic number: the ".bin" extension, or else a first chunk of
 * at least 64 records whose coordinates fit the ATIS sensor (y < 240) and
 * whose timestamps never decrease, which random or text data hardly does. */
static int sniff_nmnist(const uint8_t *h, size_t len, const char *path) {
  if (evsnn__has_ext(path, ".bin")) return 60;
  if (len < 5 * 64) return 0;
  uint32_t last = 0;
  for (size_t i = 0; i + 5 <= len; i += 5) {
    uint32_t t = (uint32_t)(h[i + 2] & 0x7f) << 16 | (uint32_t)h[i + 3] << 8 | h[i + 4];
    if (h[i + 1] == 240) last = 0;
    else if (h[i + 1] > 240 || t < last) return 0;
    else last = t;
  }
  return 20;
}

static int open_nmnist(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  nstate_t *z = st;
  z->s = s;
  return 0;
}

static int read_nmnist(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  nstate_t *z = st;
  size_t k = 0;
  while (k < cap) {
    const uint8_t *p;
    size_t avail, i;
    int err = evsnn_stream_peek(z->s, RECORDS_BYTES, &p, &avail);
    if (err != 0) return k > 0 ? (*n = k, 0) : err;
    if (avail == 0) break;
    if (avail < 5) {
      if (k > 0) break;
      return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: %zu bytes left, a record needs 5",
                         evsnn_stream_name(z->s), (unsigned long long)evsnn_stream_offset(z->s),
                         avail);
    }
    for (i = 0; i + 5 <= avail && k < cap; i += 5) {
      if (p[i + 1] == 240) {
        z->wrap += 1u << 23;
        continue;
      }
      evsnn_event_t *e = &ev[k++];
      e->t = (int64_t)(z->wrap + ((uint32_t)(p[i + 2] & 0x7f) << 16 | (uint32_t)p[i + 3] << 8 | p[i + 4]));
      e->x = p[i];
      e->y = p[i + 1];
      e->p = (uint8_t)(p[i + 2] >> 7);
      memset(e->pad_, 0, 3);
    }
    evsnn_stream_skip(z->s, i);
  }
  *n = k;
  return 0;
}

static void close_n(void *st) {}

const evsnn__event_format_t evsnn__format_nmnist = {
    "nmnist", sniff_nmnist, sizeof(nstate_t), open_nmnist, read_nmnist, close_n,
};
