/* The iniVation AEDAT 2.0 / 3.1 / 4.0, N-MNIST .bin and Event Camera Dataset text
 * decoders: every real sample in ../shared/events against its ground truth
 * (gzip copies and the two-member gzip included), the committed fixtures in
 * tests/fixtures/ made from the specifications, and each bad-input path:
 * the events before a fault come out, then a specific error whose detail
 * names the byte or line. */
#include <criterion/criterion.h>
#include <unistd.h>
#include <zstd.h>

#include "aedat4_packets.h"
#include "events_truth.h"

Test(aedat2, dvs128_alex) { check_file("aedat2_dvs128_alex_walking_again.aedat", "aedat2_dvs128_alex_walking_again.aedat", "aedat2"); }
Test(aedat2, dvs128_alex_gz) { check_file("aedat2_dvs128_alex_walking_again.aedat", "gz/aedat2_dvs128_alex_walking_again.aedat.gz", "aedat2"); }
Test(aedat2, dvs128_neal) { check_file("aedat2_dvs128_neal_walking.aedat", "aedat2_dvs128_neal_walking.aedat", "aedat2"); }
Test(aedat2, davis240c_with_imu) { check_file("aedat2_davis240c_IMU_translBoxes.aedat", "aedat2_davis240c_IMU_translBoxes.aedat", "aedat2"); }
Test(nmnist, sample) { check_file("nmnist_tonic_sample.bin", "nmnist_tonic_sample.bin", "nmnist"); }
Test(nmnist, sample_gz) { check_file("nmnist_tonic_sample.bin", "gz/nmnist_tonic_sample.bin.gz", "nmnist"); }
Test(nmnist, sample_two_member_gz) { check_file("nmnist_tonic_sample.bin", "gz/nmnist_tonic_sample.bin.multimember.gz", "nmnist"); }

/* A whole file in memory, or NULL (and a skip) when it is absent. */
static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static uint8_t *shared(const char *file, size_t *len) {
  if (json == NULL && !load()) cr_skip("shared recordings absent (%s): not checked", dir);
  char p[4400];
  snprintf(p, sizeof(p), "%s/%s", dir, file);
  uint8_t *b = slurp(p, len);
  cr_assert_not_null(b, "%s", p);
  return b;
}

static uint8_t *fixture(const char *file, size_t *len) {
  const char *src = getenv("EVSNN_SRCDIR");
  char p[4200];
  snprintf(p, sizeof(p), "%s/tests/fixtures/%s", src ? src : ".", file);
  uint8_t *b = slurp(p, len);
  cr_assert_not_null(b, "%s", p);
  return b;
}

/* Reads everything into ev (cap events, one small batch at a time so the
 * decoders resume mid-packet); returns the final error, *n the count. */
static int drain(evsnn_event_reader_t *r, evsnn_event_t *ev, size_t cap, size_t *n) {
  size_t k;
  int err;
  *n = 0;
  while ((err = evsnn_event_read(r, ev + *n, cap - *n < 3 ? cap - *n : 3, &k)) == 0 && k > 0) *n += k;
  return err;
}

static size_t le32(const uint8_t *p) {
  return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

#define EV(t_, x_, y_, p_) {.t = (t_), .x = (x_), .y = (y_), .p = (p_)}

static void same(const evsnn_event_t *got, const evsnn_event_t *want, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert(got[i].t == want[i].t && got[i].x == want[i].x && got[i].y == want[i].y &&
                  got[i].p == want[i].p,
              "event %zu: got (%lld,%u,%u,%u), want (%lld,%u,%u,%u)", i, (long long)got[i].t,
              got[i].x, got[i].y, got[i].p, (long long)want[i].t, want[i].x, want[i].y, want[i].p);
}

Test(aedat2, header_only_gives_no_events) {
  size_t len, n;
  uint8_t *b = shared("aedat2_davis346red_header_only.aedat", &len);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0, "%s", evsnn_error_detail());
  cr_assert_str_eq(evsnn_event_reader_info(r)->format, "aedat2");
  cr_assert_eq(evsnn_event_reader_info(r)->width, 346);
  evsnn_event_t ev[4];
  cr_assert_eq(evsnn_event_read(r, ev, 4, &n), 0);
  cr_assert_eq(n, 0);
  evsnn_event_reader_close(r);
  free(b);
}

/* The real DVS128 file cut 3 bytes into its 101st record: 100 events, then
 * ETRUNC naming the byte where the partial record starts (4612 + 800). */
