/* Data-parallel training over MPI: the reducer that sums the gradients of
 * every rank's shares of a batch in share order, so that N ranks with t
 * threads each give the bits of one process with N t shares; the check
 * that all ranks read the same data with the same settings; and a watchdog,
 * since a rank that hangs (or a node that is gone without its process
 * being reaped) would otherwise leave the others blocked for ever.
 *
 * Why a chain, not MPI_Allreduce: MPI does not fix the order in which an
 * allreduce adds its contributions, and float addition is not associative.
 * One process sums G_0 + G_1, then + G_2, ... So does the chain: rank 0
 * adds its shares, sends the running sum to rank 1, which adds its own in
 * order, and so on; rank N-1 ends with the total and broadcasts it (a copy,
 * no arithmetic). The gradient goes in chunks, so that rank r + 1 adds
 * chunk c while chunk c + 1 is on its way: every link carries the gradient
 * once, as in a ring reduce-scatter, plus N - 1 chunks to fill the chain.
 * Every rank then takes the same Adam step over the whole vector (src/train
 * loop.c's slices, on its own threads): the states stay identical without
 * another exchange, and rank 0 holds everything a checkpoint needs. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/internal.h"
#include "cli/cli.h"
#include "dist/dist.h"

/* 16 Ki floats (64 KiB): large enough that a chunk costs its bytes, not
 * its latency, on shared memory and on 10 Gb/s links alike. */
#define CHUNK 16384
/* Tags up to 32767 are the least MPI promises; the chunks take the others. */
#define BARRIER_TAG 32767

static char watchdog_msg[256];
static size_t watchdog_len;

/* alarm's handler: only async-signal-safe calls. The exit status tells
 * mpirun to end the job, which also ends a rank that hangs. */
static void on_watchdog(int sig) {
  (void)sig;
  ssize_t w = write(2, watchdog_msg, watchdog_len);
  (void)w;
  _exit(1);
}

static void watch(const dist_t *d) { alarm((unsigned)ceil(d->timeout)); }
static void unwatch(void) { alarm(0); }

/* Some MPI call failed (the default handler aborts before this can be
 * reached; this is for one that returns). */
static int mpi_fail(const dist_t *d, int rc, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return evsnn__fail(EVSNN_EIO, "rank %d: %s: %s", d->rank, what, text);
}

static int reduce(evsnn_reducer_t *base, float *const *dW, uint32_t n_tr, size_t n, double *loss,
                  uint32_t *correct) {
  dist_t *d = (dist_t *)base;
  double t0 = evsnn__now();
  /* This rank's stats, then every rank's: loss, correct and stop request
   * of each share (as doubles, so one allgather carries them). */
  size_t per = 2 * (size_t)n_tr + 1, chunks = (n + CHUNK - 1) / CHUNK;
  if (n != d->n || per != d->per) { /* sized at the first batch */
    free(d->partial), free(d->stats), free(d->req);
    d->partial = malloc(sizeof(float) * (n ? n : 1));
    d->stats = malloc(sizeof(double) * per * (size_t)(d->size + 1));
    d->req = malloc(sizeof(MPI_Request) * 2 * (chunks ? chunks : 1));
    d->n = n, d->per = per;
    if (!d->partial || !d->stats || !d->req) {
      d->per = 0; /* sized again next time */
      return evsnn__fail(EVSNN_ENOMEM, "rank %d: reduction buffers", d->rank);
    }
  }
  double *mine = d->stats + per * (size_t)d->size;
  for (uint32_t w = 0; w < n_tr; w++)
    mine[2 * w] = loss[d->base.first + w], mine[2 * w + 1] = correct[d->base.first + w];
  mine[2 * n_tr] = d->stop && d->stop();

  watch(d);
  int rc = MPI_SUCCESS, last = d->size - 1;
  /* Rank 0 sums into its first share's gradient, the others into partial
   * (received from the previous rank): the same additions in the same
   * order as src/train/loop.c's reduce_update. */
  float *acc = d->rank ? d->partial : dW[0];
  MPI_Request *recv = d->req, *send = recv + chunks;
  for (size_t c = 0; c < chunks; c++) {
    size_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
    recv[c] = send[c] = MPI_REQUEST_NULL;
    if (d->rank && rc == MPI_SUCCESS)
      rc = MPI_Irecv(acc + lo, (int)len, MPI_FLOAT, d->rank - 1, (int)(c % BARRIER_TAG), MPI_COMM_WORLD, &recv[c]);
  }
  for (size_t c = 0; c < chunks && rc == MPI_SUCCESS; c++) {
    size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
    if (d->rank && (rc = MPI_Wait(&recv[c], MPI_STATUS_IGNORE)) != MPI_SUCCESS) break;
    for (uint32_t w = d->rank ? 0 : 1; w < n_tr; w++) {
      const float *g = dW[w];
      for (size_t p = lo; p < hi; p++) acc[p] += g[p];
    }
    if (d->rank < last)
      rc = MPI_Isend(acc + lo, (int)(hi - lo), MPI_FLOAT, d->rank + 1, (int)(c % BARRIER_TAG), MPI_COMM_WORLD, &send[c]);
  }
  if (rc == MPI_SUCCESS) rc = MPI_Waitall((int)chunks, send, MPI_STATUSES_IGNORE);
  if (rc != MPI_SUCCESS) return unwatch(), mpi_fail(d, rc, "summing the gradients");
  if (d->rank == last) memcpy(dW[0], acc, sizeof(float) * n);
  if ((rc = MPI_Bcast(dW[0], (int)n, MPI_FLOAT, last, MPI_COMM_WORLD)) != MPI_SUCCESS)
    return unwatch(), mpi_fail(d, rc, "sharing the gradient");
  if ((rc = MPI_Allgather(mine, (int)per, MPI_DOUBLE, d->stats, (int)per, MPI_DOUBLE, MPI_COMM_WORLD)) != MPI_SUCCESS)
    return unwatch(), mpi_fail(d, rc, "sharing the losses");
  unwatch();
  d->stopped = 0;
  for (int r = 0; r < d->size; r++) {
    const double *s = d->stats + per * (size_t)r;
    for (uint32_t w = 0; w < n_tr; w++) loss[r * n_tr + w] = s[2 * w], correct[r * n_tr + w] = (uint32_t)s[2 * w + 1];
    d->stopped |= s[2 * n_tr] != 0;
  }
  /* What crossed rank 0's link: the running sum out, the total in, and
   * the stats (every rank's, in). The other ranks move at least as much. */
  d->bytes += 2 * sizeof(float) * n + sizeof(double) * per * (size_t)d->size;
  d->seconds += evsnn__now() - t0;
  d->batches++;
  return 0;
}

