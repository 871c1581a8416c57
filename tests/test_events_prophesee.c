/* Decodes every real Prophesee sample in ../shared/events (and its gzip
 * copy, where one exists) and checks all of expected/ground_truth.json:
 * count, first and last three events, t/x/y ranges, polarity counts and the
 * SHA-256 of the events as "t,x,y,p\n" CSV lines (SOURCES.md's definition).
 * Skips, saying so, when the shared folder is absent. */
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
