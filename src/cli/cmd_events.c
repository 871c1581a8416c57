/* `evsnn events info|cat|convert`: look into, print and convert event files
 * of any format the library reads. Events stream through a fixed buffer;
 * no file is held in memory. Output already written stays when a read
 * fails half-way; the failure is one line on stderr and a non-zero exit. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "evsnn.h"

#define BATCH 65536

static evsnn_event_t batch[BATCH];

static int info_cmd(const char *path, int json) {
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  if (err != 0) return cli_fail(err, path);
  uint64_t count = 0, on = 0;
  int64_t t_min = 0, t_max = 0;
  unsigned x_min = 65535, y_min = 65535, x_max = 0, y_max = 0;
  size_t n;
  while ((err = evsnn_event_read(r, batch, BATCH, &n)) == 0 && n > 0) {
    if (count == 0) t_min = batch[0].t;
    for (size_t i = 0; i < n; i++) {
      const evsnn_event_t *e = &batch[i];
      if (e->x < x_min) x_min = e->x;
      if (e->x > x_max) x_max = e->x;
      if (e->y < y_min) y_min = e->y;
      if (e->y > y_max) y_max = e->y;
      on += e->p;
    }
    t_max = batch[n - 1].t;
    count += n;
  }
  const evsnn_event_info_t *in = evsnn_event_reader_info(r);
  if (err != 0) {
    int rc = cli_fail(err, path);
    evsnn_event_reader_close(r);
    return rc;
  }
  if (count == 0) x_min = y_min = 0;
  double span = (double)(t_max - t_min) * 1e-6;
  double rate = span > 0 ? (double)count / span : 0;
  if (json)
    printf("{\"format\":\"%s\",\"width\":%u,\"height\":%u,\"events\":%" PRIu64
           ",\"t_min\":%" PRId64 ",\"t_max\":%" PRId64 ",\"x_min\":%u,\"x_max\":%u,\"y_min\":%u"
           ",\"y_max\":%u,\"on\":%" PRIu64 ",\"off\":%" PRIu64 ",\"rate\":%.1f}\n",
           in->format, in->width, in->height, count, t_min, t_max, x_min, x_max, y_min, y_max,
           on, count - on, rate);
  else {
    char sensor[32] = "not stated in the file";
    if (in->width) snprintf(sensor, sizeof sensor, "%u x %u", in->width, in->height);
    printf("format      %s\nsensor      %s\nevents      %" PRIu64 "\ntime        %" PRId64
           " .. %" PRId64 " us (%.6f s)\nx range     %u .. %u\ny range     %u .. %u\n"
           "on / off    %" PRIu64 " / %" PRIu64 "\nmean rate   %.1f events/s\n",
           in->format, sensor, count, t_min, t_max, span, x_min, x_max, y_min, y_max, on, count - on, rate);
  }
  evsnn_event_reader_close(r);
  return 0;
}

typedef struct {
  long x0, y0, w, h;  /* w < 0: no crop */
  long long from, to; /* to < 0: no end */
  long down;
} filter_t;

/* Applies crop, time slice and downsampling in place; returns the kept count. */
static size_t filter(const filter_t *f, evsnn_event_t *ev, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    evsnn_event_t e = ev[i];
    if (e.t < f->from || (f->to >= 0 && e.t >= f->to)) continue;
    if (f->w >= 0 && (e.x < f->x0 || e.x >= f->x0 + f->w || e.y < f->y0 || e.y >= f->y0 + f->h))
      continue;
    e.x = (uint16_t)(e.x / f->down);
    e.y = (uint16_t)(e.y / f->down);
    ev[k++] = e;
  }
  return k;
}

static const char usage_events[] =
    "usage: evsnn events info FILE [--json]            format, sensor size, counts, time span, ranges, rate\n"
    "       evsnn events cat FILE [--crop x0,y0,w,h] [--from US] [--to US] [--downsample N]\n"
    "                                                  events as text, 't x y p' per line, in the file's order\n"
    "       evsnn events convert IN OUT                into our format (.evs/.evs.gz), .txt, .csv, N-MNIST .bin\n"
    "                                                  or AEDAT 3.1 (.aedat), by OUT's name\n"
    "The input format is sniffed: evsnn, Prophesee EVT 2.0/3.0 and .dat, AEDAT 2.0/3.1/4.0, N-MNIST .bin, text;\n"
    "gzip-compressed files are read through.\n";

