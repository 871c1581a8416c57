/* NIR graphs onto evsnn's networks (evsnn/net.h) and back. A NIR neuron
 * node (LIF, IF, LI, I) is a population; the nodes between two of them
 * (at most one pooling, Flattens, at most one Linear, Affine or Conv2d) are
 * one projection: dense, conv2d, pool, or recurrent when it returns to its
 * own population. evsnn's populations have one leak, one threshold and one
 * input scale, reset to zero or by subtraction, and its projections no bias,
 * square kernels, one stride and padding, no dilation or groups: whatever a
 * graph asks beyond that is refused naming the node and what is missing,
 * never approximated. This file is the only one that knows both sides.
 *
 * Conventions (docs/nir.md):
 * - A step of a NIR neuron is v[t] = beta v[t-1] + scale (W s[t]); the rule
 *   (exact or euler) gives beta and scale from tau, r and dt
 *   (evsnn_nir_discretise); IF and I have no leak: beta = 1, scale = r. The
 *   per-neuron scale multiplies that neuron's row of W, rounded to float32
 *   first so that a scale of exactly 1 leaves W bit for bit.
 * - NIR fires when v > v_threshold, evsnn when v >= s: over float32 the two
 *   are the same test for s = the float after v_threshold.
 * - NIR numbers a C x H x W map channels first; evsnn's computed
 *   populations are channels last, so the columns of a dense projection
 *   after a Flatten and the taps of a convolution are reordered both ways.
 * - The export writes snnTorch's convention (euler, dt = 1e-4 s: tau = dt /
 *   (1 - beta), r = tau / dt), choosing among the float32 values nearest to
 *   tau and r ones that give back beta and a scale of exactly 1 (float64
 *   when none does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/nir.h"
#include "net/proj.h"

#define NODE_FMT "node '%s' (%s): "
#define NODE_ARGS(node) (node)->name, evsnn_nir_type_name((node)->type)

void evsnn_nir_import_defaults(evsnn_nir_import_t *o) {
  o->dt = EVSNN_NIR_SNNTORCH_DT;
  o->rule = EVSNN_NIR_EULER;
  o->reset = EVSNN_NIR_RESET_ZERO;
}

/* Fails with err, putting "WHO: " before the detail the failure below left
 * (copied first: evsnn__fail writes over the detail it would read). */
static int prefixed(int err, const char *who) {
  char why[512];
  snprintf(why, sizeof why, "%s", evsnn_error_detail());
  return evsnn__fail(err, "%s: %s", who, why);
}

static bool neuron(evsnn_nir_type_t t) {
  return t == EVSNN_NIR_LIF || t == EVSNN_NIR_IF || t == EVSNN_NIR_LI || t == EVSNN_NIR_I;
}
/* Nodes that sit between two populations: together one projection. */
static bool between(evsnn_nir_type_t t) {
  return t == EVSNN_NIR_LINEAR || t == EVSNN_NIR_AFFINE || t == EVSNN_NIR_CONV2D || t == EVSNN_NIR_SUMPOOL2D ||
         t == EVSNN_NIR_AVGPOOL2D || t == EVSNN_NIR_FLATTEN;
}

/* One projection as found in the graph: from population node src to dst
 * through an optional pooling, Flattens, and an optional weighted node. */
typedef struct {
  uint32_t src, dst;
  const evsnn_nir_node_t *pool, *op;
} segment_t;

typedef struct {
  const evsnn_nir_graph_t *g;
  uint32_t *in_deg, *out_deg;
  int64_t *pop_of;  /* node -> population, -1 */
  uint32_t *order;  /* population -> node */
  segment_t seg[EVSNN_MAX_PROJS];
  uint32_t n_seg, n_pops;
  int64_t readout;
} plan_t;

/* The values of parameter `name`, all equal to want when want is not NaN;
 * else to the first, which *first gets. */
