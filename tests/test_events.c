/* Tests of src/io: our container round-trips in memory and through gzip
 * files, and every bad input (truncation at many offsets, CRC damage, wrong
 * magic, bad version, time going back) is an error code with the good
 * events before it delivered. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evsnn/events.h"
#include "evsnn/rng.h"
#include "evsnn/error.h"

#define N 5000

static evsnn_event_t evs[N];

/* Random increasing times with repeats and large jumps, random pixels. */
static void make_events(uint64_t seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  int64_t t = 12345;
  for (int i = 0; i < N; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    t += (s & 3) == 0 ? 0 : (int64_t)(s >> 40) % ((s & 0x100) ? 1000000 : 50);
    memset(&evs[i], 0, sizeof(evs[i]));
    evs[i].t = t;
    evs[i].x = (uint16_t)(s >> 8);
    evs[i].y = (uint16_t)(s >> 24);
    evs[i].p = (uint8_t)(s >> 33 & 1);
  }
}

static const evsnn_event_info_t info = {"evsnn", 640, 480, 2, EVSNN_EVENTS_DVS, 7, "camera=test"};

/* Reads all events in small calls; returns the error that ended it. */
static int read_all(evsnn_event_reader_t *r, evsnn_event_t *out, size_t *total) {
  size_t n;
  int err;
  *total = 0;
  while ((err = evsnn_event_read(r, out + *total, 333, &n)) == 0 && n > 0) {
    *total += n;
    cr_assert_leq(*total, N);
  }
  return err;
}

static void check_prefix(const evsnn_event_t *got, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert(memcmp(&got[i], &evs[i], sizeof(evs[i])) == 0, "event %zu differs", i);
}

static evsnn_event_buf_t mem_file(void) {
  evsnn_event_buf_t b;
  cr_assert_eq(evsnn_event_buf_init(&b, &info), 0);
  cr_assert_eq(evsnn_event_buf_write(&b, evs, N / 2), 0);
  cr_assert_eq(evsnn_event_buf_write(&b, evs + N / 2, N - N / 2), 0);
  cr_assert_eq(evsnn_event_buf_finish(&b), 0);
  return b;
}

Test(events, memory_round_trip) {
  static evsnn_event_t got[N];
  make_events(1);
  evsnn_event_buf_t b = mem_file();
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, NULL), 0);
  const evsnn_event_info_t *in = evsnn_event_reader_info(r);
  cr_assert_str_eq(in->format, "evsnn");
  cr_assert_eq(in->width, 640);
  cr_assert_eq(in->height, 480);
  cr_assert_eq(in->label, 7);
  cr_assert_str_eq(in->meta, "camera=test");
  size_t total;
  cr_assert_eq(read_all(r, got, &total), 0);
  cr_assert_eq(total, N);
  check_prefix(got, N);
  evsnn_event_reader_close(r);
  evsnn_event_buf_free(&b);
}

static void tmp_path(char *p, size_t len) {
  snprintf(p, len, "/tmp/evsnn-test-%d.evs.gz", (int)getpid());
}

Test(events, gzip_file_round_trip_and_zcat) {
  static evsnn_event_t got[N];
  char path[64];
  tmp_path(path, sizeof(path));
  make_events(2);
  evsnn_event_writer_t *w;
  cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0);
  for (int i = 0; i < N; i += 1000) cr_assert_eq(evsnn_event_write(w, evs + i, 1000), 0);
  cr_assert_eq(evsnn_event_writer_close(w), 0);
  /* The body must be exactly the in-memory encoding, readable by zcat. */
  evsnn_event_buf_t b = mem_file();
  char cmd[256], plain[80];
  snprintf(plain, sizeof(plain), "%s.plain", path);
  FILE *f = fopen(plain, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(b.data, 1, b.len, f), b.len);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "zcat %s | cmp -s - %s", path, plain);
  cr_assert_eq(system(cmd), 0, "zcat output differs from the memory encoding");
  unlink(plain);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open(&r, path, NULL), 0);
  size_t total;
  cr_assert_eq(read_all(r, got, &total), 0);
  cr_assert_eq(total, N);
  check_prefix(got, N);
  evsnn_event_reader_close(r);
  evsnn_event_buf_free(&b);
  unlink(path);
}

