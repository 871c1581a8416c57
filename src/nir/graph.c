/* The NIR graph in memory: building it, and checking it the way NIR's
 * reference implementation would (each node type with its parameters, shapes
 * inferred along the edges), so that a file from any simulator either gives
 * a graph whose every node has known input and output shapes, or an error
 * naming the node. The HDF5 side lives in hdf5.c, the mapping onto evsnn's
 * network in map.c. */
#include "evsnn/nir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static const char *const type_names[] = {
#define XX(name, str) str,
    EVSNN_NIR_TYPE_MAP(XX)
#undef XX
};

const char *evsnn_nir_type_name(evsnn_nir_type_t t) {
  return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "?";
}

evsnn_nir_type_t evsnn_nir_type_from_name(const char *name) {
  for (unsigned t = 0; t < sizeof type_names / sizeof *type_names; t++)
    if (!strcmp(name, type_names[t])) return (evsnn_nir_type_t)t;
  return EVSNN_NIR_UNKNOWN;
}

/* ---------------------------------------------------------- building ---- */

void evsnn_nir_init(evsnn_nir_graph_t *g) {
  memset(g, 0, sizeof *g);
  snprintf(g->version, sizeof g->version, "%s", EVSNN_NIR_VERSION);
}

void evsnn_nir_free(evsnn_nir_graph_t *g) {
  if (!g) return;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    evsnn_nir_node_t *node = &g->nodes[n];
    for (uint32_t k = 0; k < node->n_params; k++) {
      free(node->params[k].name);
      free(node->params[k].f);
      free(node->params[k].i);
    }
    free(node->params);
    free(node->name);
  }
  free(g->nodes);
  free(g->edges);
  memset(g, 0, sizeof *g);
}

int64_t evsnn_nir_find(const evsnn_nir_graph_t *g, const char *name) {
  for (uint32_t n = 0; n < g->n_nodes; n++)
    if (!strcmp(g->nodes[n].name, name)) return n;
  return -1;
}

const evsnn_nir_param_t *evsnn_nir_param(const evsnn_nir_node_t *node, const char *name) {
  for (uint32_t k = 0; k < node->n_params; k++)
    if (!strcmp(node->params[k].name, name)) return &node->params[k];
  return NULL;
}

int evsnn_nir_add_node(evsnn_nir_graph_t *g, const char *name, evsnn_nir_type_t type, uint32_t *idx) {
  if (!name[0] || strchr(name, '/'))
    return evsnn__fail(EVSNN_EINVAL, "node name '%s': not a valid HDF5 group name", name);
  if (evsnn_nir_find(g, name) >= 0) return evsnn__fail(EVSNN_EINVAL, "node '%s': defined twice", name);
  if (g->n_nodes == g->cap_nodes) {
    uint32_t cap = g->cap_nodes ? 2 * g->cap_nodes : 16;
    evsnn_nir_node_t *p = realloc(g->nodes, cap * sizeof *p);
    if (!p) return evsnn__fail(EVSNN_ENOMEM, "node '%s'", name);
    g->nodes = p;
    g->cap_nodes = cap;
  }
  evsnn_nir_node_t *node = &g->nodes[g->n_nodes];
  memset(node, 0, sizeof *node);
  if (!(node->name = strdup(name))) return evsnn__fail(EVSNN_ENOMEM, "node '%s'", name);
  node->type = type;
  if (idx) *idx = g->n_nodes;
  g->n_nodes++;
  return 0;
}

static int add_param(evsnn_nir_node_t *node, const char *name, uint32_t rank, const int64_t *dims,
                     evsnn_nir_param_t **out) {
  if (rank > EVSNN_NIR_MAX_RANK)
    return evsnn__fail(EVSNN_EUNSUPPORTED, "node '%s': parameter '%s' has %u dimensions, at most %d", node->name,
                       name, rank, EVSNN_NIR_MAX_RANK);
  if (evsnn_nir_param(node, name))
    return evsnn__fail(EVSNN_EINVAL, "node '%s': parameter '%s' given twice", node->name, name);
  size_t count = 1;
  for (uint32_t d = 0; d < rank; d++) {
    if (dims[d] < 0 || (dims[d] && count > SIZE_MAX / 8 / (size_t)dims[d]))
      return evsnn__fail(EVSNN_ERANGE, "node '%s': parameter '%s' is too large", node->name, name);
    count *= (size_t)dims[d];
  }
  evsnn_nir_param_t *p = realloc(node->params, (node->n_params + 1) * sizeof *p);
  if (!p) return evsnn__fail(EVSNN_ENOMEM, "node '%s'", node->name);
  node->params = p;
  p = &node->params[node->n_params];
  memset(p, 0, sizeof *p);
  if (!(p->name = strdup(name))) return evsnn__fail(EVSNN_ENOMEM, "node '%s'", node->name);
  node->n_params++;
  p->rank = rank;
  if (rank) memcpy(p->dims, dims, rank * sizeof *dims);
  p->count = count;
  *out = p;
  return 0;
}

