/* iniVation AEDAT 2.0 (jAER) and AEDAT 3.1 (cAER, the DVS128 Gesture
 * recordings): polarity events out, every other word or packet type
 * (APS samples, IMU words, special events, frames) recognised and skipped.
 *
 * Layouts:
 *   AEDAT 2.0  https://docs.inivation.com/software/software-advanced-usage/file-formats/aedat-2.0.html
 *              big-endian int32 address + int32 timestamp (us) after '#' lines;
 *              DVS128 addresses as jAER's extractRetina128EventsFromAddr.m,
 *              DAVIS addresses as AedatTools' ImportAedatDataVersion1or2.py.
 *   AEDAT 3.1  https://docs.inivation.com/software/software-advanced-usage/file-formats/aedat-3.1.html
 *              28-byte little-endian packet headers; polarity masks and the
 *              31-bit overflow shift as libcaer's events/common.h and polarity.h.
 * Conventions (as /work/shared/events/SOURCES.md's ground truth): DVS128
 * AEDAT 2.0 follows jAER, x = 127 - raw x and p = 1 - raw bit 0 (the raw bit
 * is 1 for OFF); DAVIS AEDAT 2.0 and AEDAT 3.1 keep the raw bits unflipped. */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "io/formats.h"

#define WORDS_BYTES (64 * 1024)

enum { CHIP_DVS128, CHIP_DAVIS };

typedef struct {
  evsnn_stream_t *s;
  int chip;
  uint32_t last_ts;   /* AEDAT 2.0: previous 32-bit timestamp, for wrap-around */
  uint64_t wrap;      /* AEDAT 2.0: multiples of 2^32 us */
  /* AEDAT 3.1: the packet being read */
  uint64_t left;      /* polarity events left in it */
  uint64_t skip;      /* bytes of a non-polarity packet left to skip */
  uint64_t overflow;  /* its eventTSOverflow, shifted into place */
} astate_t;

/* Sensor size from the chip or source name (jAER class names, cAER source
 * names); the sizes are those of the sensors' datasheets. Returns the chip
 * family, which decides AEDAT 2.0's address layout. */
static int chip_from_name(const char *name, evsnn_event_info_t *info) {
  static const struct { const char *key; uint32_t w, h; } chips[] = {
      {"DAVIS240", 240, 180}, {"DAVIS346", 346, 260}, {"DAVIS128", 128, 128},
      {"DAVIS640", 640, 480}, {"DVXPLORER", 640, 480}, {"DVS128", 128, 128},
  };
  char up[128];
  size_t i;
  for (i = 0; name[i] && i < sizeof(up) - 1; i++)
    up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
  up[i] = 0;
  for (i = 0; i < sizeof(chips) / sizeof(chips[0]); i++)
    if (strstr(up, chips[i].key)) {
      info->width = chips[i].w, info->height = chips[i].h;
      break;
    }
  return strstr(up, "DAVIS") ? CHIP_DAVIS : CHIP_DVS128;
}

static int sniff_aedat2(const uint8_t *h, size_t len, const char *path) {
  if (len >= 12 && memcmp(h, "#!AER-DAT2.0", 12) == 0) return 100;
  return 0;
}

static int sniff_aedat3(const uint8_t *h, size_t len, const char *path) {
  if (len >= 12 && memcmp(h, "#!AER-DAT3.1", 12) == 0) return 100;
  return 0;
}

/* jAER's header: '#' lines, ending after "#End of Preferences for this
 * AEChip" when present. Stopping there, and not at the first byte that is not
 * '#', keeps a first address whose top byte is '#' (0x23) from being taken
 * for a header line (loadaerdat.m warns about that case). */