Test(events, truncated_memory_at_every_offset_kind) {
  static evsnn_event_t got[N];
  make_events(3);
  evsnn_event_buf_t b = mem_file();
  for (size_t cut = 0; cut < b.len; cut += (cut < 200 ? 1 : 997)) {
    evsnn_event_reader_t *r;
    int err = evsnn_event_reader_open_mem(&r, b.data, cut, cut < 8 ? "evsnn" : NULL);
    if (err != 0) {
      cr_assert(err == EVSNN_ETRUNC || err == EVSNN_EFORMAT, "cut %zu: %s", cut, evsnn_err_name(err));
      continue;
    }
    size_t total;
    err = read_all(r, got, &total);
    cr_assert_eq(err, EVSNN_ETRUNC, "cut %zu: %s", cut, evsnn_err_name(err));
    check_prefix(got, total);
    cr_assert_neq(strstr(evsnn_error_detail(), "byte"), NULL);
    evsnn_event_reader_close(r);
  }
  evsnn_event_buf_free(&b);
}

Test(events, gzip_truncated_and_crc) {
  static evsnn_event_t got[N];
  char path[64];
  tmp_path(path, sizeof(path));
  make_events(4);
  evsnn_event_writer_t *w;
  cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0);
  cr_assert_eq(evsnn_event_write(w, evs, N), 0);
  cr_assert_eq(evsnn_event_writer_close(w), 0);
  FILE *f = fopen(path, "rb");
  static uint8_t gz[1 << 20];
  size_t len = fread(gz, 1, sizeof(gz), f);
  fclose(f);
  const size_t cuts[] = {len - 1, len - 5, len - 9, len / 2, 30};
  for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
    f = fopen(path, "wb");
    fwrite(gz, 1, cuts[c], f);
    fclose(f);
    evsnn_event_reader_t *r;
    int err = evsnn_event_reader_open(&r, path, NULL);
    if (err == 0) {
      size_t total;
      err = read_all(r, got, &total);
      check_prefix(got, total);
      evsnn_event_reader_close(r);
    }
    cr_assert_eq(err, EVSNN_ETRUNC, "cut %zu of %zu: %s (%s)", cuts[c], len, evsnn_err_name(err),
                 evsnn_error_detail());
  }
  /* Flip a byte of the stored CRC-32. */
  gz[len - 6] ^= 0x40;
  f = fopen(path, "wb");
  fwrite(gz, 1, len, f);
  fclose(f);
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  cr_assert_eq(err, 0, "%s (%s)", evsnn_err_name(err), evsnn_error_detail());
  size_t total;
  err = read_all(r, got, &total);
  cr_assert_eq(err, EVSNN_ECHECKSUM, "%s (%s)", evsnn_err_name(err), evsnn_error_detail());
  check_prefix(got, total);
  evsnn_event_reader_close(r);
  unlink(path);
}

Test(events, bad_magic_and_version) {
  make_events(5);
  evsnn_event_buf_t b = mem_file();
  evsnn_event_reader_t *r;
  b.data[8] = 2;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, NULL), EVSNN_EVERSION);
  cr_assert_neq(strstr(evsnn_error_detail(), "version 2"), NULL);
  b.data[8] = 1;
  b.data[0] = 'X';
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, NULL), EVSNN_EFORMAT);
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, "evsnn"), EVSNN_EFORMAT);
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, "nosuch"), EVSNN_EINVAL);
  cr_assert_eq(evsnn_event_reader_open(&r, "/nonexistent/x.evs", NULL), EVSNN_ENOENT);
  evsnn_event_buf_free(&b);
}

Test(events, out_of_order) {
  static evsnn_event_t got[N];
  make_events(6);
  evsnn_event_buf_t b;
  cr_assert_eq(evsnn_event_buf_init(&b, &info), 0);
  evs[100].t = evs[99].t - 5;
  cr_assert_eq(evsnn_event_buf_write(&b, evs, N), EVSNN_EORDER);
  cr_assert_neq(strstr(evsnn_error_detail(), "event 100"), NULL);
  /* Hand-encode a backwards delta, as a third-party writer might. */
  cr_assert_eq(evsnn_event_buf_write(&b, evs, 100), 0);
  uint8_t rec[5] = {1 << 2, 1, 0, 2, 0};  /* zigzag(-1) = 1, shifted past p and the end bit */
  memcpy(b.data + b.len, rec, 5);
  b.len += 5;
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, NULL), 0);
  size_t total;
  int err = read_all(r, got, &total);
  cr_assert_eq(err, EVSNN_EORDER);
  cr_assert_eq(total, 100);
  check_prefix(got, 100);
  cr_assert_neq(strstr(evsnn_error_detail(), "event 100"), NULL, "%s", evsnn_error_detail());
  evsnn_event_reader_close(r);
  evsnn_event_buf_free(&b);
}

/* Push mode, as a socket receives a body: the header, then the records cut
 * at arbitrary byte positions and fed as they come, must decode to exactly
 * the events a file reader gets. */
