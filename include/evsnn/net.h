/* evsnn/net.h: the network description, a graph of populations joined by
 * projections.
 *
 * A population is a set of neurons with a shape C x H x W (a flat one is
 * N x 1 x 1) and one neuron model: LIF (leak beta, threshold s, reset to
 * zero or by subtracting s), IF (LIF with beta = 1), or LI, the leaky
 * integrator that never spikes and whose potentials are the scores a
 * classifier reads. Population 0 is the input; it only spikes, and its
 * neuron (c, y, x) is number (c H + y) W + x, channels first, as sensors
 * (evsnn/sensor.h), datasets and other frameworks number them. Every
 * other population is channels last, neuron (c, y, x) at (y W + x) C + c,
 * so that the C neurons of one pixel are contiguous and a convolution's
 * spike adds runs of C floats (src/net/proj_conv.c).
 *
 * A projection carries the spikes of a source population to a target and
 * owns its parameters. Its kind is one table of operations
 * (evsnn_proj_ops_t, src/net/proj.h): dense (a weight matrix), conv2d
 * (kernel k, stride, padding), pool (no parameters: a spike adds 1, or
 * 1/k^2 for average pooling, to the one pooled neuron it falls in), and
 * recurrent (dense, from a population onto itself, carrying the previous
 * step's spikes). Any projection may first pool its source's spikes
 * (pool_k > 0): a spike at (c, y, x) becomes a spike at the pooled
 * position, which is how `pool2` followed by a convolution is written.
 * Flatten is a change of shape only: a dense projection reads any source
 * as a flat vector of its neuron numbers.
 *
 * Populations come in the order they are computed: every projection's
 * source comes before its target, except a recurrent one, whose source is
 * its target. So population order is the order of work within a step
 * (evsnn/engine.h) and the reverse order that of the backward pass.
 *
 * All parameters live in one allocation, `params`, of n_params floats
 * (padding included), 64-byte aligned; gradients and optimiser moments
 * use the same layout, so one loop updates them all.
 *
 * A chain of dense projections with LIF hidden layers (reset to zero, one
 * beta) and an LI output, such as the paper's 784-300-300-10, is also
 * described by the layer view below (n_layers > 0), which the
 * continuous-time engine, the server and the pictures still read; for
 * any other graph n_layers is 0.
 */
#ifndef EVSNN_NET_H
#define EVSNN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/rng.h"
#include "evsnn/sensor.h"

#define EVSNN_MAX_LAYERS 8 /* the layer view */
#define EVSNN_MAX_POPS 16
#define EVSNN_MAX_PROJS 16

typedef enum { EVSNN_NEURON_INPUT = 0, EVSNN_NEURON_LIF = 1, EVSNN_NEURON_IF = 2, EVSNN_NEURON_LI = 3 } evsnn_neuron_t;
typedef enum { EVSNN_RESET_ZERO = 0, EVSNN_RESET_SUBTRACT = 1 } evsnn_reset_t;

typedef struct evsnn_pop_s {
  char name[16];
  uint32_t c, h, w;      /* shape */
  uint32_t n;            /* neurons, c h w */
  uint32_t ld;           /* n padded to 16 floats */
  evsnn_neuron_t model;
  evsnn_reset_t reset;
  float beta;            /* leak per step (1 for IF); v[k] = beta v[k-1] + input (4) */
  float threshold;       /* s (5); unused by LI and the input */
  float threshold_scale; /* > 0: init sets s = scale sqrt(3 / n) (the paper's rule); 0: s as given */
  uint32_t whole;        /* some projection into it touches every neuron (dense, recurrent): leak per
                            population; else per neuron group of `group` neurons, lazily */
  uint32_t group;        /* neurons that are always touched together (c for conv targets, else 1) */
} evsnn_pop_t;

typedef enum { EVSNN_PROJ_DENSE = 0, EVSNN_PROJ_CONV = 1, EVSNN_PROJ_POOL = 2, EVSNN_PROJ_RECURRENT = 3 } evsnn_proj_kind_t;

typedef struct evsnn_proj_ops_s evsnn_proj_ops_t;

typedef struct evsnn_proj_s {
  evsnn_proj_kind_t kind;
  const evsnn_proj_ops_t *ops;
  uint32_t src, dst;     /* populations; src == dst only for a recurrent projection */
  /* Pooling of the source's spikes before the operation (pool_k = 0: none);
   * for kind POOL this is the operation. in_c x in_h x in_w is what the
   * operation then sees. */
  uint32_t pool_k, pool_stride, pool_avg;
  uint32_t in_c, in_h, in_w, n_in;
  uint32_t in_chw;       /* the operation's input is numbered channels first (the unpooled input) */
  uint32_t k, stride, pad; /* conv2d */
  uint32_t n_out;        /* the target's neurons */
  uint32_t ld;           /* dense: floats per column, pad16(n_out) */
  size_t offset, size;   /* its parameters: params[offset, offset + size) */
  float *W;              /* params + offset */
} evsnn_proj_t;

/* The layer view of a chain (see above): layer m (0-based) is projection m
 * into population m + 1. */
