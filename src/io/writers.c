/* The formats evsnn_event_writer_open writes besides its own, chosen by the
 * path's extension: the Event Camera Dataset's text (.txt, t in seconds),
 * N-MNIST's 40-bit records (.bin) and AEDAT 3.1 polarity packets (.aedat),
 * each the layout its reader in this folder decodes, so that such a file
 * reads back event for event; and `t x y p` lines with t in microseconds
 * (.csv, as evsnn events cat prints them) for other tools. Events a binary
 * format cannot hold (time going back or before 0, an address out of its
 * range) are EVSNN_ERANGE, naming the event. */
#include <inttypes.h>
#include <string.h>

#include "core/internal.h"
#include "io/formats.h"

static int put(FILE *f, const void *p, size_t n, const char *path, uint64_t index) {
  if (fwrite(p, 1, n, f) != n)
    return evsnn__fail(EVSNN_EIO, "%s: event %" PRIu64 ": write failed", path, index);
  return 0;
}

/* Time never going back, from 0, and x, y within the format's fields. */
static int fits(const evsnn_event_t *e, int64_t last, uint32_t max_x, uint32_t max_y, const char *what,
                const char *path, uint64_t index) {
  if (e->t >= last && e->x <= max_x && e->y <= max_y) return 0;
  return evsnn__fail(EVSNN_ERANGE,
                     "%s: event %" PRIu64 " (%" PRId64 " %u %u %u) does not fit %s (x <= %u, y <= %u, t >= 0 "
                     "and not decreasing)",
                     path, index, e->t, e->x, e->y, e->p, what, max_x, max_y);
}

/* ------------------------------------------------------------- text --- */

typedef struct {
  int seconds;
} text_t;

static int text_open(void *st, FILE *f, const evsnn_event_info_t *info, const char *path) {
  text_t *z = st;
  z->seconds = evsnn__has_ext(path, ".txt");
  /* The Event Camera Dataset's first line gives the size, when known. */
  if (z->seconds && info->width > 0 && fprintf(f, "%u %u\n", info->width, info->height) < 0)
    return evsnn__fail(EVSNN_EIO, "%s: header: write failed", path);
  return 0;
}

static int text_write(void *st, FILE *f, const evsnn_event_t *ev, size_t n, uint64_t index, const char *path) {
  const text_t *z = st;
  for (size_t i = 0; i < n; i++) {
    const evsnn_event_t *e = &ev[i];
    int r;
    if (z->seconds) {
      int64_t a = e->t < 0 ? -e->t : e->t;
      r = fprintf(f, "%s%" PRId64 ".%06" PRId64 " %u %u %u\n", e->t < 0 ? "-" : "", a / 1000000, a % 1000000, e->x,
                  e->y, e->p);
    } else {
      r = fprintf(f, "%" PRId64 " %u %u %u\n", e->t, e->x, e->y, e->p);
    }
    if (r < 0) return evsnn__fail(EVSNN_EIO, "%s: event %" PRIu64 ": write failed", path, index + i);
  }
  return 0;
}

static int none_finish(void *st, FILE *f, uint64_t index, const char *path) { return 0; }

const evsnn__event_sink_t evsnn__sink_text = {".txt", sizeof(text_t), text_open, text_write, none_finish};
const evsnn__event_sink_t evsnn__sink_csv = {".csv", sizeof(text_t), text_open, text_write, none_finish};

/* ------------------------------------------------------------ N-MNIST --- */

/* 40-bit records (src/io/format_nmnist.c): x, y, p << 7 | t >> 16, t >> 8,
 * t, t relative to a window start that a y = 240 record moves by 2^23 us. */
typedef struct {
  int64_t epoch, last;
} nmnist_t;

static int nmnist_open(void *st, FILE *f, const evsnn_event_info_t *info, const char *path) { return 0; }

