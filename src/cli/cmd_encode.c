/* evsnn encode dvs: MNIST (or any IDX image set) through the DVS emulator
 * on N-MNIST's saccades, one labelled event file per image in
 * OUT/train/NNNNN.evs.gz and OUT/test/NNNNN.evs.gz: the layout
 * evsnn_dataset_load_events_dir, `evsnn train --data OUT` and `evsnn events`
 * read. Images are shared out over the thread pool; each image's events
 * depend only on the options and the image's index, never on the worker
 * that encoded it, so a seed gives the same files for any --threads.
 * With --frames DIR it encodes an image sequence instead (binary PGM
 * frames in name order, one every --frame-us) into one event file. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "core/internal.h"
#include "evsnn.h"

/* The noise stream of image i: the split in the high bits, so train and
 * test image i do not share their noise. */
#define STREAM_TEST (UINT64_C(1) << 32)

typedef struct {
  const evsnn_dataset_t *d;
  const char *dir, *split, *meta_common;
  uint64_t stream_base;
  uint32_t digits;
  evsnn_dvs_params_t params;
  evsnn_saccades_t sac;
  double frame_us;
  uint32_t n_workers;
  atomic_uint done;
  atomic_int failed;
  double t0, last_print;
  uint32_t next_tenth; /* the next tenth of the split a log line reports */
  int tty;
} job_t;

typedef struct {
  job_t *job;
  evsnn_dvs_t dvs;
  float *frame;
  uint64_t events, on;
  evsnn_event_writer_t *w;
  int err;
  char what[1100], detail[1024];
} worker_t;

static int sink(void *arg, const evsnn_event_t *ev, size_t n) {
  worker_t *w = arg;
  for (size_t k = 0; k < n; k++) w->on += ev[k].p;
  w->events += n;
  return evsnn_event_write(w->w, ev, n);
}

/* On a terminal a line redrawn every half second; otherwise (a log) one
 * line per tenth of the split. Called by worker 0 only, and once at the end
 * by the main thread. */
static void progress(job_t *j, int final) {
  double now = evsnn__now(), dt = now - j->t0;
  unsigned done = atomic_load(&j->done);
  double rate = done / (dt > 0 ? dt : 1), eta = (j->d->n - done) / (rate > 0 ? rate : 1);
  if (j->tty) {
    if (!final && now - j->last_print < 0.5) return;
    j->last_print = now;
    fprintf(stderr, "\r  %s %6u/%u  %6.0f images/s  eta %4.0fs %s", j->split, done, j->d->n, rate, eta,
            final ? "\n" : "");
  } else if (j->d->n && (uint64_t)done * 10 >= (uint64_t)j->next_tenth * j->d->n) {
    while ((uint64_t)done * 10 >= (uint64_t)j->next_tenth * j->d->n) j->next_tenth++;
    fprintf(stderr, "  %s %u/%u  %.0f images/s\n", j->split, done, j->d->n, rate);
  }
}

static void encode_range(void *ctx, uint32_t iw) {
  worker_t *w = (worker_t *)ctx + iw;
  job_t *j = w->job;
  size_t px = (size_t)j->d->rows * j->d->cols;
  for (uint32_t i = iw; i < j->d->n && !atomic_load(&j->failed); i += j->n_workers) {
    char meta[4096];
    snprintf(w->what, sizeof w->what, "%s/%0*u.evs.gz", j->dir, (int)j->digits, i);
    snprintf(meta, sizeof meta, "%ssplit=%s\nindex=%u\n", j->meta_common, j->split, i);
    evsnn_event_info_t info = {.format = "evsnn", .width = j->params.width, .height = j->params.height,
                               .channels = 2, .kind = EVSNN_EVENTS_DVS, .label = j->d->labels[i], .meta = meta};
    int err = evsnn_event_writer_open(&w->w, w->what, &info);
    if (!err)
      err = evsnn_dvs_encode_image(&w->dvs, j->d->pixels + i * px, j->d->cols, j->d->rows, &j->sac, j->frame_us,
                                   j->stream_base + i, w->frame, sink, w);
    int opened = w->w != NULL, err2 = opened ? evsnn_event_writer_close(w->w) : 0;
    w->w = NULL;
    if (!err) err = err2;
    if (err) {
      w->err = err;
      snprintf(w->detail, sizeof w->detail, "%s", evsnn_error_detail());
      if (opened) unlink(w->what); /* no half recording in the dataset */
      atomic_store(&j->failed, 1);
      return;
    }
    atomic_fetch_add(&j->done, 1);
    if (iw == 0) progress(j, 0);
  }
}

