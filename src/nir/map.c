/* NIR graphs onto evsnn's network and back. evsnn's network (evsnn/net.h) is
 * a chain: Input -> (dense projection -> spiking layer)* -> dense projection
 * -> non-spiking leaky integrator, one leak beta for every layer, one
 * threshold per layer, reset to zero, no biases. This file takes from a NIR
 * graph exactly what that chain can hold and refuses the rest with the node
 * and what is missing, never approximating; it is the only place that knows
 * both sides, so that the graph networks of issue 12 replace it whole.
 *
 * Conventions (docs/nir.md):
 * - A step of a NIR neuron is v[t] = beta v[t-1] + scale (W s[t]); the rule
 *   (exact or euler) gives beta and scale from tau, r and dt
 *   (evsnn_nir_discretise); IF and I have no leak: beta = 1, scale = r. The
 *   per-neuron scale multiplies that neuron's row of W, rounded to float32
 *   first so that a scale of exactly 1 leaves W bit for bit.
 * - NIR fires when v > v_threshold, evsnn when v >= s: over float32 the two
 *   are the same test for s = the float after v_threshold.
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

#define NODE_FMT "node '%s' (%s): "
#define NODE_ARGS(node) (node)->name, evsnn_nir_type_name((node)->type)

void evsnn_nir_import_defaults(evsnn_nir_import_t *o) {
  o->dt = EVSNN_NIR_SNNTORCH_DT;
  o->rule = EVSNN_NIR_EULER;
  o->reset = EVSNN_NIR_RESET_ZERO;
}

static bool spiking(evsnn_nir_type_t t) { return t == EVSNN_NIR_LIF || t == EVSNN_NIR_IF; }
static bool neuron(evsnn_nir_type_t t) { return spiking(t) || t == EVSNN_NIR_LI || t == EVSNN_NIR_I; }

/* One layer of the chain as found in the graph. */
typedef struct {
  const evsnn_nir_node_t *proj, *cell;
} layer_t;

/* The chain from the single Input to the single Output, or an error naming
 * the node where the graph stops being one. */
static int walk(const evsnn_nir_graph_t *g, layer_t *layers, uint32_t *n_layers, uint32_t *n_in) {
  uint32_t in_deg[g->n_nodes ? g->n_nodes : 1], out_deg[g->n_nodes ? g->n_nodes : 1];
  int64_t next[g->n_nodes ? g->n_nodes : 1], input = -1;
  memset(in_deg, 0, sizeof in_deg);
  memset(out_deg, 0, sizeof out_deg);
  for (uint32_t e = 0; e < g->n_edges; e++) {
    in_deg[g->edges[e].dst]++;
    out_deg[g->edges[e].src]++;
    next[g->edges[e].src] = g->edges[e].dst;
  }
  for (uint32_t n = 0; n < g->n_nodes; n++) {
    const evsnn_nir_node_t *node = &g->nodes[n];
    if (in_deg[n] > 1)
      return evsnn__fail(EVSNN_EUNSUPPORTED,
                         NODE_FMT "%u edges arrive here; evsnn's chain model takes one (recurrence and merging "
                         "need the graph networks of issue 12)",
                         NODE_ARGS(node), in_deg[n]);
    if (out_deg[n] > 1)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "it feeds %u nodes; evsnn's chain model feeds one",
                         NODE_ARGS(node), out_deg[n]);
    if (node->type == EVSNN_NIR_INPUT) {
      if (input >= 0)
        return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "a second Input; evsnn's network has one", NODE_ARGS(node));
      input = n;
    }
  }
  if (input < 0) return evsnn__fail(EVSNN_EUNSUPPORTED, "the graph has no Input node");
  *n_in = 1;
  for (uint32_t d = 0; d < g->nodes[input].out.rank; d++) *n_in *= (uint32_t)g->nodes[input].out.dims[d];
  *n_layers = 0;
  const evsnn_nir_node_t *proj = NULL;
  for (int64_t n = input;;) {
    if (!out_deg[n]) {
      const evsnn_nir_node_t *last = &g->nodes[n];
      if (last->type != EVSNN_NIR_OUTPUT)
        return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "the chain ends here, not in an Output node", NODE_ARGS(last));
      break;
    }
    n = next[n];
    const evsnn_nir_node_t *node = &g->nodes[n];
    switch (node->type) {
      case EVSNN_NIR_FLATTEN: continue; /* the chain's layers are flat already */
      case EVSNN_NIR_OUTPUT: continue;  /* checked when the walk ends */
      case EVSNN_NIR_LINEAR:
      case EVSNN_NIR_AFFINE:
        if (proj)
          return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "follows '%s' without a neuron layer between them",
                             NODE_ARGS(node), proj->name);
        proj = node;
        continue;
      default: break;
    }
    if (!neuron(node->type))
      return evsnn__fail(EVSNN_EUNSUPPORTED,
                         NODE_FMT "evsnn's chain model has only dense projections and LIF, IF, LI, I neurons "
                         "(this node needs the graph networks of issue 12)",
                         NODE_ARGS(node));
    if (!proj)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "evsnn's layers begin with a Linear or Affine projection",
                         NODE_ARGS(node));
    if (*n_layers == EVSNN_MAX_LAYERS)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "more than %d layers", NODE_ARGS(node), EVSNN_MAX_LAYERS);
    layers[(*n_layers)++] = (layer_t){proj, node};
    proj = NULL;
  }
  if (proj) return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "no neuron layer follows it", NODE_ARGS(proj));
  if (!*n_layers) return evsnn__fail(EVSNN_EUNSUPPORTED, "the graph has no neuron layer");
  return 0;
}