int evsnn_nir_add_float(evsnn_nir_graph_t *g, uint32_t n, const char *name, uint32_t rank, const int64_t *dims,
                        const double *f, bool wide) {
  evsnn_nir_param_t *p;
  int err = add_param(&g->nodes[n], name, rank, dims, &p);
  if (err) return err;
  p->wide = wide;
  if (!(p->f = malloc((p->count ? p->count : 1) * sizeof *p->f)))
    return evsnn__fail(EVSNN_ENOMEM, "node '%s'", g->nodes[n].name);
  if (f) memcpy(p->f, f, p->count * sizeof *f);
  return 0;
}

int evsnn_nir_add_int(evsnn_nir_graph_t *g, uint32_t n, const char *name, uint32_t rank, const int64_t *dims,
                      const int64_t *i) {
  evsnn_nir_param_t *p;
  int err = add_param(&g->nodes[n], name, rank, dims, &p);
  if (err) return err;
  p->is_int = true;
  if (!(p->i = malloc((p->count ? p->count : 1) * sizeof *p->i)))
    return evsnn__fail(EVSNN_ENOMEM, "node '%s'", g->nodes[n].name);
  if (i) memcpy(p->i, i, p->count * sizeof *i);
  return 0;
}

int evsnn_nir_add_edge(evsnn_nir_graph_t *g, const char *src, const char *dst) {
  int64_t s = evsnn_nir_find(g, src), d = evsnn_nir_find(g, dst);
  if (s < 0 || d < 0)
    return evsnn__fail(EVSNN_ECORRUPT, "edge %u ('%s' -> '%s'): no node named '%s'", g->n_edges, src, dst,
                       s < 0 ? src : dst);
  if (g->n_edges == g->cap_edges) {
    uint32_t cap = g->cap_edges ? 2 * g->cap_edges : 16;
    evsnn_nir_edge_t *p = realloc(g->edges, cap * sizeof *p);
    if (!p) return evsnn__fail(EVSNN_ENOMEM, "edge '%s' -> '%s'", src, dst);
    g->edges = p;
    g->cap_edges = cap;
  }
  g->edges[g->n_edges++] = (evsnn_nir_edge_t){(uint32_t)s, (uint32_t)d};
  return 0;
}

/* ------------------------------------------------------------ checks ---- */

/* What each type needs. Neuron-like types are elementwise: their float
 * parameters all have the node's shape (or are scalars, broadcast to it). */
typedef struct {
  const char *required[8];
  const char *optional[3];
  bool elementwise;
} type_spec_t;

static const type_spec_t specs[] = {
    [EVSNN_NIR_INPUT] = {{"shape"}, {0}, false},
    [EVSNN_NIR_OUTPUT] = {{"shape"}, {0}, false},
    [EVSNN_NIR_AFFINE] = {{"weight", "bias"}, {0}, false},
    [EVSNN_NIR_LINEAR] = {{"weight"}, {0}, false},
    [EVSNN_NIR_SCALE] = {{"scale"}, {0}, true},
    [EVSNN_NIR_CONV1D] = {{"weight", "stride", "padding", "dilation", "groups", "bias"}, {"input_shape"}, false},
    [EVSNN_NIR_CONV2D] = {{"weight", "stride", "padding", "dilation", "groups", "bias"}, {"input_shape"}, false},
    [EVSNN_NIR_SUMPOOL2D] = {{"kernel_size", "stride", "padding"}, {0}, false},
    [EVSNN_NIR_AVGPOOL2D] = {{"kernel_size", "stride", "padding"}, {0}, false},
    [EVSNN_NIR_FLATTEN] = {{"start_dim", "end_dim"}, {"input_type"}, false},
    [EVSNN_NIR_DELAY] = {{"delay"}, {0}, true},
    [EVSNN_NIR_THRESHOLD] = {{"threshold"}, {0}, true},
    [EVSNN_NIR_I] = {{"r"}, {0}, true},
    [EVSNN_NIR_IF] = {{"r", "v_threshold"}, {"v_reset"}, true},
    [EVSNN_NIR_LI] = {{"tau", "r", "v_leak"}, {0}, true},
    [EVSNN_NIR_LIF] = {{"tau", "r", "v_leak", "v_threshold"}, {"v_reset"}, true},
    [EVSNN_NIR_CUBALI] = {{"tau_syn", "tau_mem", "r", "v_leak"}, {"w_in"}, true},
    [EVSNN_NIR_CUBALIF] = {{"tau_syn", "tau_mem", "r", "v_leak", "v_threshold"}, {"v_reset", "w_in"}, true},
    [EVSNN_NIR_GRAPH] = {{0}, {0}, false},
};

