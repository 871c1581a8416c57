/* The network description language (docs/net-description.md): a line of
 * tokens that a user can type and a model file records, e.g.
 *   784 dense300 lif[ts=5] dense300 lif[ts=3] dense10 li
 *   2x34x34 conv16c5s2p1 if conv16c3p1 if pool2 conv8c3p1 if pool2 flatten dense10 li
 * The first token is the input shape; then each projection (dense N,
 * convC cK [sS] [pP], pool or avgpool K [sS]) is followed by the neuron
 * model of the population it creates (lif, if, li, with options in
 * brackets), except that a pool followed by a projection pools that
 * projection's input. `flatten` only says that what follows reads the map
 * as a vector; `rec` adds a recurrent dense projection onto the population
 * just made. Parsing builds the graph through evsnn/net.h; describing
 * writes the canonical form of a graph, which parses back to the same one. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/net.h"
#include "net/proj.h"

#define DEFAULT_BETA 0.8187f

typedef struct {
  const char *tok; /* the current token */
  size_t len, pos; /* its length and 1-based position in the description */
} token_t;

static int bad(const token_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const token_t *t, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return evsnn__fail(EVSNN_EINVAL, "network description, token %zu '%.*s': %s", t->pos, (int)t->len, t->tok, what);
}

/* An unsigned number at *s (advancing it); 0 if there is none. */
static int number(const char **s, const char *end, uint32_t *out) {
  if (*s >= end || !isdigit((unsigned char)**s)) return 0;
  uint64_t v = 0;
  while (*s < end && isdigit((unsigned char)**s)) {
    v = v * 10 + (uint64_t)(**s - '0');
    if (v > 0xffffffu) return 0;
    (*s)++;
  }
  *out = (uint32_t)v;
  return 1;
}

static int prefix(const token_t *t, const char *word, const char **rest) {
  size_t n = strlen(word);
  if (t->len < n || strncmp(t->tok, word, n)) return 0;
  *rest = t->tok + n;
  return 1;
}

typedef struct {
  int pending;     /* a projection waits for its neuron model */
  evsnn_proj_t proj;
  uint32_t c, h, w; /* the shape the pending projection makes */
  int flat;        /* `flatten` seen since the last population */
  int pool_only;   /* the pending stage is a pool with no projection after it yet */
} parse_t;

/* The shape a pending stage produces from population src. */
static int stage_shape(evsnn_net_t *net, parse_t *ps, const token_t *t) {
  const evsnn_pop_t *src = &net->pop[ps->proj.src];
  uint32_t c = src->c, h = src->h, w = src->w;
  if (ps->proj.pool_k) {
    uint32_t s = ps->proj.pool_stride ? ps->proj.pool_stride : ps->proj.pool_k;
    if (ps->proj.pool_k > h || ps->proj.pool_k > w)
      return bad(t, "a %u x %u pooling window does not fit the %ux%ux%u map", ps->proj.pool_k, ps->proj.pool_k, c, h, w);
    h = (h - ps->proj.pool_k) / s + 1, w = (w - ps->proj.pool_k) / s + 1;
  }
  ps->c = c, ps->h = h, ps->w = w;
  return 0;
}