Test(aedat2, truncated_delivers_events_before) {
  size_t len, n;
  uint8_t *b = shared("aedat2_dvs128_alex_walking_again.aedat", &len);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, 4612 + 800 + 3, NULL), 0);
  static evsnn_event_t ev[200];
  cr_assert_eq(drain(r, ev, 200, &n), EVSNN_ETRUNC);
  cr_assert_eq(n, 100);
  cr_assert_eq(ev[0].t, 41306606);
  cr_assert(strstr(evsnn_error_detail(), "byte 5412") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
  free(b);
}

Test(aedat2, wrong_magic) {
  static const char bad[] = "#!AER-DAT9.9\r\n# nothing\r\n";
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, bad, sizeof(bad) - 1, "aedat2"), EVSNN_EFORMAT);
  cr_assert(strstr(evsnn_error_detail(), "byte 0") != NULL, "%s", evsnn_error_detail());
  cr_assert_eq(evsnn_event_reader_open_mem(&r, bad, sizeof(bad) - 1, NULL), EVSNN_EFORMAT);
}

/* tests/fixtures/dvs128_gesture_like.aedat, written from the AEDAT 3.1
 * specification: a polarity packet (one event invalidated), a special-event
 * packet to skip, and a polarity packet with eventTSOverflow 1. */
static const evsnn_event_t aedat3_want[] = {
    EV(100, 0, 0, 1), EV(150, 127, 5, 0), EV(2147483647, 64, 127, 1),
    EV(2147483648 + 5, 3, 4, 0), EV(2147483648 + 6, 127, 127, 1)};

Test(aedat3, fixture) {
  size_t len, n;
  uint8_t *b = fixture("dvs128_gesture_like.aedat", &len);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0, "%s", evsnn_error_detail());
  const evsnn_event_info_t *in = evsnn_event_reader_info(r);
  cr_assert_str_eq(in->format, "aedat3");
  cr_assert(in->width == 128 && in->height == 128);
  evsnn_event_t ev[8];
  cr_assert_eq(drain(r, ev, 8, &n), 0, "%s", evsnn_error_detail());
  cr_assert_eq(n, 5);
  same(ev, aedat3_want, 5);
  evsnn_event_reader_close(r);
  free(b);
}

/* Cut inside the last packet's events, inside its header, and a packet
 * header with a negative eventNumber: the good events first, then the error
 * with the byte offset. The header is 105 bytes, the first packet 28 + 32. */
Test(aedat3, truncated_and_corrupt) {
  size_t len, n;
  uint8_t *b = fixture("dvs128_gesture_like.aedat", &len);
  evsnn_event_reader_t *r;
  evsnn_event_t ev[8];
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len - 4, NULL), 0);
  cr_assert_eq(drain(r, ev, 8, &n), EVSNN_ETRUNC);
  cr_assert_eq(n, 4);
  same(ev, aedat3_want, 4);
  cr_assert(strstr(evsnn_error_detail(), "byte 245") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);

  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, 105 + 60 + 10, NULL), 0);
  cr_assert_eq(drain(r, ev, 8, &n), EVSNN_ETRUNC);
  cr_assert_eq(n, 3);
  cr_assert(strstr(evsnn_error_detail(), "byte 165") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);

  b[105 + 60 + 20 + 3] = 0x80; /* second packet's eventNumber < 0 */
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0);
  cr_assert_eq(drain(r, ev, 8, &n), EVSNN_ECORRUPT);
  cr_assert_eq(n, 3);
  cr_assert(strstr(evsnn_error_detail(), "byte 165") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);

  static const char nohdr_end[] = "#!AER-DAT3.1\r\n#Format: RAW\r\n";
  cr_assert_eq(evsnn_event_reader_open_mem(&r, nohdr_end, sizeof(nohdr_end) - 1, NULL), EVSNN_ETRUNC);
  free(b);
}

Test(nmnist, overflow_record_and_truncation) {
  /* (x 1, y 2, ON, t 5), an overflow marker, (x 3, y 4, OFF, t 7), 2 stray bytes */
  static const uint8_t bin[] = {1, 2, 0x80, 0, 5, 0, 240, 0, 0, 0, 3, 4, 0, 0, 7, 9, 9};
  evsnn_event_reader_t *r;
  evsnn_event_t ev[4];
  size_t n;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, bin, sizeof(bin), "nmnist"), 0);
  cr_assert_eq(drain(r, ev, 4, &n), EVSNN_ETRUNC);
  cr_assert_eq(n, 2);
  const evsnn_event_t want[] = {EV(5, 1, 2, 1), EV((1 << 23) + 7, 3, 4, 0)};
  same(ev, want, 2);
  cr_assert(strstr(evsnn_error_detail(), "byte 15") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
}

/* tests/fixtures/events_camera_dataset.txt: a size line, a comment, seconds
 * with 9, 7, 1 and 7 decimals (rounded to us; the last rounds up into the
 * next second) and p = -1 for OFF. */
