/* Prophesee recordings: RAW files in EVT 2.0 and EVT 3.0, and .dat TD files.
 * All three open with ASCII header lines starting with '%'.
 *
 * Layouts from the Prophesee documentation:
 *   EVT 2.0  https://docs.prophesee.ai/stable/data/encoding_formats/evt2.html
 *   EVT 3.0  https://docs.prophesee.ai/stable/data/encoding_formats/evt3.html
 *   .dat     https://docs.prophesee.ai/stable/data/file_formats/dat.html
 * Timestamps are absolute as stored: unlike Metavision's default we do not
 * shift time to the first TIME_HIGH (see /work/shared/events/SOURCES.md).
 * EVT 3.0's 24-bit time (TIME_HIGH 12 bits : TIME_LOW 12 bits) wraps every
 * 16.7 s; a TIME_HIGH below the previous one adds 2^24 us. TIME_LOW keeps the
 * current TIME_HIGH; it is not compared to the previous TIME_LOW (a decoder
 * that does so, expelliarmus', is off by multiples of 4096 us). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/formats.h"

#define WORDS_BYTES (64 * 1024)

typedef struct {
  evsnn_stream_t *s;
  char evt[8];            /* "% evt" value */
  unsigned system_id;
  /* EVT 2.0 / 3.0 decoding state */
  uint64_t time_high;     /* EVT2: bits above the 6 low ones; EVT3: 12-bit field */
  uint64_t wrap;          /* EVT3: multiples of 2^24 */
  uint64_t t;             /* EVT3: current time */
  int have_time;
  unsigned y, base_x, pol;
  uint64_t words;         /* words consumed, for messages */
  evsnn_event_t pend[12]; /* EVT3 vector events not yet returned */
  unsigned npend, ipend;
} pstate_t;

/* Reads the '%' header lines; leaves the stream at the first data byte. */
static int read_header(pstate_t *z, evsnn_stream_t *s, evsnn_event_info_t *info) {
  z->s = s;
  for (;;) {
    const uint8_t *p;
    size_t avail;
    int err = evsnn_stream_peek(s, 4096, &p, &avail);
    if (err != 0) return err;
    if (avail == 0 || p[0] != '%') return 0;
    size_t n = 0;
    while (n < avail && p[n] != '\n') n++;
    if (n == avail)
      return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: header line without newline",
                         evsnn_stream_name(s), (unsigned long long)evsnn_stream_offset(s));
    char line[256];
    size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, p, m);
    line[m] = 0;
    evsnn_stream_skip(s, n + 1);
    if (strncmp(line, "% end", 5) == 0) return 0;
    unsigned w, h;
    sscanf(line, "%% evt %7s", z->evt);
    sscanf(line, "%% system_ID %u", &z->system_id);
    if (sscanf(line, "%% Width %u", &w) == 1) info->width = w;
    if (sscanf(line, "%% Height %u", &h) == 1) info->height = h;
    const char *g = strstr(line, "width=");
    if (g) info->width = (uint32_t)atoi(g + 6);
    g = strstr(line, "height=");
    if (g) info->height = (uint32_t)atoi(g + 7);
  }
}

/* Sensor size from the system_ID when the header gives none (OpenEB's
 * psee_raw_file_header.cpp maps 0x15 to Gen3 640x480, 0x30 to Gen4.1 1280x720). */
static void size_from_system(const pstate_t *z, evsnn_event_info_t *info) {
  if (info->width != 0) return;
  if (z->system_id == 0x15) info->width = 640, info->height = 480;
  if (z->system_id == 0x30) info->width = 1280, info->height = 720;
}

static int sniff_evt(const uint8_t *head, size_t len, const char *key) {
  if (len < 1 || head[0] != '%') return 0;
  for (size_t i = 0; i + strlen(key) <= len; i++)
    if (memcmp(head + i, key, strlen(key)) == 0) return 100;
  return 0;
}

static int sniff_evt2(const uint8_t *h, size_t len, const char *path) {
  return sniff_evt(h, len, "% evt 2.0");
}
static int sniff_evt3(const uint8_t *h, size_t len, const char *path) {
  return sniff_evt(h, len, "% evt 3.0");
}
static int sniff_dat(const uint8_t *h, size_t len, const char *path) {
  if (sniff_evt(h, len, "Event2D") || sniff_evt(h, len, "Event2dE") || sniff_evt(h, len, "% Data file"))
    return 90;
  return 0;
}

static int open_evt2(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  pstate_t *z = st;
  int err = read_header(z, s, info);
  size_from_system(z, info);
  return err;
}

static int open_evt3(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  pstate_t *z = st;
  int err = read_header(z, s, info);
  size_from_system(z, info);
  return err;
}

/* Whole words only; a trailing partial word is truncation. */
static int peek_words(pstate_t *z, size_t wsize, const uint8_t **p, size_t *nw) {
  size_t avail;
  int err = evsnn_stream_peek(z->s, WORDS_BYTES, p, &avail);
  if (err != 0) return err;
  *nw = avail / wsize;
  if (*nw == 0 && avail > 0)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: %zu bytes left, a word needs %zu",
                       evsnn_stream_name(z->s), (unsigned long long)evsnn_stream_offset(z->s),
                       avail, wsize);
  return 0;
}

