/* The dense reference engine: the paper's equations (3)-(6) as written, on
 * dense 0/1 spike vectors, each projection through its dense twin (sgemv
 * for dense projections, im2col + sgemm for convolutions). Every step costs
 * the full multiply-accumulates, whatever fired. */
#include <cblas.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/engine.h"
#include "net/proj.h"

/* OpenBLAS's own threads would fight the callers' workers (each engine runs
 * on one thread, parallelism is across samples), so when OpenBLAS is the
 * CBLAS in use it is asked for one thread. Weak: other CBLAS lack it. */
extern void openblas_set_num_threads(int) __attribute__((weak));

void evsnn__blas_one_thread(void) {
  if (openblas_set_num_threads) openblas_set_num_threads(1);
}

/* The largest pooled input and dense-twin scratch of any projection. */
static void scratch_sizes(const evsnn_net_t *net, size_t *pooled, size_t *scratch) {
  *pooled = *scratch = 16;
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    if (evsnn__pad16(p->n_in) > *pooled) *pooled = evsnn__pad16(p->n_in);
    if (evsnn__pad16(p->ops->dense_scratch(p)) > *scratch) *scratch = evsnn__pad16(p->ops->dense_scratch(p));
  }
}

int evsnn_dense_init(evsnn_dense_t *d, const evsnn_net_t *net) {
  memset(d, 0, sizeof *d);
  evsnn__blas_one_thread();
  size_t pooled, scratch, floats = 0;
  scratch_sizes(net, &pooled, &scratch);
  for (uint32_t m = 0; m < net->n_pops; m++) floats += (m ? 3 : 1) * (size_t)net->pop[m].ld;
  floats += pooled + scratch + evsnn__pad16(evsnn_net_outputs(net));
  d->mem = evsnn__alloc_aligned(floats, sizeof(float));
  if (!d->mem) return evsnn__fail(EVSNN_ENOMEM, "dense engine state: %zu floats", floats);
  d->net = net;
  float *p = d->mem;
  for (uint32_t m = 0; m < net->n_pops; m++) {
    d->b[m] = p, p += net->pop[m].ld;
    if (!m) continue;
    d->v[m - 1] = p, p += net->pop[m].ld;
    d->b_prev[m] = p, p += net->pop[m].ld;
  }
  d->pooled = p, p += pooled;
  d->scratch = p, p += scratch;
  d->count = p;
  return 0;
}

void evsnn_dense_free(evsnn_dense_t *d) {
  evsnn__free_aligned(d->mem);
  memset(d, 0, sizeof *d);
}

void evsnn_dense_reset(evsnn_dense_t *d) {
  const evsnn_net_t *net = d->net;
  for (uint32_t m = 0; m < net->n_pops; m++) {
    memset(d->b[m], 0, sizeof(float) * net->pop[m].ld);
    if (!m) continue;
    memset(d->v[m - 1], 0, sizeof(float) * net->pop[m].ld);
    memset(d->b_prev[m], 0, sizeof(float) * net->pop[m].ld);
  }
  memset(d->count, 0, sizeof(float) * evsnn_net_outputs(net));
}

void evsnn_dense_step(evsnn_dense_t *d, const uint32_t *in, uint32_t n_in) {
  const evsnn_net_t *net = d->net;
  memset(d->b[0], 0, sizeof(float) * net->pop[0].n);
  for (uint32_t k = 0; k < n_in; k++) d->b[0][in[k]] = 1.0f;
  d->counts.spikes[0] += n_in;
  for (uint32_t m = 1; m < net->n_pops; m++) {
    const evsnn_pop_t *pop = &net->pop[m];
    float *v = d->v[m - 1], *b = d->b[m];
    memcpy(d->b_prev[m], b, sizeof(float) * pop->n);
    /* v = beta v (4), then v += W b (3): kept as two operations so that the
     * leak rounds exactly as in the event engine. */
    cblas_sscal((int)pop->n, pop->beta, v, 1);
    for (uint32_t q = 0; q < net->n_projs; q++) {
      const evsnn_proj_t *pr = &net->proj[q];
      if (pr->dst != m) continue;
      const float *src = pr->kind == EVSNN_PROJ_RECURRENT ? d->b_prev[m] : d->b[pr->src];
      const float *x = src;
      if (pr->pool_k) evsnn__pool_dense(pr, &net->pop[pr->src], src, d->pooled), x = d->pooled;
      pr->ops->propagate_dense(pr, v, x, evsnn__pool_scale(pr), d->scratch);
      d->counts.dense_macs[q] += pr->ops->dense_macs(pr);
      /* Synaptic operations as the event engine counts them: what the
       * spikes delivered would have added. */
      for (uint32_t i = 0; i < pr->n_in; i++)
        if (x[i] != 0.0f) d->counts.synops[q] += (uint64_t)x[i] * pr->ops->fanout(pr, i);
    }
    if (pop->model == EVSNN_NEURON_LI) continue;
    uint64_t ns = 0;
    for (uint32_t i = 0; i < pop->n; i++) {
      b[i] = v[i] >= pop->threshold ? 1.0f : 0.0f; /* (5) */
      if (b[i] != 0.0f) v[i] = pop->reset == EVSNN_RESET_ZERO ? 0.0f : v[i] - pop->threshold; /* (6) */
      ns += b[i] != 0.0f;
    }
    d->counts.spikes[m] += ns;
    if (m + 1 == net->n_pops)
      for (uint32_t i = 0; i < pop->n; i++) d->count[i] += b[i];
  }
  d->counts.steps++;
}

uint32_t evsnn_dense_decision(const evsnn_dense_t *d) {
  const evsnn_net_t *net = d->net;
  uint32_t M = net->n_pops - 1;
  return evsnn_argmax(net->pop[M].model == EVSNN_NEURON_LI ? d->v[M - 1] : d->count, net->pop[M].n);
}
