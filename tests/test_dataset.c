/* Tests of src/data: the IDX loader against fixtures written here to a
 * temporary directory (valid raw and gzip, and each kind of damage), and the
 * committed sample under $EVSNN_SRCDIR/datasets/sample. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "evsnn/dataset.h"
#include "evsnn/error.h"

static char tmpdir[256];

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/evsnn-test-dataset-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) cr_log_warn("could not remove %s", tmpdir);
}

TestSuite(idx, .init = setup, .fini = teardown);

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Builds an IDX image file of n images of r x c into buf; returns length. */
static size_t make_images(uint8_t *buf, uint32_t n, uint32_t r, uint32_t c) {
  put_be32(buf, 0x803);
  put_be32(buf + 4, n);
  put_be32(buf + 8, r);
  put_be32(buf + 12, c);
  for (uint32_t i = 0; i < n * r * c; i++) buf[16 + i] = (uint8_t)(i * 7 + 3);
  return 16 + (size_t)n * r * c;
}

static size_t make_labels(uint8_t *buf, uint32_t n) {
  put_be32(buf, 0x801);
  put_be32(buf + 4, n);
  for (uint32_t i = 0; i < n; i++) buf[8 + i] = (uint8_t)(i % 10);
  return 8 + (size_t)n;
}

static const char *path_of(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}

static const char *write_raw(const char *name, const uint8_t *b, size_t len) {
  const char *p = path_of(name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(b, 1, len, f), len);
  fclose(f);
  return p;
}

static const char *write_gz(const char *name, const uint8_t *b, size_t len) {
  const char *p = path_of(name);
  gzFile g = gzopen(p, "wb9");
  cr_assert_not_null(g);
  cr_assert_eq(gzwrite(g, b, (unsigned)len), (int)len);
  cr_assert_eq(gzclose(g), Z_OK);
  return p;
}

static long file_size(const char *p) {
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  long s = ftell(f);
  fclose(f);
  return s;
}

static uint8_t img[16 + 50 * 6 * 5 + 64], lab[8 + 50 + 64];

/* Loads and expects rc; on success checks the contents. */
static void expect_load(const char *ip, const char *lp, int want) {
  evsnn_dataset_t d;
  memset(&d, 0xAB, sizeof d);
  int rc = evsnn_dataset_load_idx(&d, ip, lp);
  cr_expect_eq(rc, want, "rc %s (%s), want %s", evsnn_err_name(rc), evsnn_error_detail(),
               evsnn_err_name(want));
  if (rc == 0) {
    cr_expect_eq(d.n, 50);
    cr_expect_eq(d.rows, 6);
    cr_expect_eq(d.cols, 5);
    cr_expect(memcmp(d.pixels, img + 16, 50 * 30) == 0);
    cr_expect(memcmp(d.labels, lab + 8, 50) == 0);
  } else {
    cr_expect_null(d.pixels);
    cr_expect_null(d.labels);
    cr_expect_eq(d.n, 0);
    cr_expect_str_neq(evsnn_error_detail(), "");
  }
  evsnn_dataset_free(&d);
  cr_expect_null(d.pixels);
}

Test(idx, round_trip_raw) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  expect_load(write_raw("i", img, il), write_raw("l", lab, ll), 0);
}

Test(idx, round_trip_gz) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  const char *ip = write_gz("i.gz", img, il);
  cr_expect_neq(file_size(ip), (long)il, "the fixture is really compressed");
  expect_load(ip, write_gz("l.gz", lab, ll), 0);
}

Test(idx, missing_file) {
  size_t ll = make_labels(lab, 50);
  expect_load(path_of("nope"), write_raw("l", lab, ll), EVSNN_ENOENT);
  size_t il = make_images(img, 50, 6, 5);
  expect_load(write_raw("i", img, il), path_of("nope.gz"), EVSNN_ENOENT);
  evsnn_dataset_t d;
  cr_expect_eq(evsnn_dataset_load_idx(&d, path_of("xyz"), path_of("y")), EVSNN_ENOENT);
  cr_expect(strstr(evsnn_error_detail(), "/xyz") != NULL, "%s", evsnn_error_detail());
}