#define NODE_FMT "node '%s' (%s): "
#define NODE_ARGS(node) (node)->name, evsnn_nir_type_name((node)->type)

static const char *shape_str(const evsnn_nir_shape_t *s, char *buf, size_t cap) {
  size_t at = (size_t)snprintf(buf, cap, "(");
  for (uint32_t d = 0; d < s->rank && at < cap; d++)
    at += (size_t)snprintf(buf + at, cap - at, d ? ", %lld" : "%lld", (long long)s->dims[d]);
  if (at < cap) snprintf(buf + at, cap - at, ")");
  return buf;
}

static double value(const evsnn_nir_param_t *p, size_t k) { return p->is_int ? (double)p->i[k] : p->f[k]; }

/* Element k of an integer-valued parameter of 1 or `n` values (a scalar
 * applies to every spatial dimension, as NIR's Conv2d allows). */
static int int_at(const evsnn_nir_node_t *node, const char *name, uint32_t n, uint32_t k, int64_t min, int64_t *out) {
  const evsnn_nir_param_t *p = evsnn_nir_param(node, name);
  if (p->count != 1 && p->count != n)
    return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "'%s' has %zu values, expected 1 or %u", NODE_ARGS(node), name,
                       p->count, n);
  double v = value(p, p->count == 1 ? 0 : k);
  if (v != floor(v) || v < (double)min || v > 1e12)
    return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "'%s' is %g, expected an integer >= %lld", NODE_ARGS(node), name, v,
                       (long long)min);
  *out = (int64_t)v;
  return 0;
}

static bool shape_known(const evsnn_nir_shape_t *s) { return s->rank > 0; }

static void shape_of(const evsnn_nir_param_t *p, evsnn_nir_shape_t *s) {
  s->rank = p->rank;
  memcpy(s->dims, p->dims, sizeof s->dims);
}

/* A shape given as an integer parameter ("shape" of Input and Output, a
 * Flatten's input_type, a convolution's input_shape). */
static int shape_param(const evsnn_nir_node_t *node, const char *name, evsnn_nir_shape_t *s) {
  const evsnn_nir_param_t *p = evsnn_nir_param(node, name);
  if (p->rank > 1 || p->count < 1 || p->count > EVSNN_NIR_MAX_RANK)
    return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "'%s' is not a list of 1 to %d sizes", NODE_ARGS(node), name,
                       EVSNN_NIR_MAX_RANK);
  s->rank = (uint32_t)p->count;
  for (uint32_t d = 0; d < s->rank; d++) {
    double v = value(p, d);
    if (v != floor(v) || v < 1 || v > 1e9)
      return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "'%s'[%u] is %g, expected a size >= 1", NODE_ARGS(node), name, d,
                         v);
    s->dims[d] = (int64_t)v;
  }
  return 0;
}

static size_t numel(const evsnn_nir_shape_t *s) {
  size_t n = 1;
  for (uint32_t d = 0; d < s->rank; d++) n *= (size_t)s->dims[d];
  return n;
}

/* Shapes connected by an edge agree when they are equal once dimensions of
 * size 1 are dropped: Rockpool writes an Output of (1, 1, 1) after a LIF of
 * one neuron (1). */
static bool shapes_agree(const evsnn_nir_shape_t *a, const evsnn_nir_shape_t *b) {
  uint32_t i = 0, j = 0;
  for (;;) {
    while (i < a->rank && a->dims[i] == 1) i++;
    while (j < b->rank && b->dims[j] == 1) j++;
    if (i == a->rank || j == b->rank) return i == a->rank && j == b->rank;
    if (a->dims[i++] != b->dims[j++]) return false;
  }
}

