/* Model files (docs/model-format.md): a fixed header, tagged chunks, and a
 * CRC-32 of everything before it. Floats travel as their IEEE-754 bits in
 * little-endian order, without the in-memory column padding, so any
 * program on any machine can read them. */
#include "evsnn/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/internal.h"
#include "net/proj.h"

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

/* The file stores a dense projection's columns without their padding:
 * row_len floats of every row_stride; anything else as one run. */
static size_t row_len(const evsnn_proj_t *p) {
  int dense = p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT;
  return dense ? p->n_out : (p->size ? p->size : 1);
}
static size_t row_stride(const evsnn_proj_t *p) {
  return p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT ? p->ld : p->size;
}

/* Real parameters of projection p (no padding). */
static size_t param_count(const evsnn_proj_t *p) {
  return p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT ? (size_t)p->n_in * p->n_out : p->size;
}

/* Parameters (or moments laid out like them) projection by projection. */
static void put_params(buf_t *b, const evsnn_net_t *net, const float *params) {
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    size_t cols = param_count(p) / row_len(p);
    for (size_t j = 0; j < cols; j++)
      for (size_t i = 0, at = p->offset + j * row_stride(p); i < row_len(p); i++) put_f32(b, params[at + i]);
  }
}

int evsnn_model_save(const char *path, const evsnn_net_t *net, const char *meta, const evsnn_adam_t *adam) {
  buf_t b = {0};
  uint8_t *p = buf_grow(&b, 8);
  if (p) memcpy(p, MAGIC, 8);
  put_u32(&b, EVSNN_MODEL_VERSION);
  char desc[4096];
  size_t n_desc = evsnn_net_describe(net, desc, sizeof desc);
  if (n_desc >= sizeof desc) return evsnn__fail(EVSNN_EINVAL, "%s: a network description of %zu bytes", path, n_desc);
  size_t at = begin_chunk(&b, "GRPH");
  put_u32(&b, (uint32_t)n_desc);
  if ((p = buf_grow(&b, n_desc))) memcpy(p, desc, n_desc);
  put_u32(&b, net->n_pops);
  for (uint32_t m = 1; m < net->n_pops; m++) put_f32(&b, net->pop[m].beta), put_f32(&b, net->pop[m].threshold);
  end_chunk(&b, at);
  at = begin_chunk(&b, "PARM");
  put_params(&b, net, net->params);
  end_chunk(&b, at);
  if (net->sensor.width) {
    const evsnn_sensor_map_t *m = &net->sensor;
    at = begin_chunk(&b, "SENS");
    const uint32_t f[8] = {m->width, m->height, m->x0, m->y0, m->crop_w, m->crop_h, m->pool, (uint32_t)m->polarity};
    for (int k = 0; k < 8; k++) put_u32(&b, f[k]);
    end_chunk(&b, at);
  }
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

/* A bounds-checked reader over the loaded bytes; len is the end of what
 * it may read (the file before its checksum, or one chunk's payload). */
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

/* As need, inside a chunk: a payload too short for its own fields is a
 * wrong length (ECORRUPT), not a cut file. */
static int need_in(rd_t *c, size_t n, const char *what, const char *tag) {
  if (c->len - c->at < n)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %s needs %zu bytes, the %s chunk has %zu left", c->path, c->at,
                       what, n, tag, c->len - c->at);
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
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    size_t cols = param_count(p) / row_len(p);
    for (size_t j = 0; j < cols; j++)
      for (size_t i = 0, at = p->offset + j * row_stride(p); i < row_len(p); i++) params[at + i] = get_f32(r);
  }
}

/* ------------------------------------------------ parameter checks ---- */

/* The first parameter a network cannot run with: a leak outside [0, 1]
 * (NaN included), a threshold or weight that is not finite. Found in the
 * file's order (leaks, thresholds, then the weights projection by
 * projection), so the loader can turn it into a byte offset. Population
 * m is "layer m" and projection q "layer q + 1", as in a chain. */
typedef struct {
  enum { BAD_NONE, BAD_BETA, BAD_THRESHOLD, BAD_WEIGHT } what;
  uint32_t m, i, j; /* population, or projection and (dense) weight w_ij: target i, presynaptic j */
  int dense;
  uint64_t index;   /* weights before it, in the file's order */
  float value;
} bad_param_t;

