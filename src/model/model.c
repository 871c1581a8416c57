/* Model files (docs/model-format.md): a fixed header, tagged chunks, and a
 * CRC-32 of everything before it. Floats travel as their IEEE-754 bits in
 * little-endian order, without the in-memory column padding, so any
 * program on any machine can read them. */
#include "evsnn/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/internal.h"

static const uint8_t MAGIC[8] = {'E', 'V', 'S', 'N', 'N', 'M', 'D', 'L'};

/* A growable byte buffer for building the file in memory (about 1.3 MB for
 * the paper network): one write, one checksum. */
typedef struct {
  uint8_t *p;
  size_t len, cap;
  int err;
} buf_t;

static uint8_t *buf_grow(buf_t *b, size_t n) {
  if (b->err) return NULL;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->err = EVSNN_ENOMEM;
      return NULL;
    }
    b->p = p, b->cap = cap;
  }
  uint8_t *at = b->p + b->len;
  b->len += n;
  return at;
}

static void put_u32(buf_t *b, uint32_t v) {
  uint8_t *p = buf_grow(b, 4);
  if (p) evsnn__put_le32(p, v);
}

static void put_u64(buf_t *b, uint64_t v) {
  uint8_t *p = buf_grow(b, 8);
  if (p) evsnn__put_le64(p, v);
}

static void put_f32(buf_t *b, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put_u32(b, u);
}

/* Starts a chunk; returns the offset of its length field, patched by end_chunk. */
static size_t begin_chunk(buf_t *b, const char tag[4]) {
  uint8_t *p = buf_grow(b, 4);
  if (p) memcpy(p, tag, 4);
  put_u64(b, 0);
  return b->len - 8;
}

static void end_chunk(buf_t *b, size_t at) {
  if (!b->err) evsnn__put_le64(b->p + at, b->len - at - 8);
}

/* Weights (or moments laid out like them) in column order, padding dropped. */
static void put_params(buf_t *b, const evsnn_net_t *net, const float *params) {
  for (uint32_t m = 0; m < net->n_layers; m++) {
    const evsnn_layer_t *l = &net->layer[m];
    for (uint32_t j = 0; j < l->n_in; j++)
      for (uint32_t i = 0; i < l->n_out; i++) put_f32(b, params[l->offset + (size_t)j * l->ld + i]);
  }
}

int evsnn_model_save(const char *path, const evsnn_net_t *net, const char *meta, const evsnn_adam_t *adam) {
  buf_t b = {0};
  uint8_t *p = buf_grow(&b, 8);
  if (p) memcpy(p, MAGIC, 8);
  put_u32(&b, EVSNN_MODEL_VERSION);
  size_t at = begin_chunk(&b, "NET ");
  put_u32(&b, net->n_layers);
  for (uint32_t m = 0; m <= net->n_layers; m++) put_u32(&b, net->sizes[m]);
  put_f32(&b, net->beta);
  for (uint32_t m = 0; m < net->n_layers; m++) put_f32(&b, net->layer[m].threshold);
  put_params(&b, net, net->params);
  end_chunk(&b, at);
  if (meta && meta[0]) {
    at = begin_chunk(&b, "META");
    size_t n = strlen(meta);
    if ((p = buf_grow(&b, n))) memcpy(p, meta, n);
    end_chunk(&b, at);
  }
  if (adam && adam->n) {
    at = begin_chunk(&b, "ADAM");
    put_u64(&b, adam->t);
    put_f32(&b, adam->lr), put_f32(&b, adam->beta1), put_f32(&b, adam->beta2), put_f32(&b, adam->eps);
    put_params(&b, net, adam->m);
    put_params(&b, net, adam->v);
    end_chunk(&b, at);
  }
  if (!b.err) put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.len));
  if (b.err) {
    free(b.p);
    return evsnn__fail(b.err, "%s: building the model file", path);
  }
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  int err = 0;
  if (!f) err = evsnn__fail(errno == ENOENT ? EVSNN_ENOENT : EVSNN_EIO, "%s: cannot create: %s", tmp, strerror(errno));
  else if (fwrite(b.p, 1, b.len, f) != b.len || fflush(f) != 0)
    err = evsnn__fail(EVSNN_EIO, "%s: write failed: %s", tmp, strerror(errno));
  if (f && fclose(f) != 0 && !err) err = evsnn__fail(EVSNN_EIO, "%s: close failed: %s", tmp, strerror(errno));
  if (!err && rename(tmp, path) != 0) err = evsnn__fail(EVSNN_EIO, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
  if (err && f) remove(tmp);
  free(b.p);
  return err;
}

/* A bounds-checked reader over the loaded bytes. */
typedef struct {
  const uint8_t *p;
  size_t len, at;
  const char *path;
} rd_t;

static int need(rd_t *r, size_t n, const char *what) {
  if (r->len - r->at < n)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %zu: %s needs %zu bytes, %zu left", r->path, r->at, what, n, r->len - r->at);
  return 0;
}

