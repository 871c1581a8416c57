/* Decodes every real Prophesee sample in ../shared/events (and its gzip
 * copy, where one exists) and checks all of expected/ground_truth.json:
 * count, first and last three events, t/x/y ranges, polarity counts and the
 * SHA-256 of the events as "t,x,y,p\n" CSV lines (SOURCES.md's definition).
 * Skips, saying so, when the shared folder is absent. Then fixtures written
 * here from the Prophesee documentation and OpenEB's decoders: RAW headers
 * in every form, resolved as OpenEB does, and EVT 2.1 streams in both word
 * orders, decoded and compared with the events written. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evsnn/error.h"
#include "evsnn/events.h"

#include "events_truth.h"

Test(sha256, known_vector) {
  sha256_t c;
  char hex[65];
  sha_init(&c);
  sha_update(&c, "abc", 3);
  sha_hex(&c, hex);
  cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(prophesee, evt2_sparklers) { check_file("prophesee_evt2_gen3_sparklers.raw", "prophesee_evt2_gen3_sparklers.raw", "evt2"); }
Test(prophesee, evt2_sample) { check_file("prophesee_evt2_gen3_sample.raw", "prophesee_evt2_gen3_sample.raw", "evt2"); }
Test(prophesee, evt3_pedestrians) { check_file("prophesee_evt3_gen41_pedestrians.raw", "prophesee_evt3_gen41_pedestrians.raw", "evt3"); }
Test(prophesee, evt3_pedestrians_gz) { check_file("prophesee_evt3_gen41_pedestrians.raw", "gz/prophesee_evt3_gen41_pedestrians.raw.gz", "evt3"); }
Test(prophesee, evt3_sample_vectors) { check_file("prophesee_evt3_gen41_sample.raw", "prophesee_evt3_gen41_sample.raw", "evt3"); }
Test(prophesee, dat_ncars) { check_file("prophesee_dat_ncars_obj_004397_td.dat", "prophesee_dat_ncars_obj_004397_td.dat", "dat"); }
Test(prophesee, dat_ncars_gz) { check_file("prophesee_dat_ncars_obj_004397_td.dat", "gz/prophesee_dat_ncars_obj_004397_td.dat.gz", "dat"); }
Test(prophesee, dat_tonic) { check_file("prophesee_dat_ncars_tonic_sample.dat", "prophesee_dat_ncars_tonic_sample.dat", "dat"); }

/* Synthetic EVT 3.0: the 24-bit time wraps (TIME_HIGH 0xfff -> 0x001), a
 * vector word expands to its set bits, and an odd trailing byte is a
 * truncation reported after the good events. */
Test(prophesee, evt3_wrap_vector_and_truncation) {
  static const char hdr[] = "% evt 3.0\n% end\n";
  uint16_t w[] = {0x8fff, 0x6ffe, 0x0005, 0x2000 | 1 << 11 | 7, /* t = 0xfffffe, ON at (7,5) */
                  0x8001, 0x6002, 0x3000 | 100, 0x4000 | 0x805,  /* wrapped: t = 2^24 + 0x1002 */
                  0x5000 | 0x01};                                /* base 112: x 112 */
  uint8_t buf[64];
  size_t len = strlen(hdr);
  memcpy(buf, hdr, len);
  for (size_t i = 0; i < sizeof(w) / 2; i++) buf[len++] = (uint8_t)w[i], buf[len++] = (uint8_t)(w[i] >> 8);
  buf[len++] = 0x42; /* half a word */
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, buf, len, NULL), 0);
  cr_assert_str_eq(evsnn_event_reader_info(r)->format, "evt3");
  evsnn_event_t ev[8];
  size_t n, total = 0;
  int err;
  while ((err = evsnn_event_read(r, ev + total, 1, &n)) == 0 && n > 0) total += n;
  cr_assert_eq(err, EVSNN_ETRUNC, "%s", evsnn_err_name(err));
  cr_assert_eq(total, 5);
  const int64_t t2 = (1 << 24) + 0x1002;
  const uint16_t xs[5] = {7, 100, 102, 111, 112};
  cr_assert(ev[0].t == 0xfffffe && ev[0].y == 5 && ev[0].p == 1);
  for (int i = 0; i < 5; i++) cr_assert_eq(ev[i].x, xs[i], "event %d x %u", i, ev[i].x);
  for (int i = 1; i < 5; i++) cr_assert(ev[i].t == t2 && ev[i].p == 0, "event %d t %lld", i, (long long)ev[i].t);
  evsnn_event_reader_close(r);
}

