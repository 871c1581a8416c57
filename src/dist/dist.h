/* A training run's processes, for the CLI: under mpirun, the ranks of one
 * data-parallel run (src/dist/mpi.c, built with --with-mpi); otherwise one
 * process (src/dist/single.c). The library knows nothing of MPI: it sees
 * the reducer (evsnn_reducer_t in evsnn/train.h) that `base` provides. */
#ifndef EVSNN_DIST_H
#define EVSNN_DIST_H

#include <signal.h>
#include <stdint.h>

#include "evsnn/dataset.h"
#include "evsnn/train.h"

typedef struct {
  evsnn_reducer_t base;              /* for ep->reducer when size > 1 */
  int rank, size, local_size;        /* local_size: the ranks on this node */
  int mpi;                           /* MPI_Init was called */
  int together;                      /* set by the caller: every rank ends the run at once, with the same status */
  int (*stop)(void);                 /* non-zero: this process was asked to stop (cli_stop_signal), or NULL */
  int stopped;                       /* after a reduction: some rank asked to stop (the same on every rank) */
  double timeout;                    /* seconds a rank waits for the others before it gives up */
  /* Totals over the reductions so far, this rank's. */
  double seconds;                    /* spent in reduce, waiting included */
  uint64_t bytes;                    /* sent and received */
  uint64_t batches;
  /* Private to src/dist/mpi.c, sized at the first reduction. */
  float *partial;                    /* the running sum from the previous rank, n floats */
  size_t n, per;                     /* per: doubles of stats a rank sends */
  double *stats;                     /* the shares' loss, correct and stop request, of every rank */
  void *req;                         /* MPI requests, two a chunk */
} dist_t;

/* Starts the run's processes: MPI when launched by mpirun (and built with
 * it), else rank 0 of 1. Returns 0, or prints why not and returns 1.
 * dist_shares then says that each rank runs `threads` shares (the same on
 * every rank) and waits at most `timeout` seconds for the others. */
int dist_init(dist_t *d, int *argc, char ***argv);
void dist_shares(dist_t *d, uint32_t threads, double timeout);
/* Every rank's (what, value) must equal rank 0's: each rank whose value
 * differs prints "evsnn: rank R: <name>: <what> differ from rank 0's" and
 * every rank gets 1; 0 when all agree. Collective. */
int dist_agree(dist_t *d, const char *what, const char *name, uint32_t value);
/* Waits until every rank is here; the ranks but 0 sleep while they wait
 * (MPI's own barrier spins, and would take a core from rank 0's threads
 * when it times something alone). Returns 0, or prints why not and 1. */
int dist_barrier(dist_t *d);

/* CRC-32s: of len bytes; of a dataset's samples (with its shape); of its labels. */
uint32_t dist_crc(const void *p, size_t len);
uint32_t dist_samples_crc(const evsnn_dataset_t *ds);
uint32_t dist_labels_crc(const evsnn_dataset_t *ds);
/* Ends the run with exit status rc: every rank ending together (collective
 * is 1: rc is the same on every rank) finalizes; one rank alone (an error
 * the others do not know of) aborts them all. Returns rc. */
int dist_finish(dist_t *d, int rc, int collective); /* collective: d->together, typically */

#endif