static int make_dir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
  return evsnn__fail(EVSNN_EIO, "%s: cannot create the directory: %s", path, strerror(errno));
}

static int usage_encode(void) {
  printf("usage: evsnn encode dvs --out DIR [--data DIR] [--train | --test] [--limit N] [--seed S]\n"
         "                        [--threshold C] [--threshold-off C] [--refractory US] [--noise HZ]\n"
         "                        [--mismatch SIGMA] [--sensor WxH] [--saccade-ms MS] [--frame-us US]\n"
         "                        [--threads N] [--json]\n"
         "       evsnn encode dvs --frames DIR --out FILE [--frame-us US] [--label L] [--seed S]\n"
         "                        [--threshold C] ... [--mismatch SIGMA] [--json]\n"
         "  Moves each MNIST image over an emulated DVS along N-MNIST's three saccades and\n"
         "  writes one labelled event file per image: DIR/train/NNNNN.evs.gz, DIR/test/NNNNN.evs.gz\n"
         "  (both splits unless --train or --test; --limit N per split).\n"
         "  --frames: an image sequence instead, DIR's binary PGM (P5, 8-bit) frames in name\n"
         "  order, frame k at k x --frame-us, into one event file; the sensor is the frames' size.\n"
         "  Defaults: 34x34 sensor, thresholds 0.25 (ln units), no refractory period, no noise,\n"
         "  no mismatch, seed 1, saccades of 100 ms, a frame every 1000 us, threads = cores.\n"
         "  See docs/dvs-emulator.md.\n");
  return 0;
}

/* Encodes one split into out/name; adds its counts to the totals. */
static int encode_split(const evsnn_dataset_t *d, const char *out, const char *name, uint64_t stream_base,
                        const char *meta_common, const evsnn_dvs_params_t *params, const evsnn_saccades_t *sac,
                        double frame_us, cli_parallel_t *par, uint64_t *events, uint64_t *on) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", out, name);
  int err = make_dir(dir);
  if (err) return cli_fail(err, dir);
  job_t j = {.d = d, .dir = dir, .split = name, .meta_common = meta_common, .stream_base = stream_base,
             .params = *params, .frame_us = frame_us, .n_workers = par->base.n_workers, .t0 = evsnn__now(),
             .next_tenth = 1, .tty = isatty(2)};
  j.sac = *sac;
  j.digits = 5;
  for (uint32_t n = d->n; n >= 100000; n /= 10) j.digits++;
  worker_t *w = calloc(par->base.n_workers, sizeof *w);
  if (!w) return cli_fail(EVSNN_ENOMEM, "encode dvs");
  int status = 0;
  for (uint32_t i = 0; i < par->base.n_workers && !status; i++) {
    w[i].job = &j;
    if ((err = evsnn_dvs_init(&w[i].dvs, params))) status = cli_fail(err, "encode dvs");
    else if (!(w[i].frame = malloc(sizeof(float) * w[i].dvs.n))) status = cli_fail(EVSNN_ENOMEM, "encode dvs");
  }
  if (!status) par->base.run(&par->base, encode_range, w);
  for (uint32_t i = 0; i < par->base.n_workers; i++) {
    if (w[i].err && !status) {
      evsnn__fail(w[i].err, "%s", w[i].detail);
      status = cli_fail(w[i].err, w[i].what);
    }
    *events += w[i].events, *on += w[i].on;
    evsnn_dvs_free(&w[i].dvs);
    free(w[i].frame);
  }
  free(w);
  if (!status) progress(&j, 1);
  return status;
}

/* ------------------------------------------------------ image sequences -- */

static int pgm_token(FILE *f, const char *path, long *v) {
  int c;
  while ((c = fgetc(f)) != EOF) {
    if (c == '#')
      while ((c = fgetc(f)) != EOF && c != '\n') {}
    else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
  }
  if (c == EOF || c < '0' || c > '9') return evsnn__fail(EVSNN_EFORMAT, "%s: PGM header: expected a number", path);
  for (*v = 0; c >= '0' && c <= '9' && *v < 100000; c = fgetc(f)) *v = *v * 10 + (c - '0');
  if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
    return evsnn__fail(EVSNN_EFORMAT, "%s: PGM header: a number too large or not followed by white space", path);
  return 0;
}

/* Reads a binary 8-bit PGM (P5, maxval 1..255) of exactly w x h pixels into
 * frame as intensities in [0, 1]; *w == 0 on the first frame takes its size
 * (then frame is allocated here). */