static int parse_projection(evsnn_net_t *net, parse_t *ps, const token_t *t) {
  const char *s, *end = t->tok + t->len;
  uint32_t n;
  if (ps->pending && !ps->pool_only) return bad(t, "expected a neuron model (lif, if, li) after the projection before it");
  evsnn_proj_t pool = ps->pool_only ? ps->proj : (evsnn_proj_t){.src = net->n_pops - 1};
  if (prefix(t, "dense", &s)) {
    if (!number(&s, end, &n) || s != end || !n) return bad(t, "expected dense N, N >= 1 neurons");
    pool.kind = EVSNN_PROJ_DENSE;
    ps->proj = pool;
    ps->pending = 1, ps->pool_only = 0;
    if (stage_shape(net, ps, t)) return EVSNN_EINVAL;
    ps->c = n, ps->h = ps->w = 1;
    return 0;
  }
  if (prefix(t, "conv", &s)) {
    uint32_t c, k, stride = 1, pad = 0;
    if (ps->flat) return bad(t, "a convolution cannot follow flatten");
    if (!number(&s, end, &c) || s == end || *s++ != 'c' || !number(&s, end, &k) || !c || !k)
      return bad(t, "expected convCcK[sS][pP]: C >= 1 output channels, kernel K >= 1");
    if (s < end && *s == 's' && (s++, !number(&s, end, &stride) || !stride)) return bad(t, "expected a stride sS, S >= 1");
    if (s < end && *s == 'p' && (s++, !number(&s, end, &pad))) return bad(t, "expected a padding pP");
    if (s != end) return bad(t, "unexpected '%.*s' after the convolution", (int)(end - s), s);
    pool.kind = EVSNN_PROJ_CONV, pool.k = k, pool.stride = stride, pool.pad = pad;
    ps->proj = pool;
    ps->pending = 1, ps->pool_only = 0;
    if (stage_shape(net, ps, t)) return EVSNN_EINVAL;
    if (pad >= k || ps->h + 2 * pad < k || ps->w + 2 * pad < k)
      return bad(t, "a %u x %u kernel with padding %u does not fit the %ux%u map (padding must be < kernel)", k, k, pad,
                 ps->h, ps->w);
    ps->h = (ps->h + 2 * pad - k) / stride + 1, ps->w = (ps->w + 2 * pad - k) / stride + 1, ps->c = c;
    return 0;
  }
  int avg = prefix(t, "avgpool", &s);
  if (avg || prefix(t, "pool", &s)) {
    uint32_t k, stride = 0;
    if (ps->pool_only) return bad(t, "two poolings in a row: pool once with a larger window");
    if (ps->flat) return bad(t, "pooling cannot follow flatten");
    if (!number(&s, end, &k) || !k) return bad(t, "expected poolK[sS], window K >= 1");
    if (s < end && *s == 's' && (s++, !number(&s, end, &stride) || !stride)) return bad(t, "expected a stride sS, S >= 1");
    if (s != end) return bad(t, "unexpected '%.*s' after the pooling", (int)(end - s), s);
    pool.kind = EVSNN_PROJ_POOL, pool.pool_k = k, pool.pool_stride = stride ? stride : k, pool.pool_avg = (uint32_t)avg;
    ps->proj = pool;
    ps->pending = 1, ps->pool_only = 1;
    return stage_shape(net, ps, t);
  }
  return bad(t, "expected an input shape, dense, conv, pool, avgpool, flatten, rec or a neuron model");
}

/* lif, if or li, with [key=value,...]: beta, th (threshold), ts (threshold
 * scale, the paper's rule at initialisation), reset=zero|subtract. */
