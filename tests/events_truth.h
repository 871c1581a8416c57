/* Test support shared by the event-reader tests: SHA-256 (FIPS 180-4) and
 * check_file(), which decodes one recording in ../shared/events and checks
 * it against expected/ground_truth.json: count, first and last three events,
 * t/x/y ranges, polarity counts and the SHA-256 of the events as
 * "t,x,y,p\n" CSV lines (SOURCES.md's definition). It skips, saying so, when
 * the shared folder is absent. Include once, from a Criterion test file. */
#ifndef EVSNN_TESTS_EVENTS_TRUTH_H
#define EVSNN_TESTS_EVENTS_TRUTH_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evsnn/error.h"
#include "evsnn/events.h"

/* ---- SHA-256 (FIPS 180-4), test support only ---- */
typedef struct { uint32_t h[8]; uint8_t buf[64]; size_t nbuf; uint64_t len; } sha256_t;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void sha_block(sha256_t *c, const uint8_t *p) {
  uint32_t w[64], s[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ w[i - 15] >> 3;
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ w[i - 2] >> 10;
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(s, c->h, sizeof(s));
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = s[7] + (ROR(s[4], 6) ^ ROR(s[4], 11) ^ ROR(s[4], 25)) +
                  ((s[4] & s[5]) ^ (~s[4] & s[6])) + K[i] + w[i];
    uint32_t t2 = (ROR(s[0], 2) ^ ROR(s[0], 13) ^ ROR(s[0], 22)) +
                  ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
    memmove(s + 1, s, 7 * sizeof(s[0]));
    s[4] += t1;
    s[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) c->h[i] += s[i];
}

static void sha_init(sha256_t *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof(h0));
  c->nbuf = 0;
  c->len = 0;
}

static void sha_update(sha256_t *c, const void *data, size_t n) {
  const uint8_t *p = data;
  c->len += n;
  while (n > 0) {
    size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
    memcpy(c->buf + c->nbuf, p, k);
    c->nbuf += k, p += k, n -= k;
    if (c->nbuf == 64) sha_block(c, c->buf), c->nbuf = 0;
  }
}

static void sha_hex(sha256_t *c, char out[65]) {
  uint64_t bits = c->len * 8;
  uint8_t pad = 0x80, z = 0, l[8];
  sha_update(c, &pad, 1);
  while (c->nbuf != 56) sha_update(c, &z, 1);
  for (int i = 0; i < 8; i++) l[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(c, l, 8);
  for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08" PRIx32, c->h[i]);
}

/* ---- ground truth, read from the JSON by key ---- */
static char *json;
static char dir[4096];

static int load(void) {
  const char *src = getenv("EVSNN_SRCDIR");
  snprintf(dir, sizeof(dir), "%s/../shared/events", src ? src : ".");
  char p[4200];
  snprintf(p, sizeof(p), "%s/expected/ground_truth.json", dir);
  FILE *f = fopen(p, "rb");
  if (f == NULL) return 0;
  json = calloc(1, 1 << 20);
  fread(json, 1, (1 << 20) - 1, f);
  fclose(f);
  return 1;
}

/* The first n integers after key, searched from the file's entry. */
static void ints(const char *name, const char *key, long long *out, int n) {
  char k[300];
  snprintf(k, sizeof(k), "\"%s\"", name);
  const char *p = strstr(json, k);
  cr_assert_not_null(p, "%s not in ground_truth.json", name);
  snprintf(k, sizeof(k), "\"%s\"", key);
  p = strstr(p, k);
  cr_assert_not_null(p);
  p += strlen(k);
  for (int i = 0; i < n; i++) {
    while (*p && !(*p >= '0' && *p <= '9') && *p != '-') p++;
    if (*p == '"') p++;
    out[i] = strtoll(p, (char **)&p, 10);
    if (*p == '"') p++;
  }
}

static void sha_of(const char *name, char out[65]) {
  char k[300];
  snprintf(k, sizeof(k), "\"%s\"", name);
  const char *p = strstr(strstr(json, k), "\"csv_sha256\"");
  p = strchr(p + 12, '"') + 1;
  memcpy(out, p, 64);
  out[64] = 0;
}

static void check_file(const char *name, const char *file, const char *format) {
  if (json == NULL && !load()) cr_skip("shared recordings absent (%s): not checked", dir);
  char path[4400];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  long long n, first[12], last[12], t[2], x[2], y[2], pol[4]; /* "0": off, "1": on */
  ints(name, "n", &n, 1);
  ints(name, "first3", first, 12);
  ints(name, "last3", last, 12);
  ints(name, "t", t, 2);
  ints(name, "x", x, 2);
  ints(name, "y", y, 2);
  ints(name, "pol", pol, 4);
  char want[65], got_sha[65];
  sha_of(name, want);
  evsnn_event_reader_t *r;
  int err = evsnn_event_reader_open(&r, path, NULL);
  cr_assert_eq(err, 0, "%s: %s", evsnn_err_name(err), evsnn_error_detail());
  cr_assert_str_eq(evsnn_event_reader_info(r)->format, format);
  static evsnn_event_t ev[4096];
  evsnn_event_t tail[3];
  long long count = 0, on = 0, tmin = -1, tmax = -1, xr[2] = {99999, -1}, yr[2] = {99999, -1};
  sha256_t c;
  sha_init(&c);
  size_t k;
  while ((err = evsnn_event_read(r, ev, 4096, &k)) == 0 && k > 0) {
    for (size_t i = 0; i < k; i++) {
      const evsnn_event_t *e = &ev[i];
      char line[64];
      int len = snprintf(line, sizeof(line), "%" PRId64 ",%u,%u,%u\n", e->t, e->x, e->y, e->p);
      sha_update(&c, line, (size_t)len);
      if (count < 3) {
        cr_assert_eq(e->t, first[4 * count]);
        cr_assert_eq(e->x, first[4 * count + 1]);
        cr_assert_eq(e->y, first[4 * count + 2]);
        cr_assert_eq(e->p, first[4 * count + 3]);
      }
      tail[0] = tail[1], tail[1] = tail[2], tail[2] = *e;
      if (tmin < 0 || e->t < tmin) tmin = e->t;
      if (e->t > tmax) tmax = e->t;
      if (e->x < xr[0]) xr[0] = e->x;
      if (e->x > xr[1]) xr[1] = e->x;
      if (e->y < yr[0]) yr[0] = e->y;
      if (e->y > yr[1]) yr[1] = e->y;
      on += e->p;
      count++;
    }
  }
  cr_assert_eq(err, 0, "%s: %s", evsnn_err_name(err), evsnn_error_detail());
  evsnn_event_reader_close(r);
  cr_assert_eq(count, n, "%s: %lld events, expected %lld", file, count, n);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(tail[i].t, last[4 * i]);
    cr_assert_eq(tail[i].x, last[4 * i + 1]);
    cr_assert_eq(tail[i].y, last[4 * i + 2]);
    cr_assert_eq(tail[i].p, last[4 * i + 3]);
  }
  cr_assert(tmin == t[0] && tmax == t[1], "t %lld..%lld", tmin, tmax);
  cr_assert(xr[0] == x[0] && xr[1] == x[1]);
  cr_assert(yr[0] == y[0] && yr[1] == y[1]);
  cr_assert(pol[0] == 0 && pol[2] == 1);
  cr_assert_eq(count - on, pol[1]);
  cr_assert_eq(on, pol[3]);
  sha_hex(&c, got_sha);
  cr_assert_str_eq(got_sha, want, "%s", file);
}

#endif
