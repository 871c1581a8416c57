/* evsnn bench: forward inference of a network (the paper's by default, any
 * with --net) on MNIST test images or event recordings, with the event
 * engine and the dense CBLAS engine in the same run, the same input for
 * both, their predictions compared before any figure is printed; with
 * --train, training (forward, backward and Adam) with the event trainer and
 * the dense trainers from the same start on the same batches. Timings are
 * medians of --repeat runs. Under mpirun, --train times the event trainer
 * on the ranks against rank 0 alone with as many threads, and the
 * reduction between them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "core/internal.h"
#include "dist/dist.h"
#include "evsnn.h"
#include "evsnn/dataset.h"

/* One worker's share of the test set: images [begin, end), with its own
 * engine state and encoder, allocated once before timing. */
typedef struct {
  const evsnn_dataset_t *data;
  uint32_t begin, end, T;
  uint64_t seed;
  int dense; /* which engine this run times */
  uint32_t *pred;
  evsnn_state_t st;
  evsnn_dense_t d;
  evsnn_poisson_t enc;
  uint32_t *in; /* the dense engine's input list */
} bench_worker_t;

#define PAPER_NET "784 dense300 lif[ts=5] dense300 lif[ts=3] dense10 li"

/* The network a bench runs, with the paper's initialisation from seed. */
static int bench_net(evsnn_net_t *net, const char *desc, uint64_t seed) {
  int err = evsnn_net_parse(net, desc);
  if (err) return cli_fail(err, "--net");
  evsnn_net_init_params(net, seed, EVSNN_INIT_FANIN, NULL);
  return 0;
}

/* MNIST images (DIR or the default search), or with DIR/train and
 * DIR/test event recordings binned into T steps fitted to the network's
 * input. *used names what was loaded. */
static int bench_data(const char *dir, const evsnn_net_t *net, uint32_t T, evsnn_dataset_t *train,
                      evsnn_dataset_t *test, char *used, size_t size) {
  int err, is_sample = 0;
  if (dir && evsnn_dataset_is_events_dir(dir)) {
    if ((err = evsnn_dataset_load_events_dir(train, test, dir, evsnn_net_inputs(net), T, 0, EVSNN_BIN_BINARY,
                                             &net->sensor)))
      return cli_fail(err, dir);
    snprintf(used, size, "%s (event recordings in %u bins)", dir, T);
    return 0;
  }
  if ((err = evsnn_dataset_load_dir(train, test, dir, &is_sample, used, size))) return cli_fail(err, dir ? dir : "MNIST");
  if (is_sample)
    fprintf(stderr, "evsnn: NOTE: using the embedded sample (%s), not the full MNIST set; run datasets/fetch-mnist\n", used);
  if ((uint64_t)train->rows * train->cols != evsnn_net_inputs(net)) {
    evsnn_dataset_free(train), evsnn_dataset_free(test);
    return cli_usage("bench: the network takes %u inputs, the images of %s have %u pixels", evsnn_net_inputs(net), used,
                     train->rows * train->cols);
  }
  return 0;
}

/* Each image gets its own random stream (seed, image index), so both
 * engines, and any number of threads, see the very same input spikes. */
static void classify_range(void *ctx, uint32_t i_worker) {
  bench_worker_t *w = (bench_worker_t *)ctx + i_worker;
  for (uint32_t i = w->begin; i < w->end; i++) {
    evsnn_rng_t rng;
    evsnn_input_t in;
    evsnn_rng_init(&rng, w->seed, i);
    evsnn_dataset_input(w->data, i, &w->enc, &rng, &in);
    if (!w->dense) {
      w->pred[i] = evsnn_state_classify(&w->st, &in, w->T);
      continue;
    }
    evsnn_dense_reset(&w->d);
    for (uint32_t k = 0; k < w->T; k++) evsnn_dense_step(&w->d, w->in, evsnn_input_step(&in, k, w->in));
    w->pred[i] = evsnn_dense_decision(&w->d);
  }
}