/* The values of parameter `name` of a cell, all equal to want when want is
 * not NaN; else *first gets the first value and the rest must equal it. */
static int uniform(const evsnn_nir_node_t *cell, const char *name, double want, const char *why, double *first) {
  const evsnn_nir_param_t *p = evsnn_nir_param(cell, name);
  double v0 = isnan(want) ? p->f[0] : want;
  for (size_t i = 0; i < p->count; i++)
    if (p->f[i] != v0)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "%s[%zu] is %g, not %g: %s", NODE_ARGS(cell), name, i, p->f[i],
                         v0, why);
  if (first) *first = v0;
  return 0;
}

/* Neuron i of a cell after one step of o->dt: its leak and input scale. */
static int cell_step(const evsnn_nir_node_t *cell, const evsnn_nir_import_t *o, size_t i, float *beta, float *scale) {
  const evsnn_nir_param_t *r = evsnn_nir_param(cell, "r"), *tau = evsnn_nir_param(cell, "tau");
  double b = 1, s = r->f[i];
  if (tau) {
    int err = evsnn_nir_discretise(o->rule, o->dt, tau->f[i], r->f[i], &b, &s);
    if (err) {
      char why[256]; /* evsnn__fail writes over the detail it would read */
      snprintf(why, sizeof why, "%s", evsnn_error_detail());
      return evsnn__fail(err, NODE_FMT "neuron %zu: %s", NODE_ARGS(cell), i, why);
    }
  }
  *beta = (float)b;
  *scale = (float)s;
  return 0;
}

/* The leak of a cell, the same for all its neurons. */
static int cell_beta(const evsnn_nir_node_t *cell, const evsnn_nir_import_t *o, float *beta) {
  const evsnn_nir_param_t *r = evsnn_nir_param(cell, "r");
  for (size_t i = 0; i < r->count; i++) {
    float b = 1, s;
    int err = cell_step(cell, o, i, &b, &s);
    if (err) return err;
    if (i && b != *beta)
      return evsnn__fail(EVSNN_EUNSUPPORTED,
                         NODE_FMT "neuron %zu leaks with beta %.9g, neuron 0 with %.9g: evsnn's network has one leak",
                         NODE_ARGS(cell), i, b, *beta);
    *beta = b;
  }
  return 0;
}