/* Parameters present, numeric, free of NaN; the shapes a node fixes by
 * itself (weights, neuron parameters, Input, Output). */
static int check_node(evsnn_nir_node_t *node) {
  const type_spec_t *spec = &specs[node->type];
  for (unsigned k = 0; k < 8 && spec->required[k]; k++)
    if (!evsnn_nir_param(node, spec->required[k]))
      return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "no '%s' parameter", NODE_ARGS(node), spec->required[k]);
  for (uint32_t k = 0; k < node->n_params; k++) {
    const evsnn_nir_param_t *p = &node->params[k];
    if (p->is_int) continue;
    for (size_t j = 0; j < p->count; j++)
      if (isnan(p->f[j]))
        return evsnn__fail(EVSNN_ERANGE, NODE_FMT "%s[%zu] is NaN", NODE_ARGS(node), p->name, j);
  }
  memset(&node->in, 0, sizeof node->in);
  memset(&node->out, 0, sizeof node->out);
  char a[96], b[96];
  switch (node->type) {
    case EVSNN_NIR_INPUT:
    case EVSNN_NIR_OUTPUT: {
      int err = shape_param(node, "shape", &node->in);
      node->out = node->in;
      return err;
    }
    case EVSNN_NIR_AFFINE:
    case EVSNN_NIR_LINEAR: {
      const evsnn_nir_param_t *w = evsnn_nir_param(node, "weight");
      if (w->is_int || w->rank < 2)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "weight must be a float matrix, has %u dimensions", NODE_ARGS(node),
                           w->rank);
      shape_of(w, &node->in);
      node->in.rank--;
      node->in.dims[node->in.rank - 1] = w->dims[w->rank - 1];
      node->out = node->in;
      node->out.dims[node->out.rank - 1] = w->dims[w->rank - 2];
      const evsnn_nir_param_t *bias = evsnn_nir_param(node, "bias");
      if (bias && bias->count != numel(&node->out)) {
        evsnn_nir_shape_t bs;
        shape_of(bias, &bs);
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "bias %s does not match the output %s", NODE_ARGS(node),
                           shape_str(&bs, a, sizeof a), shape_str(&node->out, b, sizeof b));
      }
      return 0;
    }
    case EVSNN_NIR_CONV1D:
    case EVSNN_NIR_CONV2D: {
      uint32_t sp = node->type == EVSNN_NIR_CONV2D ? 2 : 1;
      const evsnn_nir_param_t *w = evsnn_nir_param(node, "weight"), *bias = evsnn_nir_param(node, "bias");
      if (w->is_int || w->rank != 2 + sp)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "weight has %u dimensions, expected %u (out, in, kernel)",
                           NODE_ARGS(node), w->rank, 2 + sp);
      int64_t groups;
      int err = int_at(node, "groups", 1, 0, 1, &groups);
      if (err) return err;
      if (w->dims[0] % groups)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "%lld output channels do not split into %lld groups",
                           NODE_ARGS(node), (long long)w->dims[0], (long long)groups);
      if (bias->count != (size_t)w->dims[0])
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "bias has %zu values for %lld output channels", NODE_ARGS(node),
                           bias->count, (long long)w->dims[0]);
      const evsnn_nir_param_t *is = evsnn_nir_param(node, "input_shape");
      if (!is) return 0;
      evsnn_nir_shape_t spatial;
      if ((err = shape_param(node, "input_shape", &spatial))) return err;
      if (spatial.rank != sp)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "input_shape has %u sizes, expected %u", NODE_ARGS(node),
                           spatial.rank, sp);
      node->in.rank = 1 + sp;
      node->in.dims[0] = w->dims[1] * groups;
      memcpy(node->in.dims + 1, spatial.dims, sp * sizeof *spatial.dims);
      return 0;
    }
    case EVSNN_NIR_SUMPOOL2D:
    case EVSNN_NIR_AVGPOOL2D:
    case EVSNN_NIR_GRAPH: return 0;
    case EVSNN_NIR_FLATTEN:
      if (evsnn_nir_param(node, "input_type")) return shape_param(node, "input_type", &node->in);
      return 0;
    default: break;
  }
  /* Elementwise: the shape of the parameters that are arrays. */
  const evsnn_nir_param_t *first = NULL;
  for (uint32_t k = 0; k < node->n_params; k++) {
    const evsnn_nir_param_t *p = &node->params[k];
    if (p->rank == 0) continue;
    if (!first) {
      first = p;
      continue;
    }
    evsnn_nir_shape_t s1, s2;
    shape_of(first, &s1);
    shape_of(p, &s2);
    if (s1.rank != s2.rank || memcmp(s1.dims, s2.dims, s1.rank * sizeof *s1.dims))
      return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "%s has shape %s but %s has %s", NODE_ARGS(node), first->name,
                         shape_str(&s1, a, sizeof a), p->name, shape_str(&s2, b, sizeof b));
  }
  if (first) {
    shape_of(first, &node->in);
    node->out = node->in;
  }
  return 0;
}