static int uniform(const evsnn_nir_node_t *node, const char *name, double want, const char *why, double *first) {
  const evsnn_nir_param_t *p = evsnn_nir_param(node, name);
  double v0 = isnan(want) ? (p->is_int ? (double)p->i[0] : p->f[0]) : want;
  for (size_t i = 0; i < p->count; i++) {
    double v = p->is_int ? (double)p->i[i] : p->f[i];
    if (v != v0)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "%s[%zu] is %g, not %g: %s", NODE_ARGS(node), name, i, v, v0,
                         why);
  }
  if (first) *first = v0;
  return 0;
}

/* Follows edge e from a population node to the next population node. */
static int follow(plan_t *pl, uint32_t e) {
  const evsnn_nir_graph_t *g = pl->g;
  segment_t s = {.src = g->edges[e].src};
  bool flat = false;
  for (uint32_t n = g->edges[e].dst;;) {
    const evsnn_nir_node_t *node = &g->nodes[n];
    if (neuron(node->type)) {
      s.dst = n;
      break;
    }
    if (node->type == EVSNN_NIR_OUTPUT) {
      if (s.pool || s.op)
        return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "a projection into the Output; evsnn reads out a population",
                           NODE_ARGS(s.op ? s.op : s.pool));
      return 0; /* the readout's edge */
    }
    if (!between(node->type))
      return evsnn__fail(EVSNN_EUNSUPPORTED,
                         NODE_FMT "evsnn's networks join populations with dense, conv2d and pooling projections only",
                         NODE_ARGS(node));
    if (pl->in_deg[n] != 1 || pl->out_deg[n] != 1)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "%u edges in and %u out; evsnn sums projections at populations "
                         "only", NODE_ARGS(node), pl->in_deg[n], pl->out_deg[n]);
    if (node->type == EVSNN_NIR_FLATTEN) {
      flat = true;
    } else if (s.op) {
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "follows '%s' without a population between them",
                         NODE_ARGS(node), s.op->name);
    } else if (node->type == EVSNN_NIR_SUMPOOL2D || node->type == EVSNN_NIR_AVGPOOL2D) {
      if (s.pool || flat)
        return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "evsnn pools once, before any Flatten, per projection",
                           NODE_ARGS(node));
      s.pool = node;
    } else {
      if (node->type == EVSNN_NIR_CONV2D && flat)
        return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "a convolution of a flattened map", NODE_ARGS(node));
      s.op = node;
    }
    for (uint32_t k = 0; k < g->n_edges; k++)
      if (g->edges[k].src == n) n = g->edges[k].dst, k = g->n_edges;
  }
  if (!s.pool && !s.op)
    return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "feeds '%s' directly; evsnn's populations meet through "
                       "projections", NODE_ARGS(&g->nodes[s.src]), g->nodes[s.dst].name);
  if (s.src == s.dst && (s.pool || s.op->type == EVSNN_NIR_CONV2D))
    return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "a recurrent projection must be dense", NODE_ARGS(s.op));
  if (pl->n_seg == EVSNN_MAX_PROJS)
    return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "more than %d projections", NODE_ARGS(&g->nodes[s.dst]),
                       EVSNN_MAX_PROJS);
  pl->seg[pl->n_seg++] = s;
  return 0;
}

/* The populations in the order evsnn computes them: each after every
 * population feeding it (recurrence aside), the readout last; among those
 * ready, the file's order. */
static int order_pops(plan_t *pl) {
  const evsnn_nir_graph_t *g = pl->g;
  uint32_t n_pop_nodes = 0;
  for (uint32_t n = 0; n < g->n_nodes; n++) n_pop_nodes += neuron(g->nodes[n].type);
  while (pl->n_pops < n_pop_nodes + 1) {
    int64_t pick = -1;
    for (uint32_t n = 0; n < g->n_nodes && pick < 0; n++) {
      if (!neuron(g->nodes[n].type) || pl->pop_of[n] >= 0) continue;
      if (n == pl->readout && pl->n_pops < n_pop_nodes) continue;
      bool ready = true;
      for (uint32_t k = 0; k < pl->n_seg; k++)
        if (pl->seg[k].dst == n && pl->seg[k].src != n && pl->pop_of[pl->seg[k].src] < 0) ready = false;
      if (ready) pick = n;
    }
    if (pick < 0) {
      for (uint32_t n = 0; n < g->n_nodes; n++)
        if (neuron(g->nodes[n].type) && pl->pop_of[n] < 0 && n != pl->readout)
          return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "on a cycle through other populations; evsnn's recurrence "
                             "is a projection from a population onto itself", NODE_ARGS(&g->nodes[n]));
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "the readout feeds other populations; evsnn computes it last",
                         NODE_ARGS(&g->nodes[pl->readout]));
    }
    if (pl->n_pops == EVSNN_MAX_POPS)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "more than %d populations", NODE_ARGS(&g->nodes[pick]),
                         EVSNN_MAX_POPS);
    pl->pop_of[pick] = pl->n_pops;
    pl->order[pl->n_pops++] = (uint32_t)pick;
  }
  return 0;
}