static int find_bad_pops(const evsnn_net_t *net, bad_param_t *b) {
  memset(b, 0, sizeof *b);
  for (uint32_t m = 1; m < net->n_pops; m++)
    if (!(net->pop[m].beta >= 0.0f && net->pop[m].beta <= 1.0f))
      return b->what = BAD_BETA, b->m = m, b->value = net->pop[m].beta, 1;
  for (uint32_t m = 1; m < net->n_pops; m++)
    if (!isfinite(net->pop[m].threshold))
      return b->what = BAD_THRESHOLD, b->m = m, b->value = net->pop[m].threshold, 1;
  return 0;
}

static int find_bad_weights(const evsnn_net_t *net, bad_param_t *b) {
  memset(b, 0, sizeof *b);
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    size_t cols = param_count(p) / row_len(p);
    for (size_t j = 0; j < cols; j++)
      for (size_t i = 0; i < row_len(p); i++, b->index++) {
        float w = net->params[p->offset + j * row_stride(p) + i];
        if (isfinite(w)) continue;
        b->dense = p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT;
        b->what = BAD_WEIGHT, b->m = q, b->value = w, b->j = (uint32_t)j, b->i = (uint32_t)i;
        return 1;
      }
  }
  return 0;
}

static int find_bad(const evsnn_net_t *net, bad_param_t *b) { return find_bad_pops(net, b) || find_bad_weights(net, b); }

/* "layer 2: weight from neuron 7 to neuron 3 is nan" into buf. */
static const char *describe(const bad_param_t *b, char *buf, size_t cap) {
  if (b->what == BAD_BETA) snprintf(buf, cap, "layer %u: leak beta %g outside [0, 1]", b->m, (double)b->value);
  else if (b->what == BAD_THRESHOLD) snprintf(buf, cap, "layer %u: threshold %g is not finite", b->m, (double)b->value);
  else if (b->dense)
    snprintf(buf, cap, "layer %u: weight from neuron %u to neuron %u is %g, not finite", b->m + 1, b->j, b->i, (double)b->value);
  else snprintf(buf, cap, "layer %u: weight %u is %g, not finite", b->m + 1, b->i, (double)b->value);
  return buf;
}

int evsnn_model_check(const evsnn_net_t *net, const char *name) {
  bad_param_t b;
  char what[160];
  if (!find_bad(net, &b)) return 0;
  return evsnn__fail(EVSNN_ECORRUPT, "%s: %s", name ? name : "network", describe(&b, what, sizeof what));
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

/* ------------------------------------------------------- the loader ---- */

/* What a load is building, shared by the chunk readers. */
typedef struct {
  const char *path;
  evsnn_net_t *net;
  size_t file_len;
  char *text;          /* META, or NULL */
  evsnn_adam_t *adam;  /* NULL: the caller does not want the Adam state */
} load_t;

/* NET: sizes, leak, thresholds, weights (docs/model-format.md). Every size
 * is checked against the payload length before anything is allocated, so
 * the weights allocated are bounded by the bytes the file really holds. */
static int read_net(load_t *ld, rd_t *c) {
  const char *path = ld->path;
  size_t start = c->at;
  int err;
  if ((err = need_in(c, 4, "the layer count", "NET "))) return err;
  uint32_t L = get_u32(c), sizes[EVSNN_MAX_LAYERS + 1];
  if (L < 1 || L > EVSNN_MAX_LAYERS)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %u layers, expected 1 to %d", path, c->at - 4, L, EVSNN_MAX_LAYERS);
  if ((err = need_in(c, 4 * (L + 1) + 4 + 4 * L, "the network sizes", "NET "))) return err;
  uint64_t weights = 0;
  for (uint32_t m = 0; m <= L; m++) {
    sizes[m] = get_u32(c);
    if (sizes[m] < 1 || sizes[m] > 65535)
      return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: layer %u has %u neurons, expected 1 to 65535", path, c->at - 4, m,
                         sizes[m]);
    if (m > 0) weights += (uint64_t)sizes[m - 1] * sizes[m];
  }
  size_t at_beta = c->at;
  float beta = get_f32(c);
  if (!(beta >= 0.0f && beta <= 1.0f))
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: leak beta %g outside [0, 1]", path, at_beta, (double)beta);
  uint64_t want = 4 + 4 * ((uint64_t)L + 1) + 4 + 4 * (uint64_t)L + 4 * weights, size = c->len - start;
  if (size != want)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: NET chunk of %llu bytes, its sizes need %llu", path, start,
                       (unsigned long long)size, (unsigned long long)want);
  if ((err = evsnn_net_init(ld->net, sizes, L + 1, beta))) return err;
  for (uint32_t m = 0; m < L; m++) evsnn_net_set_threshold(ld->net, m + 1, get_f32(c));
  size_t at_weights = c->at;
  get_params(c, ld->net, ld->net->params);
  bad_param_t b;
  char what[160];
  if (find_bad(ld->net, &b))
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %s", path,
                       b.what == BAD_THRESHOLD ? at_beta + 4 * (size_t)b.m : at_weights + 4 * (size_t)b.index,
                       describe(&b, what, sizeof what));
  return 0;
}