static int cat_cmd(int argc, char **argv) {
  filter_t f = {0, 0, -1, -1, 0, -1, 1};
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--crop") == 0 && i + 1 < argc) {
      if (sscanf(argv[++i], "%ld,%ld,%ld,%ld", &f.x0, &f.y0, &f.w, &f.h) != 4 || f.w < 0 ||
          f.h < 0 || f.x0 < 0 || f.y0 < 0)
        return cli_usage("--crop wants x0,y0,w,h, got \"%s\"", argv[i]);
    } else if (strcmp(a, "--from") == 0 && i + 1 < argc) {
      long v;
      if (!cli_parse_long("--from", argv[++i], 0, LONG_MAX, &v)) return 2;
      f.from = v;
    } else if (strcmp(a, "--to") == 0 && i + 1 < argc) {
      long v;
      if (!cli_parse_long("--to", argv[++i], 0, LONG_MAX, &v)) return 2;
      f.to = v;
    } else if (strcmp(a, "--downsample") == 0 && i + 1 < argc) {
      if (!cli_parse_long("--downsample", argv[++i], 1, 65535, &f.down)) return 2;
    } else if (a[0] == '-' || path != NULL) {
      return cli_usage("events cat: unexpected \"%s\"", a);
    } else {
      path = a;
    }
  }
  if (path == NULL)
    return fputs(usage_events, stderr), 2;
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  if (err != 0) return cli_fail(err, path);
  size_t n;
  while ((err = evsnn_event_read(r, batch, BATCH, &n)) == 0 && n > 0) {
    n = filter(&f, batch, n);
    for (size_t i = 0; i < n; i++)
      printf("%" PRId64 " %u %u %u\n", batch[i].t, batch[i].x, batch[i].y, batch[i].p);
  }
  fflush(stdout);
  int rc = err != 0 ? cli_fail(err, path) : 0;
  evsnn_event_reader_close(r);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* AEDAT 3.1 (the layout src/io/format_aedat.c reads, from
 * https://docs.inivation.com/software/software-advanced-usage/file-formats/aedat-3.1.html):
 * the header names the sensor so that readers know its size, then polarity
 * packets of at most 4,096 events, a new one whenever t >> 31 (the packet's
 * eventTSOverflow) changes. */
enum { AEDAT3_PACKET = 4096 };
typedef struct {
  uint8_t ev[8 * AEDAT3_PACKET];
  uint32_t n;
  int64_t overflow;
} aedat3_packet_t;

static void aedat3_header(FILE *f, const evsnn_event_info_t *info) {
  static const struct { uint32_t w, h; const char *name; } chips[] = {
      {128, 128, "DVS128"}, {240, 180, "DAVIS240C"}, {346, 260, "DAVIS346"}, {640, 480, "DVXplorer"}};
  const char *name = "evsnn";
  for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++)
    if (info->width == chips[i].w && info->height == chips[i].h) name = chips[i].name;
  fprintf(f, "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: %s\r\n#!END-HEADER\r\n", name);
}

static void aedat3_flush(FILE *f, aedat3_packet_t *pk) {
  if (!pk->n) return;
  /* eventType 1 (polarity), eventSource 1, eventSize 8, eventTSOffset 4,
   * eventTSOverflow, eventCapacity, eventNumber, eventValid. */
  uint32_t h[7] = {1u | 1u << 16, 8, 4, (uint32_t)pk->overflow, pk->n, pk->n, pk->n};
  uint8_t b[28];
  for (int i = 0; i < 7; i++)
    for (int k = 0; k < 4; k++) b[4 * i + k] = (uint8_t)(h[i] >> (8 * k));
  fwrite(b, 1, sizeof b, f);
  fwrite(pk->ev, 8, pk->n, f);
  pk->n = 0;
}

static void aedat3_add(FILE *f, aedat3_packet_t *pk, const evsnn_event_t *e) {
  if (pk->n == AEDAT3_PACKET || (pk->n && e->t >> 31 != pk->overflow)) aedat3_flush(f, pk);
  pk->overflow = e->t >> 31;
  /* validity bit 0, polarity bit 1, y bits 2-16, x bits 17-31 */
  uint32_t d = 1u | (uint32_t)e->p << 1 | (uint32_t)e->y << 2 | (uint32_t)e->x << 17, t = (uint32_t)(e->t & 0x7fffffff);
  uint8_t *p = pk->ev + 8 * pk->n++;
  for (int k = 0; k < 4; k++) p[k] = (uint8_t)(d >> (8 * k)), p[4 + k] = (uint8_t)(t >> (8 * k));
}

/* Into our format; into the Event Camera Dataset's text (`t x y p`, t in
 * seconds, after a "width height" line when the size is known), which the
 * text reader reads back, when OUT ends in .txt; into N-MNIST's .bin when
 * OUT ends in .bin; into AEDAT 3.1 when it ends in .aedat; into `t x y p`
 * lines with t in microseconds, as cat prints them, when OUT ends in .csv. */
