/* IDX (MNIST-format) dataset loader.
 *
 * Reads an idx3 image file and an idx1 label file, each raw or gzip (zlib's
 * gzread passes raw files through unchanged), and validates everything a
 * damaged download can get wrong: the magic and type byte, the number of
 * dimensions, a data length that must match the header exactly (a short
 * body and trailing bytes are both errors), gzip CRC/format errors and a
 * truncated gzip stream, and that both files hold the same count. Errors
 * name the file, the byte offset and what was expected versus found.
 */
#include "evsnn/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/internal.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_CHUNK ((size_t)1 << 20)

typedef struct {
  gzFile gz;
  const char *path;
  unsigned long long pos; /* uncompressed bytes consumed so far */
} idx_reader_t;

/* Translates a zlib stream error into a code and detail; 0 if none. */
static int gz_error(idx_reader_t *r, const char *what) {
  int zerr = Z_OK;
  const char *msg = gzerror(r->gz, &zerr);
  if (zerr == Z_OK || zerr == Z_STREAM_END) return 0;
  if (zerr == Z_BUF_ERROR)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: reading %s: truncated gzip stream (%s)",
                       r->path, r->pos, what, msg ? msg : "unexpected end of file");
  if (zerr == Z_ERRNO)
    return evsnn__fail(EVSNN_EIO, "%s: byte %llu: reading %s: %s", r->path, r->pos, what,
                       strerror(errno));
  if (zerr == Z_MEM_ERROR)
    return evsnn__fail(EVSNN_ENOMEM, "%s: byte %llu: reading %s: zlib out of memory", r->path,
                       r->pos, what);
  return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: reading %s: corrupt gzip data (%s)",
                     r->path, r->pos, what, msg ? msg : "data error");
}

/* Reads up to len bytes; returns the count read (may be short at EOF) or a
 * negative error code for stream errors. */
static long long rd(idx_reader_t *r, void *buf, size_t len, const char *what) {
  size_t got = 0;
  while (got < len) {
    size_t want = len - got;
    if (want > (1u << 30)) want = 1u << 30;
    int n = gzread(r->gz, (uint8_t *)buf + got, (unsigned)want);
    if (n < 0) return gz_error(r, what);
    if (n == 0) break;
    got += (size_t)n;
    r->pos += (unsigned long long)n;
  }
  if (got < len) {
    /* A short read is either a clean EOF or a truncated/corrupt stream. */
    int e = gz_error(r, what);
    if (e < 0) return e;
  }
  return (long long)got;
}

static int rd_exact(idx_reader_t *r, void *buf, size_t len, const char *what,
                    unsigned long long expected_total) {
  long long n = rd(r, buf, len, what);
  if (n < 0) return (int)n;
  if ((size_t)n < len)
    return evsnn__fail(EVSNN_ETRUNC,
                       "%s: byte %llu: truncated %s: expected %llu bytes (file of %llu bytes), "
                       "got %llu",
                       r->path, r->pos, what, (unsigned long long)len, expected_total,
                       (unsigned long long)n);
  return 0;
}

/* Reads one IDX file with the given magic and number of dims into a fresh
 * buffer. dims[] receives the sizes. */