Test(events, push_mode_decodes_any_cut_of_the_records) {
  static evsnn_event_t got[N];
  make_events(7);
  evsnn_event_buf_t b = mem_file();
  evsnn_event_info_t hi;
  size_t hl;
  cr_assert_eq(evsnn_event_header_decode(b.data, b.len, &hi, &hl), 0);
  cr_assert_eq(hl, evsnn_event_header_size(&info));
  cr_assert_eq(hi.width, 640);
  cr_assert_eq(hi.label, 7);
  cr_assert_eq(memcmp(b.data + 32, "camera=test", 11), 0);
  size_t rec_end = b.len - 9; /* the end record */
  for (size_t cut = 1; cut <= 61; cut += 12) {
    int64_t t = 0;
    size_t total = 0, held = 0, pos = hl;
    uint8_t pend[64 + EVSNN_EVENT_RECORD_MAX];
    while (pos < rec_end || held > 0) {
      size_t take = rec_end - pos < cut ? rec_end - pos : cut;
      memcpy(pend + held, b.data + pos, take);
      pos += take;
      held += take;
      size_t n, used;
      cr_assert_eq(evsnn_event_records_decode(&t, pend, held, got + total, N - total, &n, &used), 0);
      total += n;
      memmove(pend, pend + used, held - used);
      held -= used;
      if (take == 0) break;
    }
    cr_assert_eq(held, 0, "cut %zu: %zu bytes left over", cut, held);
    cr_assert_eq(total, N, "cut %zu", cut);
    check_prefix(got, N);
  }
  /* Encoding in two calls gives the same bytes as the file body. */
  static uint8_t enc[N * EVSNN_EVENT_RECORD_MAX];
  int64_t last = 0;
  size_t k1, k2;
  cr_assert_eq(evsnn_event_records_encode(&last, evs, 1234, enc, &k1), 0);
  cr_assert_eq(evsnn_event_records_encode(&last, evs + 1234, N - 1234, enc + k1, &k2), 0);
  cr_assert_eq(k1 + k2, rec_end - hl);
  cr_assert_eq(memcmp(enc, b.data + hl, k1 + k2), 0);
  /* The end record is refused among records; the header's faults are the file's. */
  size_t n, used;
  int64_t t = 0;
  cr_assert_eq(evsnn_event_records_decode(&t, b.data + rec_end, 9, got, N, &n, &used), EVSNN_ECORRUPT);
  cr_assert_eq(n, 0);
  b.data[8] = 2;
  cr_assert_eq(evsnn_event_header_decode(b.data, b.len, &hi, &hl), EVSNN_EVERSION);
  b.data[8] = 1;
  cr_assert_eq(evsnn_event_header_decode(b.data, 20, &hi, &hl), EVSNN_ETRUNC);
  cr_assert_eq(evsnn_event_header_decode(b.data, 35, &hi, &hl), EVSNN_ETRUNC); /* metadata cut */
  evsnn_event_buf_free(&b);
}

/* The other formats the writer picks by extension read back event for event
 * through the readers (x, y cut to each format's fields; AEDAT 3.1 across
 * 2^31 us, so more than one packet's overflow); an event a format cannot
 * hold is EVSNN_ERANGE, and the events before it stay in the file. The
 * .csv lines (microseconds, for other tools) are checked as text. */
Test(events, other_formats_by_extension_round_trip) {
  static const struct { const char *ext, *format; uint16_t max_x, max_y; } fmts[] = {
      {".txt", "text", 65535, 65535}, {".bin", "nmnist", 255, 239}, {".aedat", "aedat3", 32767, 32767}};
  static evsnn_event_t want[N], got[N];
  make_events(3);
  for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
    for (int i = 0; i < N; i++) {
      want[i] = evs[i];
      want[i].x %= fmts[f].max_x + 1, want[i].y %= fmts[f].max_y + 1;
      want[i].t += (int64_t)1 << 31; /* past eventTSOverflow 0 and N-MNIST's 2^23 us windows */
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/evsnn-test-%d%s", (int)getpid(), fmts[f].ext);
    evsnn_event_writer_t *w;
    cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_event_write(w, want, N / 3), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_event_write(w, want + N / 3, N - N / 3), 0, "%s", evsnn_error_detail());
    cr_assert_eq(evsnn_event_writer_close(w), 0, "%s", evsnn_error_detail());
    evsnn_event_reader_t *r;
    cr_assert_eq(evsnn_event_reader_open(&r, path, NULL), 0, "%s: %s", path, evsnn_error_detail());
    cr_expect_str_eq(evsnn_event_reader_info(r)->format, fmts[f].format);
    size_t n;
    cr_assert_eq(read_all(r, got, &n), 0, "%s: %s", path, evsnn_error_detail());
    evsnn_event_reader_close(r);
    cr_assert_eq(n, N, "%s", path);
    for (size_t i = 0; i < n; i++)
      cr_assert(got[i].t == want[i].t && got[i].x == want[i].x && got[i].y == want[i].y && got[i].p == want[i].p,
                "%s: event %zu differs", path, i);

    if (fmts[f].max_x < 65535) { /* a field too narrow: the events before it are kept */
      evsnn_event_t bad[3] = {want[0], want[1], want[2]};
      bad[2].x = (uint16_t)(fmts[f].max_x + 1);
      cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0);
      cr_expect_eq(evsnn_event_write(w, bad, 3), EVSNN_ERANGE);
      cr_expect(strstr(evsnn_error_detail(), "event 2 (") != NULL, "%s", evsnn_error_detail());
      evsnn_event_writer_close(w);
      cr_assert_eq(evsnn_event_reader_open(&r, path, NULL), 0);
      cr_expect_eq(read_all(r, got, &n), 0);
      cr_expect_eq(n, 2, "%s: the two events before the bad one", path);
      evsnn_event_reader_close(r);
    }
    unlink(path);
  }
}