/* The output of a node whose input has just become known. */
static int derive(evsnn_nir_node_t *node) {
  char a[96];
  switch (node->type) {
    case EVSNN_NIR_CONV1D:
    case EVSNN_NIR_CONV2D:
    case EVSNN_NIR_SUMPOOL2D:
    case EVSNN_NIR_AVGPOOL2D: {
      bool conv = node->type == EVSNN_NIR_CONV1D || node->type == EVSNN_NIR_CONV2D;
      uint32_t sp = node->type == EVSNN_NIR_CONV1D ? 1 : 2;
      const evsnn_nir_param_t *w = conv ? evsnn_nir_param(node, "weight") : NULL;
      if (node->in.rank != 1 + sp)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "input %s is not (channels, %s)", NODE_ARGS(node),
                           shape_str(&node->in, a, sizeof a), sp == 2 ? "height, width" : "length");
      int64_t groups = 1;
      int err;
      if (conv && (err = int_at(node, "groups", 1, 0, 1, &groups))) return err;
      if (conv && node->in.dims[0] != w->dims[1] * groups)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "input %s has %lld channels, the weights take %lld",
                           NODE_ARGS(node), shape_str(&node->in, a, sizeof a), (long long)node->in.dims[0],
                           (long long)(w->dims[1] * groups));
      node->out.rank = node->in.rank;
      node->out.dims[0] = conv ? w->dims[0] : node->in.dims[0];
      for (uint32_t d = 0; d < sp; d++) {
        int64_t k, stride, pad, dil = 1;
        if (conv)
          k = w->dims[2 + d];
        else if ((err = int_at(node, "kernel_size", sp, d, 1, &k)))
          return err;
        if ((err = int_at(node, "stride", sp, d, 1, &stride)) || (err = int_at(node, "padding", sp, d, 0, &pad)) ||
            (conv && (err = int_at(node, "dilation", sp, d, 1, &dil))))
          return err;
        int64_t span = node->in.dims[1 + d] + 2 * pad - dil * (k - 1) - 1;
        if (span < 0)
          return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "kernel %lld is wider than the padded input %s", NODE_ARGS(node),
                             (long long)k, shape_str(&node->in, a, sizeof a));
        node->out.dims[1 + d] = span / stride + 1;
      }
      return 0;
    }
    case EVSNN_NIR_FLATTEN: {
      int64_t r = node->in.rank, s, e;
      const evsnn_nir_param_t *ps = evsnn_nir_param(node, "start_dim"), *pe = evsnn_nir_param(node, "end_dim");
      if (ps->count != 1 || pe->count != 1)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "start_dim and end_dim must be single integers", NODE_ARGS(node));
      s = (int64_t)value(ps, 0);
      e = (int64_t)value(pe, 0);
      if (s < 0) s += r;
      if (e < 0) e += r;
      if (s < 0 || e >= r || s > e)
        return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "dimensions %lld..%lld are outside the input %s", NODE_ARGS(node),
                           (long long)value(ps, 0), (long long)value(pe, 0), shape_str(&node->in, a, sizeof a));
      node->out.rank = 0;
      for (int64_t d = 0; d < s; d++) node->out.dims[node->out.rank++] = node->in.dims[d];
      int64_t prod = 1;
      for (int64_t d = s; d <= e; d++) prod *= node->in.dims[d];
      node->out.dims[node->out.rank++] = prod;
      for (int64_t d = e + 1; d < r; d++) node->out.dims[node->out.rank++] = node->in.dims[d];
      return 0;
    }
    case EVSNN_NIR_GRAPH: return 0; /* its inside is not evsnn's to infer */
    default: node->out = node->in; return 0;
  }
}