static int parse_neuron(evsnn_net_t *net, parse_t *ps, const token_t *t, int *matched) {
  const char *s = t->tok, *end = t->tok + t->len;
  evsnn_neuron_t model;
  size_t wl = 0;
  while (s + wl < end && isalpha((unsigned char)s[wl])) wl++;
  if (wl == 3 && !strncmp(s, "lif", 3)) model = EVSNN_NEURON_LIF;
  else if (wl == 2 && !strncmp(s, "if", 2)) model = EVSNN_NEURON_IF;
  else if (wl == 2 && !strncmp(s, "li", 2)) model = EVSNN_NEURON_LI;
  else return *matched = 0, 0;
  *matched = 1;
  float beta = model == EVSNN_NEURON_IF ? 1.0f : DEFAULT_BETA, th = 1.0f, ts = 0.0f;
  evsnn_reset_t reset = EVSNN_RESET_ZERO;
  s += wl;
  if (s < end) {
    if (*s != '[' || end[-1] != ']') return bad(t, "expected options as %.*s[key=value,...]", (int)wl, t->tok);
    s++;
    while (s < end - 1) {
      const char *eq = memchr(s, '=', (size_t)(end - 1 - s)), *next = memchr(s, ',', (size_t)(end - 1 - s));
      if (!next) next = end - 1;
      if (!eq || eq > next) return bad(t, "expected key=value in the options");
      size_t kl = (size_t)(eq - s), vl = (size_t)(next - eq - 1);
      char val[32];
      if (vl == 0 || vl >= sizeof val) return bad(t, "option %.*s has no value", (int)kl, s);
      memcpy(val, eq + 1, vl);
      val[vl] = '\0';
      if (kl == 5 && !strncmp(s, "reset", 5)) {
        if (!strcmp(val, "zero")) reset = EVSNN_RESET_ZERO;
        else if (!strcmp(val, "subtract")) reset = EVSNN_RESET_SUBTRACT;
        else return bad(t, "reset=%s: expected reset=zero or reset=subtract", val);
      } else {
        char *e;
        errno = 0;
        float x = strtof(val, &e);
        if (*e || errno || !isfinite(x)) return bad(t, "option %.*s=%s: expected a number", (int)kl, s, val);
        if (kl == 4 && !strncmp(s, "beta", 4)) {
          if (model == EVSNN_NEURON_IF) return bad(t, "an IF neuron has no leak (beta = 1): use lif[beta=...]");
          if (!(x >= 0 && x <= 1)) return bad(t, "beta=%s: expected 0 <= beta <= 1", val);
          beta = x;
        } else if (kl == 2 && !strncmp(s, "th", 2)) {
          if (!(x > 0)) return bad(t, "th=%s: expected a threshold > 0", val);
          th = x;
        } else if (kl == 2 && !strncmp(s, "ts", 2)) {
          if (!(x > 0)) return bad(t, "ts=%s: expected a threshold scale > 0", val);
          ts = x;
        } else {
          return bad(t, "unknown option '%.*s': expected beta, th, ts or reset", (int)kl, s);
        }
      }
      s = next + 1;
    }
  }
  if (!ps->pending) return bad(t, "expected a projection (dense, conv, pool) before the neuron model");
  if (model == EVSNN_NEURON_LI && (ts > 0 || reset != EVSNN_RESET_ZERO))
    return bad(t, "an LI neuron never spikes: it takes no threshold or reset");
  char name[16];
  const char *kind = ps->proj.kind == EVSNN_PROJ_DENSE ? "dense" : ps->proj.kind == EVSNN_PROJ_CONV ? "conv" : "pool";
  snprintf(name, sizeof name, "%s%u", kind, net->n_pops);
  int pop = evsnn_net_add_pop(net, name, ps->c, ps->h, ps->w, model, reset, beta, th, ts);
  if (pop < 0) return bad(t, "%s", evsnn_error_detail());
  ps->proj.dst = (uint32_t)pop;
  int q = evsnn_net_add_proj(net, &ps->proj);
  if (q < 0) return bad(t, "%s", evsnn_error_detail());
  ps->pending = ps->pool_only = ps->flat = 0;
  return 0;
}

/* The input shape: N or CxHxW. */
static int parse_input(evsnn_net_t *net, const token_t *t) {
  const char *s = t->tok, *end = t->tok + t->len;
  uint32_t c, h = 1, w = 1;
  if (!number(&s, end, &c) || (s < end && (*s++ != 'x' || !number(&s, end, &h) || s == end || *s++ != 'x' ||
                                           !number(&s, end, &w))) || s != end)
    return bad(t, "expected the input shape first: N or CxHxW (e.g. 784 or 2x34x34)");
  if (evsnn_net_begin(net, c, h, w)) return bad(t, "%s", evsnn_error_detail());
  return 0;
}

int evsnn_net_parse(evsnn_net_t *net, const char *desc) { return evsnn__net_parse(net, desc, SIZE_MAX); }

int evsnn__net_parse(evsnn_net_t *net, const char *desc, size_t max_weights) {
  memset(net, 0, sizeof *net);
  parse_t ps = {0};
  token_t t = {desc, 0, 0};
  size_t pos = 0;
  int err = 0;
  for (const char *s = desc; !err;) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) break;
    const char *e = s;
    while (*e && !isspace((unsigned char)*e)) e++;
    t = (token_t){s, (size_t)(e - s), ++pos};
    s = e;
    int matched = 0;
    if (pos == 1) err = parse_input(net, &t);
    else if (t.len == 7 && !strncmp(t.tok, "flatten", 7)) {
      if (ps.pending && !ps.pool_only) err = bad(&t, "expected a neuron model (lif, if, li) before flatten");
      ps.flat = 1;
    } else if (t.len == 3 && !strncmp(t.tok, "rec", 3)) {
      if (ps.pending || net->n_pops < 2) err = bad(&t, "rec follows a neuron model: it makes that population recurrent");
      else if (evsnn_net_add_proj(net, &(evsnn_proj_t){.kind = EVSNN_PROJ_RECURRENT, .src = net->n_pops - 1,
                                                        .dst = net->n_pops - 1}) < 0)
        err = bad(&t, "%s", evsnn_error_detail());
    } else if (!(err = parse_neuron(net, &ps, &t, &matched)) && !matched) {
      err = parse_projection(net, &ps, &t);
    }
  }
  if (!err && pos == 0) err = evsnn__fail(EVSNN_EINVAL, "network description: empty");
  if (!err && ps.pending) err = bad(&t, "the description ends here: expected a neuron model (lif, if, li) after it");
  if (!err && net->n_pops < 2) err = bad(&t, "the description ends here: expected a projection and a neuron model");
  if (!err && evsnn__net_finish(net, max_weights)) err = bad(&t, "%s", evsnn_error_detail());
  if (err) memset(net, 0, sizeof *net);
  return err ? EVSNN_EINVAL : 0;
}

