/* The dense reference engine: the paper's equations (3)-(6) as written,
 * with CBLAS sgemv on 0/1 spike vectors. Every step costs the full
 * n_in x n_out multiply-accumulates, whatever fired. */
#include <cblas.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/engine.h"

/* OpenBLAS's own threads would fight the callers' workers (each engine runs
 * on one thread, parallelism is across samples), so when OpenBLAS is the
 * CBLAS in use it is asked for one thread. Weak: other CBLAS lack it. */
extern void openblas_set_num_threads(int) __attribute__((weak));

void evsnn__blas_one_thread(void) {
  if (openblas_set_num_threads) openblas_set_num_threads(1);
}

int evsnn_dense_init(evsnn_dense_t *d, const evsnn_net_t *net) {
  memset(d, 0, sizeof *d);
  evsnn__blas_one_thread();
  size_t floats = 0;
  for (uint32_t m = 0; m < net->n_layers; m++) floats += net->layer[m].ld;
  for (uint32_t m = 0; m <= net->n_layers; m++) floats += evsnn__pad16(net->sizes[m]);
  d->mem = evsnn__alloc_aligned(floats, sizeof(float));
  if (!d->mem) return evsnn__fail(EVSNN_ENOMEM, "dense engine state");
  d->net = net;
  float *p = d->mem;
  for (uint32_t m = 0; m < net->n_layers; m++, p += net->layer[m - 1].ld) d->v[m] = p;
  for (uint32_t m = 0; m <= net->n_layers; m++, p += evsnn__pad16(net->sizes[m - 1])) d->b[m] = p;
  return 0;
}

void evsnn_dense_free(evsnn_dense_t *d) {
  evsnn__free_aligned(d->mem);
  memset(d, 0, sizeof *d);
}

void evsnn_dense_reset(evsnn_dense_t *d) {
  const evsnn_net_t *net = d->net;
  for (uint32_t m = 0; m < net->n_layers; m++) memset(d->v[m], 0, sizeof(float) * net->layer[m].ld);
  for (uint32_t m = 0; m <= net->n_layers; m++) memset(d->b[m], 0, sizeof(float) * net->sizes[m]);
}

void evsnn_dense_step(evsnn_dense_t *d, const uint32_t *in, uint32_t n_in) {
  const evsnn_net_t *net = d->net;
  memset(d->b[0], 0, sizeof(float) * net->sizes[0]);
  for (uint32_t k = 0; k < n_in; k++) d->b[0][in[k]] = 1.0f;
  d->counts.spikes[0] += n_in;
  /* synops counts what the event engine does, the spikes arriving times
   * their fan-out, so the two engines report one quantity; the sgemv's full
   * cost is dense_macs. */
  uint64_t n_pre = n_in;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    const evsnn_layer_t *l = &net->layer[m];
    float *v = d->v[m];
    /* v = beta v (4), then v += W b (3): kept as two operations so that the
     * leak rounds exactly as in the event engine. */
    cblas_sscal((int)l->n_out, net->beta, v, 1);
    cblas_sgemv(CblasColMajor, CblasNoTrans, (int)l->n_out, (int)l->n_in, 1.0f, l->W, (int)l->ld,
                d->b[m], 1, 1.0f, v, 1);
    d->counts.dense_macs[m] += (uint64_t)l->n_in * l->n_out;
    d->counts.synops[m] += n_pre * l->n_out;
    if (m + 1 == net->n_layers) break;
    float *b = d->b[m + 1];
    uint64_t ns = 0;
    for (uint32_t i = 0; i < l->n_out; i++) {
      b[i] = v[i] >= l->threshold ? 1.0f : 0.0f; /* (5) */
      if (b[i] != 0.0f) v[i] = 0.0f;              /* (6) */
      ns += b[i] != 0.0f;
    }
    d->counts.spikes[m + 1] += ns;
    n_pre = ns;
  }
  d->counts.steps++;
}