Test(prophesee, truncated_dat_and_unknown) {
  static const char dat[] = "% Data file containing Event2D events.\n% Version 2\n";
  uint8_t buf[128];
  size_t len = strlen(dat);
  memcpy(buf, dat, len);
  buf[len++] = 0, buf[len++] = 8;
  uint8_t e[8] = {10, 0, 0, 0, 3, 0x40, 0, 0x10}; /* t 10, x 3, y 1, p 1 */
  memcpy(buf + len, e, 8), len += 8;
  memcpy(buf + len, e, 5), len += 5;
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, buf, len, NULL), 0);
  evsnn_event_t ev[4];
  size_t n;
  cr_assert_eq(evsnn_event_read(r, ev, 4, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert(ev[0].t == 10 && ev[0].x == 3 && ev[0].y == 1 && ev[0].p == 1);
  cr_assert_eq(evsnn_event_read(r, ev, 4, &n), EVSNN_ETRUNC);
  evsnn_event_reader_close(r);
  cr_assert_eq(evsnn_event_reader_open_mem(&r, "hello world, no events", 22, NULL), EVSNN_EFORMAT);
}

/* ---- RAW headers and EVT 2.1, fixtures written here from the Prophesee
 * documentation (raw.html, evt21.html) and OpenEB's decoders ---- */

/* Reads everything, one small batch at a time so the decoders resume
 * mid-vector; returns the final error, *n the count. */
static int drain(evsnn_event_reader_t *r, evsnn_event_t *ev, size_t cap, size_t batch, size_t *n) {
  size_t k;
  int err;
  *n = 0;
  while ((err = evsnn_event_read(r, ev + *n, cap - *n < batch ? cap - *n : batch, &k)) == 0 && k > 0) *n += k;
  return err;
}

/* An EVT 2.1 stream under construction: the bytes, and the events a decoder
 * following evt21.html and OpenEB's EVT21 decoder must give back. */
typedef struct {
  uint8_t *buf;
  size_t len;
  int legacy;           /* IMX636 word order */
  evsnn_event_t *want;  /* expected events */
  size_t nwant;
  int have_time;
  uint64_t th, wraps;   /* the last TIME_HIGH (28 bits) and 2^34 wraps */
} evt21_t;

/* One 64-bit word in the stream's order: legacy sends bits 63..32 first,
 * each half little-endian; GenX320 the whole word little-endian. */
static void put_word(evt21_t *g, uint64_t w) {
  uint32_t first = g->legacy ? (uint32_t)(w >> 32) : (uint32_t)w, second = g->legacy ? (uint32_t)w : (uint32_t)(w >> 32);
  for (int i = 0; i < 4; i++) g->buf[g->len + i] = (uint8_t)(first >> (8 * i)), g->buf[g->len + 4 + i] = (uint8_t)(second >> (8 * i));
  g->len += 8;
}

static void time_high(evt21_t *g, uint64_t th) {
  if (g->have_time && th < g->th && g->th - th == (1u << 28) - 1) g->wraps++; /* OpenEB's loop rule */
  g->th = th, g->have_time = 1;
  put_word(g, 0x8ull << 60 | th << 32);
}

/* A CD vector: polarity p, 6 low time bits ts, first column x, row y, mask. */
static void cd(evt21_t *g, unsigned p, unsigned ts, unsigned x, unsigned y, uint32_t mask) {
  put_word(g, (uint64_t)p << 60 | (uint64_t)ts << 54 | (uint64_t)x << 43 | (uint64_t)y << 32 | mask);
  for (int b = 0; b < 32 && g->have_time; b++)
    if (mask >> b & 1)
      g->want[g->nwant++] = (evsnn_event_t){.t = (int64_t)(g->wraps << 34 | g->th << 6 | ts),
                                            .x = (uint16_t)(x + b), .y = (uint16_t)y, .p = (uint8_t)p};
}

static void put_header(evt21_t *g, const char *h) {
  memcpy(g->buf + g->len, h, strlen(h));
  g->len += strlen(h);
}

/* Every word type, both polarities, full, sparse and empty masks, the four
 * corners of a w x h sensor (vectors start at multiples of 32, so the last
 * column is bit 31 of the last vector), events before the first TIME_HIGH
 * (dropped) and the 34-bit wrap twice. */
static void evt21_stream(evt21_t *g, unsigned w, unsigned h) {
  cd(g, 1, 3, 64, 10, 0xffffffffu);           /* before any TIME_HIGH: dropped */
  put_word(g, 0xAull << 60 | 5ull << 54 | 1ull << 40 | 1ull << 32); /* EXT_TRIGGER, no CD event */
  time_high(g, 5);
  cd(g, 1, 0, 0, 0, 0x1);                     /* top-left corner */
  cd(g, 1, 7, w - 32, 0, 0x80000081u);       /* top-right, sparse */
  cd(g, 0, 9, 0, h - 1, 0xffffffffu);        /* bottom-left, full */
  cd(g, 1, 10, 96, 5, 0);                     /* empty mask: no event */
  cd(g, 0, 63, w - 32, h - 1, 0x80000000u);  /* bottom-right corner */
  put_word(g, 0xEull << 60 | 0x0014ull << 32 | 1234);          /* OTHERS (a CD event count) */
  put_word(g, 0xFull << 60 | 0xabcdef);                         /* CONTINUED */
  put_word(g, 0x5ull << 60 | 0xffffffffffull);                  /* a reserved type */
  time_high(g, 6);
  cd(g, 0, 1, 32, 100, 0x55555555u);
  time_high(g, (1u << 28) - 1);
  cd(g, 1, 63, 128, 200, 0x3);                /* t = 2^34 - 1 */
  time_high(g, 0);                            /* wraps: 2^34 */
  cd(g, 0, 0, 160, 201, 0x8);
  time_high(g, 40);
  cd(g, 1, 2, 192, 202, 0x10);
  time_high(g, (1u << 28) - 1);
  time_high(g, 0);                            /* the second wrap */
  cd(g, 0, 5, 0, 0, 0xc0000000u);
}

static void same_events(const evsnn_event_t *got, const evsnn_event_t *want, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert(got[i].t == want[i].t && got[i].x == want[i].x && got[i].y == want[i].y && got[i].p == want[i].p,
              "event %zu: got (%lld, %u, %u, %u), wrote (%lld, %u, %u, %u)", i, (long long)got[i].t, got[i].x,
              got[i].y, got[i].p, (long long)want[i].t, want[i].x, want[i].y, want[i].p);
}

/* The stream under hdr in the given order, decoded by sniffing in batches
 * of 1, 7, 32 and 4096 events: every event as written. */
static void check_evt21(const char *hdr, int legacy, unsigned w, unsigned h) {
  static uint8_t buf[4096];
  static evsnn_event_t want[512], got[512];
  evt21_t g = {.buf = buf, .legacy = legacy, .want = want};
  put_header(&g, hdr);
  evt21_stream(&g, w, h);
  cr_assert_eq(g.nwant, 1 + 1 + 3 + 32 + 16 + 2 + 1 + 1 + 2);
  const size_t batches[] = {1, 7, 32, 4096};
  for (int b = 0; b < 4; b++) {
    evsnn_event_reader_t *r;
    size_t n;
    cr_assert_eq(evsnn_event_reader_open_mem(&r, buf, g.len, NULL), 0, "%s", evsnn_error_detail());
    cr_assert_str_eq(evsnn_event_reader_info(r)->format, "evt21");
    cr_assert(evsnn_event_reader_info(r)->width == w && evsnn_event_reader_info(r)->height == h);
    cr_assert_eq(drain(r, got, 512, batches[b], &n), 0, "%s", evsnn_error_detail());
    cr_assert_eq(n, g.nwant, "batch %zu: %zu events, wrote %zu", batches[b], n, g.nwant);
    same_events(got, want, n);
    evsnn_event_reader_close(r);
  }
  /* The generator's own bookkeeping, against the documented values. */
  cr_assert(want[0].x == 0 && want[0].y == 0 && want[3].x == w - 1 && want[3].y == 0);
  cr_assert(want[4].x == 0 && want[4].y == h - 1 && want[35].x == 31 && want[36].x == w - 1 && want[36].y == h - 1);
  cr_assert_eq(want[2].t, 5 * 64 + 7);
  cr_assert_eq(want[54].t, (1ll << 34) - 1, "the last time before the wrap");
  cr_assert_eq(want[55].t, 1ll << 34);
  cr_assert_eq(want[56].t, (1ll << 34) + 40 * 64 + 2);
  cr_assert_eq(want[57].t, (2ll << 34) + 5);
}

/* GenX320: one little-endian 64-bit word, 320x320. */
Test(evt21, genx320_little_every_word_type) {
  check_evt21("% camera_integrator_name Prophesee\n% format EVT21;endianness=little;height=320;width=320\n"
              "% geometry 320x320\n% plugin_integrator_name Prophesee\n% system_ID 64\n% endianness little\n% end\n",
              0, 320, 320);
}

/* IMX636 (EVK4): the legacy order, high half first, 1280x720. */
Test(evt21, imx636_legacy_every_word_type) {
  check_evt21("% format EVT21;endianness=legacy;height=720;width=1280\n% geometry 1280x720\n% end\n", 1, 1280, 720);
}

/* evt21.html's example: the word 0x0102030405060708 goes out as the bytes
 * 04 03 02 01 08 07 06 05 on the IMX636 and 08 07 ... 01 on the GenX320.
 * Here the word is a TIME_HIGH, so the decoder's order is seen in t. */
Test(evt21, word_order_as_documented) {
  static const uint8_t imx636[8] = {4, 3, 2, 1, 8, 7, 6, 5}, genx[8] = {8, 7, 6, 5, 4, 3, 2, 1};
  uint8_t b[8];
  evt21_t g = {.buf = b, .legacy = 1};
  put_word(&g, 0x0102030405060708ull);
  cr_assert_eq(memcmp(b, imx636, 8), 0);
  g.legacy = 0, g.len = 0;
  put_word(&g, 0x0102030405060708ull);
  cr_assert_eq(memcmp(b, genx, 8), 0);
  /* TIME_HIGH 0x8000007 then an ON event at (3, 4), ts 2: t = 7 * 64 + 2. */
  for (int legacy = 0; legacy < 2; legacy++) {
    static uint8_t buf[256];
    static evsnn_event_t want[4], got[4];
    const char *order = legacy ? "legacy" : "little";
    char hdr[128];
    evt21_t s = {.buf = buf, .legacy = legacy, .want = want};
    snprintf(hdr, sizeof(hdr), "%% format EVT21;height=720;width=1280\n%% endianness %s\n", order);
    put_header(&s, hdr);
    time_high(&s, 7);
    cd(&s, 1, 2, 3, 4, 1);
    evsnn_event_reader_t *r;
    size_t n;
    cr_assert_eq(evsnn_event_reader_open_mem(&r, buf, s.len, NULL), 0, "%s", evsnn_error_detail());
    cr_assert_eq(drain(r, got, 4, 4, &n), 0);
    cr_assert(n == 1 && got[0].t == 7 * 64 + 2 && got[0].x == 3 && got[0].y == 4 && got[0].p == 1, "%s: %zu", order, n);
    evsnn_event_reader_close(r);
    /* The same bytes read in the other order are other events. */
    memcpy(hdr + strlen(hdr) - 7, legacy ? "little\n" : "legacy\n", 7);
    s.len = 0;
    put_header(&s, hdr);
    time_high(&s, 7);
    cd(&s, 1, 2, 3, 4, 1);
    cr_assert_eq(evsnn_event_reader_open_mem(&r, buf, s.len, NULL), 0);
    cr_assert_eq(drain(r, got, 4, 4, &n), 0);
    cr_assert(n != 1 || got[0].t != 7 * 64 + 2, "%s bytes read in the other order gave the same event", order);
    evsnn_event_reader_close(r);
  }
}

/* g's stream gives the first n_want of the events it wrote, then err with
 * a detail containing detail. */
static void expect_fault(const evt21_t *g, int err, size_t n_want, const char *detail) {
  static evsnn_event_t got[64];
  evsnn_event_reader_t *r;
  size_t n;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, g->buf, g->len, NULL), 0, "%s", evsnn_error_detail());
  int e = drain(r, got, 64, 8, &n);
  cr_assert_eq(e, err, "%s: %s", evsnn_err_name(e), evsnn_error_detail());
  cr_assert_eq(n, n_want);
  same_events(got, g->want, n);
  cr_assert(strstr(evsnn_error_detail(), detail) != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
}

