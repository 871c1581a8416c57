/* The batched dense trainer (EVSNN_ENGINE_DENSE_BATCH): the dense trainer's
 * equations on a worker's whole share of a mini-batch at once, as a
 * framework runs them: every step is one sgemm per layer forward (V = beta V
 * + W X, X the n_in x B spike raster), and backward one for dW (+= Delta X^T)
 * and one for W^T Delta. It is the strongest dense baseline we have for
 * `evsnn bench --train`; its gradient equals the per-sample trainers' sum
 * (tested). Buffers are sized at the first share and kept. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "train/train_impl.h"

struct evsnn__batch_s {
  uint32_t cap, n;                /* capacity and samples held, columns */
  uint8_t *labels;
  uint32_t *list;                 /* one step's input spikes */
  float *x[EVSNN_MAX_LAYERS];     /* layer m's input rasters: T x (pad16(n_in) x cap) */
  float *v[EVSNN_MAX_LAYERS];     /* potentials: ld x cap */
  float *fp[EVSNN_MAX_LAYERS];    /* hidden layers' f'(u - s): T x (ld x cap) */
  float *delta[EVSNN_MAX_LAYERS]; /* T x (ld x cap) */
  float *g;                       /* W^T Delta: pad16(widest) x cap */
  float *mem;
};

void evsnn__batch_free(evsnn_trainer_t *tr) {
  if (!tr->batch) return;
  evsnn__free_aligned(tr->batch->mem);
  free(tr->batch->labels);
  free(tr->batch->list);
  free(tr->batch);
  tr->batch = NULL;
}

int evsnn__batch_reserve(evsnn_trainer_t *tr, uint32_t n) {
  if (tr->batch && tr->batch->cap >= n) {
    tr->batch->n = 0;
    return 0;
  }
  evsnn__batch_free(tr);
  const evsnn_net_t *net = tr->net;
  size_t T = tr->T, floats = 0, widest = 0;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    size_t ld = net->layer[m].ld, ldx = evsnn__pad16(net->sizes[m]);
    floats += T * ldx * n + ld * n + 2 * T * ld * n;
    if (ldx > widest) widest = ldx;
  }
  floats += widest * n;
  evsnn__batch_t *b = calloc(1, sizeof *b);
  if (b) b->mem = evsnn__alloc_aligned(floats, sizeof(float));
  if (b) b->labels = malloc(n), b->list = malloc(sizeof(uint32_t) * net->sizes[0]);
  tr->batch = b;
  if (!b || !b->mem || !b->labels || !b->list) {
    evsnn__batch_free(tr);
    return evsnn__fail(EVSNN_ENOMEM, "batched trainer: %u samples", n);
  }
  /* Zeroed once: the rasters' padding rows are never written. */
  memset(b->mem, 0, sizeof(float) * floats);
  float *p = b->mem;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    size_t ld = net->layer[m].ld, ldx = evsnn__pad16(net->sizes[m]);
    b->x[m] = p, p += T * ldx * n;
    b->v[m] = p, p += ld * n;
    b->fp[m] = p, p += T * ld * n;
    b->delta[m] = p, p += T * ld * n;
  }
  b->g = p;
  b->cap = n;
  return 0;
}

void evsnn__batch_add(evsnn_trainer_t *tr, const evsnn_input_t *in, uint32_t label) {
  evsnn__batch_t *b = tr->batch;
  size_t ldx = evsnn__pad16(tr->net->sizes[0]), col = b->n++;
  b->labels[col] = (uint8_t)label;
  for (uint32_t k = 0; k < tr->T; k++) {
    float *x = b->x[0] + ((size_t)k * b->cap + col) * ldx;
    memset(x, 0, sizeof(float) * ldx);
    uint32_t n_in = evsnn_input_step(in, k, b->list);
    for (uint32_t s = 0; s < n_in; s++) x[b->list[s]] = 1.0f;
    tr->counts.spikes[0] += n_in;
    /* synops as the event trainer counts them, spikes arriving x fan-out:
     * layer 1's here, the others' where their input spikes are made. */
    tr->counts.synops[0] += (uint64_t)n_in * tr->net->layer[0].n_out;
  }
}

