/* Event I/O throughput: our format written and read in memory and through
 * gzip (with zlib's raw inflate of the same bytes as the baseline), EVT 3.0
 * decoding from memory, on the real sample and on a synthetic larger
 * stream, the other decoders (AEDAT 2.0/3.1, N-MNIST, EVT 2.1, text) on synthetic
 * streams built here from the same events, and AEDAT 4.0 on its real sample. Every timed read is
 * checked against what was written first. */
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

/* Decodes data as fmt once against ref (correctness first), then reports
 * the best of loops timed decodes. */
static void decode_rate(const char *fmt, const char *what, const uint8_t *data, size_t len,
                        const evsnn_event_t *ref, size_t nref, int loops) {
  evsnn_event_reader_t *r;
  size_t n, total = 0;
  double best = 1e9;
  for (int l = 0; l <= loops; l++) {
    if (evsnn_event_reader_open_mem(&r, data, len, fmt) != 0) exit(1);
    double t0 = evsnn__now();
    total = 0;
    while (evsnn_event_read(r, dst, 65536, &n) == 0 && n > 0) {
      if (l == 0 && (total + n > nref || memcmp(dst, ref + total, n * sizeof(*dst)) != 0)) {
        fprintf(stderr, "bench_events: %s mismatch near event %zu\n", fmt, total);
        exit(1);
      }
      total += n;
    }
    double dt = evsnn__now() - t0;
    evsnn_event_reader_close(r);
    if (total != nref) {
      fprintf(stderr, "bench_events: %s gave %zu events, wrote %zu\n", fmt, total, nref);
      exit(1);
    }
    if (l > 0 && dt < best) best = dt;
  }
  printf("%-6s decode, %-26s %9zu events  %8.1f M events/s\n", fmt, what, total, total / best / 1e6);
}

/* src as AEDAT 2.0 (DAVIS346 addresses), AEDAT 3.1 (packets of 4096
 * polarity events), N-MNIST (34x34, overflow records every 2^23 us) and
 * text (the first n events); ref gets the events as each format keeps them. */
static size_t make_aedat2(uint8_t *out, evsnn_event_t *ref) {
  const char *hdr = "#!AER-DAT2.0\r\n# AEChip: eu.seebetter.ini.chips.davis.DAVIS346\r\n"
                    "#End of Preferences for this AEChip\r\n";
  size_t k = strlen(hdr);
  memcpy(out, hdr, k);
  for (size_t i = 0; i < N; i++) {
    evsnn_event_t e = {.t = src[i].t, .x = src[i].x % 346, .y = src[i].y % 260, .p = src[i].p};
    uint32_t a = (uint32_t)e.y << 22 | (uint32_t)e.x << 12 | (uint32_t)e.p << 11, t = (uint32_t)e.t;
    for (int b = 0; b < 4; b++) out[k + b] = (uint8_t)(a >> (24 - 8 * b)), out[k + 4 + b] = (uint8_t)(t >> (24 - 8 * b));
    k += 8;
    ref[i] = e;
  }
  return k;
}

static size_t make_aedat3(uint8_t *out, evsnn_event_t *ref) {
  const char *hdr = "#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DAVIS346\r\n#!END-HEADER\r\n";
  size_t k = strlen(hdr);
  memcpy(out, hdr, k);
  for (size_t i = 0; i < N; i++) {
    if (i % 4096 == 0) {
      uint32_t num = N - i < 4096 ? (uint32_t)(N - i) : 4096;
      uint32_t h[7] = {1 | 1 << 16, 8, 4, 0, num, num, num};
      for (int j = 0; j < 7; j++) evsnn__put_le32(out + k + 4 * j, h[j]);
      k += 28;
    }
    evsnn_event_t e = {.t = src[i].t, .x = src[i].x % 346, .y = src[i].y % 260, .p = src[i].p};
    evsnn__put_le32(out + k, (uint32_t)e.x << 17 | (uint32_t)e.y << 2 | (uint32_t)e.p << 1 | 1);
    evsnn__put_le32(out + k + 4, (uint32_t)e.t);
    k += 8;
    ref[i] = e;
  }
  return k;
}

/* src as EVT 2.1 in either word order: a TIME_HIGH whenever t >> 6 changes,
 * then one CD word per event, its one mask bit at x - (x & ~31) (random
 * pixels share no vector: the format's worst case, 8 bytes an event). */