Test(text, fixture) {
  size_t len, n;
  uint8_t *b = fixture("events_camera_dataset.txt", &len);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0, "%s", evsnn_error_detail());
  const evsnn_event_info_t *in = evsnn_event_reader_info(r);
  cr_assert_str_eq(in->format, "text");
  cr_assert(in->width == 240 && in->height == 180);
  evsnn_event_t ev[8];
  cr_assert_eq(drain(r, ev, 8, &n), 0, "%s", evsnn_error_detail());
  cr_assert_eq(n, 5);
  const evsnn_event_t want[] = {EV(0, 33, 39, 1), EV(11, 158, 145, 1), EV(51, 88, 143, 0),
                                EV(1500000, 239, 179, 0), EV(13000000, 0, 0, 1)};
  same(ev, want, 5);
  evsnn_event_reader_close(r);
  free(b);
}

Test(text, bad_line_named) {
  static const char txt[] = "0.5 1 2 1\n0.6 3 4 1\n0.7 5 x 1\n0.8 1 1 1\n";
  evsnn_event_reader_t *r;
  evsnn_event_t ev[8];
  size_t n;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, txt, sizeof(txt) - 1, NULL), 0);
  cr_assert_eq(drain(r, ev, 8, &n), EVSNN_ECORRUPT);
  cr_assert_eq(n, 2);
  cr_assert_eq(ev[1].t, 600000);
  cr_assert(strstr(evsnn_error_detail(), "line 3, byte 20") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
  static const char pol[] = "0.5 1 2 2\n";
  cr_assert_eq(evsnn_event_reader_open_mem(&r, pol, sizeof(pol) - 1, "text"), 0);
  cr_assert_eq(drain(r, ev, 8, &n), EVSNN_ECORRUPT);
  cr_assert_eq(n, 0);
  evsnn_event_reader_close(r);
}

Test(aedat4, dvxplorer_lz4) { check_file("aedat4_dvxplorer_tonic_sample.aedat4", "aedat4_dvxplorer_tonic_sample.aedat4", "aedat4"); }

/* The real LZ4 sample cut inside its third packet: the events of the first
 * packets come out, then ETRUNC. The same header declaring an unknown
 * compression is refused at open; declaring zstd over LZ4 packets, the
 * first packet is named corrupt. */
Test(aedat4, truncated_and_bad_compression) {
  size_t len, n;
  uint8_t *b = shared("aedat4_dvxplorer_tonic_sample.aedat4", &len);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, 200000, NULL), 0, "%s", evsnn_error_detail());
  cr_assert(evsnn_event_reader_info(r)->width == 320 && evsnn_event_reader_info(r)->height == 240);
  static evsnn_event_t ev[120000];
  int err = drain(r, ev, 120000, &n);
  cr_assert_eq(err, EVSNN_ETRUNC, "%s", evsnn_err_name(err));
  cr_assert(n > 0 && n < 111954, "%zu events", n);
  cr_assert_eq(ev[0].t, 1605537493718345);
  cr_assert(strstr(evsnn_error_detail(), "cut short") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);

  size_t table = 18 + le32(b + 18);
  size_t vt = table - le32(b + table);
  size_t off = (size_t)(b[vt + 4] | b[vt + 5] << 8);
  cr_assert_eq(b[table + off], 1, "the sample is LZ4");
  b[table + off] = 7;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), EVSNN_EUNSUPPORTED);
  cr_assert(strstr(evsnn_error_detail(), "compression 7") != NULL, "%s", evsnn_error_detail());
  b[table + off] = 3;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0, "%s", evsnn_error_detail());
  cr_assert_eq(drain(r, ev, 120000, &n), EVSNN_ECORRUPT);
  cr_assert(n == 0 && strstr(evsnn_error_detail(), "zstd packet") != NULL, "%zu, %s", n, evsnn_error_detail());
  evsnn_event_reader_close(r);
  free(b);
}

/* No zstd-compressed recording was found, so the real sample is made into
 * one: its header with compression 3 (zstd) and no index, then its events
 * in 4,096-event packets, each one zstd stream (two frames in the first),
 * with a packet of another stream between. It must read back the events
 * the LZ4 file gives; a corrupt and a cut zstd packet are named after the
 * events before them. */