/* A TIME_HIGH stepping down by less than its whole range is no wrap (as in
 * OpenEB's decoder), so time goes back, which the reader's time gate
 * refuses (docs/event-readers.md, "Time"): the events before it, then
 * EVSNN_EORDER naming the event. */
Test(evt21, time_high_stepping_back_is_eorder) {
  static uint8_t buf[256];
  static evsnn_event_t want[8];
  evt21_t g = {.buf = buf, .want = want};
  put_header(&g, "% format EVT21\n% endianness little\n");
  time_high(&g, 40);
  cd(&g, 1, 2, 192, 202, 0x10);
  time_high(&g, 20);
  cd(&g, 1, 4, 224, 203, 0x20);
  expect_fault(&g, EVSNN_EORDER, 1, "event 1: t 1284 us goes back from 2562 us");
}

/* Half a word at the end: the events before it, then ETRUNC. */
Test(evt21, truncated_word) {
  static uint8_t buf[256];
  static evsnn_event_t want[8];
  evt21_t g = {.buf = buf, .want = want};
  put_header(&g, "% format EVT21\n% endianness little\n");
  time_high(&g, 1);
  cd(&g, 0, 0, 32, 1, 0x3);
  g.len += 5;
  expect_fault(&g, EVSNN_ETRUNC, 2, "a word needs 8");
}

