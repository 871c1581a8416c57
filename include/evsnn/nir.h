/* evsnn/nir.h: NIR, the Neuromorphic Intermediate Representation (github
 * neuromorphs/NIR), read from and written to its HDF5 files (docs/nir.md).
 *
 * A NIR file is a graph: nodes, each with a name, a type ("LIF", "Affine",
 * ...) and named parameter arrays, and edges (source, target) between them.
 * evsnn_nir_graph_t holds one in memory, independent of evsnn's own network
 * description: reading checks it (every edge names a node, each type has the
 * parameters it needs with consistent shapes, no NaN), infers the shape of
 * every node's input and output along the edges, and broadcasts scalar
 * neuron parameters to the node's shape (NIR issue #176), so that a graph in
 * memory always has one value per neuron. Writing writes NIR's current
 * version with every parameter as it is in memory.
 *
 * The graph owns every buffer in it; evsnn_nir_free releases them all.
 */
#ifndef EVSNN_NIR_H
#define EVSNN_NIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evsnn/net.h"

/* The version evsnn writes: the current release of NIR's reference
 * implementation, whose writer puts its own version in the file. */
#define EVSNN_NIR_VERSION "1.0.7"
#define EVSNN_NIR_MAX_RANK 8

/* Every node type of NIR's specification; UNKNOWN never survives a read. */
#define EVSNN_NIR_TYPE_MAP(XX) \
  XX(INPUT, "Input")           \
  XX(OUTPUT, "Output")         \
  XX(AFFINE, "Affine")         \
  XX(LINEAR, "Linear")         \
  XX(SCALE, "Scale")           \
  XX(CONV1D, "Conv1d")         \
  XX(CONV2D, "Conv2d")         \
  XX(SUMPOOL2D, "SumPool2d")   \
  XX(AVGPOOL2D, "AvgPool2d")   \
  XX(FLATTEN, "Flatten")       \
  XX(DELAY, "Delay")           \
  XX(THRESHOLD, "Threshold")   \
  XX(I, "I")                   \
  XX(IF, "IF")                 \
  XX(LI, "LI")                 \
  XX(LIF, "LIF")               \
  XX(CUBALI, "CubaLI")         \
  XX(CUBALIF, "CubaLIF")       \
  XX(GRAPH, "NIRGraph")

typedef enum {
#define XX(name, str) EVSNN_NIR_##name,
  EVSNN_NIR_TYPE_MAP(XX)
#undef XX
  EVSNN_NIR_UNKNOWN
} evsnn_nir_type_t;

/* "LIF", ...; "?" outside the table. */
const char *evsnn_nir_type_name(evsnn_nir_type_t t);
/* EVSNN_NIR_UNKNOWN for a name NIR does not define. */
evsnn_nir_type_t evsnn_nir_type_from_name(const char *name);

/* One parameter: a float or integer array of `rank` dimensions (rank 0: one
 * scalar). Floats are held as doubles so that float32 and float64 files both
 * come back bit for bit; `wide` says which width the file used (and the
 * writer uses). */
typedef struct {
  char *name;
  bool is_int;
  bool wide;
  uint32_t rank;
  int64_t dims[EVSNN_NIR_MAX_RANK];
  size_t count; /* product of dims; 1 for rank 0 */
  double *f;    /* count values, when !is_int */
  int64_t *i;   /* count values, when is_int */
} evsnn_nir_param_t;

/* A shape without the batch dimension, as NIR writes them. rank 0: unknown. */
typedef struct {
  uint32_t rank;
  int64_t dims[EVSNN_NIR_MAX_RANK];
} evsnn_nir_shape_t;

typedef struct {
  char *name;
  evsnn_nir_type_t type;
  evsnn_nir_param_t *params;
  uint32_t n_params;
  evsnn_nir_shape_t in, out; /* inferred by evsnn_nir_check */
} evsnn_nir_node_t;

typedef struct {
  uint32_t src, dst; /* node indices */
} evsnn_nir_edge_t;

typedef struct {
  char version[32];
  evsnn_nir_node_t *nodes;
  uint32_t n_nodes, cap_nodes;
  evsnn_nir_edge_t *edges;
  uint32_t n_edges, cap_edges;
} evsnn_nir_graph_t;

/* An empty graph with EVSNN_NIR_VERSION, to fill with the functions below. */
void evsnn_nir_init(evsnn_nir_graph_t *g);
void evsnn_nir_free(evsnn_nir_graph_t *g);

/* Appends a node (no parameters yet) and returns its index in *idx. */
int evsnn_nir_add_node(evsnn_nir_graph_t *g, const char *name, evsnn_nir_type_t type, uint32_t *idx);
/* Adds parameter `name` to node n with the given dims (rank 0: a scalar) and
 * copies count values from f (floats, written as float32 unless wide) or i. */