Test(idx, wrong_magic) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  /* labels given where images are expected, and vice versa */
  expect_load(write_raw("l", lab, ll), write_raw("l2", lab, ll), EVSNN_EFORMAT);
  cr_expect(strstr(evsnn_error_detail(), "0x00000803") != NULL, "%s", evsnn_error_detail());
  expect_load(write_raw("i", img, il), write_raw("i2", img, il), EVSNN_EFORMAT);
  img[0] = 0x1f; /* not IDX at all */
  expect_load(write_raw("i3", img, il), write_raw("l3", lab, ll), EVSNN_EFORMAT);
}

Test(idx, wrong_type_byte) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  img[2] = 0x0D; /* float */
  expect_load(write_raw("i", img, il), write_raw("l", lab, ll), EVSNN_EFORMAT);
  cr_expect(strstr(evsnn_error_detail(), "type byte") != NULL, "%s", evsnn_error_detail());
}

Test(idx, truncated_header) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  expect_load(write_raw("i", img, 10), write_raw("l", lab, ll), EVSNN_ETRUNC);
  expect_load(write_raw("i2", img, il), write_raw("l2", lab, 3), EVSNN_ETRUNC);
  expect_load(write_raw("i3", img, 0), write_raw("l3", lab, ll), EVSNN_ETRUNC);
}

Test(idx, truncated_body) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  expect_load(write_raw("i", img, il - 1), write_raw("l", lab, ll), EVSNN_ETRUNC);
  const char *det = evsnn_error_detail();
  cr_expect(strstr(det, "/i: byte 1515") != NULL, "%s", det);
  cr_expect(strstr(det, "expected 1500") != NULL, "%s", det);
  expect_load(write_raw("i2", img, il), write_gz("l2.gz", lab, ll - 5), EVSNN_ETRUNC);
}

Test(idx, trailing_bytes) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  expect_load(write_raw("i", img, il + 3), write_raw("l", lab, ll), EVSNN_EFORMAT);
  cr_expect(strstr(evsnn_error_detail(), "3 trailing bytes") != NULL, "%s",
            evsnn_error_detail());
  expect_load(write_raw("i2", img, il), write_gz("l2.gz", lab, ll + 1), EVSNN_EFORMAT);
}

Test(idx, count_mismatch) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 49);
  expect_load(write_raw("i", img, il), write_raw("l", lab, ll), EVSNN_EFORMAT);
  cr_expect(strstr(evsnn_error_detail(), "49") != NULL, "%s", evsnn_error_detail());
}

Test(idx, corrupt_gzip) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  const char *ip = write_gz("i.gz", img, il);
  long sz = file_size(ip);
  FILE *f = fopen(ip, "r+b");
  cr_assert_not_null(f);
  uint8_t c;
  long at = sz / 2; /* inside the deflate data, past the 10-byte header */
  fseek(f, at, SEEK_SET);
  cr_assert_eq(fread(&c, 1, 1, f), 1);
  c ^= 0x55;
  fseek(f, at, SEEK_SET);
  cr_assert_eq(fwrite(&c, 1, 1, f), 1);
  fclose(f);
  evsnn_dataset_t d;
  int rc = evsnn_dataset_load_idx(&d, ip, write_raw("l", lab, ll));
  cr_expect(rc == EVSNN_ECORRUPT || rc == EVSNN_ETRUNC || rc == EVSNN_EFORMAT,
            "rc %s (%s)", evsnn_err_name(rc), evsnn_error_detail());
  cr_expect_null(d.pixels);
  /* the CRC of the trailer is checked too */
  const char *ip2 = write_gz("i2.gz", img, il);
  sz = file_size(ip2);
  f = fopen(ip2, "r+b");
  fseek(f, sz - 8, SEEK_SET);
  c = 0;
  cr_assert_eq(fread(&c, 1, 1, f), 1);
  c ^= 0xFF;
  fseek(f, sz - 8, SEEK_SET);
  fwrite(&c, 1, 1, f);
  fclose(f);
  expect_load(ip2, write_raw("l2", lab, ll), EVSNN_ECORRUPT);
}

Test(idx, truncated_gzip_stream) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  const char *ip = write_gz("i.gz", img, il);
  long sz = file_size(ip);
  cr_assert_eq(truncate(ip, sz - 12), 0); /* cut into the deflate data */
  expect_load(ip, write_raw("l", lab, ll), EVSNN_ETRUNC);
  const char *ip2 = write_gz("i2.gz", img, il);
  cr_assert_eq(truncate(ip2, file_size(ip2) - 4), 0); /* cut the trailer only */
  expect_load(ip2, write_raw("l2", lab, ll), EVSNN_ETRUNC);
}