int dist_init(dist_t *d, int *argc, char ***argv) {
  *d = (dist_t){.rank = 0, .size = 1, .local_size = 1, .timeout = 60};
  /* Only under mpirun: run by hand, an MPI build is the one-process evsnn. */
  if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK")) return 0;
  int rc = MPI_Init(argc, argv);
  if (rc != MPI_SUCCESS) {
    fprintf(stderr, "evsnn: MPI_Init failed (%d)\n", rc);
    return 1;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  d->local_size = local && atoi(local) > 0 ? atoi(local) : 1;
  d->base.reduce = reduce;
  d->mpi = 1;
  dist_shares(d, 1, d->timeout);
  signal(SIGALRM, on_watchdog);
  return 0;
}

void dist_shares(dist_t *d, uint32_t threads, double timeout) {
  d->base.n_shares = (uint32_t)d->size * threads;
  d->base.first = (uint32_t)d->rank * threads;
  d->timeout = timeout;
  int len = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "evsnn: rank %d: no word from the other ranks for %.0f s (one died or hangs); stopping\n", d->rank,
                     ceil(d->timeout));
  watchdog_len = len > 0 && (size_t)len < sizeof watchdog_msg ? (size_t)len : 0;
}

int dist_agree(dist_t *d, const char *what, const char *name, uint32_t value) {
  if (d->size == 1) return 0;
  uint32_t *all = malloc(sizeof(uint32_t) * (size_t)d->size);
  if (!all) {
    fprintf(stderr, "evsnn: rank %d: out of memory\n", d->rank);
    return dist_finish(d, 1, 0);
  }
  watch(d);
  int rc = MPI_Allgather(&value, 1, MPI_UINT32_T, all, 1, MPI_UINT32_T, MPI_COMM_WORLD);
  unwatch();
  int differ = 0;
  for (int r = 1; r < d->size && rc == MPI_SUCCESS; r++) differ |= all[r] != all[0];
  if (rc == MPI_SUCCESS && all[d->rank] != all[0])
    fprintf(stderr, "evsnn: rank %d: %s: %s differ from rank 0's (crc32 %08x, rank 0 %08x); every rank must read "
            "the same data with the same settings\n", d->rank, name, what, all[d->rank], all[0]);
  free(all);
  if (rc != MPI_SUCCESS) {
    cli_fail(mpi_fail(d, rc, what), "MPI");
    return 1;
  }
  return differ;
}

int dist_barrier(dist_t *d) {
  if (d->size == 1) return 0;
  int rc = MPI_SUCCESS, token = 0;
  watch(d);
  /* Everyone reports to rank 0, which then lets everyone go. */
  if (d->rank == 0) {
    for (int r = 1; r < d->size && rc == MPI_SUCCESS; r++)
      rc = MPI_Recv(&token, 1, MPI_INT, r, BARRIER_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int r = 1; r < d->size && rc == MPI_SUCCESS; r++) rc = MPI_Send(&token, 1, MPI_INT, r, BARRIER_TAG, MPI_COMM_WORLD);
  } else {
    MPI_Request req;
    int done = 0;
    rc = MPI_Send(&token, 1, MPI_INT, 0, BARRIER_TAG, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) rc = MPI_Irecv(&token, 1, MPI_INT, 0, BARRIER_TAG, MPI_COMM_WORLD, &req);
    while (rc == MPI_SUCCESS && !done && (rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE)) == MPI_SUCCESS && !done)
      usleep(1000);
  }
  unwatch();
  if (rc != MPI_SUCCESS) {
    cli_fail(mpi_fail(d, rc, "waiting for the other ranks"), "MPI");
    return 1;
  }
  return 0;
}

int dist_finish(dist_t *d, int rc, int collective) {
  if (!d->mpi) return rc;
  free(d->partial), free(d->stats), free(d->req);
  d->partial = NULL, d->stats = NULL, d->req = NULL;
  if (rc && !collective) MPI_Abort(MPI_COMM_WORLD, rc);
  MPI_Finalize();
  return rc;
}