/* Forward (3)-(6) for every held sample at once. */
static void forward(evsnn_trainer_t *tr) {
  const evsnn_net_t *net = tr->net;
  evsnn__batch_t *b = tr->batch;
  uint32_t L = net->n_layers, n = b->n, cap = b->cap;
  for (uint32_t m = 0; m < L; m++) memset(b->v[m], 0, sizeof(float) * net->layer[m].ld * cap);
  for (uint32_t k = 0; k < tr->T; k++)
    for (uint32_t m = 0; m < L; m++) {
      const evsnn_layer_t *l = &net->layer[m];
      size_t ldx = evsnn__pad16(l->n_in);
      float *v = b->v[m];
      cblas_sscal((int)(l->ld * n), net->beta, v, 1); /* (4) */
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)l->n_out, (int)n, (int)l->n_in, 1.0f, l->W,
                  (int)l->ld, b->x[m] + (size_t)k * cap * ldx, (int)ldx, 1.0f, v, (int)l->ld); /* (3) */
      tr->counts.dense_macs[m] += (uint64_t)l->n_in * l->n_out * n;
      if (m + 1 == L) break;
      uint64_t fired = 0;
      for (size_t c = 0; c < n; c++) {
        float *vc = v + c * l->ld, *fp = b->fp[m] + ((size_t)k * cap + c) * l->ld;
        float *out = b->x[m + 1] + ((size_t)k * cap + c) * l->ld;
        for (uint32_t i = 0; i < l->n_out; i++) {
          float d = fabsf(vc[i] - l->threshold);
          fp[i] = d > tr->cutoff ? 0.0f : expf(-d); /* (13) */
          out[i] = vc[i] >= l->threshold ? 1.0f : 0.0f; /* (5) */
          if (out[i] != 0.0f) vc[i] = 0.0f, fired++; /* (6) */
        }
      }
      tr->counts.spikes[m + 1] += fired;
      tr->counts.synops[m + 1] += fired * net->layer[m + 1].n_out;
    }
  tr->counts.steps += (uint64_t)tr->T * n;
}

/* Backward over the held samples: dW += Delta X^T (7) and Delta^{m-1} =
 * f' (W^T Delta) (8), with the carry in time in BPTT mode. */
static void backward(evsnn_trainer_t *tr) {
  const evsnn_net_t *net = tr->net;
  evsnn__batch_t *b = tr->batch;
  uint32_t n = b->n, cap = b->cap, T = tr->T;
  for (uint32_t m = net->n_layers; m-- > 0;) {
    const evsnn_layer_t *l = &net->layer[m];
    size_t ldx = evsnn__pad16(l->n_in);
    for (uint32_t k = T; k-- > 0;) {
      const float *delta = b->delta[m] + (size_t)k * cap * l->ld, *x = b->x[m] + (size_t)k * cap * ldx;
      cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)l->n_out, (int)l->n_in, (int)n, 1.0f, delta,
                  (int)l->ld, x, (int)ldx, 1.0f, tr->dW + l->offset, (int)l->ld); /* (7) */
      if (!m) continue;
      cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)l->n_in, (int)n, (int)l->n_out, 1.0f, l->W,
                  (int)l->ld, delta, (int)l->ld, 0.0f, b->g, (int)ldx);
      float *d = b->delta[m - 1] + (size_t)k * cap * ldx;
      const float *fp = b->fp[m - 1] + (size_t)k * cap * ldx;
      for (size_t j = 0; j < ldx * n; j++) {
        d[j] = fp[j] * b->g[j]; /* (8) */
        if (tr->grad == EVSNN_GRAD_BPTT && k + 1 < T) /* the carry, gated by the reset */
          d[j] += net->beta * (1.0f - x[j]) * d[j + (size_t)cap * ldx];
      }
    }
  }
}

float evsnn__batch_run(evsnn_trainer_t *tr, float scale, uint32_t *correct) {
  const evsnn_net_t *net = tr->net;
  evsnn__batch_t *b = tr->batch;
  uint32_t L = net->n_layers, ldM = net->layer[L - 1].ld;
  forward(tr);
  /* The output layer's Delta per sample: column c of step k's ldM x cap block. */
  float loss = 0;
  for (uint32_t c = 0; c < b->n; c++) {
    uint32_t pred;
    loss += evsnn__output_delta(b->v[L - 1] + (size_t)c * ldM, net->sizes[L], b->labels[c], scale, net->beta, tr->T,
                                b->delta[L - 1] + (size_t)c * ldM, (size_t)b->cap * ldM, &pred);
    *correct += pred == b->labels[c];
  }
  backward(tr);
  return loss;
}