/* GRPH (version 2): the network's description (docs/net-description.md),
 * which builds the graph and sizes its parameters, then each population's
 * leak and threshold as trained (the description holds the rules that
 * made them). The description bounds the allocation by the PARM chunk
 * that must follow, which read_parm checks before reading. */
static int read_grph(load_t *ld, rd_t *c) {
  const char *path = ld->path;
  int err;
  if ((err = need_in(c, 4, "the description's length", "GRPH"))) return err;
  uint32_t n = get_u32(c);
  if (n == 0 || n > 4095)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: a network description of %u bytes, expected 1 to 4095", path,
                       c->at - 4, n);
  if ((err = need_in(c, n, "the network description", "GRPH"))) return err;
  char desc[4096];
  memcpy(desc, c->p + c->at, n);
  desc[n] = '\0';
  size_t at_desc = c->at;
  c->at += n;
  if (strlen(desc) != n) return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: a NUL inside the network description", path, at_desc);
  if ((err = need_in(c, 4, "the population count", "GRPH"))) return err;
  uint32_t P = get_u32(c);
  /* A description of a huge network in a small file must not allocate it:
   * the parameters are capped at what the file's bytes can hold (the PARM
   * chunk must then hold exactly them). */
  if ((err = evsnn__net_parse(ld->net, desc, ld->file_len / 4))) {
    char why[512];
    snprintf(why, sizeof why, "%s", evsnn_error_detail());
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %s", path, at_desc, why);
  }
  if (P != ld->net->n_pops)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %u populations, the description has %u", path, c->at - 4, P,
                       ld->net->n_pops);
  if (c->len - c->at != 8 * (uint64_t)(P - 1))
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: GRPH holds %zu bytes of leaks and thresholds, %u populations need %u",
                       path, c->at, c->len - c->at, P, 8 * (P - 1));
  size_t at_pops = c->at;
  for (uint32_t m = 1; m < P; m++) {
    ld->net->pop[m].beta = get_f32(c);
    evsnn_net_set_threshold(ld->net, m, get_f32(c));
  }
  bad_param_t b;
  char what[160];
  if (find_bad_pops(ld->net, &b))
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %s", path, at_pops + 8 * (size_t)(b.m - 1) + (b.what == BAD_THRESHOLD ? 4 : 0),
                       describe(&b, what, sizeof what));
  evsnn__net_sync(ld->net);
  return 0;
}

/* PARM (version 2): every projection's parameters, in projection order. */
static int read_parm(load_t *ld, rd_t *c) {
  size_t n = evsnn_net_n_weights(ld->net), start = c->at;
  if (c->len - c->at != 4 * (uint64_t)n)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: PARM chunk of %zu bytes, the network's %zu parameters need %zu",
                       ld->path, start, c->len - c->at, n, 4 * n);
  get_params(c, ld->net, ld->net->params);
  bad_param_t b;
  char what[160];
  if (find_bad_weights(ld->net, &b))
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %s", ld->path, start + 4 * (size_t)b.index,
                       describe(&b, what, sizeof what));
  return 0;
}