static size_t make_evt21(uint8_t *out, int legacy) {
  const char *hdr = legacy ? "% format EVT21;endianness=legacy;height=720;width=1280\n% end\n"
                           : "% format EVT21;endianness=little;height=720;width=1280\n% end\n";
  size_t k = strlen(hdr);
  memcpy(out, hdr, k);
  uint64_t th = ~0ull;
  for (size_t i = 0; i < N; i++) {
    uint64_t t = (uint64_t)src[i].t, w[2], nw = 0;
    if (t >> 6 != th) th = t >> 6, w[nw++] = 0x8ull << 60 | th << 32;
    w[nw++] = (uint64_t)src[i].p << 60 | (t & 63) << 54 | (uint64_t)(src[i].x & ~31u) << 43 |
              (uint64_t)src[i].y << 32 | 1u << (src[i].x & 31);
    for (uint64_t j = 0; j < nw; j++, k += 8)
      if (legacy) evsnn__put_le32(out + k, (uint32_t)(w[j] >> 32)), evsnn__put_le32(out + k + 4, (uint32_t)w[j]);
      else evsnn__put_le64(out + k, w[j]);
  }
  return k;
}

static size_t make_nmnist(uint8_t *out, evsnn_event_t *ref) {
  size_t k = 0;
  int64_t epoch = 0;
  for (size_t i = 0; i < N; i++) {
    while (src[i].t >= epoch + (1 << 23)) {
      memcpy(out + k, (uint8_t[5]){0, 240, 0, 0, 0}, 5), k += 5;
      epoch += 1 << 23;
    }
    evsnn_event_t e = {.t = src[i].t, .x = src[i].x % 34, .y = src[i].y % 34, .p = src[i].p};
    uint32_t t = (uint32_t)(e.t - epoch);
    out[k] = (uint8_t)e.x, out[k + 1] = (uint8_t)e.y;
    out[k + 2] = (uint8_t)(e.p << 7 | t >> 16), out[k + 3] = (uint8_t)(t >> 8), out[k + 4] = (uint8_t)t;
    k += 5;
    ref[i] = e;
  }
  return k;
}

static size_t make_text(char *out, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += (size_t)sprintf(out + k, "%lld.%06lld %u %u %u\n", (long long)(src[i].t / 1000000),
                         (long long)(src[i].t % 1000000), src[i].x, src[i].y, src[i].p);
  return k;
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

  evsnn_event_t *ref = malloc(N * sizeof(*ref));
  uint8_t *enc = malloc((size_t)N * 40);
  size_t elen = make_aedat2(enc, ref);
  decode_rate("aedat2", "synthetic DAVIS346 (x3)", enc, elen, ref, N, 3);
  elen = make_aedat3(enc, ref);
  decode_rate("aedat3", "synthetic DAVIS346 (x3)", enc, elen, ref, N, 3);
  elen = make_nmnist(enc, ref);
  decode_rate("nmnist", "synthetic 34x34 (x3)", enc, elen, ref, N, 3);
  elen = make_evt21(enc, 0);
  decode_rate("evt21", "synthetic little, 1/word (x3)", enc, elen, src, N, 3);
  elen = make_evt21(enc, 1);
  decode_rate("evt21", "synthetic legacy, 1/word (x3)", enc, elen, src, N, 3);
  elen = make_text((char *)enc, N / 4);
  decode_rate("text", "synthetic 1M lines (x3)", enc, elen, src, N / 4, 3);
  free(enc);
  free(ref);

  /* AEDAT 4.0: the real DVXplorer sample (LZ4 packets), checked against its
   * ground-truth count and first event before timing. */
  snprintf(sp, sizeof(sp), "%s/../shared/events/aedat4_dvxplorer_tonic_sample.aedat4", srcdir ? srcdir : ".");
  f = fopen(sp, "rb");
  if (f != NULL) {
    uint8_t *raw = malloc(1 << 20);
    size_t len = fread(raw, 1, 1 << 20, f), n;
    fclose(f);
    double best = 1e9;
    for (int l = 0; l <= 20; l++) {
      evsnn_event_reader_t *r4;
      if (evsnn_event_reader_open_mem(&r4, raw, len, "aedat4") != 0) exit(1);
      size_t got = 0;
      double start = evsnn__now();
      while (evsnn_event_read(r4, dst, 65536, &n) == 0 && n > 0) {
        if (got == 0 && (dst[0].t != 1605537493718345 || dst[0].x != 154 || dst[0].y != 204)) exit(1);
        got += n;
      }
      double dt = evsnn__now() - start;
      evsnn_event_reader_close(r4);
      if (got != 111954) {
        fprintf(stderr, "bench_events: aedat4 sample gave %zu events, expected 111954\n", got);
        exit(1);
      }
      if (l > 0 && dt < best) best = dt;
    }
    printf("aedat4 decode, %-26s %9d events  %8.1f M events/s\n", "real LZ4 sample (x20)", 111954,
           111954 / best / 1e6);
    free(raw);
  } else {
    printf("aedat4 decode, real sample: %s absent, skipped\n", sp);
  }
  free(gz);
  free(out);
  evsnn_event_buf_free(&b);
  free(src);
  free(dst);
  return 0;
}