static int convert_cmd(const char *in, const char *out) {
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, in, NULL);
  if (err != 0) return cli_fail(err, in);
  int seconds = ends_with(out, ".txt"), bin = ends_with(out, ".bin"), aedat = ends_with(out, ".aedat");
  int text = seconds || bin || aedat || ends_with(out, ".csv");
  static aedat3_packet_t packet; /* .aedat: the packet being filled */
  int64_t epoch = 0, last = 0; /* .bin: start of the current 2^23 us window; .bin, .aedat: last t */
  uint64_t index = 0;           /* events written, for messages */
  int unfit = 0;                /* .bin: an event that the format cannot hold */
  FILE *tf = NULL;
  evsnn_event_writer_t *w = NULL;
  if (text) {
    tf = fopen(out, bin || aedat ? "wb" : "w");
    if (tf == NULL) {
      perror(out);
      evsnn_event_reader_close(r);
      return 1;
    }
    const evsnn_event_info_t *in_info = evsnn_event_reader_info(r);
    if (seconds && in_info->width > 0) fprintf(tf, "%u %u\n", in_info->width, in_info->height);
    if (aedat) aedat3_header(tf, in_info), packet.n = 0;
  } else {
    err = evsnn_event_writer_open(&w, out, evsnn_event_reader_info(r));
  }
  if (err != 0) {
    evsnn_event_reader_close(r);
    return cli_fail(err, out);
  }
  const char *blame = in;
  size_t n;
  while ((err = evsnn_event_read(r, batch, BATCH, &n)) == 0 && n > 0) {
    if (text) {
      for (size_t i = 0; i < n; i++) {
        const evsnn_event_t *e = &batch[i];
        /* The binary formats' limits: time never going back, and the
         * address fields' widths. */
        if ((bin || aedat) && (e->t < last || e->x > (bin ? 255 : 0x7fff) || e->y > (bin ? 239 : 0x7fff))) {
          fprintf(stderr,
                  "evsnn: %s: event %" PRIu64 " (%" PRId64 " %u %u %u) does not fit %s (%s, t >= 0 and not "
                  "decreasing)\n",
                  out, index + i, e->t, e->x, e->y, e->p, bin ? "N-MNIST .bin" : "AEDAT 3.1",
                  bin ? "x < 256, y < 240" : "x, y < 32768");
          unfit = 1;
          break;
        }
        last = e->t;
        if (bin) {
          /* N-MNIST's 40-bit records (src/io/format_nmnist.c), with a
           * y = 240 overflow record for each 2^23 us crossed. */
          for (; e->t - epoch >= (1 << 23); epoch += 1 << 23) fwrite("\0\xf0\0\0\0", 1, 5, tf);
          uint32_t t = (uint32_t)(e->t - epoch);
          uint8_t rec[5] = {(uint8_t)e->x, (uint8_t)e->y, (uint8_t)(e->p << 7 | t >> 16), (uint8_t)(t >> 8),
                            (uint8_t)t};
          fwrite(rec, 1, 5, tf);
        } else if (aedat) {
          aedat3_add(tf, &packet, e);
        } else if (seconds) {
          int64_t a = e->t < 0 ? -e->t : e->t;
          fprintf(tf, "%s%" PRId64 ".%06" PRId64 " %u %u %u\n", e->t < 0 ? "-" : "", a / 1000000,
                  a % 1000000, e->x, e->y, e->p);
        } else {
          fprintf(tf, "%" PRId64 " %u %u %u\n", e->t, e->x, e->y, e->p);
        }
      }
      index += n;
      if (unfit) break;
    } else if ((err = evsnn_event_write(w, batch, n)) != 0) {
      blame = out;
      break;
    }
  }
  int rc = unfit ? 1 : err != 0 ? cli_fail(err, blame) : 0;
  if (aedat) aedat3_flush(tf, &packet);
  if (text) {
    if (fclose(tf) != 0 && rc == 0) rc = (perror(out), 1);
  } else {
    int cerr = evsnn_event_writer_close(w);
    if (cerr != 0 && rc == 0) rc = cli_fail(cerr, out);
  }
  evsnn_event_reader_close(r);
  return rc;
}

int evsnn_cmd_events(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(usage_events, stdout), 0;
  if (argc >= 3 && strcmp(argv[1], "info") == 0) {
    int json = argc == 4 && strcmp(argv[3], "--json") == 0;
    if (argc <= 4 && (argc == 3 || json)) return info_cmd(argv[2], json);
  }
  if (argc >= 3 && strcmp(argv[1], "cat") == 0) return cat_cmd(argc - 1, argv + 1);
  if (argc == 4 && strcmp(argv[1], "convert") == 0) return convert_cmd(argv[2], argv[3]);
  fputs(usage_events, stderr);
  return 2;
}