/* SENS: the sensor map the network was trained through; it must be a map
 * evsnn_sensor_map_init accepts and give the network's input count. */
static int read_sens(load_t *ld, rd_t *c) {
  size_t start = c->at;
  if (c->len - c->at != 32)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: SENS chunk of %zu bytes, expected 32", ld->path, start,
                       c->len - c->at);
  uint32_t f[8];
  for (int k = 0; k < 8; k++) f[k] = get_u32(c);
  evsnn_sensor_map_t m;
  if (f[7] > EVSNN_POL_OFF ||
      evsnn_sensor_map_init(&m, f[0], f[1], f[2], f[3], f[4], f[5], f[6], (evsnn_polarity_t)f[7]) != 0 ||
      m.crop_w != f[4] || m.crop_h != f[5])
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: SENS: sensor %ux%u, window %ux%u at (%u,%u), pooling %u, "
                       "polarity %u is not a sensor map", ld->path, start, f[0], f[1], f[4], f[5], f[2], f[3], f[6], f[7]);
  if (m.n_inputs != evsnn_net_inputs(ld->net))
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: SENS maps the sensor onto %u inputs, the network takes %u",
                       ld->path, start, m.n_inputs, evsnn_net_inputs(ld->net));
  ld->net->sensor = m;
  return 0;
}

static int read_meta(load_t *ld, rd_t *c) {
  size_t n = c->len - c->at;
  if (!(ld->text = malloc(n + 1))) return evsnn__fail(EVSNN_ENOMEM, "%s: metadata (%zu bytes)", ld->path, n);
  memcpy(ld->text, c->p + c->at, n);
  ld->text[n] = '\0';
  return 0;
}

/* ADAM: checked whether or not the caller wants it (its place after NET is
 * the walker's; its length, and finite settings here), loaded if wanted. */
static int read_adam(load_t *ld, rd_t *c) {
  const char *path = ld->path;
  size_t n = evsnn_net_n_weights(ld->net), start = c->at;
  uint64_t size = c->len - c->at, want = 8 + 16 + 8 * (uint64_t)n;
  if (size != want)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: ADAM chunk of %llu bytes, the network's %zu weights need %llu", path,
                       start, (unsigned long long)size, n, (unsigned long long)want);
  uint64_t t = get_u64(c);
  float h[4]; /* lr, beta1, beta2, eps */
  for (int k = 0; k < 4; k++)
    if (!isfinite(h[k] = get_f32(c)))
      return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: Adam's %s is %g, not finite", path, c->at - 4,
                         (const char *[]){"lr", "beta1", "beta2", "eps"}[k], (double)h[k]);
  if (!ld->adam) return 0;
  int err = evsnn_adam_init(ld->adam, ld->net->n_params, h[0]);
  if (err) return err;
  ld->adam->t = t;
  ld->adam->beta1 = h[1], ld->adam->beta2 = h[2], ld->adam->eps = h[3];
  size_t at_m = c->at;
  get_params(c, ld->net, ld->adam->m);
  get_params(c, ld->net, ld->adam->v);
  /* The moments in the file's order: m then v, weight by weight. */
  rd_t r = {c->p, c->len, at_m, path};
  for (size_t k = 0; k < 2 * n; k++) {
    float x = get_f32(&r);
    if (!isfinite(x) || (k >= n && x < 0.0f))
      return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: Adam's %s moment %g is %s", path, r.at - 4, k < n ? "first" : "second",
                         (double)x, isfinite(x) ? "negative" : "not finite");
  }
  return 0;
}

/* The chunk kinds the versions know. Each may appear once; `after` names
 * kinds one of which must come before it. A new kind is one more line (its
 * reader gets the payload bounds); unknown tags are skipped, so optional
 * chunks need no new version. Version 1 (0.1.0) holds a chain in NET;
 * version 2 a graph in GRPH and PARM. */
