/* The dense trainer's forward: the same equations as bptt.c's, written
 * plainly on dense 0/1 spike rasters through each projection's dense twin
 * (CBLAS), as a framework would run them; the backward pass is bptt.c's
 * with the twins. It is the reference the event trainer's gradients are
 * tested against, and the baseline `evsnn bench --train` measures it
 * against: every step costs the full multiply-accumulates forward, for dW
 * and for W^T Delta, whatever fired. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "net/proj.h"
#include "train/train_impl.h"

void evsnn__dense_forward(evsnn_trainer_t *tr, const evsnn_input_t *in) {
  const evsnn_net_t *net = tr->net;
  uint32_t P = net->n_pops, T = tr->T;
  for (uint32_t m = 1; m < P; m++) memset(tr->v[m - 1], 0, sizeof(float) * net->pop[m].ld);
  for (uint32_t m = 0; m + 1 < P; m++) tr->start[m][0] = 0;
  for (uint32_t k = 0; k < T; k++) {
    /* The input list, then its raster. */
    uint32_t *list = tr->spikes[0] + tr->start[0][k];
    uint32_t n_in = evsnn_input_step(in, k, list);
    tr->start[0][k + 1] = tr->start[0][k] + n_in;
    float *b0 = tr->raster[0] + (size_t)k * net->pop[0].ld;
    memset(b0, 0, sizeof(float) * net->pop[0].n);
    for (uint32_t s = 0; s < n_in; s++) b0[list[s]] = 1.0f;
    tr->counts.spikes[0] += n_in;
    for (uint32_t m = 1; m < P; m++) {
      const evsnn_pop_t *pop = &net->pop[m];
      float *v = tr->v[m - 1];
      for (uint32_t i = 0; i < pop->n; i++) v[i] *= pop->beta; /* (4) */
      for (uint32_t q = 0; q < net->n_projs; q++) {
        const evsnn_proj_t *pr = &net->proj[q];
        if (pr->dst != m || (pr->kind == EVSNN_PROJ_RECURRENT && k == 0)) {
          if (pr->dst == m) tr->counts.dense_macs[q] += pr->ops->dense_macs(pr);
          continue;
        }
        const evsnn_pop_t *src = &net->pop[pr->src];
        const float *b = tr->raster[pr->src] + (size_t)(pr->kind == EVSNN_PROJ_RECURRENT ? k - 1 : k) * src->ld;
        if (pr->pool_k) evsnn__pool_dense(pr, src, b, tr->gq), b = tr->gq;
        pr->ops->propagate_dense(pr, v, b, evsnn__pool_scale(pr), tr->scratch); /* (3) */
        tr->counts.dense_macs[q] += pr->ops->dense_macs(pr);
        for (uint32_t i = 0; i < pr->n_in; i++)
          if (b[i] != 0.0f) tr->counts.synops[q] += (uint64_t)b[i] * pr->ops->fanout(pr, i);
      }
      if (m + 1 == P) break;
      float *fp = tr->fprime[m - 1] + (size_t)k * pop->ld, *out = tr->raster[m] + (size_t)k * pop->ld;
      uint32_t *list_out = tr->spikes[m] + tr->start[m][k], ns = 0;
      for (uint32_t i = 0; i < pop->n; i++) {
        float d = fabsf(v[i] - pop->threshold);
        fp[i] = d > tr->cutoff ? 0.0f : expf(-d); /* (13) */
        out[i] = v[i] >= pop->threshold ? 1.0f : 0.0f; /* (5) */
        if (out[i] != 0.0f) /* (6) */
          list_out[ns++] = i, v[i] = pop->reset == EVSNN_RESET_ZERO ? 0.0f : v[i] - pop->threshold;
      }
      tr->start[m][k + 1] = tr->start[m][k] + ns;
      tr->counts.spikes[m] += ns;
    }
  }
  tr->counts.steps += T;
}