/* Scalar neuron parameters become one value per neuron. */
static int broadcast(evsnn_nir_node_t *node) {
  size_t n = numel(&node->out);
  for (uint32_t k = 0; k < node->n_params; k++) {
    evsnn_nir_param_t *p = &node->params[k];
    if (p->rank != 0 || p->is_int) continue;
    double *f = malloc(n * sizeof *f);
    if (!f) return evsnn__fail(EVSNN_ENOMEM, NODE_FMT "%s", NODE_ARGS(node), p->name);
    for (size_t j = 0; j < n; j++) f[j] = p->f[0];
    free(p->f);
    p->f = f;
    p->count = n;
    p->rank = node->out.rank;
    memcpy(p->dims, node->out.dims, sizeof p->dims);
  }
  return 0;
}

int evsnn_nir_check(evsnn_nir_graph_t *g) {
  int err;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    if ((unsigned)g->nodes[n].type >= EVSNN_NIR_UNKNOWN)
      return evsnn__fail(EVSNN_ECORRUPT, "node '%s': no valid type", g->nodes[n].name);
    if ((err = check_node(&g->nodes[n]))) return err;
  }
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    evsnn_nir_node_t *node = &g->nodes[n];
    if (shape_known(&node->in) && !shape_known(&node->out) && node->type != EVSNN_NIR_GRAPH &&
        (err = derive(node)))
      return err;
  }
  /* Propagate known outputs along the edges until nothing changes: at most
   * one pass per node, in edge order, so the result does not depend on how
   * the file ordered its nodes (recurrent edges are simply already known). */
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t e = 0; e < g->n_edges; e++) {
      evsnn_nir_node_t *s = &g->nodes[g->edges[e].src], *d = &g->nodes[g->edges[e].dst];
      if (!shape_known(&s->out)) continue;
      if (!shape_known(&d->in)) {
        d->in = s->out;
        changed = true;
      }
      if (!shape_known(&d->out) && d->type != EVSNN_NIR_GRAPH) {
        if ((err = derive(d))) return err;
        changed = true;
      }
    }
  }
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    evsnn_nir_node_t *node = &g->nodes[n];
    if (node->type == EVSNN_NIR_GRAPH) continue;
    if (!shape_known(&node->out))
      return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "its shape cannot be inferred: no edge brings it an input",
                         NODE_ARGS(node));
    if (specs[node->type].elementwise && (err = broadcast(node))) return err;
  }
  for (uint32_t e = 0; e < g->n_edges; e++) {
    const evsnn_nir_node_t *s = &g->nodes[g->edges[e].src], *d = &g->nodes[g->edges[e].dst];
    if (s->type == EVSNN_NIR_GRAPH || d->type == EVSNN_NIR_GRAPH) continue;
    char a[96], b[96];
    if (!shapes_agree(&s->out, &d->in))
      return evsnn__fail(EVSNN_ECORRUPT, NODE_FMT "its input %s does not match the output %s of '%s' (%s)",
                         NODE_ARGS(d), shape_str(&d->in, a, sizeof a), shape_str(&s->out, b, sizeof b), s->name,
                         evsnn_nir_type_name(s->type));
  }
  return 0;
}

int evsnn_nir_check_types(const evsnn_nir_graph_t *g) {
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const evsnn_nir_node_t *node = &g->nodes[n];
    const char *missing = NULL;
    switch (node->type) {
      case EVSNN_NIR_CONV1D: missing = "evsnn has no one-dimensional convolution"; break;
      case EVSNN_NIR_DELAY: missing = "evsnn's projections have no synaptic delays"; break;
      case EVSNN_NIR_THRESHOLD: missing = "evsnn has no stateless threshold; its neurons threshold their membrane"; break;
      case EVSNN_NIR_CUBALI:
      case EVSNN_NIR_CUBALIF: missing = "evsnn has no neuron with a synaptic current"; break;
      case EVSNN_NIR_SCALE: missing = "evsnn has no elementwise scale between populations"; break;
      case EVSNN_NIR_GRAPH: missing = "evsnn does not nest graphs; flatten the subgraph into the graph"; break;
      default: break;
    }
    if (missing) return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "%s", NODE_ARGS(node), missing);
  }
  return 0;
}