enum { K_NET, K_GRPH, K_PARM, K_SENS, K_META, K_ADAM, K_COUNT };
static const struct {
  char tag[5];
  int (*read)(load_t *ld, rd_t *payload);
  unsigned after;    /* bit k: kind k must precede */
  unsigned versions; /* bit v: allowed in version v */
  unsigned required; /* bit v: required in version v */
} kinds[K_COUNT] = {
    [K_NET] = {"NET ", read_net, 0, 1u << 1, 1u << 1},
    [K_GRPH] = {"GRPH", read_grph, 0, 1u << 2, 1u << 2},
    [K_PARM] = {"PARM", read_parm, 1u << K_GRPH, 1u << 2, 1u << 2},
    [K_SENS] = {"SENS", read_sens, 1u << K_GRPH, 1u << 2, 0},
    [K_META] = {"META", read_meta, 0, 3u << 1, 0},
    [K_ADAM] = {"ADAM", read_adam, 1u << K_NET | 1u << K_PARM, 3u << 1, 0},
};

int evsnn_model_load(const char *path, evsnn_net_t *net, char **meta, evsnn_adam_t *adam) {
  memset(net, 0, sizeof *net);
  if (meta) *meta = NULL;
  if (adam) memset(adam, 0, sizeof *adam);
  uint8_t *data = NULL;
  size_t len = 0;
  int err = read_file(path, &data, &len);
  if (err) return err;
  rd_t r = {data, len, 0, path};
  load_t ld = {path, net, len, NULL, adam};
  if ((err = need(&r, 12, "the header"))) goto fail;
  if (memcmp(data, MAGIC, 8) != 0) {
    err = evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: not an evsnn model (magic \"EVSNNMDL\" expected)", path);
    goto fail;
  }
  r.at = 8;
  uint32_t version = get_u32(&r);
  if (version < 1 || version > EVSNN_MODEL_VERSION) {
    err = evsnn__fail(EVSNN_EVERSION, "%s: byte 8: model version %u, this evsnn reads versions 1 to %d", path, version,
                      EVSNN_MODEL_VERSION);
    goto fail;
  }
  if ((err = need(&r, 4, "the checksum"))) goto fail;
  uint32_t want = evsnn__le32(data + len - 4), got = (uint32_t)crc32(0L, data, (uInt)(len - 4));
  if (want != got) {
    err = evsnn__fail(EVSNN_ECHECKSUM, "%s: byte %zu: CRC-32 %08x stored, %08x computed over bytes 0 to %zu (corrupt or "
                      "truncated)", path, len - 4, want, got, len - 5);
    goto fail;
  }
  r.len = len - 4;
  unsigned seen = 0;
  while (r.at < r.len) {
    size_t at = r.at;
    if ((err = need(&r, 12, "a chunk header"))) goto fail;
    char tag[5] = {0};
    memcpy(tag, r.p + r.at, 4);
    r.at += 4;
    uint64_t size = get_u64(&r);
    if ((err = need(&r, size, tag))) goto fail;
    rd_t payload = {r.p, r.at + (size_t)size, r.at, path};
    r.at += (size_t)size;
    int k = 0;
    while (k < K_COUNT && memcmp(kinds[k].tag, tag, 4) != 0) k++;
    if (k == K_COUNT) continue; /* unknown: optional, skipped */
    if (!(kinds[k].versions & 1u << version)) {
      err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: a %s chunk in a version %u file", path, at, tag, version);
      goto fail;
    }
    if (seen & 1u << k) {
      err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: a second %s chunk", path, at, tag);
      goto fail;
    }
    for (int b = 0; kinds[k].after && !(seen & kinds[k].after) && b < K_COUNT; b++)
      if ((kinds[k].after & 1u << b) && (kinds[b].versions & 1u << version)) {
        err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: %s chunk before the %s chunk", path, at, tag, kinds[b].tag);
        goto fail;
      }
    if ((err = kinds[k].read(&ld, &payload))) goto fail;
    seen |= 1u << k;
  }
  for (int k = 0; k < K_COUNT; k++)
    if ((kinds[k].required & 1u << version) && !(seen & 1u << k)) {
      err = evsnn__fail(EVSNN_ECORRUPT, "%s: byte %zu: no %s chunk", path, len - 4, kinds[k].tag);
      goto fail;
    }
  if (meta) *meta = ld.text ? ld.text : calloc(1, 1);
  else free(ld.text);
  free(data);
  return 0;
fail:
  free(ld.text);
  free(data);
  evsnn_net_free(net);
  if (adam) evsnn_adam_free(adam);
  return err;
}