static void shape3(const evsnn_nir_shape_t *s, uint32_t *c, uint32_t *h, uint32_t *w) {
  size_t n = 1;
  for (uint32_t d = 0; d < s->rank; d++) n *= (size_t)s->dims[d];
  if (s->rank == 3) *c = (uint32_t)s->dims[0], *h = (uint32_t)s->dims[1], *w = (uint32_t)s->dims[2];
  else *c = (uint32_t)n, *h = 1, *w = 1;
}

/* Neuron i of a population node after one step of o->dt. */
static int cell_step(const evsnn_nir_node_t *cell, const evsnn_nir_import_t *o, size_t i, float *beta, float *scale) {
  const evsnn_nir_param_t *r = evsnn_nir_param(cell, "r"), *tau = evsnn_nir_param(cell, "tau");
  double b = 1, s = r->f[i];
  if (tau) {
    int err = evsnn_nir_discretise(o->rule, o->dt, tau->f[i], r->f[i], &b, &s);
    if (err) {
      char who[160];
      snprintf(who, sizeof who, NODE_FMT "neuron %zu", NODE_ARGS(cell), i);
      return prefixed(err, who);
    }
  }
  *beta = (float)b;
  *scale = (float)s;
  return 0;
}

/* A population from a neuron node: one leak, one threshold, one input
 * scale (folded into the weights into it), v_leak 0, reset to zero or by
 * subtraction. */
static int add_pop(evsnn_net_t *net, const evsnn_nir_node_t *cell, const evsnn_nir_import_t *o, float *scale) {
  float beta = 1, s = 1;
  const evsnn_nir_param_t *r = evsnn_nir_param(cell, "r");
  for (size_t i = 0; i < r->count; i++) {
    float b = 1, sc = 1;
    int err = cell_step(cell, o, i, &b, &sc);
    if (err) return err;
    if (i && (b != beta || sc != *scale))
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "neuron %zu steps with beta %.9g and input scale %.9g, neuron 0 "
                         "with %.9g and %.9g: evsnn's populations have one of each", NODE_ARGS(cell), i, b, sc, beta,
                         *scale);
    beta = b, *scale = sc;
  }
  int err;
  if (evsnn_nir_param(cell, "v_leak") && (err = uniform(cell, "v_leak", 0, "evsnn's neurons leak towards 0", NULL)))
    return err;
  evsnn_neuron_t model = cell->type == EVSNN_NIR_LIF ? EVSNN_NEURON_LIF
                         : cell->type == EVSNN_NIR_IF ? EVSNN_NEURON_IF
                                                      : EVSNN_NEURON_LI;
  evsnn_reset_t reset = o->reset == EVSNN_NIR_RESET_SUBTRACT ? EVSNN_RESET_SUBTRACT : EVSNN_RESET_ZERO;
  if (model != EVSNN_NEURON_LI) {
    if (evsnn_nir_param(cell, "v_reset")) {
      if ((err = uniform(cell, "v_reset", 0, "evsnn's neurons reset to 0 or by subtraction", NULL))) return err;
      reset = EVSNN_RESET_ZERO;
    }
    double v;
    if ((err = uniform(cell, "v_threshold", NAN, "evsnn's populations have one threshold", &v))) return err;
    s = nextafterf((float)v, INFINITY);
    if (!(s > 0))
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "v_threshold %g; evsnn's thresholds are > 0", NODE_ARGS(cell),
                         v);
  }
  uint32_t c, h, w;
  shape3(&cell->out, &c, &h, &w);
  char name[16];
  snprintf(name, sizeof name, "%s", cell->name);
  return evsnn_net_add_pop(net, name, c, h, w, model, reset, beta, s, 0) < 0 ? EVSNN_EUNSUPPORTED : 0;
}