int evsnn_nir_add_float(evsnn_nir_graph_t *g, uint32_t n, const char *name, uint32_t rank, const int64_t *dims,
                        const double *f, bool wide);
int evsnn_nir_add_int(evsnn_nir_graph_t *g, uint32_t n, const char *name, uint32_t rank, const int64_t *dims,
                      const int64_t *i);
int evsnn_nir_add_edge(evsnn_nir_graph_t *g, const char *src, const char *dst);

/* The node named `name`, or -1. */
int64_t evsnn_nir_find(const evsnn_nir_graph_t *g, const char *name);
/* Node n's parameter `name`, or NULL. */
const evsnn_nir_param_t *evsnn_nir_param(const evsnn_nir_node_t *node, const char *name);

/* Checks a graph and infers every node's shapes (see the top of this file);
 * an error names the node, its type and the problem. A graph that passes is
 * one NIR can hold, not necessarily one evsnn can run. */
int evsnn_nir_check(evsnn_nir_graph_t *g);
/* Reads and checks a NIR file; on failure *g is left empty. */
int evsnn_nir_read(const char *path, evsnn_nir_graph_t *g);
/* Writes g (checked first) to path as NIR EVSNN_NIR_VERSION. */
int evsnn_nir_write(const char *path, evsnn_nir_graph_t *g);

/* Whether evsnn has an equivalent for every node of a checked graph: an
 * EVSNN_EUNSUPPORTED error names the first node that has none (Delay,
 * Conv1d, Threshold, CubaLI, CubaLIF, Scale, nested graphs) and what is
 * missing. */
int evsnn_nir_check_types(const evsnn_nir_graph_t *g);

/* ------------------------------------------------------ discretisation ----
 * NIR's neurons are continuous: tau dv/dt = (v_leak - v) + R I. A step of dt
 * turns the leak into beta and the input current into an input scale:
 *   exact: beta = exp(-dt/tau), scale = R (1 - beta)  (I constant over a step)
 *   euler: beta = 1 - dt/tau,   scale = R dt / tau    (forward Euler)
 * so that v[t] = beta v[t-1] + scale I[t] (+ (1 - beta) v_leak). */
typedef enum { EVSNN_NIR_EXACT = 0, EVSNN_NIR_EULER = 1 } evsnn_nir_rule_t;

/* EVSNN_ERANGE unless tau > 0 and dt > 0 (and, for euler, dt <= tau). */
int evsnn_nir_discretise(evsnn_nir_rule_t rule, double dt, double tau, double r, double *beta, double *scale);

/* snnTorch's export convention: a leak beta per step of dt = 1e-4 s becomes
 * tau = dt / (1 - beta), R = tau / dt, so that euler at that dt gives back
 * beta with an input scale of 1. */
#define EVSNN_NIR_SNNTORCH_DT 1e-4
void evsnn_nir_snntorch_tau(double beta, double dt, double *tau, double *r);

/* ------------------------------------------- the mapping (src/nir/map.c) ----
 * NIR graphs onto evsnn's networks (evsnn/net.h: populations of LIF, IF or
 * LI neurons joined by dense, conv2d, pooling and recurrent projections)
 * and back; docs/nir.md says what maps onto what. */
typedef enum { EVSNN_NIR_RESET_ZERO = 0, EVSNN_NIR_RESET_SUBTRACT = 1 } evsnn_nir_reset_t;

typedef struct {
  double dt;              /* step in seconds */
  evsnn_nir_rule_t rule;  /* discretisation */
  evsnn_nir_reset_t reset; /* for files without v_reset (NIR before 1.0) */
} evsnn_nir_import_t;

/* snnTorch's convention, which evsnn's export also uses: dt =
 * EVSNN_NIR_SNNTORCH_DT, euler, reset to zero. */
void evsnn_nir_import_defaults(evsnn_nir_import_t *o);

/* Builds net (initialised here, finished, with its parameters) from a
 * checked graph, or fails with an error naming the node, its type and what
 * evsnn's networks lack; on failure nothing is allocated. */
int evsnn_nir_to_net(const evsnn_nir_graph_t *g, const evsnn_nir_import_t *o, evsnn_net_t *net);
/* evsnn_nir_read then evsnn_nir_to_net: a NIR file as a network. */
int evsnn_nir_load_net(const char *path, const evsnn_nir_import_t *o, evsnn_net_t *net);
/* Describes net in *g (initialised here): each population a neuron node
 * named after it, each projection [pooling] [Flatten] Linear or Conv2d
 * nodes, in snnTorch's convention, so that evsnn_nir_to_net with the
 * defaults gives back the same network bit for bit (docs/nir.md). A
 * population that resets by subtraction is refused: NIR cannot say it. */
int evsnn_nir_from_net(const evsnn_net_t *net, evsnn_nir_graph_t *g);

#endif
