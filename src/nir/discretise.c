/* From NIR's continuous-time neurons to evsnn's steps: the leak per step and
 * the scale of the input current, under the two rules the import offers
 * (evsnn/nir.h, docs/nir.md). Pure functions, so that the tests check them
 * against the closed-form solution of the membrane equation. */
#include <math.h>

#include "core/internal.h"
#include "evsnn/nir.h"

int evsnn_nir_discretise(evsnn_nir_rule_t rule, double dt, double tau, double r, double *beta, double *scale) {
  if (!(dt > 0) || !(tau > 0)) return evsnn__fail(EVSNN_ERANGE, "dt %g s and tau %g s must both be > 0", dt, tau);
  if (rule == EVSNN_NIR_EULER) {
    /* Forward Euler is stable only for dt <= tau: beta would go negative. */
    if (dt > tau) return evsnn__fail(EVSNN_ERANGE, "euler needs dt <= tau, got dt %g s > tau %g s", dt, tau);
    *beta = 1.0 - dt / tau;
    *scale = r * dt / tau;
  } else {
    /* The membrane equation solved over one step with I held constant. */
    *beta = exp(-dt / tau);
    *scale = r * -expm1(-dt / tau);
  }
  return 0;
}

void evsnn_nir_snntorch_tau(double beta, double dt, double *tau, double *r) {
  *tau = dt / (1.0 - beta);
  *r = *tau / dt;
}