/* Appends to buf as snprintf would, keeping the count of what is needed. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, fmt, ap);
  va_end(ap);
  if (n > 0) *len += (size_t)n;
}

/* The shortest decimal that reads back as x (0.3, not 0.300000012). */
static const char *shortest(float x, char *out, size_t size) {
  for (int digits = 6; digits < 9; digits++) {
    snprintf(out, size, "%.*g", digits, x);
    if (strtof(out, NULL) == x) return out;
  }
  snprintf(out, size, "%.9g", x);
  return out;
}

size_t evsnn_net_describe(const evsnn_net_t *net, char *buf, size_t size) {
  size_t len = 0;
  if (size) buf[0] = '\0';
  const evsnn_pop_t *in = &net->pop[0];
  if (in->h == 1 && in->w == 1) put(buf, size, &len, "%u", in->n);
  else put(buf, size, &len, "%ux%ux%u", in->c, in->h, in->w);
  for (uint32_t m = 1; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    for (uint32_t q = 0; q < net->n_projs; q++) {
      const evsnn_proj_t *pr = &net->proj[q];
      if (pr->dst != m || pr->kind == EVSNN_PROJ_RECURRENT) continue;
      const evsnn_pop_t *src = &net->pop[pr->src];
      if (pr->pool_k) {
        put(buf, size, &len, " %spool%u", pr->pool_avg ? "avg" : "", pr->pool_k);
        if (pr->pool_stride != pr->pool_k) put(buf, size, &len, "s%u", pr->pool_stride);
      }
      if (pr->kind == EVSNN_PROJ_DENSE) {
        if (src->h * src->w > 1) put(buf, size, &len, " flatten");
        put(buf, size, &len, " dense%u", p->n);
      } else if (pr->kind == EVSNN_PROJ_CONV) {
        put(buf, size, &len, " conv%uc%u", p->c, pr->k);
        if (pr->stride != 1) put(buf, size, &len, "s%u", pr->stride);
        if (pr->pad) put(buf, size, &len, "p%u", pr->pad);
      }
    }
    const char *model = p->model == EVSNN_NEURON_LIF ? "lif" : p->model == EVSNN_NEURON_IF ? "if" : "li";
    put(buf, size, &len, " %s", model);
    char opts[96], num[24];
    size_t ol = 0;
    if (p->model != EVSNN_NEURON_IF && p->beta != DEFAULT_BETA)
      put(opts, sizeof opts, &ol, ",beta=%s", shortest(p->beta, num, sizeof num));
    if (p->model != EVSNN_NEURON_LI) {
      if (p->threshold_scale > 0) put(opts, sizeof opts, &ol, ",ts=%s", shortest(p->threshold_scale, num, sizeof num));
      else if (p->threshold != 1.0f) put(opts, sizeof opts, &ol, ",th=%s", shortest(p->threshold, num, sizeof num));
      if (p->reset == EVSNN_RESET_SUBTRACT) put(opts, sizeof opts, &ol, ",reset=subtract");
    }
    if (ol) put(buf, size, &len, "[%s]", opts + 1);
    for (uint32_t q = 0; q < net->n_projs; q++)
      if (net->proj[q].kind == EVSNN_PROJ_RECURRENT && net->proj[q].dst == m) put(buf, size, &len, " rec");
  }
  return len;
}
