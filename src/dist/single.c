/* One process: what src/dist/dist.h means in a build without MPI (and
 * what src/dist/mpi.c does when evsnn was not started by mpirun). */
#include "dist/dist.h"

int dist_init(dist_t *d, int *argc, char ***argv) {
  (void)argc, (void)argv;
  *d = (dist_t){.rank = 0, .size = 1, .local_size = 1, .timeout = 60};
  return 0;
}

void dist_shares(dist_t *d, uint32_t threads, double timeout) {
  d->base.n_shares = threads, d->base.first = 0, d->timeout = timeout;
}

int dist_agree(dist_t *d, const char *what, const char *name, uint32_t value) {
  (void)d, (void)what, (void)name, (void)value;
  return 0;
}

int dist_finish(dist_t *d, int rc, int collective) {
  (void)d, (void)collective;
  return rc;
}

int dist_barrier(dist_t *d) {
  (void)d;
  return 0;
}