static int open_aedat2(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  astate_t *z = st;
  char line[512];
  int err, first = 1;
  z->s = s;
  z->chip = CHIP_DVS128; /* files without an AEChip line come from the DVS128 era */
  while ((err = evsnn__header_line(s, '#', line, sizeof(line))) == 1) {
    if (first && strncmp(line, "#!AER-DAT2.0", 12) != 0)
      return evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: expected \"#!AER-DAT2.0\", got \"%.20s\"",
                         evsnn_stream_name(s), line);
    first = 0;
    if (strncmp(line, "# AEChip:", 9) == 0) {
      z->chip = chip_from_name(line + 9, info);
    }
    if (strncmp(line, "#End of Preferences", 19) == 0) break;
  }
  if (err < 0) return err;
  if (first)
    return evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: expected \"#!AER-DAT2.0\"", evsnn_stream_name(s));
  if (info->width == 0 && z->chip == CHIP_DVS128) info->width = info->height = 128;
  return 0;
}

/* Whole records only; a trailing partial record is truncation. */
static int peek_records(evsnn_stream_t *s, size_t size, const uint8_t **p, size_t *nr) {
  size_t avail;
  int err = evsnn_stream_peek(s, WORDS_BYTES, p, &avail);
  if (err != 0) return err;
  *nr = avail / size;
  if (*nr == 0 && avail > 0)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: %zu bytes left, a record needs %zu",
                       evsnn_stream_name(s), (unsigned long long)evsnn_stream_offset(s), avail,
                       size);
  return 0;
}

static int read_aedat2(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  astate_t *z = st;
  size_t k = 0;
  while (k < cap) {
    const uint8_t *p;
    size_t nr, i;
    int err = peek_records(z->s, 8, &p, &nr);
    if (err != 0) return k > 0 ? (*n = k, 0) : err;
    if (nr == 0) break;
    for (i = 0; i < nr && k < cap; i++) {
      uint32_t a = evsnn__be32(p + 8 * i), ts = evsnn__be32(p + 8 * i + 4);
      /* jAER's clock is a 32-bit us counter: a jump back by more than half
       * its range is a wrap, smaller steps back are kept as they are. */
      if (ts < z->last_ts && z->last_ts - ts > 0x80000000u) z->wrap += 1ull << 32;
      z->last_ts = ts;
      evsnn_event_t *e = &ev[k];
      if (z->chip == CHIP_DVS128) {
        if (a & 0x8000) continue; /* external/special event */
        e->x = (uint16_t)(127 - (a >> 1 & 0x7f));
        e->y = (uint16_t)(a >> 8 & 0x7f);
        e->p = (uint8_t)(1 - (a & 1));
      } else {
        if (a & 0x80000000u || a & 0x400) continue; /* APS or IMU sample; special event */
        e->x = (uint16_t)(a >> 12 & 0x3ff);
        e->y = (uint16_t)(a >> 22 & 0x1ff);
        e->p = (uint8_t)(a >> 11 & 1);
      }
      e->t = (int64_t)(z->wrap + ts);
      memset(e->pad_, 0, 3);
      k++;
    }
    evsnn_stream_skip(z->s, 8 * i);
  }
  *n = k;
  return 0;
}

/* AEDAT 3.1's header: '#' lines up to "#!END-HEADER". */
static int open_aedat3(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  astate_t *z = st;
  char line[512];
  int err, first = 1;
  z->s = s;
  while ((err = evsnn__header_line(s, '#', line, sizeof(line))) == 1) {
    if (first && strncmp(line, "#!AER-DAT3.1", 12) != 0)
      return evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: expected \"#!AER-DAT3.1\", got \"%.20s\"",
                         evsnn_stream_name(s), line);
    first = 0;
    if (strncmp(line, "#Source ", 8) == 0 && strchr(line, ':')) chip_from_name(strchr(line, ':'), info);
    if (strcmp(line, "#!END-HEADER") == 0) return 0;
  }
  if (err < 0) return err;
  return evsnn__fail(first ? EVSNN_EFORMAT : EVSNN_ETRUNC, "%s: byte %llu: %s",
                     evsnn_stream_name(s), (unsigned long long)evsnn_stream_offset(s),
                     first ? "expected \"#!AER-DAT3.1\"" : "header ends without \"#!END-HEADER\"");
}