Test(events, csv_lines_in_microseconds) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/tmp/evsnn-test-%d.csv", (int)getpid());
  evsnn_event_writer_t *w;
  evsnn_event_t ev[2] = {{.t = 7, .x = 1, .y = 2, .p = 1}, {.t = 3000000001, .x = 65535, .y = 4, .p = 0}};
  cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0, "%s", evsnn_error_detail());
  cr_assert_eq(evsnn_event_write(w, ev, 2), 0);
  cr_assert_eq(evsnn_event_writer_close(w), 0);
  FILE *f = fopen(path, "r");
  cr_assert(f && fgets(line, sizeof line, f));
  cr_expect_str_eq(line, "7 1 2 1\n");
  cr_assert(fgets(line, sizeof line, f));
  cr_expect_str_eq(line, "3000000001 65535 4 0\n");
  cr_expect(fgets(line, sizeof line, f) == NULL);
  fclose(f);
  unlink(path);
}

/* Spike records: a network's spikes written with the convention's header
 * and events read back as the same layers and neurons, in memory. */
Test(events, spike_records_round_trip_and_refuse_what_16_bits_cannot_hold) {
  const uint32_t sizes[] = {784, 300, 500, 10};
  evsnn_event_info_t si;
  evsnn_spike_info(&si, sizes, 1, 3, 4, "m");
  cr_expect_eq(si.kind, EVSNN_EVENTS_SPIKES);
  cr_expect_eq(si.width, 500, "the widest recorded layer");
  cr_expect_eq(si.height, 3, "layer indices 0..2");
  cr_expect_eq(si.channels, 1);
  cr_expect_eq(si.label, 4);
  evsnn_spike_info(&si, sizes, 0, 2, -1, "");
  cr_expect_eq(si.width, 784, "the input counts when recorded");
  evsnn_event_t sp[3];
  cr_assert_eq(evsnn_spike_event(&sp[0], 0, 0, 783), 0);
  cr_assert_eq(evsnn_spike_event(&sp[1], 1000, 2, 499), 0);
  cr_assert_eq(evsnn_spike_event(&sp[2], 2000, 1, 65535), 0);
  evsnn_event_t keep = sp[2];
  cr_expect_eq(evsnn_spike_event(&sp[2], 3000, 1, 65536), EVSNN_ERANGE);
  cr_expect(strstr(evsnn_error_detail(), "neuron 65536 of layer 1") != NULL, "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_spike_event(&sp[2], 3000, 70000, 1), EVSNN_ERANGE);
  cr_expect(!memcmp(&sp[2], &keep, sizeof keep), "a refused spike leaves the event unchanged");
  evsnn_event_buf_t b;
  cr_assert_eq(evsnn_event_buf_init(&b, &si), 0);
  cr_assert_eq(evsnn_event_buf_write(&b, sp, 3), 0);
  cr_assert_eq(evsnn_event_buf_finish(&b), 0);
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, NULL), 0, "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_event_reader_info(r)->kind, EVSNN_EVENTS_SPIKES);
  static evsnn_event_t back[N];
  size_t n;
  cr_assert_eq(read_all(r, back, &n), 0);
  cr_assert_eq(n, 3);
  const uint32_t want[3][2] = {{0, 783}, {2, 499}, {1, 65535}};
  for (size_t i = 0; i < n; i++) {
    uint32_t layer, neuron;
    evsnn_spike_decode(&back[i], &layer, &neuron);
    cr_expect_eq(layer, want[i][0], "spike %zu", i);
    cr_expect_eq(neuron, want[i][1], "spike %zu", i);
    cr_expect_eq(back[i].t, (int64_t)i * EVSNN_SPIKE_STEP_US);
    cr_expect_eq(back[i].p, 1);
  }
  evsnn_event_reader_close(r);
  evsnn_event_buf_free(&b);
}