static int read_pgm(const char *path, uint32_t *w, uint32_t *h, float **frame, uint8_t **row) {
  FILE *f = fopen(path, "rb");
  if (!f) return evsnn__fail(errno == ENOENT ? EVSNN_ENOENT : EVSNN_EIO, "%s: %s", path, strerror(errno));
  long pw, ph, maxval;
  int err = 0;
  if (fgetc(f) != 'P' || fgetc(f) != '5') err = evsnn__fail(EVSNN_EFORMAT, "%s: not a binary PGM (P5)", path);
  if (!err && !(err = pgm_token(f, path, &pw)) && !(err = pgm_token(f, path, &ph)) &&
      !(err = pgm_token(f, path, &maxval))) {
    if (pw < 1 || ph < 1 || pw > 4096 || ph > 4096 || maxval < 1 || maxval > 255)
      err = evsnn__fail(EVSNN_EUNSUPPORTED, "%s: %ldx%ld, maxval %ld (supported: up to 4096x4096, 8-bit)", path, pw,
                        ph, maxval);
    else if (*w && (pw != *w || ph != *h))
      err = evsnn__fail(EVSNN_EFORMAT, "%s: %ldx%ld, but the first frame is %ux%u", path, pw, ph, *w, *h);
  }
  if (!err && !*w) {
    *w = (uint32_t)pw, *h = (uint32_t)ph;
    *frame = malloc(sizeof(float) * pw * ph);
    *row = malloc((size_t)pw * ph);
    if (!*frame || !*row) err = evsnn__fail(EVSNN_ENOMEM, "%s: %ldx%ld frame", path, pw, ph);
  }
  if (!err && fread(*row, 1, (size_t)pw * ph, f) != (size_t)pw * ph)
    err = evsnn__fail(EVSNN_ETRUNC, "%s: %ld pixels expected", path, pw * ph);
  fclose(f);
  for (long i = 0; !err && i < pw * ph; i++) (*frame)[i] = (float)(*row)[i] / (float)maxval;
  return err;
}

static int is_pgm(const struct dirent *e) {
  size_t n = strlen(e->d_name);
  return e->d_name[0] != '.' && n > 4 && !strcasecmp(e->d_name + n - 4, ".pgm");
}

/* The frames of dir (*.pgm in name order), frame k at k * frame_us, into
 * one event file at out. */
static int encode_frames(const char *dir, const char *out, evsnn_dvs_params_t *p, double frame_us, long label,
                         const char *meta_opts, int json) {
  struct dirent **ents = NULL;
  int n = scandir(dir, &ents, is_pgm, alphasort);
  if (n < 0) return cli_fail(EVSNN_ENOENT, dir);
  if (n < 2) {
    for (int i = 0; i < n; i++) free(ents[i]);
    free(ents);
    return cli_usage("encode dvs: --frames %s: %d .pgm frame(s); a sequence needs at least 2", dir, n);
  }
  uint32_t w = 0, h = 0;
  float *frame = NULL;
  uint8_t *row = NULL;
  evsnn_dvs_t dvs = {0};
  evsnn_event_writer_t *wr = NULL;
  evsnn_event_t *ev = NULL;
  size_t cap = 0, total = 0, on = 0;
  char path[4096], meta[4096];
  int status = 0, err;
  double t0 = evsnn__now();
  for (int k = 0; k < n && !status; k++) {
    snprintf(path, sizeof path, "%s/%s", dir, ents[k]->d_name);
    if ((err = read_pgm(path, &w, &h, &frame, &row))) {
      status = cli_fail(err, path);
      break;
    }
    if (k == 0) { /* the sensor is the frames' size */
      p->width = w, p->height = h;
      snprintf(meta, sizeof meta, "generator=evsnn encode dvs\nsource=%s\nframes=%d\n%s", dir, n, meta_opts);
      evsnn_event_info_t info = {.format = "evsnn", .width = w, .height = h, .channels = 2,
                                 .kind = EVSNN_EVENTS_DVS, .label = (int32_t)label, .meta = meta};
      if ((err = evsnn_dvs_init(&dvs, p))) status = cli_fail(err, "encode dvs");
      else if ((err = evsnn_event_writer_open(&wr, out, &info))) status = cli_fail(err, out);
      else if (!(ev = malloc(sizeof *ev * (cap = dvs.buf_cap)))) status = cli_fail(EVSNN_ENOMEM, "encode dvs");
      if (status) break;
    }
    size_t got;
    while ((err = evsnn_dvs_feed(&dvs, frame, k * frame_us, ev, cap, &got)) == EVSNN_ERANGE) {
      evsnn_event_t *b = realloc(ev, sizeof *ev * cap * 2);
      if (!b) break;
      ev = b, cap *= 2;
    }
    if (err || (err = evsnn_event_write(wr, ev, got))) status = cli_fail(err, err == EVSNN_ERANGE ? path : out);
    total += got;
    for (size_t e = 0; e < got; e++) on += ev[e].p;
  }
  if ((err = evsnn_event_writer_close(wr)) && !status) status = cli_fail(err, out);
  if (status && wr) unlink(out); /* no half recording left behind */
  double secs = evsnn__now() - t0;
  if (!status) {
    printf("encoded %d frames of %ux%u in %.2f s: %zu events (%.1f%% ON) -> %s\n", n, w, h, secs, total,
           total ? 100.0 * on / total : 0.0, out);
    if (json) {
      cli_json_t j;
      cli_json_start(&j, stdout);
      cli_json_object(&j, NULL);
      cli_json_int(&j, "frames", n);
      cli_json_uint(&j, "width", w);
      cli_json_uint(&j, "height", h);
      cli_json_uint(&j, "events", total);
      cli_json_uint(&j, "on", on);
      cli_json_uint(&j, "off", total - on);
      cli_json_number(&j, "seconds", "%.3f", secs);
      cli_json_end(&j);
    }
  }
  for (int i = 0; i < n; i++) free(ents[i]);
  free(ents);
  free(frame), free(row), free(ev);
  evsnn_dvs_free(&dvs);
  return status;
}