static int read_idx(const char *path, uint32_t magic, int ndims, uint32_t dims[3],
                    uint8_t **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (!path) return evsnn__fail(EVSNN_EINVAL, "IDX path is NULL");
  if (access(path, R_OK) != 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return evsnn__fail(EVSNN_ENOENT, "%s: no such file", path);
    return evsnn__fail(EVSNN_EIO, "%s: %s", path, strerror(e));
  }
  idx_reader_t r = {gzopen(path, "rb"), path, 0};
  if (!r.gz) {
    if (errno == ENOMEM) return evsnn__fail(EVSNN_ENOMEM, "%s: gzopen: out of memory", path);
    return evsnn__fail(errno == ENOENT ? EVSNN_ENOENT : EVSNN_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
  }
  gzbuffer(r.gz, 1u << 17);

  int rc = 0;
  uint8_t *data = NULL;
  uint8_t hdr[16];
  size_t hdr_len = 4 + 4 * (size_t)ndims;
  unsigned long long header_total = hdr_len;

  rc = rd_exact(&r, hdr, 4, "IDX magic", header_total);
  if (rc) goto out;
  uint32_t m = evsnn__be32(hdr);
  if (hdr[0] != 0 || hdr[1] != 0) {
    rc = evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: expected IDX magic 0x%08x, got 0x%08x", path,
                     magic, m);
    goto out;
  }
  if (hdr[2] != 0x08) {
    rc = evsnn__fail(EVSNN_EFORMAT,
                     "%s: byte 2: expected IDX type byte 0x08 (unsigned byte), got 0x%02x", path,
                     hdr[2]);
    goto out;
  }
  if (m != magic) {
    rc = evsnn__fail(EVSNN_EFORMAT, "%s: byte 3: expected IDX magic 0x%08x (%d dims), got 0x%08x",
                     path, magic, ndims, m);
    goto out;
  }
  rc = rd_exact(&r, hdr + 4, hdr_len - 4, "IDX dimensions", header_total);
  if (rc) goto out;

  unsigned long long total = 1;
  for (int i = 0; i < ndims; i++) {
    dims[i] = evsnn__be32(hdr + 4 + 4 * i);
    if (i > 0 && dims[i] == 0) {
      rc = evsnn__fail(EVSNN_EFORMAT, "%s: byte %d: expected a nonzero dimension, got 0", path,
                       4 + 4 * i);
      goto out;
    }
    if (dims[i] && total > ((unsigned long long)1 << 40) / dims[i]) {
      rc = evsnn__fail(EVSNN_ERANGE, "%s: byte %d: dimensions too large", path, 4 + 4 * i);
      goto out;
    }
    total *= dims[i];
  }
  if (total > (unsigned long long)SIZE_MAX / 2 || total > ((unsigned long long)1 << 40)) {
    rc = evsnn__fail(EVSNN_ERANGE, "%s: byte %zu: data of %llu bytes is too large", path, hdr_len,
                     total);
    goto out;
  }
  unsigned long long file_total = hdr_len + total;

  /* Grow the buffer as data arrives so a bogus header cannot make us
   * allocate gigabytes before the body turns out to be short. */
  size_t cap = 0, have = 0;
  while (have < total) {
    size_t want = (size_t)total - have;
    if (want > IDX_CHUNK) want = IDX_CHUNK;
    if (have + want > cap) {
      size_t ncap = cap ? cap * 2 : IDX_CHUNK;
      if (ncap > total) ncap = (size_t)total;
      uint8_t *nd = realloc(data, ncap);
      if (!nd) {
        rc = evsnn__fail(EVSNN_ENOMEM, "%s: byte %llu: cannot allocate %zu bytes", path, r.pos,
                         ncap);
        goto out;
      }
      data = nd;
      cap = ncap;
    }
    long long n = rd(&r, data + have, want, "IDX data");
    if (n < 0) {
      rc = (int)n;
      goto out;
    }
    have += (size_t)n;
    if ((size_t)n < want) {
      rc = evsnn__fail(EVSNN_ETRUNC,
                       "%s: byte %llu: truncated data: expected %llu data bytes (file of %llu "
                       "bytes), found %llu",
                       path, r.pos, total, file_total, (unsigned long long)have);
      goto out;
    }
  }
  /* The body must end exactly here; reading on also makes zlib check the
   * gzip trailer (CRC and length). */
  uint8_t extra[256];
  long long n = rd(&r, extra, sizeof extra, "end of file");
  if (n < 0) {
    rc = (int)n;
    goto out;
  }
  if (n > 0) {
    unsigned long long more = (unsigned long long)n;
    for (;;) {
      long long k = rd(&r, extra, sizeof extra, "trailing bytes");
      if (k <= 0) break;
      more += (unsigned long long)k;
    }
    rc = evsnn__fail(EVSNN_EFORMAT,
                     "%s: byte %llu: expected end of file (file of %llu bytes), found %llu "
                     "trailing bytes",
                     path, file_total, file_total, more);
    goto out;
  }
  if (total == 0) {
    data = malloc(1); /* a valid, freeable pointer for an empty set */
    if (!data) {
      rc = evsnn__fail(EVSNN_ENOMEM, "%s: out of memory", path);
      goto out;
    }
  }
  *out = data;
  *out_len = (size_t)total;
  data = NULL;

out:
  free(data);
  {
    int zc = gzclose_r(r.gz);
    if (!rc && zc != Z_OK) {
      free(*out);
      *out = NULL;
      *out_len = 0;
      rc = evsnn__fail(EVSNN_EIO, "%s: error closing file (zlib %d)", path, zc);
    }
  }
  return rc;
}