static int check_cell(const evsnn_nir_node_t *cell, bool last, const evsnn_nir_import_t *o, float *threshold) {
  if (last && spiking(cell->type))
    return evsnn__fail(EVSNN_EUNSUPPORTED,
                       NODE_FMT "the last layer spikes; evsnn's chain model reads out a non-spiking LI or I layer "
                       "(spike-count readouts need the graph networks of issue 12)",
                       NODE_ARGS(cell));
  if (!last && !spiking(cell->type))
    return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "a hidden layer that does not spike; evsnn's hidden layers are LIF "
                       "or IF", NODE_ARGS(cell));
  int err;
  if (evsnn_nir_param(cell, "v_leak") &&
      (err = uniform(cell, "v_leak", 0, "evsnn's neurons leak towards 0", NULL)))
    return err;
  if (!spiking(cell->type)) return 0;
  if (evsnn_nir_param(cell, "v_reset")) {
    if ((err = uniform(cell, "v_reset", 0, "evsnn's neurons reset to 0", NULL))) return err;
  } else if (o->reset == EVSNN_NIR_RESET_SUBTRACT) {
    return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "reset by subtraction asked for; evsnn's neurons reset to 0",
                       NODE_ARGS(cell));
  }
  double v;
  if ((err = uniform(cell, "v_threshold", NAN, "evsnn's network has one threshold per layer", &v))) return err;
  *threshold = nextafterf((float)v, INFINITY);
  if (*threshold == 0.0f) *threshold = 0.0f; /* -0, from an exported threshold of 0 */
  return 0;
}

int evsnn_nir_to_net(const evsnn_nir_graph_t *g, const evsnn_nir_import_t *o, evsnn_net_t *net) {
  memset(net, 0, sizeof *net);
  layer_t layers[EVSNN_MAX_LAYERS];
  uint32_t n_layers = 0, sizes[EVSNN_MAX_LAYERS + 1];
  float thresholds[EVSNN_MAX_LAYERS] = {0}, beta = 1;
  int err = evsnn_nir_check_types(g);
  if (err || (err = walk(g, layers, &n_layers, &sizes[0]))) return err;
  for (uint32_t m = 0; m < n_layers; m++) {
    const evsnn_nir_node_t *proj = layers[m].proj, *cell = layers[m].cell;
    const evsnn_nir_param_t *w = evsnn_nir_param(proj, "weight");
    if (w->rank != 2)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "weight has %u dimensions; evsnn's projections are matrices",
                         NODE_ARGS(proj), w->rank);
    if (w->dims[0] > 65535 || w->dims[1] > 65535)
      return evsnn__fail(EVSNN_EUNSUPPORTED, NODE_FMT "more than 65535 neurons in a layer", NODE_ARGS(proj));
    if (evsnn_nir_param(proj, "bias") &&
        (err = uniform(proj, "bias", 0, "evsnn's chain model has no bias (a constant current per step needs the "
                       "graph networks of issue 12)", NULL)))
      return err;
    sizes[m + 1] = (uint32_t)w->dims[0];
    if ((err = check_cell(cell, m + 1 == n_layers, o, &thresholds[m]))) return err;
  }
  /* One leak for the whole network: every cell must give the same beta. */
  for (uint32_t m = 0; m < n_layers; m++) {
    float b = 1;
    if ((err = cell_beta(layers[m].cell, o, &b))) return err;
    if (m && b != beta)
      return evsnn__fail(EVSNN_EUNSUPPORTED,
                         NODE_FMT "leaks with beta %.9g, '%s' with %.9g: evsnn's network has one leak",
                         NODE_ARGS(layers[m].cell), b, layers[0].cell->name, beta);
    beta = b;
  }
  if ((err = evsnn_net_init(net, sizes, n_layers + 1, beta))) return err;
  for (uint32_t m = 0; m < n_layers; m++) {
    const evsnn_nir_param_t *w = evsnn_nir_param(layers[m].proj, "weight");
    if (m + 1 < n_layers) evsnn_net_set_threshold(net, m + 1, thresholds[m]);
    for (uint32_t i = 0; i < sizes[m + 1]; i++) {
      float b, scale;
      cell_step(layers[m].cell, o, i, &b, &scale); /* cannot fail: cell_beta ran it */
      for (uint32_t j = 0; j < sizes[m]; j++)
        *evsnn_net_w(net, m + 1, i, j) = (float)w->f[(size_t)i * sizes[m] + j] * scale;
    }
  }
  return 0;
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