static int nmnist_write(void *st, FILE *f, const evsnn_event_t *ev, size_t n, uint64_t index, const char *path) {
  nmnist_t *z = st;
  for (size_t i = 0; i < n; i++) {
    const evsnn_event_t *e = &ev[i];
    int err = fits(e, z->last, 255, 239, "N-MNIST .bin", path, index + i);
    for (; !err && e->t - z->epoch >= (1 << 23); z->epoch += 1 << 23)
      err = put(f, "\0\xf0\0\0\0", 5, path, index + i);
    if (err) return err;
    z->last = e->t;
    uint32_t t = (uint32_t)(e->t - z->epoch);
    uint8_t rec[5] = {(uint8_t)e->x, (uint8_t)e->y, (uint8_t)(e->p << 7 | t >> 16), (uint8_t)(t >> 8), (uint8_t)t};
    if ((err = put(f, rec, 5, path, index + i))) return err;
  }
  return 0;
}

const evsnn__event_sink_t evsnn__sink_nmnist = {".bin", sizeof(nmnist_t), nmnist_open, nmnist_write, none_finish};

/* ------------------------------------------------------------ AEDAT 3.1 --- */

/* The layout src/io/format_aedat.c reads, from
 * https://docs.inivation.com/software/software-advanced-usage/file-formats/aedat-3.1.html:
 * the header names the sensor so that readers know its size, then polarity
 * packets of at most 4,096 events, a new one whenever t >> 31 (the packet's
 * eventTSOverflow) changes. */
enum { AEDAT3_PACKET = 4096 };
typedef struct {
  uint8_t ev[8 * AEDAT3_PACKET];
  uint32_t n;
  int64_t overflow, last;
} aedat3_t;

static int aedat3_open(void *st, FILE *f, const evsnn_event_info_t *info, const char *path) {
  static const struct { uint32_t w, h; const char *name; } chips[] = {
      {128, 128, "DVS128"}, {240, 180, "DAVIS240C"}, {346, 260, "DAVIS346"}, {640, 480, "DVXplorer"}};
  const char *name = "evsnn";
  for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++)
    if (info->width == chips[i].w && info->height == chips[i].h) name = chips[i].name;
  if (fprintf(f, "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: %s\r\n#!END-HEADER\r\n", name) < 0)
    return evsnn__fail(EVSNN_EIO, "%s: header: write failed", path);
  return 0;
}

static int aedat3_flush(aedat3_t *z, FILE *f, const char *path, uint64_t index) {
  if (!z->n) return 0;
  /* eventType 1 (polarity), eventSource 1, eventSize 8, eventTSOffset 4,
   * eventTSOverflow, eventCapacity, eventNumber, eventValid. */
  uint32_t h[7] = {1u | 1u << 16, 8, 4, (uint32_t)z->overflow, z->n, z->n, z->n};
  uint8_t b[28];
  for (int i = 0; i < 7; i++) evsnn__put_le32(b + 4 * i, h[i]);
  int err = put(f, b, sizeof b, path, index);
  if (!err) err = put(f, z->ev, 8 * (size_t)z->n, path, index);
  z->n = 0;
  return err;
}

static int aedat3_write(void *st, FILE *f, const evsnn_event_t *ev, size_t n, uint64_t index, const char *path) {
  aedat3_t *z = st;
  for (size_t i = 0; i < n; i++) {
    const evsnn_event_t *e = &ev[i];
    int err = fits(e, z->last, 0x7fff, 0x7fff, "AEDAT 3.1", path, index + i);
    if (!err && (z->n == AEDAT3_PACKET || (z->n && e->t >> 31 != z->overflow)))
      err = aedat3_flush(z, f, path, index + i);
    if (err) return err;
    z->last = e->t, z->overflow = e->t >> 31;
    /* validity bit 0, polarity bit 1, y bits 2-16, x bits 17-31 */
    uint8_t *p = z->ev + 8 * z->n++;
    evsnn__put_le32(p, 1u | (uint32_t)e->p << 1 | (uint32_t)e->y << 2 | (uint32_t)e->x << 17);
    evsnn__put_le32(p + 4, (uint32_t)(e->t & 0x7fffffff));
  }
  return 0;
}

static int aedat3_finish(void *st, FILE *f, uint64_t index, const char *path) {
  return aedat3_flush(st, f, path, index);
}

const evsnn__event_sink_t evsnn__sink_aedat3 = {".aedat", sizeof(aedat3_t), aedat3_open, aedat3_write,
                                                aedat3_finish};