/* The projection of a segment, its shape fields from the pooling and
 * convolution nodes (square kernels, one stride and padding, no dilation,
 * no groups, no bias: what evsnn's projections are). */
static int add_proj(evsnn_net_t *net, const plan_t *pl, const segment_t *s) {
  evsnn_proj_t p = {.src = (uint32_t)pl->pop_of[s->src], .dst = (uint32_t)pl->pop_of[s->dst]};
  int err;
  double v;
  if (s->pool) {
    if ((err = uniform(s->pool, "kernel_size", NAN, "evsnn pools square windows", &v))) return err;
    p.pool_k = (uint32_t)v;
    if ((err = uniform(s->pool, "stride", NAN, "evsnn pools with one stride", &v))) return err;
    p.pool_stride = (uint32_t)v;
    if ((err = uniform(s->pool, "padding", 0, "evsnn pools without padding", NULL))) return err;
    p.pool_avg = s->pool->type == EVSNN_NIR_AVGPOOL2D;
  }
  if (!s->op) {
    p.kind = EVSNN_PROJ_POOL;
  } else if (s->op->type == EVSNN_NIR_CONV2D) {
    const evsnn_nir_param_t *w = evsnn_nir_param(s->op, "weight");
    if (w->dims[2] != w->dims[3])
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "kernel %lldx%lld; evsnn's kernels are square", NODE_ARGS(s->op),
                         (long long)w->dims[2], (long long)w->dims[3]);
    p.kind = EVSNN_PROJ_CONV;
    p.k = (uint32_t)w->dims[2];
    if ((err = uniform(s->op, "stride", NAN, "evsnn convolves with one stride", &v))) return err;
    p.stride = (uint32_t)v;
    if ((err = uniform(s->op, "padding", NAN, "evsnn pads all sides alike", &v))) return err;
    p.pad = (uint32_t)v;
    if ((err = uniform(s->op, "dilation", 1, "evsnn's convolutions are not dilated", NULL)) ||
        (err = uniform(s->op, "groups", 1, "evsnn's convolutions have one group", NULL)))
      return err;
  } else {
    p.kind = s->src == s->dst ? EVSNN_PROJ_RECURRENT : EVSNN_PROJ_DENSE;
  }
  if (s->op && evsnn_nir_param(s->op, "bias") &&
      (err = uniform(s->op, "bias", 0, "evsnn's projections have no bias", NULL)))
    return err;
  if (evsnn_net_add_proj(net, &p) < 0) {
    const evsnn_nir_node_t *node = s->op ? s->op : s->pool;
    char who[160];
    snprintf(who, sizeof who, "node '%s' (%s)", NODE_ARGS(node));
    return prefixed(EVSNN_EUNSUPPORTED, who);
  }
  return 0;
}

/* NIR numbers a C x H x W map channels first, (c H + y) W + x; this is
 * neuron i of evsnn's numbering (evsnn/net.h) in NIR's. */
static size_t nir_index(int chw, uint32_t i, uint32_t C, uint32_t H, uint32_t W) {
  uint32_t c, y, x;
  evsnn__coords(chw, i, C, H, W, &c, &y, &x);
  return ((size_t)c * H + y) * W + x;
}

/* The weights of projection q from its NIR node, times the target's input
 * scale (rounded to float32 first: a scale of 1 leaves them bit for bit). */