int evsnn_dataset_load_idx(evsnn_dataset_t *d, const char *images_path,
                           const char *labels_path) {
  if (!d) return evsnn__fail(EVSNN_EINVAL, "evsnn_dataset_load_idx: dataset is NULL");
  memset(d, 0, sizeof *d);
  uint32_t idims[3] = {0}, ldims[3] = {0};
  uint8_t *pixels = NULL, *labels = NULL;
  size_t plen, llen;
  int rc = read_idx(images_path, IDX_MAGIC_IMAGES, 3, idims, &pixels, &plen);
  if (rc) return rc;
  rc = read_idx(labels_path, IDX_MAGIC_LABELS, 1, ldims, &labels, &llen);
  if (rc) {
    free(pixels);
    return rc;
  }
  if (idims[0] != ldims[0]) {
    free(pixels);
    free(labels);
    return evsnn__fail(EVSNN_EFORMAT,
                       "%s: byte 4: expected %u labels to match the %u images of %s, got %u",
                       labels_path, idims[0], idims[0], images_path, ldims[0]);
  }
  d->n = idims[0];
  d->rows = idims[1];
  d->cols = idims[2];
  d->pixels = pixels;
  d->labels = labels;
  return 0;
}

static const char *const idx_names[4] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

/* Writes dir/name or dir/name.gz, whichever exists (raw first), into buf.
 * Returns 1 if found, 0 if neither exists (buf holds the .gz name), or a
 * negative code if the path does not fit. */
static int find_file(char *buf, size_t cap, const char *dir, const char *name) {
  int k = snprintf(buf, cap, "%s/%s", dir, name);
  if (k < 0 || (size_t)k + 3 >= cap)
    return evsnn__fail(EVSNN_EINVAL, "%s/%s: path too long", dir, name);
  if (access(buf, F_OK) == 0) return 1;
  strcat(buf, ".gz");
  return access(buf, F_OK) == 0;
}

static int dir_has_data(const char *dir) {
  char p[4096];
  return find_file(p, sizeof p, dir, idx_names[0]) == 1;
}

static int load_from(evsnn_dataset_t *train, evsnn_dataset_t *test, const char *dir) {
  char p[4][4096];
  for (int i = 0; i < 4; i++) {
    int f = find_file(p[i], sizeof p[i], dir, idx_names[i]);
    if (f < 0) return f;
    if (f == 0)
      return evsnn__fail(EVSNN_ENOENT, "%s/%s: no such file (nor %s)", dir, idx_names[i], p[i]);
  }
  int rc = evsnn_dataset_load_idx(train, p[0], p[1]);
  if (rc) return rc;
  rc = evsnn_dataset_load_idx(test, p[2], p[3]);
  if (rc) {
    evsnn_dataset_free(train);
    return rc;
  }
  if (train->rows != test->rows || train->cols != test->cols) {
    rc = evsnn__fail(EVSNN_EFORMAT, "%s: byte 8: expected %ux%u images like %s, got %ux%u",
                     p[2], train->rows, train->cols, p[0], test->rows, test->cols);
    evsnn_dataset_free(train);
    evsnn_dataset_free(test);
    return rc;
  }
  return 0;
}

int evsnn_dataset_load_dir(evsnn_dataset_t *train, evsnn_dataset_t *test, const char *dir,
                           int *is_sample, char *dir_out, size_t cap) {
  if (!train || !test)
    return evsnn__fail(EVSNN_EINVAL, "evsnn_dataset_load_dir: dataset is NULL");
  memset(train, 0, sizeof *train);
  memset(test, 0, sizeof *test);
  if (is_sample) *is_sample = 0;
  if (dir_out && cap) dir_out[0] = 0;

  const char *chosen = dir;
  int sample = 0;
  if (!chosen) {
    /* Full MNIST before the sample; the source tree (relative to the
     * working directory) before what `make install` put in EVSNN_PKGDATADIR. */
    static const struct { const char *dir; int sample; } places[] = {
        {"datasets/mnist", 0}, {EVSNN_PKGDATADIR "/mnist", 0},
        {"datasets/sample", 1}, {EVSNN_PKGDATADIR "/sample", 1}};
    const char *env = getenv("EVSNN_DATA");
    if (env && *env && dir_has_data(env)) chosen = env;
    for (size_t i = 0; !chosen && i < sizeof places / sizeof places[0]; i++)
      if (dir_has_data(places[i].dir)) chosen = places[i].dir, sample = places[i].sample;
    if (!chosen)
      return evsnn__fail(EVSNN_ENOENT,
                         "not in $EVSNN_DATA, datasets/mnist or datasets/sample (from here), nor in " EVSNN_PKGDATADIR
                         "/mnist or /sample; give --data DIR or run datasets/fetch-mnist");
  }
  if (dir_out && cap) snprintf(dir_out, cap, "%s", chosen);
  int rc = load_from(train, test, chosen);
  if (rc) return rc;
  if (is_sample) *is_sample = sample;
  return 0;
}