static int read_evt2(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  pstate_t *z = st;
  size_t k = 0;
  while (k < cap) {
    const uint8_t *p;
    size_t nw, i;
    int err = peek_words(z, 4, &p, &nw);
    if (err != 0) return k > 0 ? (*n = k, 0) : err;
    if (nw == 0) break;
    for (i = 0; i < nw && k < cap; i++) {
      uint32_t w = evsnn__le32(p + 4 * i);
      unsigned type = w >> 28;
      if (type == 0x8) {
        z->time_high = w & 0x0fffffff;
        z->have_time = 1;
      } else if (type <= 1 && z->have_time) {
        evsnn_event_t *e = &ev[k++];
        e->t = (int64_t)(z->time_high << 6 | (w >> 22 & 0x3f));
        e->x = (uint16_t)(w >> 11 & 0x7ff);
        e->y = (uint16_t)(w & 0x7ff);
        e->p = (uint8_t)type;
        memset(e->pad_, 0, 3);
      }
    }
    evsnn_stream_skip(z->s, 4 * i);
  }
  *n = k;
  return 0;
}

static inline void emit3(const pstate_t *z, evsnn_event_t *e, unsigned x) {
  e->t = (int64_t)z->t;
  e->x = (uint16_t)x;
  e->y = (uint16_t)z->y;
  e->p = (uint8_t)z->pol;
  memset(e->pad_, 0, 3);
}

static int read_evt3(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  pstate_t *z = st;
  size_t k = 0;
  for (;;) {
    while (z->ipend < z->npend && k < cap) ev[k++] = z->pend[z->ipend++];
    if (k == cap) break;
    z->npend = z->ipend = 0;
    if (cap - k < 12 && k > 0) break; /* let the caller drain first */
    const uint8_t *p;
    size_t nw, i;
    int err = peek_words(z, 2, &p, &nw);
    if (err != 0) return k > 0 ? (*n = k, 0) : err;
    if (nw == 0) break;
    /* Events go straight to the caller while a whole vector (12) fits;
     * near the end of ev they go to pend, and the loop stops after one word. */
    for (i = 0; i < nw && z->npend == 0; i++) {
      evsnn_event_t *out = cap - k >= 12 ? ev + k : z->pend;
      unsigned m = 0;
      unsigned w = evsnn__le16(p + 2 * i), type = w >> 12, v = w & 0xfff;
      switch (type) {
      case 0x0: z->y = v & 0x7ff; break;
      case 0x2:
        z->pol = v >> 11;
        if (z->have_time) emit3(z, &out[m++], v & 0x7ff);
        break;
      case 0x3: z->pol = v >> 11, z->base_x = v & 0x7ff; break;
      case 0x4:
      case 0x5: {
        unsigned bits = type == 0x4 ? 12 : 8;
        if (z->have_time)
          for (unsigned b = 0; b < bits; b++)
            if (v >> b & 1) emit3(z, &out[m++], z->base_x + b);
        z->base_x += bits;
        break;
      }
      case 0x6: z->t = z->wrap | (z->time_high << 12) | v; break;
      case 0x8:
        if (z->have_time && v < z->time_high) z->wrap += 1u << 24;
        z->time_high = v;
        z->have_time = 1;
        z->t = z->wrap | (z->time_high << 12);
        break;
      default: break; /* triggers, others, continued: not CD events */
      }
      if (out == z->pend) z->npend = m;
      else k += m;
    }
    evsnn_stream_skip(z->s, 2 * i);
  }
  *n = k;
  return 0;
}

/* .dat: after the header, a byte of event type and a byte of event size
 * (8 for Event2D), then u32 t and u32 {x:14, y:14, p:4}. */
static int open_dat(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  pstate_t *z = st;
  int err = read_header(z, s, info);
  if (err != 0) return err;
  uint8_t ts[2];
  size_t got;
  err = evsnn_stream_read(s, ts, 2, &got);
  if (err != 0) return err;
  if (got < 2)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: event type and size missing",
                       evsnn_stream_name(s), (unsigned long long)evsnn_stream_offset(s));
  if (ts[1] != 8)
    return evsnn__fail(EVSNN_EUNSUPPORTED, "%s: byte %llu: event size %u, expected 8",
                       evsnn_stream_name(s), (unsigned long long)evsnn_stream_offset(s) - 1, ts[1]);
  return 0;
}

static int read_dat(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  pstate_t *z = st;
  size_t k = 0;
  while (k < cap) {
    const uint8_t *p;
    size_t nw, i;
    int err = peek_words(z, 8, &p, &nw);
    if (err != 0) return k > 0 ? (*n = k, 0) : err;
    if (nw == 0) break;
    for (i = 0; i < nw && k < cap; i++) {
      uint32_t a = evsnn__le32(p + 8 * i), b = evsnn__le32(p + 8 * i + 4);
      evsnn_event_t *e = &ev[k++];
      e->t = a;
      e->x = (uint16_t)(b & 0x3fff);
      e->y = (uint16_t)(b >> 14 & 0x3fff);
      e->p = (uint8_t)(b >> 28 & 1);
      memset(e->pad_, 0, 3);
    }
    evsnn_stream_skip(z->s, 8 * i);
  }
  *n = k;
  return 0;
}

static void close_p(void *st) {}

const evsnn__event_format_t evsnn__format_evt2 = {
    "evt2", sniff_evt2, sizeof(pstate_t), open_evt2, read_evt2, close_p,
};
const evsnn__event_format_t evsnn__format_evt3 = {
    "evt3", sniff_evt3, sizeof(pstate_t), open_evt3, read_evt3, close_p,
};
const evsnn__event_format_t evsnn__format_dat = {
    "dat", sniff_dat, sizeof(pstate_t), open_dat, read_dat, close_p,
};