/* Runs all workers on the thread pool; returns the wall time. */
static double run_all(cli_parallel_t *par, bench_worker_t *w, int dense, uint32_t T, uint32_t *pred) {
  double t0 = evsnn__now();
  for (uint32_t i = 0; i < par->base.n_workers; i++) {
    w[i].dense = dense;
    w[i].T = T;
    w[i].pred = pred;
  }
  par->base.run(&par->base, classify_range, w);
  return evsnn__now() - t0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static int usage_bench(void) {
  printf("usage: evsnn bench [--net DESC | --model MODEL] [--data DIR] [--limit N] [--steps T[,T...]] [--repeat R]\n"
         "                   [--threads N] [--seed S]\n"
         "       evsnn bench --train [--net DESC] [--data DIR] [--batches N] [--steps T] [--grad bptt|paper]\n"
         "                   [--grad-cutoff C] [--repeat R] [--threads N] [--seed S]\n"
         "  Times inference of a network (default the paper's 784-300-300-10; --net: any description,\n"
         "  docs/net-description.md; paper initialisation) with the event engine and the dense CBLAS\n"
         "  engine on the same input: MNIST test images, or with DIR/train and DIR/test event\n"
         "  recordings, their test split binned into T steps (one T); --model: a trained network, at\n"
         "  the sparsity it learned. With --train, N training\n"
         "  batches of 64 (default 40, T = 20) with each trainer (dense-batch: fully connected only).\n"
         "  mpirun -np N evsnn bench --train: the event trainer on N ranks x --threads against rank 0 alone\n"
         "  with N x --threads threads (the same model, checked), the reduction's time and bytes per batch.\n");
  return 0;
}

/* Trains a fresh paper network on the first n_batches x 64 training images
 * with the given engine (sharing the batches through red if non-NULL);
 * returns the wall time, the mean loss in *loss, the trace statistics in
 * *c (summed over the workers) and the CRC-32 of the weights in *crc. */
static double train_run(cli_parallel_t *par, evsnn_trainer_t **tr, const char *desc, const evsnn_dataset_t *d,
                        evsnn_engine_t engine, uint32_t T, evsnn_grad_t grad, float cutoff, uint64_t seed, double *loss,
                        evsnn_counts_t *c, double *fprime_zero, evsnn_reducer_t *red, uint32_t *crc) {
  evsnn_net_t net;
  evsnn_adam_t opt;
  uint32_t n_w = par->base.n_workers;
  int err = bench_net(&net, desc, seed);
  if (err) return -1;
  for (uint32_t w = 0; w < n_w && !err; w++)
    if (!(err = evsnn_trainer_new(&tr[w], &net, T, grad, engine))) evsnn_trainer_set_cutoff(tr[w], cutoff);
  if (!err) err = evsnn_adam_init(&opt, net.n_params, 1e-4f);
  if (err) return cli_fail(err, "bench --train"), -1;
  evsnn_epoch_t ep = {.batch = 64, .seed = seed, .reducer = red};
  double t0 = evsnn__now();
  err = evsnn_train_epoch(tr, n_w, n_w > 1 ? &par->base : NULL, &opt, &net, d, &ep);
  double dt = evsnn__now() - t0;
  *loss = ep.loss_sum / d->n;
  *crc = dist_crc(net.params, sizeof(float) * net.n_params);
  /* How sparse a cutoff made f' (and so Delta), in worker 0's last sample. */
  double zero = 0, cells = 0;
  for (uint32_t m = 1; m + 1 < net.n_pops; m++)
    for (uint32_t k = 0; k < T; k++)
      for (uint32_t i = 0; i < net.pop[m].n; i++, cells++) zero += evsnn_trainer_fprime(tr[0], m, k)[i] == 0;
  *fprime_zero = cells ? zero / cells : 0;
  memset(c, 0, sizeof *c);
  for (uint32_t w = 0; w < n_w; w++) {
    const evsnn_counts_t *cw = evsnn_trainer_counts(tr[w]);
    for (uint32_t m = 0; m < net.n_pops; m++) c->spikes[m] += cw->spikes[m];
    for (uint32_t q = 0; q < net.n_projs; q++) c->synops[q] += cw->synops[q], c->dense_macs[q] += cw->dense_macs[q];
    evsnn_trainer_free(tr[w]);
  }
  evsnn_adam_free(&opt);
  evsnn_net_free(&net);
  return err ? (cli_fail(err, "bench --train"), -1) : dt;
}

/* Under mpirun: the event trainer on every rank's `threads`, then on rank
 * 0 alone with as many threads in all while the others sleep; the two
 * models must be the same bits before a figure is printed. Then the
 * reduction alone, on zero gradients: its cost without waiting for a
 * slower rank. */
static int bench_ranks(dist_t *dist, const char *desc, const char *text, const evsnn_dataset_t *d, long threads,
                       long repeat, uint32_t T, evsnn_grad_t grad, float cutoff, uint64_t seed, const char *used) {
  uint32_t shares = (uint32_t)(dist->size * threads);
  if (shares > CLI_MAX_THREADS) return cli_usage("bench: %u shares, at most %d", shares, CLI_MAX_THREADS);
  cli_parallel_t mine, alone;
  cli_parallel_init(&mine, (uint32_t)threads);
  cli_parallel_init(&alone, shares); /* the pool's size is read at its first use: the larger one */
  dist_shares(dist, (uint32_t)threads, 60);
  evsnn_trainer_t **tr = calloc(shares, sizeof *tr);
  if (!tr) return cli_fail(EVSNN_ENOMEM, "bench");
  if (!dist->rank)
    printf("evsnn bench --train: \"%s\",\n"
           "                     %u training samples (%u batches of 64) from %s, T %u, event engine,\n"
           "                     %d ranks x %ld thread(s) against 1 rank x %u threads, median of %ld runs\n",
           text, d->n, (d->n + 63) / 64, used, T, dist->size, threads, shares, repeat);
  double t_ranks[100], t_alone[100], reduce_s[100], loss_ranks = 0, loss_alone = 0, unused;
  uint64_t bytes = 0, batches = 0;
  uint32_t crc_ranks = 0, crc_alone = 0;
  evsnn_counts_t c;
  int rc = 0;
  for (long r = 0; r < repeat && !rc; r++) {
    if ((rc = dist_barrier(dist))) break;
    double s0 = dist->seconds;
    uint64_t b0 = dist->batches, y0 = dist->bytes;
    t_ranks[r] = train_run(&mine, tr, desc, d, EVSNN_ENGINE_EVENT, T, grad, cutoff, seed, &loss_ranks, &c, &unused,
                           &dist->base, &crc_ranks);
    if (t_ranks[r] < 0) return dist_finish(dist, 1, 0);
    reduce_s[r] = (dist->seconds - s0) / (double)(dist->batches - b0);
    bytes = (dist->bytes - y0) / (dist->batches - b0), batches = dist->batches - b0;
    if ((rc = dist_barrier(dist))) break;
    if (!dist->rank && (t_alone[r] = train_run(&alone, tr, desc, d, EVSNN_ENGINE_EVENT, T, grad, cutoff, seed, &loss_alone, &c,
                                               &unused, NULL, &crc_alone)) < 0)
      return dist_finish(dist, 1, 0);
  }
  if (!rc && !dist->rank && crc_ranks != crc_alone) {
    fprintf(stderr, "evsnn: bench: %d ranks x %ld thread(s) and 1 x %u trained different weights (crc32 %08x, %08x)\n",
            dist->size, threads, shares, crc_ranks, crc_alone);
    rc = 1;
  }
  /* The reduction alone: zero gradients, every rank at the barrier first. */
  evsnn_net_t net;
  if (!rc && bench_net(&net, desc, seed)) rc = 1;
  size_t n = rc ? 1 : net.n_params;
  if (!rc) evsnn_net_free(&net);
  float **g = calloc((size_t)threads, sizeof *g);
  double *loss = calloc(shares, sizeof *loss), alone_s[20];
  uint32_t *correct = calloc(shares, sizeof *correct);
  for (long w = 0; g && w < threads; w++) g[w] = calloc(n, sizeof(float));
  if (!rc && !(g && loss && correct && g[threads - 1])) rc = cli_fail(EVSNN_ENOMEM, "bench");
  for (int k = 0; k < 20 && !rc; k++) {
    if ((rc = dist_barrier(dist))) break;
    double t0 = evsnn__now();
    if ((rc = dist->base.reduce(&dist->base, g, (uint32_t)threads, n, loss, correct))) rc = cli_fail(rc, "bench");
    alone_s[k] = evsnn__now() - t0;
  }
  if (!rc && !dist->rank) {
    double mr = median(t_ranks, (int)repeat), ma = median(t_alone, (int)repeat), red = median(reduce_s, (int)repeat);
    double pure = median(alone_s, 20);
    char ranks_name[32], alone_name[32];
    snprintf(ranks_name, sizeof ranks_name, "%d ranks x %ld", dist->size, threads);
    snprintf(alone_name, sizeof alone_name, "1 rank x %u", shares);
    printf("%-14s %10s %10s %16s %18s %10s\n", "layout", "samples/s", "ms/batch", "reduce ms/batch", "bytes/batch/rank",
           "mean loss");
    printf("%-14s %10.0f %10.2f %16.2f %18llu %10.4f\n", ranks_name, d->n / mr, 1e3 * mr / (double)batches, 1e3 * red,
           (unsigned long long)bytes, loss_ranks);
    printf("%-14s %10.0f %10.2f %16s %18s %10.4f\n", alone_name, d->n / ma, 1e3 * ma / (double)batches, "-", "-",
           loss_alone);
    printf("the same weights, bit for bit (crc32 %08x); %d ranks x %ld at %.2fx the speed of 1 rank x %u\n", crc_ranks,
           dist->size, threads, ma / mr, shares);
    printf("the reduction alone (%zu floats, no compute, median of 20): %.3f ms per batch, %.2f GB/s per link\n", n,
           1e3 * pure, 2 * 4.0 * (double)n / pure / 1e9);
  }
  for (long w = 0; g && w < threads; w++) free(g[w]);
  free(g), free(loss), free(correct);
  free(tr); /* train_run frees the trainers */
  cli_parallel_close(&mine), cli_parallel_close(&alone);
  return dist_finish(dist, rc, !rc);
}

static int bench_train(int argc, char **argv, dist_t *dist) {
  const char *dir = NULL, *desc = PAPER_NET;
  long batches = 40, repeat = 3, seed = 1, threads = 1, T = 20;
  double cutoff = INFINITY;
  evsnn_grad_t grad = EVSNN_GRAD_PAPER;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--train")) continue;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_bench();
    if (!val) return cli_usage("bench: %s needs a value", a);
    i++;
    if (!strcmp(a, "--data")) dir = val;
    else if (!strcmp(a, "--net")) desc = val;
    else if (!strcmp(a, "--batches")) { if (!cli_parse_long(a, val, 1, 100000, &batches)) return 2; }
    else if (!strcmp(a, "--steps")) { if (!cli_parse_long(a, val, 1, 10000, &T)) return 2; }
    else if (!strcmp(a, "--repeat")) { if (!cli_parse_long(a, val, 1, 100, &repeat)) return 2; }
    else if (!strcmp(a, "--threads")) { if (!cli_parse_long(a, val, 1, CLI_MAX_THREADS, &threads)) return 2; }
    else if (!strcmp(a, "--seed")) { if (!cli_parse_long(a, val, 0, 0x7fffffffL, &seed)) return 2; }
    else if (!strcmp(a, "--grad-cutoff")) { if (!cli_parse_double(a, val, &cutoff) || !(cutoff > 0)) return cli_usage("bench: --grad-cutoff must be > 0"); }
    else if (!strcmp(a, "--grad")) {
      if (!strcmp(val, "bptt")) grad = EVSNN_GRAD_BPTT;
      else if (!strcmp(val, "paper")) grad = EVSNN_GRAD_PAPER;
      else return cli_usage("bench: --grad: expected bptt or paper, got '%s'", val);
    } else return cli_usage("bench: unknown option '%s' with --train (see evsnn bench --help)", a);
  }
  evsnn_dataset_t train = {0}, test = {0};
  int rc;
  char used[1024];
  evsnn_net_t shape;
  if (bench_net(&shape, desc, (uint64_t)seed)) return 2;
  int err = bench_data(dir, &shape, (uint32_t)T, &train, &test, used, sizeof used), chain = shape.n_layers > 0;
  char text[512];
  evsnn_net_describe(&shape, text, sizeof text);
  evsnn_net_free(&shape);
  if (err) return err;
  evsnn_dataset_free(&test);
  evsnn_dataset_limit(&train, (uint32_t)(batches * 64));
  if (dist->size > 1) {
    rc = bench_ranks(dist, desc, text, &train, threads, repeat, (uint32_t)T, grad, (float)cutoff, (uint64_t)seed, used);
    evsnn_dataset_free(&train);
    return rc;
  }
  cli_parallel_t par;
  cli_parallel_init(&par, (uint32_t)threads);
  evsnn_trainer_t **tr = calloc((size_t)threads, sizeof *tr);
  if (!tr) return cli_fail(EVSNN_ENOMEM, "bench");
  printf("evsnn bench --train: \"%s\",\n"
         "                     %u training samples (%ld batches of 64) from %s, T %ld, grad %s%s,\n"
         "                     Adam, kernels %s, %ld thread(s), median of %ld runs\n",
         text, train.n, batches, used, T, grad == EVSNN_GRAD_BPTT ? "bptt" : "paper", isinf(cutoff) ? "" : " with cutoff",
         evsnn_kernels()->name, threads, repeat);
  /* The event trainer, the per-sample dense trainer (the gradients'
   * reference) and the batched one (a sgemm per layer and step over each
   * worker's share of the batch: the stronger dense baseline, for fully
   * connected networks). */
  int ENGINES = chain ? 3 : 2;
  double t[3][100], loss[3] = {0}, fprime_zero = 0, unused;
  evsnn_counts_t c[3];
  uint32_t crc;
  for (long r = 0; r < repeat; r++)
    for (int e = 0; e < ENGINES; e++)
      if ((t[e][r] = train_run(&par, tr, desc, &train, (evsnn_engine_t)e, (uint32_t)T, grad, (float)cutoff, (uint64_t)seed,
                               &loss[e], &c[e], e == EVSNN_ENGINE_EVENT ? &fprime_zero : &unused, NULL, &crc)) < 0)
        return 1;
  double med[3], n = train.n;
  printf("%-12s %12s %14s %12s\n", "engine", "samples/s", "epoch (60k) s", "mean loss");
  for (int e = 0; e < ENGINES; e++) {
    med[e] = median(t[e], (int)repeat);
    printf("%-12s %12.0f %14.1f %12.4f\n", cli_engine_name((evsnn_engine_t)e), n / med[e], 60000 * med[e] / n, loss[e]);
  }
  printf("event engine %.2fx faster than the dense engine", med[EVSNN_ENGINE_DENSE] / med[EVSNN_ENGINE_EVENT]);
  if (chain) printf(", %.2fx faster than the batched dense engine", med[EVSNN_ENGINE_DENSE_BATCH] / med[EVSNN_ENGINE_EVENT]);
  printf("\n");
  if (!isinf(cutoff))
    printf("surrogate cutoff %g: f'(u - s), hence Delta, is zero in %.1f%% of hidden neuron-steps (last sample)\n",
           cutoff, 100 * fprime_zero);
  /* The trace the backward pass keeps per sample: spike index lists (4
   * bytes a spike, plus T + 1 offsets a layer) against the 0/1 rasters a
   * dense implementation keeps (a float per neuron and step, as the dense
   * trainer here and tensor frameworks hold them; a bit each at best). The
   * per-neuron f'(u - s) is the same in both and counted apart. */
  evsnn_net_t net;
  bench_net(&net, desc, (uint64_t)seed);
  double spikes = 0, raster_cells = 0, fprime = 0, synops = 0, macs = 0;
  printf("per sample: spikes");
  for (uint32_t m = 0; m + 1 < net.n_pops; m++) {
    spikes += (double)c[0].spikes[m] / n, raster_cells += (double)T * net.pop[m].n;
    if (m) fprime += 4.0 * T * net.pop[m].n;
    printf(" %s %.0f", net.pop[m].name, c[0].spikes[m] / n);
  }
  for (uint32_t q = 0; q < net.n_projs; q++) synops += (double)c[0].synops[q], macs += (double)c[0].dense_macs[q];
  printf("; synaptic ops %.0f vs dense MACs %.0f (forward)\n", synops / n, macs / n);
  printf("trace per sample: spike lists %.0f bytes vs dense rasters %.0f bytes as float32 (%.0f as bits); "
         "f'(u - s) %.0f bytes in both\n", 4 * spikes + 4.0 * (net.n_pops - 1) * (T + 1), 4 * raster_cells,
         raster_cells / 8, fprime);
  evsnn_net_free(&net);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak memory (max RSS): %.1f MiB\n", ru.ru_maxrss / 1024.0);
  free(tr);
  cli_parallel_close(&par);
  evsnn_dataset_free(&train);
  return 0;
}