typedef struct evsnn_layer_s {
  uint32_t n_in;    /* presynaptic neurons (columns) */
  uint32_t n_out;   /* neurons of this layer */
  uint32_t ld;      /* floats per column: n_out padded to 16 */
  size_t offset;    /* first float of W in net->params */
  float *W;         /* net->params + offset: n_in columns of ld floats */
  float threshold;  /* s^m; unused by the last layer */
} evsnn_layer_t;

typedef struct evsnn_net_s {
  uint32_t n_pops, n_projs;
  evsnn_pop_t pop[EVSNN_MAX_POPS];
  evsnn_proj_t proj[EVSNN_MAX_PROJS];
  float *params; /* owned: all parameters, 64-byte aligned, padding zero */
  size_t n_params;
  /* The layer view; n_layers = 0 when the graph is not such a chain. */
  uint32_t n_layers;
  uint32_t sizes[EVSNN_MAX_LAYERS + 1];
  float beta;
  evsnn_layer_t layer[EVSNN_MAX_LAYERS];
  /* The sensor map the network was trained through (evsnn/sensor.h): event
   * input then goes through it, and a recording of another sensor size is
   * refused (evsnn_sensor_map_for). width 0: none recorded (trained on
   * images, or built from a description). */
  evsnn_sensor_map_t sensor;
} evsnn_net_t;

/* A network being described, before its parameters are allocated: add
 * populations and projections in order, then evsnn_net_finish. The
 * description language (evsnn_net_parse, docs/net-description.md) is a
 * front end to these calls. */
int evsnn_net_begin(evsnn_net_t *net, uint32_t c, uint32_t h, uint32_t w);
/* Adds a population computed after the existing ones; returns its index
 * or a negative error code. */
int evsnn_net_add_pop(evsnn_net_t *net, const char *name, uint32_t c, uint32_t h, uint32_t w, evsnn_neuron_t model,
                      evsnn_reset_t reset, float beta, float threshold, float threshold_scale);
/* Adds a projection src -> dst; the shape fields it needs must be set in
 * *p (kind, pool_*, k, stride, pad); everything else is derived and the
 * shapes checked. Returns the projection's index or a negative error. */
int evsnn_net_add_proj(evsnn_net_t *net, const evsnn_proj_t *p);
/* Checks the graph (a readout population last, every population reached)
 * and allocates zeroed parameters. On failure nothing stays allocated. */
int evsnn_net_finish(evsnn_net_t *net);

/* A chain: sizes[0] inputs, dense projections, LIF hidden populations
 * (reset to zero, threshold 1) and an LI output, all with leak beta.
 * n_sizes = L + 1, 2 <= n_sizes <= EVSNN_MAX_LAYERS + 1, every size in
 * [1, 65535]. On failure nothing is allocated. */
int evsnn_net_init(evsnn_net_t *net, const uint32_t *sizes, uint32_t n_sizes, float beta);
/* Builds the network a description names (docs/net-description.md), with
 * zeroed parameters. Errors name the token and what was expected. */
int evsnn_net_parse(evsnn_net_t *net, const char *desc);
/* Writes the description of net (which evsnn_net_parse reads back as the
 * same graph) into buf; returns the length it needs, as snprintf. */
size_t evsnn_net_describe(const evsnn_net_t *net, char *buf, size_t size);
/* Frees the parameters; net may be zero-initialised or already freed. */
void evsnn_net_free(evsnn_net_t *net);

/* Which h the initialisation U(-sqrt(3/h), sqrt(3/h)) takes for a
 * projection: its fan-in (for conv2d k^2 C_in) or the width of its target.
 * The paper says "the number of neurons in the hidden layer", the width. */
typedef enum { EVSNN_INIT_FANIN = 0, EVSNN_INIT_WIDTH = 1 } evsnn_init_h_t;

/* The paper's initialisation: the weights of projection p uniform in
 * [-sqrt(3/h), sqrt(3/h)], drawn from stream p + 1 of `seed`; thresholds of
 * populations with a threshold_scale set to scale sqrt(3/n). For a chain,
 * threshold_scale (if non-NULL) gives hidden layer m's scale at [m-1]. */
void evsnn_net_init_params(evsnn_net_t *net, uint64_t seed, evsnn_init_h_t h, const float *threshold_scale);

/* Weight w_ij of layer m (1-based) of the layer view: target neuron i,
 * presynaptic neuron j. */
static inline float *evsnn_net_w(const evsnn_net_t *net, uint32_t m, uint32_t i, uint32_t j) {
  const evsnn_layer_t *l = &net->layer[m - 1];
  return l->W + (size_t)j * l->ld + i;
}

/* Sets population m's threshold s (> 0), keeping the layer view in step. */
void evsnn_net_set_threshold(evsnn_net_t *net, uint32_t m, float s);

/* Real parameters (no padding): the paper's 784-300-300-10 has 328,200. */
size_t evsnn_net_n_weights(const evsnn_net_t *net);
/* The readout population (the last) and its neurons. */
static inline const evsnn_pop_t *evsnn_net_out(const evsnn_net_t *net) { return &net->pop[net->n_pops - 1]; }
static inline uint32_t evsnn_net_inputs(const evsnn_net_t *net) { return net->pop[0].n; }
static inline uint32_t evsnn_net_outputs(const evsnn_net_t *net) { return net->pop[net->n_pops - 1].n; }

#endif