static int encode_dvs(int argc, char **argv) {
  const char *data = NULL, *out = NULL, *frames = NULL;
  int want_train = 1, want_test = 1, json = 0;
  long limit = 0, seed = 1, label = -1, threads = sysconf(_SC_NPROCESSORS_ONLN), sw = 34, sh = 34;
  double c_on = 0.25, c_off = -1, refr = 0, noise = 0, mismatch = 0, saccade_ms = 100, frame_us = 1000;
  if (threads < 1) threads = 1;
  if (threads > CLI_MAX_THREADS) threads = CLI_MAX_THREADS;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_encode();
    if (!strcmp(a, "--train")) { want_test = 0; continue; }
    if (!strcmp(a, "--test")) { want_train = 0; continue; }
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (!val) return cli_usage("encode dvs: %s needs a value", a);
    if (!strcmp(a, "--data")) data = val;
    else if (!strcmp(a, "--frames")) frames = val;
    else if (!strcmp(a, "--label")) { if (!cli_parse_long(a, val, -1, 0x7fffffffL, &label)) return 2; }
    else if (!strcmp(a, "--out")) out = val;
    else if (!strcmp(a, "--limit")) { if (!cli_parse_long(a, val, 1, 100000000, &limit)) return 2; }
    else if (!strcmp(a, "--seed")) { if (!cli_parse_long(a, val, 0, 0x7fffffffL, &seed)) return 2; }
    else if (!strcmp(a, "--threads")) { if (!cli_parse_long(a, val, 1, CLI_MAX_THREADS, &threads)) return 2; }
    else if (!strcmp(a, "--threshold")) { if (!cli_parse_double(a, val, &c_on)) return 2; }
    else if (!strcmp(a, "--threshold-off")) { if (!cli_parse_double(a, val, &c_off)) return 2; }
    else if (!strcmp(a, "--refractory")) { if (!cli_parse_double(a, val, &refr)) return 2; }
    else if (!strcmp(a, "--noise")) { if (!cli_parse_double(a, val, &noise)) return 2; }
    else if (!strcmp(a, "--mismatch")) { if (!cli_parse_double(a, val, &mismatch)) return 2; }
    else if (!strcmp(a, "--saccade-ms")) { if (!cli_parse_double(a, val, &saccade_ms)) return 2; }
    else if (!strcmp(a, "--frame-us")) { if (!cli_parse_double(a, val, &frame_us)) return 2; }
    else if (!strcmp(a, "--sensor")) {
      char *x;
      sw = strtol(val, &x, 10);
      if (x == val || (*x != 'x' && *x != 'X') || (sh = strtol(x + 1, &x, 10)) < 1 || *x || sw < 1 || sw > 4096 ||
          sh > 4096)
        return cli_usage("encode dvs: --sensor: expected WxH (each 1..4096), got '%s'", val);
    } else return cli_usage("encode dvs: unknown option '%s' (see evsnn encode dvs --help)", a);
    i++;
  }
  if (!out) return cli_usage("encode dvs: --out %s is required (see evsnn encode dvs --help)", frames ? "FILE" : "DIR");
  if (!want_train && !want_test) return cli_usage("encode dvs: --train and --test exclude each other");
  if (!(saccade_ms > 0) || !(frame_us > 0) || (!frames && frame_us > saccade_ms * 1000))
    return cli_usage("encode dvs: --saccade-ms and --frame-us must be > 0, a frame no longer than a saccade");

  evsnn_dvs_params_t p;
  evsnn_dvs_params_default(&p);
  p.width = (uint32_t)sw, p.height = (uint32_t)sh;
  p.c_on = (float)c_on, p.c_off = (float)(c_off < 0 ? c_on : c_off);
  p.refractory_us = refr, p.noise_hz = noise, p.mismatch = (float)mismatch, p.seed = (uint64_t)seed;
  evsnn_dvs_t probe; /* checks the parameters before any file is made */
  int err = evsnn_dvs_init(&probe, &p);
  if (err) return cli_fail(err, "encode dvs");
  evsnn_dvs_free(&probe);
  char opts[1024], meta[3072];
  snprintf(opts, sizeof opts,
           "threshold_on=%g\nthreshold_off=%g\nrefractory_us=%g\nnoise_hz=%g\nmismatch=%g\neps=%g\nseed=%ld\n"
           "frame_us=%g\n", p.c_on, p.c_off, refr, noise, mismatch, p.eps, seed, frame_us);
  if (frames) return encode_frames(frames, out, &p, frame_us, label, opts, json);

  evsnn_dataset_t train = {0}, test = {0};
  int is_sample = 0;
  char used[1024];
  if ((err = evsnn_dataset_load_dir(&train, &test, data, &is_sample, used, sizeof used)))
    return cli_fail(err, data ? data : "MNIST");
  if (is_sample)
    fprintf(stderr, "evsnn: NOTE: using the embedded sample (%s), not the full MNIST set; run datasets/fetch-mnist\n",
            used);
  if (limit) evsnn_dataset_limit(&train, (uint32_t)limit), evsnn_dataset_limit(&test, (uint32_t)limit);
  evsnn_saccades_t sac; /* checks that the images fit the sensor, before any file is made */
  if ((err = evsnn_saccades_nmnist(&sac, p.width, p.height, test.cols, test.rows, saccade_ms * 1000)) ||
      (err = make_dir(out))) {
    evsnn_dataset_free(&train), evsnn_dataset_free(&test);
    return cli_fail(err, err == EVSNN_EIO ? out : "encode dvs");
  }
  snprintf(meta, sizeof meta, "generator=evsnn encode dvs\nsource=%s\nsensor=%ldx%ld\nsaccade_us=%g\n%s", used, sw,
           sh, saccade_ms * 1000, opts);
  fprintf(stderr, "evsnn encode dvs: %s -> %s: %ldx%ld sensor, thresholds %g/%g, refractory %g us, noise %g Hz, "
          "mismatch %g, seed %ld, %ld thread(s)\n",
          used, out, sw, sh, p.c_on, p.c_off, refr, noise, mismatch, seed, threads);

  cli_parallel_t par;
  cli_parallel_init(&par, (uint32_t)threads);
  uint64_t events = 0, on = 0, images = 0;
  double t0 = evsnn__now();
  int status = 0;
  if (want_train && !status)
    status = encode_split(&train, out, "train", 0, meta, &p, &sac, frame_us, &par, &events, &on),
    images += train.n;
  if (want_test && !status)
    status = encode_split(&test, out, "test", STREAM_TEST, meta, &p, &sac, frame_us, &par, &events, &on),
    images += test.n;
  double secs = evsnn__now() - t0;
  cli_parallel_close(&par);
  evsnn_dataset_free(&train), evsnn_dataset_free(&test);
  if (status) return status;
  printf("encoded %lu images in %.2f s: %.0f images/s, %.3g events/s; %.0f events per image (%.1f%% ON)\n",
         (unsigned long)images, secs, images / secs, events / secs, (double)events / images,
         events ? 100.0 * on / events : 0.0);
  if (json) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_uint(&j, "images", images);
    cli_json_uint(&j, "events", events);
    cli_json_uint(&j, "on", on);
    cli_json_uint(&j, "off", events - on);
    cli_json_number(&j, "seconds", "%.3f", secs);
    cli_json_number(&j, "images_per_second", "%.1f", images / secs);
    cli_json_number(&j, "events_per_second", "%.0f", events / secs);
    cli_json_end(&j);
  }
  return 0;
}

int evsnn_cmd_encode(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage_encode();
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "dvs")) return encode_dvs(argc - 1, argv + 1);
  return cli_usage("encode: unknown encoder '%s' (known: dvs)", argv[1]);
}