static void fill_weights(evsnn_net_t *net, uint32_t q, const evsnn_nir_node_t *op, float scale) {
  evsnn_proj_t *p = &net->proj[q];
  const evsnn_pop_t *dst = &net->pop[p->dst];
  const double *wn = evsnn_nir_param(op, "weight")->f;
  if (p->kind == EVSNN_PROJ_CONV) {
    /* NIR's W[co][ci][ky][kx]; evsnn's W[ci][ky][kx][co] (src/net/proj_conv.c). */
    uint32_t co_n = dst->c, k = p->k;
    for (uint32_t co = 0; co < co_n; co++)
      for (uint32_t ci = 0; ci < p->in_c; ci++)
        for (uint32_t t = 0; t < k * k; t++)
          p->W[((size_t)ci * k * k + t) * co_n + co] = (float)wn[((size_t)co * p->in_c + ci) * k * k + t] * scale;
    return;
  }
  for (uint32_t j = 0; j < p->n_in; j++) {
    size_t col = nir_index(p->in_chw, j, p->in_c, p->in_h, p->in_w);
    for (uint32_t i = 0; i < p->n_out; i++)
      p->W[(size_t)j * p->ld + i] = (float)wn[nir_index(0, i, dst->c, dst->h, dst->w) * p->n_in + col] * scale;
  }
}

static int build(plan_t *pl, const evsnn_nir_import_t *o, evsnn_net_t *net) {
  const evsnn_nir_graph_t *g = pl->g;
  int64_t input = -1, output = -1;
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const evsnn_nir_node_t *node = &g->nodes[n];
    int64_t *which = node->type == EVSNN_NIR_INPUT ? &input : node->type == EVSNN_NIR_OUTPUT ? &output : NULL;
    if (which && *which >= 0)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "a second %s; evsnn's networks have one",
                         NODE_ARGS(node), evsnn_nir_type_name(node->type));
    if (which) *which = n;
  }
  if (input < 0 || output < 0) return evsnn__fail(EVSNN_EUNSUPPORTED, "the graph needs one Input and one Output");
  for (uint32_t e = 0; e < g->n_edges; e++) {
    if (g->edges[e].dst == output) pl->readout = g->edges[e].src;
  }
  if (pl->readout < 0 || !neuron(g->nodes[pl->readout].type) || pl->in_deg[output] != 1)
    return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "evsnn reads out one population of LIF, IF, LI or I neurons",
                       NODE_ARGS(&g->nodes[output]));
  int err;
  for (uint32_t e = 0; e < g->n_edges; e++) {
    uint32_t src = g->edges[e].src;
    if ((src == input || neuron(g->nodes[src].type)) && (err = follow(pl, e))) return err;
  }
  pl->pop_of[input] = 0;
  pl->order[0] = (uint32_t)input;
  pl->n_pops = 1;
  if ((err = order_pops(pl))) return err;
  uint32_t c, h, w;
  shape3(&g->nodes[input].out, &c, &h, &w);
  float scale[EVSNN_MAX_POPS];
  if ((err = evsnn_net_begin(net, c, h, w))) return err;
  for (uint32_t m = 1; m < pl->n_pops; m++)
    if ((err = add_pop(net, &g->nodes[pl->order[m]], o, &scale[m]))) return err;
  /* Projections in the order of their targets, as evsnn computes them. */
  uint32_t seg_of[EVSNN_MAX_PROJS], n_proj = 0;
  for (uint32_t m = 1; m < pl->n_pops; m++)
    for (uint32_t k = 0; k < pl->n_seg; k++)
      if (pl->pop_of[pl->seg[k].dst] == m) {
        if (!pl->seg[k].op && scale[m] != 1.0f)
          return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "input scale %.9g into a pooling without weights to hold "
                             "it", NODE_ARGS(&g->nodes[pl->seg[k].dst]), scale[m]);
        if ((err = add_proj(net, pl, &pl->seg[k]))) return err;
        seg_of[n_proj++] = k;
      }
  if ((err = evsnn_net_finish(net))) return err;
  for (uint32_t q = 0; q < n_proj; q++) {
    const segment_t *s = &pl->seg[seg_of[q]];
    if (s->op) fill_weights(net, q, s->op, scale[pl->pop_of[s->dst]]);
  }
  return 0;
}