int evsnn_cmd_bench(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--train")) {
      dist_t dist;
      if (dist_init(&dist, &argc, &argv)) return 1;
      if (dist.rank && !freopen("/dev/null", "w", stdout)) return dist_finish(&dist, 1, 0); /* rank 0 prints */
      int rc = bench_train(argc, argv, &dist);
      return dist.size > 1 ? rc : dist_finish(&dist, rc, 1);
    }
  const char *dir = NULL, *steps_arg = NULL, *desc = PAPER_NET, *model = NULL;
  long limit = 10000, repeat = 3, seed = 1, threads = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_bench();
    if (!val) return cli_usage("bench: %s needs a value", a);
    if (!strcmp(a, "--data")) dir = val;
    else if (!strcmp(a, "--net")) desc = val;
    else if (!strcmp(a, "--model")) model = val;
    else if (!strcmp(a, "--steps")) steps_arg = val;
    else if (!strcmp(a, "--limit")) { if (!cli_parse_long(a, val, 1, 10000000, &limit)) return 2; }
    else if (!strcmp(a, "--repeat")) { if (!cli_parse_long(a, val, 1, 100, &repeat)) return 2; }
    else if (!strcmp(a, "--threads")) { if (!cli_parse_long(a, val, 1, CLI_MAX_THREADS, &threads)) return 2; }
    else if (!strcmp(a, "--seed")) { if (!cli_parse_long(a, val, 0, 0x7fffffffL, &seed)) return 2; }
    else return cli_usage("bench: unknown option '%s' (see evsnn bench --help)", a);
    i++;
  }
  int events = dir && evsnn_dataset_is_events_dir(dir);
  if (!steps_arg) steps_arg = events ? "20" : "5,20";
  uint32_t steps[8];
  int n_steps = 0;
  for (char *s = (char *)steps_arg; *s && n_steps < 8;) {
    char *end;
    long t = strtol(s, &end, 10);
    if (end == s || t < 1 || t > 10000 || (*end && *end != ',')) return cli_usage("bench: --steps: bad list '%s'", steps_arg);
    steps[n_steps++] = (uint32_t)t;
    s = *end ? end + 1 : end;
  }

  if (events && n_steps > 1) return cli_usage("bench: event recordings are binned into one T: give one --steps");
  evsnn_net_t net;
  if (model ? cli_load_model(model, &net) : bench_net(&net, desc, (uint64_t)seed)) return model ? 1 : 2;
  evsnn_dataset_t train = {0}, test = {0};
  char used[1024], text[512];
  int err;
  if ((err = bench_data(dir, &net, steps[0], &train, &test, used, sizeof used))) return evsnn_net_free(&net), err;
  evsnn_dataset_free(&train);
  if (test.n > (uint32_t)limit) evsnn_dataset_limit(&test, (uint32_t)limit);
  evsnn_net_describe(&net, text, sizeof text);
  cli_parallel_t par;
  cli_parallel_init(&par, (uint32_t)threads);
  int n_workers = (int)threads;
  bench_worker_t *w = calloc((size_t)n_workers, sizeof *w);
  uint32_t *pe = malloc(sizeof(uint32_t) * test.n), *pd = malloc(sizeof(uint32_t) * test.n);
  if (!w || !pe || !pd) return cli_fail(EVSNN_ENOMEM, "bench");
  for (int i = 0; i < n_workers; i++) {
    w[i].data = &test;
    w[i].seed = (uint64_t)seed;
    w[i].begin = (uint32_t)((uint64_t)test.n * i / n_workers);
    w[i].end = (uint32_t)((uint64_t)test.n * (i + 1) / n_workers);
    if ((err = evsnn_state_init(&w[i].st, &net)) || (err = evsnn_dense_init(&w[i].d, &net)) ||
        (err = evsnn_poisson_init(&w[i].enc, evsnn_net_inputs(&net))))
      return cli_fail(err, "bench");
    if (!(w[i].in = malloc(sizeof(uint32_t) * evsnn_net_inputs(&net)))) return cli_fail(EVSNN_ENOMEM, "bench");
  }

  char origin[300];
  if (model) snprintf(origin, sizeof origin, "the weights of %s", model);
  else snprintf(origin, sizeof origin, "paper initialisation (seed %ld)", seed);
  printf("evsnn bench: \"%s\", %s,\n"
         "             %u test samples from %s, kernels %s, %ld thread(s), median of %ld runs\n",
         text, origin, test.n, used, evsnn_kernels()->name, threads, repeat);
  printf("%4s %14s %14s %7s %12s %10s %10s %10s\n", "T", "event img/s", "dense img/s", "ratio", "event GSyOP/s",
         "spk/img", "synops/img", "dense MAC/img");
  int status = 0;
  for (int s = 0; s < n_steps; s++) {
    double te[100], td[100];
    evsnn_counts_t c = {0};
    for (int i = 0; i < n_workers; i++) memset(&w[i].st.counts, 0, sizeof c);
    for (long r = 0; r < repeat; r++) {
      te[r] = run_all(&par, w, 0, steps[s], pe);
      td[r] = run_all(&par, w, 1, steps[s], pd);
    }
    for (int i = 0; i < n_workers; i++) {
      for (uint32_t m = 0; m < net.n_pops; m++) c.spikes[m] += w[i].st.counts.spikes[m];
      for (uint32_t q = 0; q < net.n_projs; q++)
        c.synops[q] += w[i].st.counts.synops[q], c.dense_macs[q] += w[i].st.counts.dense_macs[q];
    }
    uint32_t same = 0;
    for (uint32_t i = 0; i < test.n; i++) same += pe[i] == pd[i];
    double me = median(te, (int)repeat), md = median(td, (int)repeat);
    double imgs = (double)test.n * (double)repeat, synops = 0, macs = 0, spikes = 0;
    for (uint32_t q = 0; q < net.n_projs; q++) {
      synops += (double)c.synops[q];
      macs += (double)c.dense_macs[q];
    }
    for (uint32_t m = 0; m < net.n_pops; m++) spikes += (double)c.spikes[m];
    printf("%4u %14.0f %14.0f %6.2fx %12.3f %10.0f %10.0f %10.0f\n", steps[s], test.n / me, test.n / md, md / me,
           synops / imgs / (me / test.n) * 1e-9, spikes / imgs, synops / imgs, macs / imgs);
    if (same != test.n) {
      fprintf(stderr, "evsnn: bench: engines disagree on %u of %u predictions at T=%u\n", test.n - same, test.n, steps[s]);
      status = 1;
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("predictions identical: %s; peak memory (max RSS): %.1f MiB\n", status ? "NO" : "yes", ru.ru_maxrss / 1024.0);
  for (int i = 0; i < n_workers; i++) {
    evsnn_state_free(&w[i].st);
    evsnn_dense_free(&w[i].d);
    evsnn_poisson_free(&w[i].enc);
    free(w[i].in);
  }
  cli_parallel_close(&par);
  free(w); free(pe); free(pd);
  evsnn_net_free(&net);
  evsnn_dataset_free(&test);
  return status;
}
