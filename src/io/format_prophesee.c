/* Prophesee recordings: RAW files in EVT 2.0, EVT 2.1 and EVT 3.0, and .dat
 * TD files. All open with ASCII header lines "% key value".
 *
 * Layouts from the Prophesee documentation:
 *   RAW      https://docs.prophesee.ai/stable/data/file_formats/raw.html
 *   EVT 2.0  https://docs.prophesee.ai/stable/data/encoding_formats/evt2.html
 *   EVT 2.1  https://docs.prophesee.ai/stable/data/encoding_formats/evt21.html
 *   EVT 3.0  https://docs.prophesee.ai/stable/data/encoding_formats/evt3.html
 *   .dat     https://docs.prophesee.ai/stable/data/file_formats/dat.html
 * A RAW header's format, size and EVT 2.1 word order are resolved by the
 * rules of OpenEB's PseeRawFileHeader::check_header
 * (hal_psee_plugins/src/boards/rawfile/psee_raw_file_header.cpp), written
 * out in resolve() and docs/event-readers.md.
 * Timestamps are absolute as stored: unlike Metavision's default we do not
 * shift time to the first TIME_HIGH (see /work/shared/events/SOURCES.md).
 * EVT 3.0's 24-bit time (TIME_HIGH 12 bits : TIME_LOW 12 bits) wraps every
 * 16.7 s; a TIME_HIGH below the previous one adds 2^24 us. TIME_LOW keeps the
 * current TIME_HIGH; it is not compared to the previous TIME_LOW (a decoder
 * that does so, expelliarmus', is off by multiples of 4096 us). EVT 2.1's
 * 34-bit time wraps as OpenEB's EVT21 decoder has it: see read_evt21. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/formats.h"

#define WORDS_BYTES (64 * 1024)
#define HLINE 256 /* header lines are cut to this; no key we read is longer */

enum { RAW_NONE, RAW_EVT2, RAW_EVT21, RAW_EVT3, RAW_OTHER };
static const char *const raw_names[] = {"", "EVT2", "EVT21", "EVT3"};

/* What a RAW (or .dat) header says, by the keys OpenEB reads. */
typedef struct {
  char evt[16];           /* legacy "% evt" value: "2.0", "2.1", "3.0" */
  char format[HLINE];     /* "% format" value, e.g. "EVT21;endianness=legacy;height=720;width=1280" */
  char endianness[16];    /* "% endianness" value */
  char geometry[32];      /* "% geometry" value, "WxH" */
  char integrator[3][32]; /* integrator_name, plugin_integrator_name, camera_integrator_name */
  long system_id;         /* -1 when absent or not a number, as OpenEB's get_system_id */
  uint32_t dat_w, dat_h;  /* .dat's "% Width" / "% Height" */
} rawhdr_t;

/* The header resolved: which decoder, the sensor size, EVT 2.1's word order. */
typedef struct {
  int fmt;        /* RAW_* */
  char name[32];  /* the format as the header names it, for messages */
  uint32_t width, height;
  int legacy;     /* EVT 2.1: a word is two LE 32-bit halves, the high half first */
} rawfmt_t;

typedef struct {
  evsnn_stream_t *s;
  rawfmt_t raw;
  /* EVT 2.0 / 2.1 / 3.0 decoding state */
  uint64_t time_high;     /* EVT2: bits above the 6 low ones; EVT3: 12-bit field */
  uint64_t wrap;          /* EVT3: multiples of 2^24 */
  uint64_t t;             /* EVT3: current time; EVT2.1: wraps << 34 | TIME_HIGH << 6 */
  int have_time;
  unsigned y, base_x, pol;
  evsnn_event_t pend[32]; /* EVT3 / EVT2.1 vector events not yet returned */
  unsigned npend, ipend;
} pstate_t;

static void copy_value(char *dst, size_t cap, const char *v, size_t n) {
  if (n > cap - 1) n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = 0;
}
#define COPY(dst, v) copy_value(dst, sizeof(dst), v, strlen(v))

/* One header line after its "% ": the key is the first word, the value the
 * rest without surrounding blanks (OpenEB joins the words with single
 * spaces; no value we read has inner blanks). Unknown keys are ignored.
 * Returns 1 at "end". */