/* Reads the next packet header; sets left (polarity) or skip (any other
 * type). Returns 1 at a clean end of data between packets. */
static int next_packet(astate_t *z) {
  const uint8_t *p;
  size_t avail;
  uint64_t at = evsnn_stream_offset(z->s);
  int err = evsnn_stream_peek(z->s, 28, &p, &avail);
  if (err != 0) return err;
  if (avail == 0) return 1;
  if (avail < 28)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: packet header cut short (%zu of 28 bytes)",
                       evsnn_stream_name(z->s), (unsigned long long)at, avail);
  int16_t type = (int16_t)evsnn__le16(p);
  int32_t size = (int32_t)evsnn__le32(p + 4), overflow = (int32_t)evsnn__le32(p + 12);
  int32_t number = (int32_t)evsnn__le32(p + 20);
  if (size <= 0 || number < 0 || overflow < 0)
    return evsnn__fail(EVSNN_ECORRUPT,
                       "%s: byte %llu: packet header with eventSize %d, eventNumber %d, "
                       "eventTSOverflow %d",
                       evsnn_stream_name(z->s), (unsigned long long)at, size, number, overflow);
  if (type == 1 && size != 8)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: polarity packet with eventSize %d, expected 8",
                       evsnn_stream_name(z->s), (unsigned long long)at, size);
  evsnn_stream_skip(z->s, 28);
  if (type == 1) {
    z->left = (uint64_t)number;
    z->overflow = (uint64_t)overflow << 31;
  } else {
    z->skip = (uint64_t)number * (uint64_t)size;
  }
  return 0;
}

static int read_aedat3(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  astate_t *z = st;
  size_t k = 0;
  int err = 0;
  while (k < cap) {
    const uint8_t *p;
    size_t nr, i;
    if (z->skip > 0) {
      size_t avail;
      if ((err = evsnn_stream_peek(z->s, WORDS_BYTES, &p, &avail)) != 0) break;
      if (avail == 0) {
        err = evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: packet cut short, %llu bytes missing",
                          evsnn_stream_name(z->s), (unsigned long long)evsnn_stream_offset(z->s),
                          (unsigned long long)z->skip);
        break;
      }
      size_t m = avail < z->skip ? avail : (size_t)z->skip;
      evsnn_stream_skip(z->s, m);
      z->skip -= m;
      continue;
    }
    if (z->left == 0) {
      err = next_packet(z);
      if (err != 0) break;
      continue;
    }
    if ((err = peek_records(z->s, 8, &p, &nr)) != 0) break;
    if (nr == 0) {
      err = evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: polarity packet cut short, %llu events missing",
                        evsnn_stream_name(z->s), (unsigned long long)evsnn_stream_offset(z->s),
                        (unsigned long long)z->left);
      break;
    }
    if (nr > z->left) nr = (size_t)z->left;
    for (i = 0; i < nr && k < cap; i++) {
      uint32_t d = evsnn__le32(p + 8 * i), ts = evsnn__le32(p + 8 * i + 4);
      if (!(d & 1)) continue; /* invalidated event */
      evsnn_event_t *e = &ev[k++];
      e->t = (int64_t)(z->overflow | (ts & 0x7fffffffu));
      e->x = (uint16_t)(d >> 17 & 0x7fff);
      e->y = (uint16_t)(d >> 2 & 0x7fff);
      e->p = (uint8_t)(d >> 1 & 1);
      memset(e->pad_, 0, 3);
    }
    evsnn_stream_skip(z->s, 8 * i);
    z->left -= i;
  }
  *n = k;
  if (err == 1) return 0; /* clean end */
  return k > 0 ? 0 : err;
}

static void close_a(void *st) {}

const evsnn__event_format_t evsnn__format_aedat2 = {
    "aedat2", sniff_aedat2, sizeof(astate_t), open_aedat2, read_aedat2, close_a,
};
const evsnn__event_format_t evsnn__format_aedat3 = {
    "aedat3", sniff_aedat3, sizeof(astate_t), open_aedat3, read_aedat3, close_a,
};