/* One RAW header form and what it must resolve to: the decoder, the size,
 * EVT 2.1's word order; or the error and a piece of its message. */
typedef struct {
  const char *header;
  const char *format; /* NULL: open fails with err */
  unsigned width, height;
  int legacy;
  int err;
  const char *detail;
} raw_case_t;

static raw_case_t raw_cases[] = {
    /* the documentation's EVK4 example: both lines, geometry, end */
    {"% camera_integrator_name Prophesee\n% date 2023-03-29 16:37:46\n% evt 3.0\n"
     "% format EVT3;height=720;width=1280\n% generation 4.2\n% geometry 1280x720\n% integrator_name Prophesee\n"
     "% plugin_integrator_name Prophesee\n% plugin_name hal_plugin_imx636_evk4\n% sensor_generation 4.2\n"
     "% serial_number 00ca0009\n% system_ID 49\n% end\n", "evt3", 1280, 720, 0, 0, NULL},
    /* % format only, no end: the case issue 17 found refused */
    {"% format EVT3;height=720;width=1280\n", "evt3", 1280, 720, 0, 0, NULL},
    {"% format EVT2;height=480;width=640\n% geometry 640x480\n", "evt2", 640, 480, 0, 0, NULL},
    /* the size from % geometry alone; CRLF lines */
    {"% format EVT3\r\n% geometry 1280x720\r\n% end\r\n", "evt3", 1280, 720, 0, 0, NULL},
    /* legacy % evt alone: size from the system_ID, or unknown */
    {"% evt 3.0\n% system_ID 48\n", "evt3", 1280, 720, 0, 0, NULL},
    {"% evt 2.0\n", "evt2", 0, 0, 0, 0, NULL},
    {"% evt 2.0\n% integrator_name Prophesee\n% system_ID 21\n% end\n", "evt2", 640, 480, 0, 0, NULL},
    /* no format line at all: the system's own format and size */
    {"% system_ID 21\n", "evt2", 640, 480, 0, 0, NULL},
    {"% system_ID 49\n% end\n", "evt3", 1280, 720, 0, 0, NULL},
    /* another integrator: its system_ID means nothing */
    {"% evt 3.0\n% integrator_name Acme\n% system_ID 48\n", "evt3", 0, 0, 0, 0, NULL},
    /* unknown keys ignored, "% endianness" does not end the header */
    {"% frobnicate yes please\n% endianness little\n% serial_number 7\n% format EVT21;height=320;width=320\n",
     "evt21", 320, 320, 0, 0, NULL},
    /* EVT 2.1 word order: the format's option wins over % endianness */
    {"% format EVT21;endianness=legacy;height=720;width=1280\n% endianness little\n", "evt21", 1280, 720, 1, 0, NULL},
    {"% format EVT21;height=720;width=1280\n% endianness legacy\n", "evt21", 1280, 720, 1, 0, NULL},
    /* no order stated: legacy on Prophesee systems before 0x37 (49: EVK3 IMX636) */
    {"% format EVT21;height=720;width=1280\n% integrator_name Prophesee\n% system_ID 49\n", "evt21", 1280, 720, 1, 0, NULL},
    /* GenX320 EVK3 (0x40): little */
    {"% format EVT21;height=320;width=320\n% integrator_name Prophesee\n% system_ID 64\n", "evt21", 320, 320, 0, 0, NULL},
    /* not Prophesee's: little */
    {"% format EVT21;height=720;width=1280\n% plugin_integrator_name Acme\n% camera_integrator_name Acme\n"
     "% system_ID 49\n", "evt21", 1280, 720, 0, 0, NULL},
    /* nothing said at all: OpenEB reads the missing system_ID as -1 < 0x37 */
    {"% format EVT21;height=720;width=1280\n", "evt21", 1280, 720, 1, 0, NULL},
    {"% evt 2.1\n% geometry 1280x720\n% end\n", "evt21", 1280, 720, 1, 0, NULL},
    /* faults */
    {"% evt 2.0\n% format EVT3;height=720;width=1280\n", NULL, 0, 0, 0, EVSNN_EFORMAT,
     "header lines \"% evt 2.0\" and \"% format EVT3;height=720;width=1280\" disagree"},
    {"% evt 3.0\n% format EVT21\n% endianness little\n", NULL, 0, 0, 0, EVSNN_EFORMAT, "disagree on the event format"},
    {"% format EVT3;height=720;width=1280\n% geometry 640x480\n", NULL, 0, 0, 0, EVSNN_ECORRUPT,
     "disagree on the sensor size"},
    {"% format EVT3\n% geometry 1280 by 720\n", NULL, 0, 0, 0, EVSNN_ECORRUPT, "is not WIDTHxHEIGHT"},
    {"% format EVT4;height=720;width=1280\n", NULL, 0, 0, 0, EVSNN_EUNSUPPORTED, "event format EVT4 is not read"},
    {"% evt 4.0\n", NULL, 0, 0, 0, EVSNN_EUNSUPPORTED, "event format \"evt 4.0\" is not read"},
    {"% format EVT21;endianness=big\n", NULL, 0, 0, 0, EVSNN_EUNSUPPORTED, "endianness \"big\" is not read"},
    {"% date 2023-03-29\n% serial_number 7\n", NULL, 0, 0, 0, EVSNN_EFORMAT, "no known event format matches"},
};