int evsnn_nir_to_net(const evsnn_nir_graph_t *g, const evsnn_nir_import_t *o, evsnn_net_t *net) {
  memset(net, 0, sizeof *net);
  int err = evsnn_nir_check_types(g);
  if (err) return err;
  size_t n = g->n_nodes + 1;
  plan_t pl = {.g = g, .readout = -1};
  pl.in_deg = calloc(n, sizeof *pl.in_deg);
  pl.out_deg = calloc(n, sizeof *pl.out_deg);
  pl.pop_of = malloc(n * sizeof *pl.pop_of);
  pl.order = calloc(n, sizeof *pl.order);
  if (!pl.in_deg || !pl.out_deg || !pl.pop_of || !pl.order) {
    err = evsnn__fail(EVSNN_ENOMEM, "importing a graph");
  } else {
    for (uint32_t k = 0; k < g->n_nodes; k++) pl.pop_of[k] = -1;
    for (uint32_t e = 0; e < g->n_edges; e++) pl.in_deg[g->edges[e].dst]++, pl.out_deg[g->edges[e].src]++;
    err = build(&pl, o, net);
  }
  if (err) {
    evsnn_net_free(net);
    memset(net, 0, sizeof *net);
  }
  free(pl.in_deg);
  free(pl.out_deg);
  free(pl.pop_of);
  free(pl.order);
  return err;
}

/* Whether tau and r come back from evsnn_nir_to_net (with the defaults) as
 * exactly beta and an input scale of exactly 1. */
static bool gives_back(float beta, double tau, double r) {
  const double dt = EVSNN_NIR_SNNTORCH_DT;
  return (float)(1.0 - dt / tau) == beta && (float)(r * dt / tau) == 1.0f;
}

/* tau and r in snnTorch's convention for beta. float32 when some float32
 * values near them give beta back (then *wide is false); float64 otherwise:
 * a small beta such as 0.1 needs dt / tau to 4e-9, finer than float32's tau
 * can say. */
static int snntorch_params(float beta, double *tau_out, double *r_out, bool *wide) {
  const double dt = EVSNN_NIR_SNNTORCH_DT;
  double tau0, r0;
  evsnn_nir_snntorch_tau(beta, dt, &tau0, &r0);
  for (int k = 0; k < 32; k++) {
    /* candidates in the order tau0, one float up, one down, two up, ... */
    float tau = (float)tau0;
    for (int step = 0; step < (k + 1) / 2; step++) tau = nextafterf(tau, k % 2 ? INFINITY : 0.0f);
    float r = (float)((double)tau / dt);
    for (int j = 0; j < 8; j++, r = nextafterf(r, (float)(r * dt / tau) < 1.0f ? INFINITY : 0.0f))
      if (gives_back(beta, tau, r)) {
        *tau_out = tau;
        *r_out = r;
        *wide = false;
        return 0;
      }
  }
  if (!gives_back(beta, tau0, r0))
    return evsnn__fail(EVSNN_ERANGE, "beta %.9g: no tau and r give it back exactly", beta);
  *tau_out = tau0;
  *r_out = r0;
  *wide = true;
  return 0;
}

/* Adds a parameter of n values, all v, with the given shape. */
static int fill(evsnn_nir_graph_t *g, uint32_t node, const char *name, const evsnn_nir_shape_t *s, double v,
                bool wide, double *buf) {
  size_t n = 1;
  for (uint32_t d = 0; d < s->rank; d++) n *= (size_t)s->dims[d];
  for (size_t i = 0; i < n; i++) buf[i] = v;
  return evsnn_nir_add_float(g, node, name, s->rank, s->dims, buf, wide);
}

/* NIR's shape of a population: C x H x W, or N when it is flat. */
static evsnn_nir_shape_t pop_shape(const evsnn_pop_t *p) {
  if (p->h * p->w == 1) return (evsnn_nir_shape_t){1, {p->n}};
  return (evsnn_nir_shape_t){3, {p->c, p->h, p->w}};
}

static int add_ints(evsnn_nir_graph_t *g, uint32_t node, const char *name, uint32_t n, const int64_t *v) {
  return evsnn_nir_add_int(g, node, name, n ? 1 : 0, (int64_t[]){n}, v);
}

