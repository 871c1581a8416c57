/* The text format of the Event Camera Dataset (Mueggler et al., "The
 * Event-Camera Dataset and Simulator", IJRR 2017,
 * https://rpg.ifi.uzh.ch/davis_data.html): one event per line,
 * "t x y p" with t in seconds as a decimal, p 0 or 1; plain or gzip (the
 * stream layer inflates). As rpg_e2vid's utils/event_readers.py accepts, a
 * first line of two integers is the sensor "width height"; we also skip
 * '#' comment lines and blank lines and read p = -1 as OFF.
 * Seconds become microseconds exactly, digit by digit, without passing
 * through a double; digits after the sixth decimal are rounded. */
#include <string.h>

#include "core/internal.h"
#include "io/formats.h"

#define LINE_BYTES 256

typedef struct {
  evsnn_stream_t *s;
  uint64_t line;  /* 1-based number of the next line */
} tstate_t;

/* Unsigned decimal integer; advances *p. Returns 0 on success. */
static int parse_uint(const char **p, const char *end, uint64_t max, uint64_t *v) {
  const char *q = *p;
  uint64_t x = 0;
  if (q == end || *q < '0' || *q > '9') return -1;
  while (q < end && *q >= '0' && *q <= '9') {
    x = x * 10 + (uint64_t)(*q++ - '0');
    if (x > max) return -1;
  }
  *p = q;
  *v = x;
  return 0;
}

static void skip_blank(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r')) (*p)++;
}

/* Parses "t x y p" into e. Returns 1 for an event, 0 for a blank or
 * comment line, -1 for anything else. */
static int parse_line(const char *p, const char *end, evsnn_event_t *e) {
  uint64_t sec, frac = 0, v[3];
  skip_blank(&p, end);
  if (p == end || *p == '#') return 0;
  if (parse_uint(&p, end, 1ull << 40, &sec) != 0) return -1;
  if (p < end && *p == '.') {
    int digits = 0;
    for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
      if (digits < 6) frac = frac * 10 + (uint64_t)(*p - '0');
      else if (digits == 6 && *p >= '5') frac++;
    }
    for (; digits < 6; digits++) frac *= 10;
  }
  for (int i = 0; i < 3; i++) {
    const char *q = p;
    skip_blank(&p, end);
    if (p == q) return -1;
    if (i == 2 && end - p >= 2 && p[0] == '-' && p[1] == '1')
      v[2] = 0, p += 2;
    else if (parse_uint(&p, end, i == 2 ? 1 : 65535, &v[i]) != 0)
      return -1;
  }
  skip_blank(&p, end);
  if (p != end) return -1;
  e->t = (int64_t)(sec * 1000000 + frac);
  e->x = (uint16_t)v[0];
  e->y = (uint16_t)v[1];
  e->p = (uint8_t)v[2];
  memset(e->pad_, 0, 3);
  return 1;
}

/* A size line: exactly two unsigned integers. */
static int size_line(const char *p, const char *end, uint64_t *w, uint64_t *h) {
  skip_blank(&p, end);
  if (parse_uint(&p, end, 65535, w) != 0) return 0;
  const char *q = p;
  skip_blank(&p, end);
  if (p == q || parse_uint(&p, end, 65535, h) != 0) return 0;
  skip_blank(&p, end);
  return p == end;
}

/* Without a magic number: the ".txt" extension, or else a first line that
 * is an event (after an optional size line and comments). */
static int sniff_text(const uint8_t *h, size_t len, const char *path) {
  if (evsnn__has_ext(path, ".txt")) return 60;
  const char *p = (const char *)h, *end = p + len, *nl;
  evsnn_event_t e;
  uint64_t w, ht;
  for (int line = 0; line < 16 && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; line++) {
    if (line == 0 && size_line(p, nl, &w, &ht)) {
      p = nl + 1;
      continue;
    }
    int r = parse_line(p, nl, &e);
    if (r != 0) return r == 1 ? 40 : 0;
    p = nl + 1;
  }
  return 0;
}

static int open_text(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  tstate_t *z = st;
  z->s = s;
  z->line = 1;
  const uint8_t *p;
  size_t avail;
  int err = evsnn_stream_peek(s, LINE_BYTES, &p, &avail);
  if (err != 0) return err;
  const uint8_t *nl = memchr(p, '\n', avail);
  uint64_t w, h;
  if (nl != NULL && size_line((const char *)p, (const char *)nl, &w, &h)) {
    info->width = (uint32_t)w, info->height = (uint32_t)h;
    evsnn_stream_skip(s, (size_t)(nl - p) + 1);
    z->line = 2;
  }
  return 0;
}

/* One line per peek: the peek holds a whole line of up to LINE_BYTES, so a
 * line without a newline is either too long or the last one. */
static int read_text(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  tstate_t *z = st;
  size_t k = 0;
  int err = 0;
  while (k < cap) {
    const uint8_t *p;
    size_t avail;
    if ((err = evsnn_stream_peek(z->s, LINE_BYTES + 1, &p, &avail)) != 0 || avail == 0) break;
    const uint8_t *nl = memchr(p, '\n', avail < LINE_BYTES + 1 ? avail : LINE_BYTES + 1);
    size_t len = nl ? (size_t)(nl - p) : avail;
    if (len > LINE_BYTES) {
      err = evsnn__fail(EVSNN_ECORRUPT, "%s: line %llu, byte %llu: longer than %d bytes",
                        evsnn_stream_name(z->s), (unsigned long long)z->line,
                        (unsigned long long)evsnn_stream_offset(z->s), LINE_BYTES);
      break;
    }
    int r = parse_line((const char *)p, (const char *)p + len, &ev[k]);
    if (r < 0) {
      err = evsnn__fail(EVSNN_ECORRUPT,
                        "%s: line %llu, byte %llu: expected \"t x y p\" (t in seconds, p 0 or 1)",
                        evsnn_stream_name(z->s), (unsigned long long)z->line,
                        (unsigned long long)evsnn_stream_offset(z->s));
      break;
    }
    k += (size_t)r;
    z->line++;
    evsnn_stream_skip(z->s, len + (nl != NULL));
  }
  *n = k;
  return k > 0 ? 0 : err;
}

static void close_t(void *st) {}

const evsnn__event_format_t evsnn__format_text = {
    "text", sniff_text, sizeof(tstate_t), open_text, read_text, close_t,
};
