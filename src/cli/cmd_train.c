/* evsnn train: trains a multilayer LIF network on Poisson-encoded MNIST
 * with BPTT (or the paper's per-step gradient) and Adam, printing per-epoch
 * train and test accuracy and the test run's sparsity. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/internal.h"
#include "evsnn.h"
#include "evsnn/dataset.h"

typedef struct {
  double t0;
  int tty;
} progress_t;

static void progress(void *arg, uint32_t done, uint32_t total, double loss, double acc) {
  progress_t *p = arg;
  if (!p->tty) return;
  double dt = evsnn__now() - p->t0, rate = done / (dt > 0 ? dt : 1);
  fprintf(stderr, "\r  %6u/%u  %7.0f samples/s  loss %.4f  acc %.4f  eta %4.0fs ", done, total, rate, loss, acc,
          (total - done) / rate);
  if (done == total) fputc('\n', stderr);
}

static int usage_train(void) {
  printf("usage: evsnn train [--preset bondarev2021] [--data DIR] [--epochs N] [--limit-train N] [--limit-test N]\n"
         "                   [--seed S] [--grad bptt|paper] [--train-steps T] [--test-steps T] [--lr X]\n"
         "                   [--batch B] [--init fanin|width] [--threads N] [--log FILE.csv] [--out MODEL] [--json]\n"
         "  bondarev2021: 784-300-300-10, beta 0.8187, thresholds 5 and 3 x sqrt(3/h), Adam lr 1e-4,\n"
         "  batch 64, T = 20 train / 5 test, 20 epochs, weights U(-sqrt(3/h), sqrt(3/h)) with h = fan-in.\n");
  return 0;
}

int evsnn_cmd_train(int argc, char **argv) {
  const char *dir = NULL, *log_path = NULL, *out_path = NULL;
  long epochs = 20, limit_train = 0, limit_test = 0, seed = 1, batch = 64, train_T = 20, test_T = 5;
  long threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
  if (threads > CLI_MAX_THREADS) threads = CLI_MAX_THREADS;
  double lr = 1e-4;
  /* The per-step gradient measured better on full MNIST (README). */
  evsnn_grad_t grad = EVSNN_GRAD_PAPER;
  evsnn_init_h_t init = EVSNN_INIT_FANIN;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_train();
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (!val) return cli_usage("train: %s needs a value", a);
    i++;
    if (!strcmp(a, "--preset")) { if (strcmp(val, "bondarev2021")) return cli_usage("train: unknown preset '%s' (known: bondarev2021)", val); }
    else if (!strcmp(a, "--data")) dir = val;
    else if (!strcmp(a, "--log")) log_path = val;
    else if (!strcmp(a, "--out")) out_path = val;
    else if (!strcmp(a, "--epochs")) { if (!cli_parse_long(a, val, 1, 100000, &epochs)) return 2; }
    else if (!strcmp(a, "--limit-train")) { if (!cli_parse_long(a, val, 1, 100000000, &limit_train)) return 2; }
    else if (!strcmp(a, "--limit-test")) { if (!cli_parse_long(a, val, 1, 100000000, &limit_test)) return 2; }
    else if (!strcmp(a, "--seed")) { if (!cli_parse_long(a, val, 0, 0x7fffffffL, &seed)) return 2; }
    else if (!strcmp(a, "--threads")) { if (!cli_parse_long(a, val, 1, CLI_MAX_THREADS, &threads)) return 2; }
    else if (!strcmp(a, "--batch")) { if (!cli_parse_long(a, val, 1, 100000, &batch)) return 2; }
    else if (!strcmp(a, "--train-steps")) { if (!cli_parse_long(a, val, 1, 10000, &train_T)) return 2; }
    else if (!strcmp(a, "--test-steps")) { if (!cli_parse_long(a, val, 1, 10000, &test_T)) return 2; }
    else if (!strcmp(a, "--lr")) { if (!cli_parse_double(a, val, &lr) || !(lr > 0)) return cli_usage("train: --lr must be > 0"); }
    else if (!strcmp(a, "--grad")) {
      if (!strcmp(val, "bptt")) grad = EVSNN_GRAD_BPTT;
      else if (!strcmp(val, "paper")) grad = EVSNN_GRAD_PAPER;
      else return cli_usage("train: --grad: expected bptt or paper, got '%s'", val);
    } else if (!strcmp(a, "--init")) {
      if (!strcmp(val, "fanin")) init = EVSNN_INIT_FANIN;
      else if (!strcmp(val, "width")) init = EVSNN_INIT_WIDTH;
      else return cli_usage("train: --init: expected fanin or width, got '%s'", val);
    } else return cli_usage("train: unknown option '%s' (see evsnn train --help)", a);
  }

  evsnn_dataset_t train = {0}, test = {0};
  int is_sample = 0, err;
  char used[1024];
  if ((err = evsnn_dataset_load_dir(&train, &test, dir, &is_sample, used, sizeof used)))
    return cli_fail(err, dir ? dir : "MNIST");
  if (limit_train) evsnn_dataset_limit(&train, (uint32_t)limit_train);
  if (limit_test) evsnn_dataset_limit(&test, (uint32_t)limit_test);
  if (is_sample)
    fprintf(stderr, "evsnn: NOTE: training on the EMBEDDED SAMPLE (%s: %u train, %u test images), not the full MNIST "
            "set; run datasets/fetch-mnist for the real thing\n", used, train.n, test.n);

  FILE *log = NULL;
  if (log_path && !(log = fopen(log_path, "w"))) {
    evsnn_dataset_free(&train), evsnn_dataset_free(&test);
    return cli_fail(EVSNN_EIO, log_path);
  }
  if (log) fprintf(log, "epoch,train_loss,train_accuracy,test_accuracy,seconds,samples_per_second\n");

  evsnn_net_t net;
  evsnn_trainer_t tr[CLI_MAX_THREADS];
  evsnn_adam_t opt;
  uint32_t sizes[] = {784, 300, 300, 10};
  if ((err = evsnn_net_init(&net, sizes, 4, 0.8187f))) return cli_fail(err, "network");
  evsnn_net_init_params(&net, (uint64_t)seed, init, (float[]){5, 3});
  for (long w = 0; w < threads; w++)
    if ((err = evsnn_trainer_init(&tr[w], &net, (uint32_t)train_T, grad, EVSNN_ENGINE_EVENT))) return cli_fail(err, "trainer");
  if ((err = evsnn_adam_init(&opt, net.n_params, (float)lr))) return cli_fail(err, "optimizer");
  cli_parallel_t par;
  cli_parallel_init(&par, (uint32_t)threads);

  fprintf(stderr, "evsnn train: 784-300-300-10 on %s (%u train, %u test), grad %s, T %ld/%ld, batch %ld, lr %g, seed %ld, "
          "%ld thread(s), kernels %s\n", used, train.n, test.n, grad == EVSNN_GRAD_BPTT ? "bptt" : "paper", train_T,
          test_T, batch, lr, seed, threads, evsnn_kernels()->name);
  progress_t prog = {0, isatty(2)};
  double loss = 0, acc = 0, test_acc = 0, seconds = 0;
  evsnn_counts_t counts = {0};
  for (long e = 0; e < epochs; e++) {
    prog.t0 = evsnn__now();
    if ((err = evsnn_train_epoch(tr, (uint32_t)threads, threads > 1 ? &par.base : NULL, &opt, &net, &train,
                                 (uint32_t)batch, (uint64_t)seed, (uint32_t)e, &loss, &acc, progress, &prog)))
      return cli_fail(err, "training");
    double dt = evsnn__now() - prog.t0;
    seconds += dt;
    if ((err = evsnn_test_accuracy(&net, &test, (uint32_t)test_T, (uint64_t)seed + 1, EVSNN_ENGINE_EVENT, &test_acc, &counts, NULL)))
      return cli_fail(err, "test");
    printf("epoch %ld/%ld  loss %.4f  train %.2f%%  test %.2f%% (T=%ld)  %.1fs  %.0f samples/s\n", e + 1, epochs, loss,
           100 * acc, 100 * test_acc, test_T, dt, train.n / dt);
    fflush(stdout);
    if (log) fprintf(log, "%ld,%.6f,%.6f,%.6f,%.3f,%.1f\n", e + 1, loss, acc, test_acc, dt, train.n / dt), fflush(log);
    /* Saved after every epoch (atomically), so an interrupted run keeps
     * its last finished epoch. */
    if (out_path) {
      char meta[512];
      snprintf(meta, sizeof meta,
               "preset=bondarev2021\ngrad=%s\ninit=%s\ntrain_steps=%ld\ntest_steps=%ld\nlr=%g\nbatch=%ld\nseed=%ld\n"
               "threads=%ld\nepochs=%ld\ntest_accuracy=%.6f\n",
               grad == EVSNN_GRAD_BPTT ? "bptt" : "paper", init == EVSNN_INIT_FANIN ? "fanin" : "width", train_T,
               test_T, lr, batch, seed, threads, e + 1, test_acc);
      if ((err = evsnn_model_save(out_path, &net, meta, &opt))) return cli_fail(err, out_path);
    }
  }
  /* Sparsity of the final test pass. */
  double synops = 0, macs = 0;
  for (uint32_t m = 0; m < net.n_layers; m++) synops += (double)counts.synops[m], macs += (double)counts.dense_macs[m];
  double n = test.n ? test.n : 1;
  printf("test sparsity per image (T=%ld): spikes in %.0f  h1 %.0f  h2 %.0f; synaptic ops %.0f vs dense MACs %.0f (%.1fx fewer)\n",
         test_T, counts.spikes[0] / n, counts.spikes[1] / n, counts.spikes[2] / n, synops / n, macs / n,
         synops > 0 ? macs / synops : 0.0);
  if (json) {
    printf("{\"test_accuracy\": %.6f, \"train_accuracy\": %.6f, \"epochs\": %ld, \"seconds\": %.3f, "
           "\"samples_per_second\": %.1f, \"spike_rates\": [", test_acc, acc, epochs, seconds,
           seconds > 0 ? (double)train.n * epochs / seconds : 0.0);
    for (uint32_t m = 0; m < net.n_layers; m++)
      printf("%s%.6f", m ? ", " : "", counts.spikes[m] / n / (double)test_T / net.sizes[m]);
    printf("], \"synops_per_image\": %.1f, \"dense_macs_per_image\": %.1f}\n", synops / n, macs / n);
  }
  if (log) fclose(log);
  cli_parallel_close(&par);
  evsnn_adam_free(&opt);
  for (long w = 0; w < threads; w++) evsnn_trainer_free(&tr[w]);
  evsnn_net_free(&net);
  evsnn_dataset_free(&train);
  evsnn_dataset_free(&test);
  return 0;
}