Test(idx, limit_and_free_zeroed) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  evsnn_dataset_t d;
  cr_assert_eq(evsnn_dataset_load_idx(&d, write_raw("i", img, il), write_raw("l", lab, ll)), 0);
  evsnn_dataset_limit(&d, 80);
  cr_expect_eq(d.n, 50);
  evsnn_dataset_limit(&d, 7);
  cr_expect_eq(d.n, 7);
  evsnn_dataset_free(&d);
  evsnn_dataset_t z = {0};
  evsnn_dataset_free(&z);
}

Test(idx, load_dir_explicit_and_missing) {
  size_t il = make_images(img, 50, 6, 5), ll = make_labels(lab, 50);
  write_gz("train-images-idx3-ubyte.gz", img, il);
  write_raw("train-labels-idx1-ubyte", lab, ll);
  evsnn_dataset_t tr, te;
  char out[512];
  int s = 7;
  cr_expect_eq(evsnn_dataset_load_dir(&tr, &te, tmpdir, &s, out, sizeof out), EVSNN_ENOENT);
  cr_expect(strstr(evsnn_error_detail(), "t10k-images") != NULL, "%s", evsnn_error_detail());
  cr_expect_null(tr.pixels);
  write_raw("t10k-images-idx3-ubyte", img, il);
  write_gz("t10k-labels-idx1-ubyte.gz", lab, ll);
  cr_assert_eq(evsnn_dataset_load_dir(&tr, &te, tmpdir, &s, out, sizeof out), 0, "%s",
               evsnn_error_detail());
  cr_expect_eq(s, 0);
  cr_expect_str_eq(out, tmpdir);
  cr_expect_eq(tr.n, 50);
  cr_expect_eq(te.n, 50);
  evsnn_dataset_free(&tr);
  evsnn_dataset_free(&te);
}

Test(sample, committed_sample_loads) {
  const char *src = getenv("EVSNN_SRCDIR");
  if (!src) src = ".";
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/datasets/sample", src);
  evsnn_dataset_t tr, te;
  int rc = evsnn_dataset_load_dir(&tr, &te, dir, NULL, NULL, 0);
  cr_assert_eq(rc, 0, "%s: %s", evsnn_err_name(rc), evsnn_error_detail());
  cr_expect_eq(tr.n, 4000);
  cr_expect_eq(te.n, 1000);
  cr_expect_eq(tr.rows, 28);
  cr_expect_eq(tr.cols, 28);
  int seen[10] = {0};
  for (uint32_t i = 0; i < tr.n; i++) {
    cr_assert_lt(tr.labels[i], 10);
    seen[tr.labels[i]]++;
  }
  for (uint32_t i = 0; i < te.n; i++) cr_assert_lt(te.labels[i], 10);
  for (int k = 0; k < 10; k++) cr_expect_gt(seen[k], 200, "digit %d: %d", k, seen[k]);
  cr_expect_eq(tr.labels[0], 5, "the first MNIST training label is 5");
  cr_expect_eq(te.labels[0], 7, "the first MNIST test label is 7");
  evsnn_dataset_free(&tr);
  evsnn_dataset_free(&te);
}

Test(sample, fallback_to_sample_from_srcdir) {
  const char *src = getenv("EVSNN_SRCDIR");
  cr_assert_not_null(src, "make check sets EVSNN_SRCDIR");
  char cwd[1024];
  cr_assert_not_null(getcwd(cwd, sizeof cwd));
  cr_assert_eq(chdir(src), 0);
  setenv("EVSNN_DATA", "/nonexistent-evsnn-data", 1);
  /* Hide datasets/mnist if present by testing only when it is absent. */
  int has_mnist = access("datasets/mnist/train-images-idx3-ubyte.gz", F_OK) == 0 ||
                  access("datasets/mnist/train-images-idx3-ubyte", F_OK) == 0;
  evsnn_dataset_t tr, te;
  int s = -1;
  char out[256];
  int rc = evsnn_dataset_load_dir(&tr, &te, NULL, &s, out, sizeof out);
  cr_expect_eq(chdir(cwd), 0);
  cr_assert_eq(rc, 0, "%s", evsnn_error_detail());
  if (has_mnist) {
    cr_expect_eq(s, 0);
    cr_expect_str_eq(out, "datasets/mnist");
  } else {
    cr_expect_eq(s, 1);
    cr_expect_str_eq(out, "datasets/sample");
  }
  evsnn_dataset_free(&tr);
  evsnn_dataset_free(&te);
}