/* EVT 2.0: TIME_HIGH 3, then an ON event at (33, 4) with ts 2: t = 3 * 64 + 2. */
static size_t evt2_words(uint8_t *p) {
  const uint32_t w[2] = {0x80000003u, 1u << 28 | 2u << 22 | 33u << 11 | 4u};
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(w[i / 4] >> (8 * (i % 4)));
  return 8;
}

/* A few events in the resolved format (EVT 2.1 in the expected word order)
 * after the header: wrong order or decoder and they do not come back. */
static size_t raw_payload(const raw_case_t *c, uint8_t *buf, evsnn_event_t *want) {
  evt21_t g = {.buf = buf, .legacy = c->legacy, .want = want};
  put_header(&g, c->header);
  if (c->format == NULL || strcmp(c->format, "evt21") == 0) {
    time_high(&g, 3);
    cd(&g, 1, 2, 32, 4, 0x80000001u);
    return g.len;
  }
  if (strcmp(c->format, "evt2") == 0) {
    want[0] = (evsnn_event_t){.t = 3 * 64 + 2, .x = 33, .y = 4, .p = 1};
    return g.len + evt2_words(buf + g.len);
  }
  const uint16_t w[3] = {0x8003, 0x0004, 0x2000 | 1 << 11 | 33}; /* TIME_HIGH 3, ADDR_Y 4, ON x 33 */
  for (int i = 0; i < 6; i++) buf[g.len + i] = (uint8_t)(w[i / 2] >> (8 * (i % 2)));
  want[0] = (evsnn_event_t){.t = 3 << 12, .x = 33, .y = 4, .p = 1};
  return g.len + 6;
}