/* Population m as a neuron node named after it. */
static int export_pop(const evsnn_net_t *net, uint32_t m, evsnn_nir_graph_t *g, double *buf) {
  const evsnn_pop_t *p = &net->pop[m];
  bool leaky = p->model != EVSNN_NEURON_IF && p->beta != 1.0f, wide = false;
  bool spikes = p->model != EVSNN_NEURON_LI;
  double tau = 0, r = 1;
  int err;
  if (spikes && p->reset == EVSNN_RESET_SUBTRACT)
    return evsnn__fail(EVSNN_EUNSUPPORTED, "population %s resets by subtraction, which NIR's v_reset cannot say",
                       p->name);
  if (leaky && (err = snntorch_params(p->beta, &tau, &r, &wide)))
    return evsnn__fail(err, "population %s: beta %.9g: no tau and r give it back exactly", p->name, p->beta);
  evsnn_nir_type_t t = spikes ? (leaky ? EVSNN_NIR_LIF : EVSNN_NIR_IF) : (leaky ? EVSNN_NIR_LI : EVSNN_NIR_I);
  evsnn_nir_shape_t s = pop_shape(p);
  uint32_t idx;
  if ((err = evsnn_nir_add_node(g, p->name, t, &idx)) || (leaky && (err = fill(g, idx, "tau", &s, tau, wide, buf))) ||
      (err = fill(g, idx, "r", &s, r, wide, buf)) || (leaky && (err = fill(g, idx, "v_leak", &s, 0, false, buf))))
    return err;
  if (spikes) {
    /* v >= s in evsnn is v > (the float below s) in NIR. */
    double below = nextafterf(p->threshold, -INFINITY);
    if ((err = fill(g, idx, "v_threshold", &s, below, false, buf)) || (err = fill(g, idx, "v_reset", &s, 0, false, buf)))
      return err;
  }
  return 0;
}

/* Projection q as [pooling] [Flatten] [Linear or Conv2d] between the nodes
 * of its populations. */
static int export_proj(const evsnn_net_t *net, uint32_t q, evsnn_nir_graph_t *g, double *buf) {
  const evsnn_proj_t *p = &net->proj[q];
  const evsnn_pop_t *dst = &net->pop[p->dst];
  char prev[32], name[32];
  uint32_t idx;
  int err;
  snprintf(prev, sizeof prev, "%s", p->src ? net->pop[p->src].name : "input");
  if (p->pool_k) {
    int64_t k2[2] = {p->pool_k, p->pool_k}, s2[2] = {p->pool_stride, p->pool_stride}, z2[2] = {0, 0};
    snprintf(name, sizeof name, "q%u.pool", q);
    if ((err = evsnn_nir_add_node(g, name, p->pool_avg ? EVSNN_NIR_AVGPOOL2D : EVSNN_NIR_SUMPOOL2D, &idx)) ||
        (err = add_ints(g, idx, "kernel_size", 2, k2)) || (err = add_ints(g, idx, "stride", 2, s2)) ||
        (err = add_ints(g, idx, "padding", 2, z2)) || (err = evsnn_nir_add_edge(g, prev, name)))
      return err;
    snprintf(prev, sizeof prev, "%s", name);
  }
  bool dense = p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT;
  if (dense && p->in_h * p->in_w > 1) {
    snprintf(name, sizeof name, "q%u.flatten", q);
    if ((err = evsnn_nir_add_node(g, name, EVSNN_NIR_FLATTEN, &idx)) ||
        (err = add_ints(g, idx, "start_dim", 0, (int64_t[]){0})) ||
        (err = add_ints(g, idx, "end_dim", 0, (int64_t[]){-1})) ||
        (err = add_ints(g, idx, "input_type", 3, (int64_t[]){p->in_c, p->in_h, p->in_w})) ||
        (err = evsnn_nir_add_edge(g, prev, name)))
      return err;
    snprintf(prev, sizeof prev, "%s", name);
  }
  if (p->kind != EVSNN_PROJ_POOL) {
    snprintf(name, sizeof name, "q%u", q);
    if (dense) {
      if ((err = evsnn_nir_add_node(g, name, EVSNN_NIR_LINEAR, &idx)) ||
          (err = evsnn_nir_add_float(g, idx, "weight", 2, (int64_t[]){p->n_out, p->n_in}, NULL, false)))
        return err;
      double *w = g->nodes[idx].params[0].f;
      for (uint32_t j = 0; j < p->n_in; j++) {
        size_t col = nir_index(p->in_chw, j, p->in_c, p->in_h, p->in_w);
        for (uint32_t i = 0; i < p->n_out; i++)
          w[nir_index(0, i, dst->c, dst->h, dst->w) * p->n_in + col] = p->W[(size_t)j * p->ld + i];
      }
    } else {
      uint32_t co_n = dst->c, k = p->k;
      evsnn_nir_shape_t bias = {1, {co_n}};
      if ((err = evsnn_nir_add_node(g, name, EVSNN_NIR_CONV2D, &idx)) ||
          (err = evsnn_nir_add_float(g, idx, "weight", 4, (int64_t[]){co_n, p->in_c, k, k}, NULL, false)))
        return err;
      double *w = g->nodes[idx].params[0].f;
      for (uint32_t co = 0; co < co_n; co++)
        for (uint32_t ci = 0; ci < p->in_c; ci++)
          for (uint32_t t = 0; t < k * k; t++)
            w[((size_t)co * p->in_c + ci) * k * k + t] = p->W[((size_t)ci * k * k + t) * co_n + co];
      if ((err = fill(g, idx, "bias", &bias, 0, false, buf)) ||
          (err = add_ints(g, idx, "stride", 2, (int64_t[]){p->stride, p->stride})) ||
          (err = add_ints(g, idx, "padding", 2, (int64_t[]){p->pad, p->pad})) ||
          (err = add_ints(g, idx, "dilation", 2, (int64_t[]){1, 1})) ||
          (err = add_ints(g, idx, "groups", 0, (int64_t[]){1})) ||
          (err = add_ints(g, idx, "input_shape", 2, (int64_t[]){p->in_h, p->in_w})))
        return err;
    }
    if ((err = evsnn_nir_add_edge(g, prev, name))) return err;
    snprintf(prev, sizeof prev, "%s", name);
  }
  return evsnn_nir_add_edge(g, prev, dst->name);
}

