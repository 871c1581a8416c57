/* Adam (Kingma and Ba 2014) over one flat parameter array. Padding lanes
 * have zero gradient, so their moments and values stay zero. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "evsnn/train.h"

int evsnn_adam_init(evsnn_adam_t *opt, size_t n, float lr) {
  memset(opt, 0, sizeof *opt);
  opt->m = evsnn__alloc_aligned(n, sizeof(float));
  opt->v = evsnn__alloc_aligned(n, sizeof(float));
  if (!opt->m || !opt->v) {
    evsnn_adam_free(opt);
    return evsnn__fail(EVSNN_ENOMEM, "adam: %zu parameters", n);
  }
  opt->n = n;
  opt->lr = lr;
  opt->beta1 = 0.9f;
  opt->beta2 = 0.999f;
  opt->eps = 1e-8f;
  return 0;
}

void evsnn_adam_free(evsnn_adam_t *opt) {
  evsnn__free_aligned(opt->m);
  evsnn__free_aligned(opt->v);
  memset(opt, 0, sizeof *opt);
}

void evsnn_adam_next(evsnn_adam_t *opt) {
  opt->t++;
  float c1 = 1.0f - powf(opt->beta1, (float)opt->t), c2 = 1.0f - powf(opt->beta2, (float)opt->t);
  opt->step_ = opt->lr * sqrtf(c2) / c1; /* bias corrections folded into the step */
  opt->eps_ = opt->eps * sqrtf(c2);
}

void evsnn_adam_update(const evsnn_adam_t *opt, float *params, const float *grad, size_t begin, size_t end) {
  evsnn_kernels()->adam(params + begin, opt->m + begin, opt->v + begin, grad + begin, end - begin, opt->beta1,
                        opt->beta2, opt->step_, opt->eps_);
}

void evsnn_adam_step(evsnn_adam_t *opt, float *params, const float *grad) {
  evsnn_adam_next(opt);
  evsnn_adam_update(opt, params, grad, 0, opt->n);
}

float evsnn_lr_at(const evsnn_lr_schedule_t *s, double t) {
  switch (s->shape) {
  case EVSNN_LR_COSINE:
    return (float)(s->lr * 0.5 * (1 + cos(M_PI * floor(t) / s->epochs)));
  case EVSNN_LR_WARMUP_COSINE:
    if (t < s->warmup) return (float)(s->lr + (s->peak - s->lr) * t / s->warmup);
    return (float)(s->peak * 0.5 * (1 + cos(M_PI * (t - s->warmup) / (s->epochs - s->warmup))));
  default:
    return (float)s->lr;
  }
}
