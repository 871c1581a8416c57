/* The neuron models' threshold and reset, shared by the engines and the
 * trainer, so that the models live in one place: LIF and IF reset to zero
 * or by subtracting the threshold; LI never spikes. */
#include "evsnn/kernels.h"
#include "net/proj.h"

int evsnn__fire(const evsnn_pop_t *p, float *v, uint32_t first, uint32_t n, uint32_t *out, uint32_t *n_out) {
  float s = p->threshold;
  if (p->reset == EVSNN_RESET_ZERO) {
    if (first == 0 && n == p->n) {
      *n_out += evsnn_kernels()->fire(v, n, s, out + *n_out);
      return 0;
    }
    for (uint32_t i = first; i < first + n; i++)
      if (v[i] >= s) out[(*n_out)++] = i, v[i] = 0.0f;
    return 0;
  }
  int again = 0;
  for (uint32_t i = first; i < first + n; i++)
    if (v[i] >= s) {
      out[(*n_out)++] = i;
      v[i] -= s;
      again |= v[i] >= s;
    }
  return again;
}
