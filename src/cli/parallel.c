/* The library's parallel-for (evsnn_parallel_t) on libuv's thread pool: one
 * work request per worker but the first, which the calling thread runs while
 * the pool runs the rest; then the private loop waits for them. The only
 * place the CLI hands work to threads. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static void job_work(uv_work_t *req) {
  cli_job_t *j = (cli_job_t *)req;
  j->job(j->ctx, j->w);
}

static void job_done(uv_work_t *req, int status) { (void)req, (void)status; }

static void parallel_run(evsnn_parallel_t *par, void (*job)(void *ctx, uint32_t w), void *ctx) {
  cli_parallel_t *p = (cli_parallel_t *)par;
  for (uint32_t w = 1; w < par->n_workers; w++) {
    p->jobs[w].job = job, p->jobs[w].ctx = ctx, p->jobs[w].w = w;
    uv_queue_work(&p->loop, &p->jobs[w].req, job_work, job_done);
  }
  /* A sleeping caller costs a wake-up per call (2 ms a batch when training
   * on 2 cores, measured); a working one is already awake when the pool ends. */
  job(ctx, 0);
  uv_run(&p->loop, UV_RUN_DEFAULT);
}

void cli_parallel_init(cli_parallel_t *p, uint32_t n_workers) {
  /* libuv reads the pool size once, at its first use; the caller is the
   * n-th worker. */
  char pool[16];
  snprintf(pool, sizeof pool, "%u", n_workers > 1 ? n_workers - 1 : 1);
  setenv("UV_THREADPOOL_SIZE", pool, 1);
  p->base.run = parallel_run;
  p->base.n_workers = n_workers;
  uv_loop_init(&p->loop);
}

void cli_parallel_close(cli_parallel_t *p) { uv_loop_close(&p->loop); }