static int describe(const evsnn_net_t *net, evsnn_nir_graph_t *g, double *buf) {
  uint32_t idx;
  evsnn_nir_shape_t s = pop_shape(&net->pop[0]);
  int err;
  if ((err = evsnn_nir_add_node(g, "input", EVSNN_NIR_INPUT, &idx)) ||
      (err = add_ints(g, idx, "shape", s.rank, s.dims)))
    return err;
  for (uint32_t m = 1; m < net->n_pops; m++)
    if ((err = export_pop(net, m, g, buf))) return err;
  for (uint32_t q = 0; q < net->n_projs; q++)
    if ((err = export_proj(net, q, g, buf))) return err;
  s = pop_shape(evsnn_net_out(net));
  if ((err = evsnn_nir_add_node(g, "output", EVSNN_NIR_OUTPUT, &idx)) ||
      (err = add_ints(g, idx, "shape", s.rank, s.dims)) ||
      (err = evsnn_nir_add_edge(g, evsnn_net_out(net)->name, "output")))
    return err;
  return evsnn_nir_check(g);
}

int evsnn_nir_from_net(const evsnn_net_t *net, evsnn_nir_graph_t *g) {
  evsnn_nir_init(g);
  uint32_t widest = 1;
  for (uint32_t m = 0; m < net->n_pops; m++)
    if (net->pop[m].n > widest) widest = net->pop[m].n;
  double *buf = malloc(widest * sizeof *buf);
  int err = buf ? describe(net, g, buf) : evsnn__fail(EVSNN_ENOMEM, "exporting a network");
  free(buf);
  if (err) evsnn_nir_free(g);
  return err;
}

int evsnn_nir_load_net(const char *path, const evsnn_nir_import_t *o, evsnn_net_t *net) {
  evsnn_nir_graph_t g;
  int err = evsnn_nir_read(path, &g);
  if (err) return err;
  if ((err = evsnn_nir_to_net(&g, o, net))) err = prefixed(err, path);
  evsnn_nir_free(&g);
  return err;
}