/* Adds a parameter of n values, all v. */
static int fill(evsnn_nir_graph_t *g, uint32_t node, const char *name, uint32_t n, double v, bool wide, double *buf) {
  for (uint32_t i = 0; i < n; i++) buf[i] = v;
  return evsnn_nir_add_float(g, node, name, 1, (int64_t[]){n}, buf, wide);
}

static int describe(const evsnn_net_t *net, evsnn_nir_graph_t *g, double *buf) {
  uint32_t L = net->n_layers, idx;
  double tau = 0, r = 1;
  bool leaky = net->beta != 1.0f, wide = false;
  int err;
  if (!(net->beta >= 0.0f && net->beta <= 1.0f))
    return evsnn__fail(EVSNN_ERANGE, "beta %g is outside [0, 1]", net->beta);
  if (leaky && (err = snntorch_params(net->beta, &tau, &r, &wide))) return err;
  if ((err = evsnn_nir_add_node(g, "input", EVSNN_NIR_INPUT, &idx)) ||
      (err = evsnn_nir_add_int(g, idx, "shape", 1, (int64_t[]){1}, (int64_t[]){net->sizes[0]})))
    return err;
  char prev[32] = "input", name[32], cell[32];
  for (uint32_t m = 1; m <= L; m++) {
    uint32_t n = net->sizes[m], k = net->sizes[m - 1];
    bool last = m == L;
    snprintf(name, sizeof name, "linear%u", m);
    if ((err = evsnn_nir_add_node(g, name, EVSNN_NIR_LINEAR, &idx)) ||
        (err = evsnn_nir_add_float(g, idx, "weight", 2, (int64_t[]){n, k}, NULL, false)))
      return err;
    double *w = g->nodes[idx].params[0].f;
    for (uint32_t i = 0; i < n; i++)
      for (uint32_t j = 0; j < k; j++) w[(size_t)i * k + j] = *evsnn_net_w(net, m, i, j);
    if ((err = evsnn_nir_add_edge(g, prev, name))) return err;
    evsnn_nir_type_t t = last ? (leaky ? EVSNN_NIR_LI : EVSNN_NIR_I) : (leaky ? EVSNN_NIR_LIF : EVSNN_NIR_IF);
    snprintf(cell, sizeof cell, last ? "%s" : "%s%u", last ? (leaky ? "li" : "i") : (leaky ? "lif" : "if"), m);
    if ((err = evsnn_nir_add_node(g, cell, t, &idx)) || (leaky && (err = fill(g, idx, "tau", n, tau, wide, buf))) ||
        (err = fill(g, idx, "r", n, r, wide, buf)) || (leaky && (err = fill(g, idx, "v_leak", n, 0, false, buf))))
      return err;
    if (!last) {
      /* v >= s in evsnn is v > (the float below s) in NIR. */
      float s = net->layer[m - 1].threshold, below = nextafterf(s, -INFINITY);
      if ((err = fill(g, idx, "v_threshold", n, below, false, buf)) || (err = fill(g, idx, "v_reset", n, 0, false, buf)))
        return err;
    }
    if ((err = evsnn_nir_add_edge(g, name, cell))) return err;
    snprintf(prev, sizeof prev, "%s", cell);
  }
  if ((err = evsnn_nir_add_node(g, "output", EVSNN_NIR_OUTPUT, &idx)) ||
      (err = evsnn_nir_add_int(g, idx, "shape", 1, (int64_t[]){1}, (int64_t[]){net->sizes[L]})) ||
      (err = evsnn_nir_add_edge(g, prev, "output")))
    return err;
  return evsnn_nir_check(g);
}

int evsnn_nir_from_net(const evsnn_net_t *net, evsnn_nir_graph_t *g) {
  evsnn_nir_init(g);
  uint32_t widest = 1;
  for (uint32_t m = 0; m <= net->n_layers; m++)
    if (net->sizes[m] > widest) widest = net->sizes[m];
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
  if ((err = evsnn_nir_to_net(&g, o, net))) {
    char why[512]; /* evsnn__fail writes over the detail it would read */
    snprintf(why, sizeof why, "%s", evsnn_error_detail());
    err = evsnn__fail(err, "%s: %s", path, why);
  }
  evsnn_nir_free(&g);
  return err;
}