/* Criterion runs each case in a fresh process, where the strings may sit
 * elsewhere: the parameter is the case's index. */
ParameterizedTestParameters(raw, header_forms) {
  static int index[sizeof(raw_cases) / sizeof(raw_cases[0])];
  for (size_t i = 0; i < sizeof(index) / sizeof(index[0]); i++) index[i] = (int)i;
  return cr_make_param_array(int, index, sizeof(index) / sizeof(index[0]));
}

ParameterizedTest(int *i, raw, header_forms) {
  const raw_case_t *c = &raw_cases[*i];
  static uint8_t buf[2048];
  evsnn_event_t want[4], got[4];
  size_t len = raw_payload(c, buf, want), n;
  size_t nwant = c->format != NULL && strcmp(c->format, "evt21") == 0 ? 2 : 1;
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open_mem(&r, buf, len, NULL);
  if (c->format == NULL) {
    cr_assert_eq(err, c->err, "%s: %s", c->header, evsnn_err_name(err));
    cr_assert(strstr(evsnn_error_detail(), c->detail) != NULL, "%s", evsnn_error_detail());
    return;
  }
  cr_assert_eq(err, 0, "%s", evsnn_error_detail());
  const evsnn_event_info_t *info = evsnn_event_reader_info(r);
  cr_assert_str_eq(info->format, c->format, "%s", c->header);
  cr_assert(info->width == c->width && info->height == c->height, "%s: %ux%u", c->header, info->width, info->height);
  cr_assert_eq(drain(r, got, 4, 4, &n), 0, "%s", evsnn_error_detail());
  cr_assert_eq(n, nwant, "%s: %zu events", c->header, n);
  same_events(got, want, n);
  evsnn_event_reader_close(r);
}

/* A decoder named by the caller reads the data as its own format whatever
 * the header resolves to; a self-contradicting header is refused even so. */
Test(raw, named_decoder_overrides_header) {
  static const char hdr[] = "% format EVT3;height=720;width=1280\n";
  uint8_t buf[64];
  size_t len = strlen(hdr);
  memcpy(buf, hdr, len);
  evt2_words(buf + len);
  evsnn_event_reader_t *r;
  evsnn_event_t ev[4];
  size_t n;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, buf, len + 8, "evt2"), 0, "%s", evsnn_error_detail());
  cr_assert_eq(evsnn_event_reader_info(r)->width, 1280);
  cr_assert_eq(drain(r, ev, 4, 4, &n), 0);
  cr_assert(n == 1 && ev[0].t == 3 * 64 + 2 && ev[0].x == 33);
  evsnn_event_reader_close(r);
  static const char bad[] = "% evt 2.0\n% format EVT3\n";
  cr_assert_eq(evsnn_event_reader_open_mem(&r, bad, strlen(bad), "evt3"), EVSNN_EFORMAT);
}