Test(aedat4, zstd_packets_read_like_the_lz4_original) {
  size_t len, n_ref;
  uint8_t *b = shared("aedat4_dvxplorer_tonic_sample.aedat4", &len);
  evsnn_event_reader_t *r;
  static evsnn_event_t ref[120000], got[120000];
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0, "%s", evsnn_error_detail());
  cr_assert_eq(drain(r, ref, 120000, &n_ref), 0);
  evsnn_event_reader_close(r);
  cr_assert_eq(n_ref, 111954);

  size_t head = 18 + le32(b + 14), table = 18 + le32(b + 18), vt = table - le32(b + table);
  size_t compression = (size_t)(b[vt + 4] | b[vt + 5] << 8), index = (size_t)(b[vt + 6] | b[vt + 7] << 8);
  cr_assert(compression && index, "the sample's header states its compression and index");
  uint8_t *z = malloc(head + 16 * n_ref + (1 << 20)), *raw = malloc(36 + 16 * 4096), *cz = malloc(1 << 20);
  memcpy(z, b, head);
  z[table + compression] = 3;
  memset(z + table + index, 0xff, 8); /* index position -1: none */
  size_t at = head, first_bad = 0;
  for (size_t i = 0, k = 0; i < n_ref; i += 4096, k++) {
    uint32_t cnt = (uint32_t)(n_ref - i < 4096 ? n_ref - i : 4096);
    size_t rn = event_packet(raw, ref + i, cnt), cn;
    if (k == 0) { /* two frames, split inside the flatbuffer */
      cn = ZSTD_compress(cz, 1 << 20, raw, 1000, 3);
      cn += ZSTD_compress(cz + cn, (1 << 20) - cn, raw + 1000, rn - 1000, 19);
    } else
      cn = ZSTD_compress(cz, 1 << 20, raw, rn, 3);
    cr_assert(!ZSTD_isError(cn));
    if (k == 10) first_bad = at;
    at += put_packet(z + at, 0, cz, cn); /* stream 0 is EVTS in the sample's description */
    if (k == 1) at += put_packet(z + at, 2, (const uint8_t *)"not zstd, skipped unread", 24);
  }
  cr_assert_eq(evsnn_event_reader_open_mem(&r, z, at, NULL), 0, "%s", evsnn_error_detail());
  size_t n;
  cr_assert_eq(drain(r, got, 120000, &n), 0, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
  cr_assert_eq(n, n_ref);
  same(got, ref, n);

  /* The 11th packet's compressed bytes damaged, then cut. */
  z[first_bad + 8 + 20] ^= 0xff, z[first_bad + 8 + 21] ^= 0xff;
  z[first_bad + 8] ^= 0xff; /* its zstd magic */
  cr_assert_eq(evsnn_event_reader_open_mem(&r, z, at, NULL), 0);
  cr_assert_eq(drain(r, got, 120000, &n), EVSNN_ECORRUPT);
  cr_assert_eq(n, 10 * 4096, "the events before the bad packet: %zu", n);
  cr_assert(strstr(evsnn_error_detail(), "zstd packet") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
  z[first_bad + 8] ^= 0xff, z[first_bad + 8 + 20] ^= 0xff, z[first_bad + 8 + 21] ^= 0xff;
  uint32_t size = (uint32_t)le32(z + first_bad + 4) / 2; /* the packet claims half its bytes */
  for (int i = 0; i < 4; i++) z[first_bad + 4 + i] = (uint8_t)(size >> (8 * i));
  cr_assert_eq(evsnn_event_reader_open_mem(&r, z, first_bad + 8 + size, NULL), 0);
  cr_assert_eq(drain(r, got, 120000, &n), EVSNN_ETRUNC);
  cr_assert_eq(n, 10 * 4096);
  cr_assert(strstr(evsnn_error_detail(), "zstd frame cut short") != NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
  free(z), free(raw), free(cz), free(b);
}

/* The text fixture gzipped (as Event Camera Dataset downloads are), read by
 * file name: the stream inflates, ".txt.gz" picks the text decoder. */
Test(text, gzip_file) {
  const char *src = getenv("EVSNN_SRCDIR");
  char path[] = "/tmp/evsnn-text.XXXXXX", gz[64], cmd[4400];
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(gz, sizeof(gz), "%s.txt.gz", path);
  snprintf(cmd, sizeof(cmd), "gzip -c '%s/tests/fixtures/events_camera_dataset.txt' > '%s'", src ? src : ".", gz);
  cr_assert_eq(system(cmd), 0);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open(&r, gz, NULL), 0, "%s", evsnn_error_detail());
  cr_assert_str_eq(evsnn_event_reader_info(r)->format, "text");
  evsnn_event_t ev[8];
  size_t n;
  cr_assert_eq(drain(r, ev, 8, &n), 0, "%s", evsnn_error_detail());
  cr_assert_eq(n, 5);
  cr_assert_eq(ev[4].t, 13000000);
  evsnn_event_reader_close(r);
  unlink(gz);
  unlink(path);
}