static int header_key(rawhdr_t *h, char *line) {
  char *k = line + strspn(line, " \t"), *v = k + strcspn(k, " \t");
  if (*v) *v++ = 0;
  v += strspn(v, " \t");
  for (char *e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t');) *--e = 0;
  if (strcmp(k, "end") == 0) return 1;
  if (strcmp(k, "evt") == 0) COPY(h->evt, v);
  else if (strcmp(k, "format") == 0) COPY(h->format, v);
  else if (strcmp(k, "endianness") == 0) COPY(h->endianness, v);
  else if (strcmp(k, "geometry") == 0) COPY(h->geometry, v);
  else if (strcmp(k, "integrator_name") == 0) COPY(h->integrator[0], v);
  else if (strcmp(k, "plugin_integrator_name") == 0) COPY(h->integrator[1], v);
  else if (strcmp(k, "camera_integrator_name") == 0) COPY(h->integrator[2], v);
  else if (strcmp(k, "system_ID") == 0) {
    char *end;
    long id = strtol(v, &end, 10);
    h->system_id = end == v ? -1 : id;
  } else if (strcmp(k, "Width") == 0) h->dat_w = (uint32_t)strtoul(v, NULL, 10);
  else if (strcmp(k, "Height") == 0) h->dat_h = (uint32_t)strtoul(v, NULL, 10);
  return 0;
}

/* The header lines at the start of head[0..len): the sniffers' view. As in
 * OpenEB's parser, a header line starts with '%' and a space; the first
 * other line, or "% end", starts the data. */
static void header_from_bytes(rawhdr_t *h, const uint8_t *head, size_t len) {
  memset(h, 0, sizeof(*h));
  h->system_id = -1;
  for (size_t i = 0; i + 1 < len && head[i] == '%' && head[i + 1] == ' ';) {
    size_t n = 2;
    while (i + n < len && head[i + n] != '\n') n++;
    char line[HLINE];
    copy_value(line, sizeof(line), (const char *)head + i + 2, n - 2);
    line[strcspn(line, "\r")] = 0;
    if (header_key(h, line)) return;
    i += n + 1;
  }
}

/* The same from the stream, consuming the header; leaves the stream at the
 * first data byte. */
static int header_from_stream(rawhdr_t *h, evsnn_stream_t *s) {
  memset(h, 0, sizeof(*h));
  h->system_id = -1;
  for (;;) {
    const uint8_t *p;
    size_t avail;
    int err = evsnn_stream_peek(s, 2, &p, &avail);
    if (err != 0) return err;
    if (avail < 2 || p[0] != '%' || p[1] != ' ') return 0;
    char line[HLINE];
    if ((err = evsnn__header_line(s, '%', line, sizeof(line))) < 0) return err;
    line[strcspn(line, "\r")] = 0;
    if (header_key(h, line + 2)) return 0;
  }
}

/* OpenEB's table of Prophesee systems (device_system_id.h and check_header's
 * system_id_map): the format and size a header without "% format" implies. */
static const struct { long id; int fmt; uint16_t w, h; } systems[] = {
    {0x15, RAW_EVT2, 640, 480},  {0x1c, RAW_EVT2, 640, 480},  {0x1a, RAW_EVT2, 1280, 720},
    {0x17, RAW_EVT2, 640, 480},  {0x97, RAW_EVT2, 640, 480},  {0x19, RAW_EVT2, 640, 480},
    {0x99, RAW_EVT2, 640, 480},  {0x1d, RAW_EVT2, 640, 480},  {0x23, RAW_EVT2, 640, 480},
    {0x1e, RAW_EVT3, 1280, 720}, {0x2e, RAW_EVT3, 1280, 720}, {0x21, RAW_EVT2, 640, 480},
    {0xa1, RAW_EVT2, 640, 480},  {0x22, RAW_EVT2, 640, 480},  {0xa2, RAW_EVT2, 640, 480},
    {0x29, RAW_EVT2, 640, 480},  {0x1f, RAW_EVT2, 1280, 720}, {0x27, RAW_EVT2, 1280, 720},
    {0x28, RAW_EVT3, 640, 480},  {0x30, RAW_EVT3, 1280, 720}, {0x32, RAW_EVT3, 1280, 720},
    {0x31, RAW_EVT3, 1280, 720},
};
#define SYSTEM_EVK2_SAPHIR 0x37 /* systems before it wrote EVT 2.1 in the legacy word order */

static int fmt_by_name(const char *name, size_t len) {
  for (int f = RAW_EVT2; f <= RAW_EVT3; f++)
    if (strlen(raw_names[f]) == len && strncmp(name, raw_names[f], len) == 0) return f;
  return RAW_OTHER;
}

static int fmt_by_evt(const char *evt) {
  if (strcmp(evt, "2.0") == 0) return RAW_EVT2;
  if (strcmp(evt, "2.1") == 0) return RAW_EVT21;
  if (strcmp(evt, "3.0") == 0) return RAW_EVT3;
  return RAW_OTHER;
}

/* The value of option key in a "% format" string ("NAME;k=v;k=v") into buf,
 * or NULL when the option is absent. */
static const char *format_option(const char *format, const char *key, char *buf, size_t cap) {
  size_t kl = strlen(key);
  for (const char *o = strchr(format, ';'); o != NULL; o = strchr(o + 1, ';'))
    if (strncmp(o + 1, key, kl) == 0 && o[1 + kl] == '=') {
      copy_value(buf, cap, o + 2 + kl, strcspn(o + 2 + kl, ";"));
      return buf;
    }
  return NULL;
}

/* OpenEB's check_header, step by step. Returns 0 (out->fmt RAW_NONE when the
 * header names no format) or an error code with the reason in why. */
static int resolve(const rawhdr_t *h, rawfmt_t *out, char *why, size_t cap) {
  memset(out, 0, sizeof(*out));
  /* 1. Integrators: pre-4.0 headers have one integrator_name; none at all
   *    means a file of Prophesee's own older software. */
  const char *plugin = h->integrator[1], *camera = h->integrator[2];
  if (!*plugin && !*camera) plugin = camera = h->integrator[0];
  if (!*plugin && !*camera) plugin = camera = "Prophesee";
  int psee = strcmp(plugin, "Prophesee") == 0 && strcmp(camera, "Prophesee") == 0;
  /* 2. A system_ID means something only on Prophesee's own systems. */
  int sys = -1;
  for (int i = 0; psee && i < (int)(sizeof(systems) / sizeof(systems[0])); i++)
    if (systems[i].id == h->system_id) sys = i;
  /* 3. The format: "% format", else the legacy "% evt", else the system's;
   *    the size from the format's options, else (legacy) the system's. */
  char buf[32];
  if (*h->format) {
    size_t n = strcspn(h->format, ";");
    out->fmt = fmt_by_name(h->format, n);
    copy_value(out->name, sizeof(out->name), h->format, n);
    if (format_option(h->format, "width", buf, sizeof(buf))) out->width = (uint32_t)strtoul(buf, NULL, 0);
    if (format_option(h->format, "height", buf, sizeof(buf))) out->height = (uint32_t)strtoul(buf, NULL, 0);
    /* OpenEB ignores "% evt" when "% format" is there; a file whose two
     * lines contradict each other is refused here rather than guessed at. */
    if (*h->evt && fmt_by_evt(h->evt) != out->fmt) {
      snprintf(why, cap,
               "header lines \"%% evt %s\" and \"%% format %s\" disagree on the event format "
               "(OpenEB follows %% format; correct one of them)",
               h->evt, h->format);
      return EVSNN_EFORMAT;
    }
  } else if (*h->evt) {
    out->fmt = fmt_by_evt(h->evt);
    snprintf(out->name, sizeof(out->name), "\"evt %s\"", h->evt);
  } else if (sys >= 0) {
    out->fmt = systems[sys].fmt;
  }
  if (out->fmt != RAW_OTHER && out->fmt != RAW_NONE) COPY(out->name, raw_names[out->fmt]);
  if (!*h->format && sys >= 0) out->width = systems[sys].w, out->height = systems[sys].h;
  /* 4. "% geometry WxH" must agree with the format's size where both exist. */
  if (*h->geometry) {
    char *e;
    unsigned long w = strtoul(h->geometry, &e, 10), ht = *e == 'x' ? strtoul(e + 1, &e, 10) : 0;
    if (w == 0 || ht == 0 || *e || w > UINT32_MAX || ht > UINT32_MAX) {
      snprintf(why, cap, "header line \"%% geometry %s\" is not WIDTHxHEIGHT", h->geometry);
      return EVSNN_ECORRUPT;
    }
    if (*h->format && ((out->width && out->width != w) || (out->height && out->height != ht))) {
      snprintf(why, cap, "header lines \"%% geometry %s\" and \"%% format %s\" disagree on the sensor size",
               h->geometry, h->format);
      return EVSNN_ECORRUPT;
    }
    out->width = (uint32_t)w, out->height = (uint32_t)ht;
  }
  /* 5. Still no size: the system's, as OpenEB infers it; else unknown (0),
   *    where OpenEB refuses the file (our decoders do not need the size). */
  if ((out->width == 0 || out->height == 0) && sys >= 0) out->width = systems[sys].w, out->height = systems[sys].h;
  /* 6. EVT 2.1's word order: the format's option, else "% endianness", else
   *    legacy on Prophesee systems older than the EVK2 Saphir (OpenEB's test
   *    is "system_id && system_id < 0x37", so a missing system_ID, read as
   *    -1, counts as old too), else little. */
  if (out->fmt == RAW_EVT21) {
    const char *e = format_option(h->format, "endianness", buf, sizeof(buf));
    if (e == NULL && *h->endianness) e = h->endianness;
    if (e == NULL) e = psee && h->system_id != 0 && h->system_id < SYSTEM_EVK2_SAPHIR ? "legacy" : "little";
    if (strcmp(e, "legacy") != 0 && strcmp(e, "little") != 0) {
      snprintf(why, cap, "header: EVT 2.1 endianness \"%s\" is not read (legacy and little are)", e);
      return EVSNN_EUNSUPPORTED;
    }
    out->legacy = strcmp(e, "legacy") == 0;
  }
  return 0;
}

/* Sniffing: 100 for the decoder of the format the header resolves to. The
 * EVT 2.0 decoder also takes, at a low score, a header that names a format
 * we do not read or contradicts itself, so that its open says why. */
static int sniff_raw(const uint8_t *head, size_t len, int fmt) {
  if (len < 2 || head[0] != '%') return 0;
  rawhdr_t h;
  rawfmt_t r;
  char why[2 * HLINE];
  header_from_bytes(&h, head, len);
  int err = resolve(&h, &r, why, sizeof(why));
  if (err == 0 && r.fmt == fmt) return 100;
  if (fmt == RAW_EVT2 && (err != 0 || r.fmt == RAW_OTHER)) return 30;
  return 0;
}

static int sniff_evt2(const uint8_t *h, size_t len, const char *path) { return sniff_raw(h, len, RAW_EVT2); }
static int sniff_evt21(const uint8_t *h, size_t len, const char *path) { return sniff_raw(h, len, RAW_EVT21); }
static int sniff_evt3(const uint8_t *h, size_t len, const char *path) { return sniff_raw(h, len, RAW_EVT3); }

static int has(const uint8_t *head, size_t len, const char *key) {
  size_t k = strlen(key);
  for (size_t i = 0; i + k <= len; i++)
    if (memcmp(head + i, key, k) == 0) return 1;
  return 0;
}

static int sniff_dat(const uint8_t *h, size_t len, const char *path) {
  if (len < 1 || h[0] != '%') return 0;
  return has(h, len, "Event2D") || has(h, len, "Event2dE") || has(h, len, "% Data file") ? 90 : 0;
}

/* Reads and resolves the header. The decoder was picked by sniffing or by
 * name; one picked by name reads the data as its own format whatever the
 * header resolves to, but a header that contradicts itself or names a
 * format we do not read is refused either way. */
static int open_raw(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  pstate_t *z = st;
  rawhdr_t h;
  char why[2 * HLINE];
  z->s = s;
  int err = header_from_stream(&h, s);
  if (err != 0) return err;
  if ((err = resolve(&h, &z->raw, why, sizeof(why))) != 0)
    return evsnn__fail(err, "%s: %s", evsnn_stream_name(s), why);
  if (z->raw.fmt == RAW_OTHER)
    return evsnn__fail(EVSNN_EUNSUPPORTED, "%s: header: event format %s is not read (EVT2, EVT21 and EVT3 are)",
                       evsnn_stream_name(s), z->raw.name);
  info->width = z->raw.width, info->height = z->raw.height;
  return 0;
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

/* Hands out the vector events held back by the last call. Returns 1 when
 * the caller's ev is full, or has events and less room than one vector of
 * vec (so the caller drains first), 0 to decode on. */
static int drain_pend(pstate_t *z, evsnn_event_t *ev, size_t cap, size_t *k, unsigned vec) {
  while (z->ipend < z->npend && *k < cap) ev[(*k)++] = z->pend[z->ipend++];
  if (*k == cap) return 1;
  z->npend = z->ipend = 0;
  return cap - *k < vec && *k > 0;
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
    if (drain_pend(z, ev, cap, &k, 12)) break;
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

/* EVT 2.1: 64-bit words, the type in bits 63..60. CD words (0 OFF, 1 ON):
 * ts 59..54 (the 6 low bits of t), x 53..43 (the vector's first column),
 * y 42..32, and bits 31..0 a mask: bit i set is an event at x + i. TIME_HIGH
 * (8): bits 59..32 are t >> 6. Triggers (0xA), OTHERS (0xE) and CONTINUED
 * (0xF) are not CD events. The legacy (IMX636) word order sends bits 63..32
 * as the first little-endian 32-bit half; GenX320's is one little-endian
 * 64-bit word. As in OpenEB's EVT21 decoder, events before the first
 * TIME_HIGH are dropped, and the 28-bit TIME_HIGH wraps (adding 2^34 us)
 * only when it steps down by its whole range, from 2^28 - 1 to 0; any other
 * step down is taken as it is, and the reader's time gate (formats.c) then
 * refuses the event that goes back (OpenEB logs "TimeHigh discrepancy" and
 * goes on back in time). */
static int read_evt21(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  pstate_t *z = st;
  const uint64_t high_mask = ((1ull << 28) - 1) << 6;
  size_t k = 0;
  for (;;) {
    if (drain_pend(z, ev, cap, &k, 32)) break;
    const uint8_t *p;
    size_t nw, i;
    int err = peek_words(z, 8, &p, &nw);
    if (err != 0) return k > 0 ? (*n = k, 0) : err;
    if (nw == 0) break;
    /* As in read_evt3: straight to the caller while a whole vector fits. */
    for (i = 0; i < nw && z->npend == 0; i++) {
      const uint8_t *w = p + 8 * i;
      uint32_t hi = z->raw.legacy ? evsnn__le32(w) : evsnn__le32(w + 4);
      uint32_t mask = z->raw.legacy ? evsnn__le32(w + 4) : evsnn__le32(w);
      unsigned type = hi >> 28;
      if (type == 0x8) {
        uint64_t th = (uint64_t)(hi & 0x0fffffff) << 6, last = z->t & high_mask, wraps = z->t >> 34;
        if (z->have_time && th < last && last - th >= high_mask) wraps++;
        z->t = wraps << 34 | th;
        z->have_time = 1;
      } else if (type <= 1 && z->have_time) {
        evsnn_event_t *out = cap - k >= 32 ? ev + k : z->pend;
        unsigned m = 0, x = hi >> 11 & 0x7ff;
        int64_t t = (int64_t)(z->t | (hi >> 22 & 0x3f));
        /* Field by field: an event built aside and copied whole stalls on
         * store forwarding (its 16-byte load over the narrow stores). */
        for (; mask != 0; mask &= mask - 1, m++) {
          out[m].t = t;
          out[m].x = (uint16_t)(x + (unsigned)__builtin_ctz(mask));
          out[m].y = (uint16_t)(hi & 0x7ff);
          out[m].p = (uint8_t)type;
          memset(out[m].pad_, 0, 3);
        }
        if (out == z->pend) z->npend = m;
        else k += m;
      }
    }
    evsnn_stream_skip(z->s, 8 * i);
  }
  *n = k;
  return 0;
}

/* .dat: after the header, a byte of event type and a byte of event size
 * (8 for Event2D), then u32 t and u32 {x:14, y:14, p:4}. */
static int open_dat(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  pstate_t *z = st;
  rawhdr_t h;
  z->s = s;
  int err = header_from_stream(&h, s);
  if (err != 0) return err;
  info->width = h.dat_w, info->height = h.dat_h;
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
    "evt2", sniff_evt2, sizeof(pstate_t), open_raw, read_evt2, close_p,
};
const evsnn__event_format_t evsnn__format_evt21 = {
    "evt21", sniff_evt21, sizeof(pstate_t), open_raw, read_evt21, close_p,
};
const evsnn__event_format_t evsnn__format_evt3 = {
    "evt3", sniff_evt3, sizeof(pstate_t), open_raw, read_evt3, close_p,
};
const evsnn__event_format_t evsnn__format_dat = {
    "dat", sniff_dat, sizeof(pstate_t), open_dat, read_dat, close_p,
};