static uint32_t get_u32(rd_t *r) { return r->at += 4, evsnn__le32(r->p + r->at - 4); }
static uint64_t get_u64(rd_t *r) { return r->at += 8, evsnn__le64(r->p + r->at - 8); }
static float get_f32(rd_t *r) {
  uint32_t u = get_u32(r);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void get_params(rd_t *r, const evsnn_net_t *net, float *params) {
  for (uint32_t m = 0; m < net->n_layers; m++) {
    const evsnn_layer_t *l = &net->layer[m];
    for (uint32_t j = 0; j < l->n_in; j++)
      for (uint32_t i = 0; i < l->n_out; i++) params[l->offset + (size_t)j * l->ld + i] = get_f32(r);
  }
}

static int read_file(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return evsnn__fail(errno == ENOENT ? EVSNN_ENOENT : EVSNN_EIO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 20, n = 0;
  uint8_t *p = malloc(cap);
  for (size_t got; p && (got = fread(p + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      uint8_t *q = realloc(p, cap *= 2);
      if (!q) free(p);
      p = q;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!p) return evsnn__fail(EVSNN_ENOMEM, "%s: reading", path);
  if (bad) {
    free(p);
    return evsnn__fail(EVSNN_EIO, "%s: read error", path);
  }
  *data = p, *len = n;
  return 0;
}

int evsnn_model_load(const char *path, evsnn_net_t *net, char **meta, evsnn_adam_t *adam) {
  memset(net, 0, sizeof *net);
  if (meta) *meta = NULL;
  if (adam) memset(adam, 0, sizeof *adam);
  uint8_t *data = NULL;
  size_t len = 0;
  int err = read_file(path, &data, &len);
  if (err) return err;
  rd_t r = {data, len, 0, path};
  char *text = NULL;
  if ((err = need(&r, 12, "the header"))) goto fail;
  if (memcmp(data, MAGIC, 8) != 0) {
    err = evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: not an evsnn model (magic \"EVSNNMDL\" expected)", path);
    goto fail;
  }
  r.at = 8;
  uint32_t version = get_u32(&r);
  if (version != EVSNN_MODEL_VERSION) {
    err = evsnn__fail(EVSNN_EVERSION, "%s: byte 8: model version %u, this evsnn reads version %d", path, version,
                      EVSNN_MODEL_VERSION);
    goto fail;
  }
  if ((err = need(&r, 4, "the checksum"))) goto fail;
  uint32_t want = evsnn__le32(data + len - 4), got = (uint32_t)crc32(0L, data, (uInt)(len - 4));
  if (want != got) {
    err = evsnn__fail(EVSNN_ECHECKSUM, "%s: CRC-32 %08x stored, %08x computed (corrupt or truncated)", path, want, got);
    goto fail;
  }
  r.len = len - 4;
  int have_net = 0;
  while (r.at < r.len) {
    if ((err = need(&r, 12, "a chunk header"))) goto fail;
    char tag[5] = {0};
    memcpy(tag, r.p + r.at, 4);
    r.at += 4;
    uint64_t size = get_u64(&r);
    size_t start = r.at;
    if ((err = need(&r, size, tag))) goto fail;
    if (!strcmp(tag, "NET ")) {
      if (have_net) {
        err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: a second NET chunk", path, start - 12);
        goto fail;
      }
      if ((err = need(&r, 4, "layer count"))) goto fail;
      uint32_t L = get_u32(&r), sizes[EVSNN_MAX_LAYERS + 1];
      if (L < 1 || L > EVSNN_MAX_LAYERS) {
        err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %u layers, expected 1 to %d", path, r.at - 4, L, EVSNN_MAX_LAYERS);
        goto fail;
      }
      if ((err = need(&r, 4 * (L + 1) + 4 + 4 * L, "network sizes"))) goto fail;
      for (uint32_t m = 0; m <= L; m++) sizes[m] = get_u32(&r);
      float beta = get_f32(&r);
      if ((err = evsnn_net_init(net, sizes, L + 1, beta))) goto fail;
      for (uint32_t m = 0; m < L; m++) evsnn_net_set_threshold(net, m + 1, get_f32(&r));
      if (r.at + 4 * evsnn_net_n_weights(net) != start + size) {
        err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: NET chunk of %llu bytes does not match its sizes", path, start,
                          (unsigned long long)size);
        goto fail;
      }
      get_params(&r, net, net->params);
      have_net = 1;
    } else if (!strcmp(tag, "META")) {
      free(text);
      if (!(text = malloc(size + 1))) {
        err = evsnn__fail(EVSNN_ENOMEM, "%s: metadata", path);
        goto fail;
      }
      memcpy(text, r.p + r.at, size);
      text[size] = '\0';
    } else if (!strcmp(tag, "ADAM") && adam && !adam->n) {
      size_t n = evsnn_net_n_weights(net);
      if (!have_net || size != 8 + 16 + 8 * n) {
        err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: ADAM chunk before NET or of the wrong size", path, start);
        goto fail;
      }
      uint64_t t = get_u64(&r);
      float lr = get_f32(&r);
      if ((err = evsnn_adam_init(adam, net->n_params, lr))) goto fail;
      adam->t = t;
      adam->beta1 = get_f32(&r), adam->beta2 = get_f32(&r), adam->eps = get_f32(&r);
      get_params(&r, net, adam->m);
      get_params(&r, net, adam->v);
    }
    /* Unknown chunks are skipped: later versions may add optional ones. */
    r.at = start + size;
  }
  if (!have_net) {
    err = evsnn__fail(EVSNN_ECORRUPT, "%s: no NET chunk", path);
    goto fail;
  }
  if (meta) *meta = text ? text : calloc(1, 1);
  else free(text);
  free(data);
  return 0;
fail:
  free(text);
  free(data);
  evsnn_net_free(net);
  if (adam) evsnn_adam_free(adam);
  return err;
}
