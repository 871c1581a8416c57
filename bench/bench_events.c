/* Event I/O throughput: our format written and read in memory and through
 * gzip (with zlib's raw inflate of the same bytes as the baseline), and EVT
 * 3.0 decoding from memory, on the real sample and on a synthetic larger
 * stream. Every timed read is checked against what was written first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/internal.h"
#include "evsnn/events.h"

#define N 4000000

static evsnn_event_t *src, *dst;

static double read_all(evsnn_event_reader_t *r, size_t *total, int check) {
  double t0 = evsnn__now();
  size_t n;
  *total = 0;
  while (evsnn_event_read(r, dst, 65536, &n) == 0 && n > 0) {
    if (check && memcmp(dst, src + *total, n * sizeof(*dst)) != 0) {
      fprintf(stderr, "bench_events: mismatch at event %zu\n", *total);
      exit(1);
    }
    *total += n;
  }
  return evsnn__now() - t0;
}

static void make(void) {
  uint64_t s = 88172645463325252ull;
  int64_t t = 0;
  for (size_t i = 0; i < N; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    t += (int64_t)(s & 7);
    src[i] = (evsnn_event_t){.t = t, .x = (uint16_t)(s >> 16) % 1280, .y = (uint16_t)(s >> 32) % 720,
                             .p = (uint8_t)(s >> 60 & 1)};
  }
}

/* Encodes src as EVT 3.0 (TIME_HIGH/TIME_LOW, ADDR_Y, ADDR_X or vectors). */
static size_t make_evt3(uint8_t *out, size_t cap) {
  const char *hdr = "% evt 3.0\n% format EVT3;height=720;width=1280\n% end\n";
  size_t k = strlen(hdr);
  memcpy(out, hdr, k);
  uint64_t th = ~0ull, tl = ~0ull;
  unsigned y = ~0u;
  for (size_t i = 0; i < N && k + 16 < cap; i++) {
    uint64_t t = (uint64_t)src[i].t;
    if ((t >> 12 & 0xfff) != th) th = t >> 12 & 0xfff, evsnn__put_le16(out + k, (uint16_t)(0x8000 | th)), k += 2;
    if ((t & 0xfff) != tl) tl = t & 0xfff, evsnn__put_le16(out + k, (uint16_t)(0x6000 | tl)), k += 2;
    if (src[i].y != y) y = src[i].y, evsnn__put_le16(out + k, (uint16_t)y), k += 2;
    evsnn__put_le16(out + k, (uint16_t)(0x2000 | src[i].p << 11 | src[i].x)), k += 2;
  }
  return k;
}

static void evt3_rate(const char *what, const uint8_t *data, size_t len, int loops) {
  double best = 1e9;
  size_t total = 0;
  for (int l = 0; l < loops; l++) {
    evsnn_event_reader_t *r;
    if (evsnn_event_reader_open_mem(&r, data, len, "evt3") != 0) exit(1);
    double dt = read_all(r, &total, 0);
    if (dt < best) best = dt;
    evsnn_event_reader_close(r);
  }
  printf("evt3 decode, %-28s %9zu events  %8.1f M events/s\n", what, total, total / best / 1e6);
}

int main(void) {
  src = malloc(N * sizeof(*src));
  dst = malloc(65536 * sizeof(*dst));
  make();
  evsnn_event_info_t info = {"evsnn", 1280, 720, 2, EVSNN_EVENTS_DVS, -1, ""};

  evsnn_event_buf_t b;
  double t0 = evsnn__now();
  evsnn_event_buf_init(&b, &info);
  for (size_t i = 0; i < N; i += 65536) evsnn_event_buf_write(&b, src + i, N - i < 65536 ? N - i : 65536);
  evsnn_event_buf_finish(&b);
  double tw = evsnn__now() - t0;
  evsnn_event_reader_t *r;
  size_t total;
  evsnn_event_reader_open_mem(&r, b.data, b.len, NULL);
  read_all(r, &total, 1); /* correctness first */
  evsnn_event_reader_close(r);
  evsnn_event_reader_open_mem(&r, b.data, b.len, NULL);
  double tr = read_all(r, &total, 0);
  evsnn_event_reader_close(r);
  printf("evsnn memory write    %zu events %.2f bytes/event  %8.1f M events/s\n", (size_t)N,
         (double)b.len / N, N / tw / 1e6);
  printf("evsnn memory read     %zu events                  %8.1f M events/s\n", total, total / tr / 1e6);

  char path[64];
  snprintf(path, sizeof(path), "/tmp/bench_events_%d.evs.gz", (int)getpid());
  evsnn_event_writer_t *w;
  t0 = evsnn__now();
  evsnn_event_writer_open(&w, path, &info);
  for (size_t i = 0; i < N; i += 65536) evsnn_event_write(w, src + i, N - i < 65536 ? N - i : 65536);
  evsnn_event_writer_close(w);
  tw = evsnn__now() - t0;
  evsnn_event_reader_open(&r, path, NULL);
  tr = read_all(r, &total, 1);
  evsnn_event_reader_close(r);
  /* Baseline: zlib alone inflating the same file into a scratch buffer. */
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long gzlen = ftell(f);
  rewind(f);
  uint8_t *gz = malloc((size_t)gzlen), *out = malloc(1 << 18);
  fread(gz, 1, (size_t)gzlen, f);
  fclose(f);
  unlink(path);
  z_stream zs = {0};
  inflateInit2(&zs, 31);
  zs.next_in = gz;
  zs.avail_in = (uInt)gzlen;
  t0 = evsnn__now();
  int zr;
  do {
    zs.next_out = out;
    zs.avail_out = 1 << 18;
    zr = inflate(&zs, Z_NO_FLUSH);
  } while (zr == Z_OK);
  double tz = evsnn__now() - t0;
  inflateEnd(&zs);
  printf("evsnn gzip write      %zu events %.2f bytes/event  %8.1f M events/s\n", (size_t)N,
         (double)gzlen / N, N / tw / 1e6);
  printf("evsnn gzip read       %zu events                  %8.1f M events/s\n", total, total / tr / 1e6);
  printf("zlib inflate alone    same bytes                     %8.1f M events/s  (gzip read / zlib = %.2f)\n",
         N / tz / 1e6, tz / tr);

  const char *srcdir = getenv("EVSNN_SRCDIR");
  char sp[4096];
  snprintf(sp, sizeof(sp), "%s/../shared/events/prophesee_evt3_gen41_sample.raw", srcdir ? srcdir : ".");
  f = fopen(sp, "rb");
  if (f != NULL) {
    uint8_t *raw = malloc(1 << 20);
    size_t len = fread(raw, 1, 1 << 20, f);
    fclose(f);
    evt3_rate("real sample (x20)", raw, len, 20);
    free(raw);
  } else {
    printf("evt3 decode, real sample: %s absent, skipped\n", sp);
  }
  size_t cap = (size_t)N * 8 + 4096;
  uint8_t *syn = malloc(cap);
  size_t slen = make_evt3(syn, cap);
  evt3_rate("synthetic 4M events (x3)", syn, slen, 3);
  free(syn);
  free(gz);
  free(out);
  evsnn_event_buf_free(&b);
  free(src);
  free(dst);
  return 0;
}
