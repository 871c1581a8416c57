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
#include "cli/json.h"
#include "evsnn.h"

#define BATCH 65536

static evsnn_event_t batch[BATCH];

static int info_cmd(const char *path, int json) {
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  if (err != 0) return cli_fail(err, path);
  uint64_t count = 0, on = 0;
  /* The readers deliver times in order, but min and max are what is
   * reported, so they are what is computed. */
  int64_t t_min = EVSNN_T_END, t_max = 0;
  unsigned x_min = 65535, y_min = 65535, x_max = 0, y_max = 0;
  size_t n;
  while ((err = evsnn_event_read(r, batch, BATCH, &n)) == 0 && n > 0) {
    for (size_t i = 0; i < n; i++) {
      const evsnn_event_t *e = &batch[i];
      if (e->t < t_min) t_min = e->t;
      if (e->t > t_max) t_max = e->t;
      if (e->x < x_min) x_min = e->x;
      if (e->x > x_max) x_max = e->x;
      if (e->y < y_min) y_min = e->y;
      if (e->y > y_max) y_max = e->y;
      on += e->p;
    }
    count += n;
  }
  const evsnn_event_info_t *in = evsnn_event_reader_info(r);
  if (err != 0) {
    int rc = cli_fail(err, path);
    evsnn_event_reader_close(r);
    return rc;
  }
  if (count == 0) x_min = y_min = 0, t_min = 0;
  double span = (double)(t_max - t_min) * 1e-6;
  double rate = span > 0 ? (double)count / span : 0;
  if (json) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_string(&j, "format", in->format);
    cli_json_uint(&j, "width", in->width);
    cli_json_uint(&j, "height", in->height);
    cli_json_uint(&j, "events", count);
    cli_json_int(&j, "t_min", t_min);
    cli_json_int(&j, "t_max", t_max);
    cli_json_uint(&j, "x_min", x_min);
    cli_json_uint(&j, "x_max", x_max);
    cli_json_uint(&j, "y_min", y_min);
    cli_json_uint(&j, "y_max", y_max);
    cli_json_uint(&j, "on", on);
    cli_json_uint(&j, "off", count - on);
    cli_json_number(&j, "rate", "%.1f", rate);
    cli_json_end(&j);
  } else {
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
  long long from, to; /* from 0: the time domain's start; to < 0: no end */
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


/* Into any format evsnn_event_writer_open writes, chosen by OUT's name. */
static int convert_cmd(const char *in, const char *out) {
  evsnn_event_reader_t *r;
  evsnn_event_writer_t *w;
  int err = evsnn_event_reader_open(&r, in, NULL);
  if (err != 0) return cli_fail(err, in);
  if ((err = evsnn_event_writer_open(&w, out, evsnn_event_reader_info(r))) != 0) {
    evsnn_event_reader_close(r);
    return cli_fail(err, out);
  }
  const char *blame = in;
  size_t n;
  while ((err = evsnn_event_read(r, batch, BATCH, &n)) == 0 && n > 0)
    if ((err = evsnn_event_write(w, batch, n)) != 0) {
      blame = out;
      break;
    }
  int rc = err != 0 ? cli_fail(err, blame) : 0;
  int cerr = evsnn_event_writer_close(w);
  if (cerr != 0 && rc == 0) rc = cli_fail(cerr, out);
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
