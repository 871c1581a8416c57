/* evsnn train: trains a multilayer LIF network on Poisson-encoded MNIST
 * with BPTT (or the paper's per-step gradient) and Adam, printing per-epoch
 * train and test accuracy and the test run's sparsity.
 *
 * Every setting travels in the model's metadata, together with where the
 * run stands (epoch, samples done, running totals), so that a model saved
 * after an epoch or by Ctrl-C (or SIGTERM) is also a checkpoint: --resume
 * continues it bit for bit (same thread count) as if it had never stopped.
 *
 * Under mpirun the ranks share each batch (src/dist): rank 0 speaks, logs
 * and saves; the others are silent unless they fail. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "core/internal.h"
#include "dist/dist.h"
#include "evsnn.h"
#include "evsnn/dataset.h"

/* A run's settings: a preset, then the command line on top. */
typedef struct {
  const char *preset;
  const char *net;     /* the network, in the description language (docs/net-description.md) */
  evsnn_grad_t grad;
  evsnn_engine_t engine;
  evsnn_init_h_t init;
  long epochs, batch, train_T, test_T, seed, shift, threads, limit_train, limit_test;
  long ranks;          /* not an option: the processes sharing each batch (mpirun -np); the metadata's
                          threads are the shares, ranks x threads, so that the model file is the same */
  double lr, cutoff;   /* lr: the initial learning rate */
  evsnn_lr_shape_t schedule;
  double lr_peak;      /* warmup-cosine: the rate reached after the warm-up; 0: 10 x lr */
  double warmup;       /* warmup-cosine: the fraction of the epochs spent warming up */
  double dt_us; /* not an option: the mean step of the event recordings trained on, for replay */
  long inputs;  /* the network's input size; 0: the images' pixels, or 784 for event recordings */
} config_t;

/* The paper's 784-300-300-10: thresholds 5 and 3 x sqrt(3/300), a leaky readout. */
#define NMNIST_NET "2x34x34 conv16c5s2p1 lif[th=0.5] conv16c3p1 lif[th=0.5] pool2 conv8c3p1 lif[th=0.5] pool2 " \
                   "flatten dense256 lif[th=0.5] dense10 li"
#define PAPER_NET "784 dense300 lif[ts=5] dense300 lif[ts=3] dense10 li"

static const config_t presets[] = {
    /* The paper's recipe, read as faithfully as the paper allows (docs/experiments.md): its "initial
     * learning rate" 1e-4 starts a schedule the paper does not describe, warm-up to 1e-3 and cosine decay. */
    {.preset = "bondarev2021", .net = PAPER_NET, .grad = EVSNN_GRAD_PAPER, .engine = EVSNN_ENGINE_EVENT, .init = EVSNN_INIT_FANIN,
     .epochs = 20, .batch = 64, .train_T = 20, .test_T = 5, .seed = 1, .lr = 1e-4, .warmup = 0.05,
     .schedule = EVSNN_LR_WARMUP_COSINE, .cutoff = INFINITY},
    /* Same network; shifted images, a larger learning rate decayed to zero. */
    {.preset = "best", .net = PAPER_NET, .grad = EVSNN_GRAD_PAPER, .engine = EVSNN_ENGINE_EVENT, .init = EVSNN_INIT_FANIN,
     .epochs = 30, .batch = 64, .train_T = 20, .test_T = 5, .seed = 1, .shift = 2, .lr = 1e-3, .warmup = 0.05,
     .schedule = EVSNN_LR_COSINE, .cutoff = INFINITY},
    /* A small convolutional network for 2 x 34 x 34 event input (N-MNIST and its emulation by
     * `evsnn encode dvs`), shaped like the NIR paper's: about 40k weights. */
    {.preset = "nmnist", .net = NMNIST_NET, .grad = EVSNN_GRAD_BPTT, .engine = EVSNN_ENGINE_EVENT,
     .init = EVSNN_INIT_FANIN, .epochs = 10, .batch = 64, .train_T = 20, .test_T = 20, .seed = 1, .lr = 1e-3,
     .warmup = 0.05, .schedule = EVSNN_LR_COSINE, .cutoff = INFINITY},
};

static const char *const schedule_names[] = {[EVSNN_LR_CONST] = "const", [EVSNN_LR_COSINE] = "cosine",
                                             [EVSNN_LR_WARMUP_COSINE] = "warmup-cosine"};

static const char *grad_name(evsnn_grad_t g) { return g == EVSNN_GRAD_BPTT ? "bptt" : "paper"; }
static const char *init_name(evsnn_init_h_t h) { return h == EVSNN_INIT_FANIN ? "fanin" : "width"; }

/* One line of `--log FILE.jsonl`: the fields of the CSV log, by name. */
static void log_jsonl(FILE *log, unsigned epoch, double loss, double acc, double test_acc, double seconds, double rate,
                      double lr) {
  cli_json_t j;
  cli_json_start(&j, log);
  cli_json_object(&j, NULL);
  cli_json_uint(&j, "epoch", epoch);
  cli_json_number(&j, "train_loss", "%.6f", loss);
  cli_json_number(&j, "train_accuracy", "%.6f", acc);
  cli_json_number(&j, "test_accuracy", "%.6f", test_acc);
  cli_json_number(&j, "seconds", "%.3f", seconds);
  cli_json_number(&j, "samples_per_second", "%.1f", rate);
  cli_json_number(&j, "lr", "%g", lr);
  cli_json_end(&j);
}

/* Under mpirun, a stop is taken when the ranks have agreed on it (at the
 * end of a batch's reduction), so that all stop at the same batch. */
static int stop_requested(const dist_t *d) { return d->size > 1 ? d->stopped : cli_stop_signal() != 0; }

/* 128 + the signal's number; a rank stopped at another's request (no
 * signal of its own) says SIGTERM's. */
static int stop_status(void) { return 128 + (cli_stop_signal() ? cli_stop_signal() : SIGTERM); }

typedef struct {
  double t0;
  uint32_t first;   /* samples already done when this session's epoch began */
  uint32_t quarter; /* of the epoch last reported in a log */
  int tty;
  const dist_t *dist;
} progress_t;

/* On a terminal a line redrawn after every batch; in a log a plain line at
 * each quarter of the epoch. */
static int progress(void *arg, const evsnn_epoch_t *ep, uint32_t total) {
  progress_t *p = arg;
  if (p->dist->rank) return stop_requested(p->dist);
  uint32_t quarter = (uint32_t)((uint64_t)ep->done * 4 / total);
  if (p->tty || (quarter > p->quarter && ep->done < total)) {
    double dt = evsnn__now() - p->t0, rate = (ep->done - p->first) / (dt > 0 ? dt : 1);
    double loss = ep->loss_sum / ep->done, acc = (double)ep->correct / ep->done, eta = (total - ep->done) / rate;
    if (p->tty) { /* under 80 columns, redrawn: epoch 3 [=========>          ] 31% ... */
      char bar[21];
      uint32_t fill = (uint32_t)((uint64_t)ep->done * 20 / total);
      for (uint32_t i = 0; i < 20; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
      bar[20] = '\0';
      fprintf(stderr, "\r  epoch %u [%s] %3u%% %5.0f/s loss %.4f acc %.4f eta %3.0fs ", ep->epoch + 1, bar,
              (uint32_t)((uint64_t)ep->done * 100 / total), rate, loss, acc, eta);
    } else {
      fprintf(stderr, "  epoch %u: %6u/%u  %7.0f samples/s  loss %.4f  acc %.4f  eta %4.0fs\n", ep->epoch + 1, ep->done,
              total, rate, loss, acc, eta);
    }
    if (p->tty && (ep->done == total || stop_requested(p->dist))) fputc('\n', stderr);
    p->quarter = quarter;
  }
  return stop_requested(p->dist);
}

static int usage_train(void) {
  printf("usage: evsnn train [--preset bondarev2021|best|nmnist] [--net DESC] [--data DIR] [--epochs N]\n"
         "                   [--limit-train N]"
         "                   [--limit-test N] [--seed S] [--threads N] [--grad bptt|paper]\n"
         "                   [--engine event|dense|dense-batch]\n"
         "                   [--train-steps T] [--test-steps T] [--lr X] [--batch B]\n"
         "                   [--lr-schedule const|cosine|warmup-cosine] [--lr-peak X] [--warmup F]\n"
         "                   [--init fanin|width] [--shift PX] [--grad-cutoff C] [--inputs N]\n"
         "                   [--log FILE.csv|FILE.jsonl] [--out MODEL] [--resume MODEL] [--json]\n"
         "                   [--mpi-timeout S]\n"
         "  bondarev2021: 784-300-300-10, beta 0.8187, thresholds 5 and 3 x sqrt(3/300), weights\n"
         "    U(-sqrt(3/h), sqrt(3/h)) with h = fan-in, Adam, batch 64, T = 20 train / 5 test, 20 epochs,\n"
         "    per-step (paper) gradient; the learning rate starts at 1e-4, rises to 1e-3 over the first\n"
         "    epoch and decays to zero on a cosine (--lr-schedule const keeps 1e-4 throughout).\n"
         "  best: the same network, images shifted by up to 2 pixels, lr 1e-3 with cosine decay, 30 epochs.\n"
         "  nmnist: a convolutional network for 2 x 34 x 34 event recordings (N-MNIST, evsnn encode dvs),\n"
         "    " NMNIST_NET ",\n"
         "    BPTT, lr 1e-3 with cosine decay, T = 20, 10 epochs.\n"
         "  --net DESC: the network in the description language (docs/net-description.md), e.g.\n"
         "    \"784 dense300 lif[ts=5] dense300 lif[ts=3] dense10 li\" (the paper's, bondarev2021's and best's).\n"
         "  --lr-schedule: const; cosine (lr (1 + cos(pi e / epochs)) / 2 in epoch e); warmup-cosine (from\n"
         "    --lr up to --lr-peak, default 10 x --lr, over the first --warmup fraction of the epochs,\n"
         "    default 0.05, then down to zero on a cosine).\n"
         "  --data DIR with DIR/train and DIR/test event recordings trains on them binned into T steps;\n"
         "    each sensor is fitted onto the network's inputs (2 x W x H: both polarities of the whole\n"
         "    sensor; 784: a centred 28 x 28 window, polarities merged; see evsnn/sensor.h); --inputs N\n"
         "    sets the input size of a network whose input is a plain size, such as the presets' 784.\n"
         "  Ctrl-C (or SIGTERM, SIGUSR1) saves a checkpoint (to --out, or evsnn-checkpoint.evsnn) after the\n"
         "    batch in progress; --resume MODEL continues it.\n"
         "  mpirun -np N evsnn train ...: N processes share each batch (N x --threads shares, default\n"
         "    threads: the cores over the ranks on a node); the model is the one process's with as many\n"
         "    threads, bit for bit. A rank waits --mpi-timeout seconds (default 60) for the others, then\n"
         "    stops the run (docs/distributed.md).\n");
  return 0;
}

static int parse_option(config_t *c, const char *a, const char *val) {
  if (!strcmp(a, "--epochs")) return cli_parse_long(a, val, 1, 100000, &c->epochs) ? 0 : 2;
  if (!strcmp(a, "--seed")) return cli_parse_long(a, val, 0, 0x7fffffffL, &c->seed) ? 0 : 2;
  if (!strcmp(a, "--threads")) return cli_parse_long(a, val, 1, CLI_MAX_THREADS, &c->threads) ? 0 : 2;
  if (!strcmp(a, "--batch")) return cli_parse_long(a, val, 1, 100000, &c->batch) ? 0 : 2;
  if (!strcmp(a, "--train-steps")) return cli_parse_long(a, val, 1, 10000, &c->train_T) ? 0 : 2;
  if (!strcmp(a, "--test-steps")) return cli_parse_long(a, val, 1, 10000, &c->test_T) ? 0 : 2;
  if (!strcmp(a, "--limit-train")) return cli_parse_long(a, val, 0, 100000000, &c->limit_train) ? 0 : 2;
  if (!strcmp(a, "--limit-test")) return cli_parse_long(a, val, 0, 100000000, &c->limit_test) ? 0 : 2;
  if (!strcmp(a, "--shift")) return cli_parse_long(a, val, 0, 8, &c->shift) ? 0 : 2;
  if (!strcmp(a, "--inputs")) return cli_parse_long(a, val, 1, 1L << 24, &c->inputs) ? 0 : 2;
  if (!strcmp(a, "--engine")) return cli_parse_engine(a, val, &c->engine) ? 0 : 2;
  if (!strcmp(a, "--net")) return c->net = val, 0;
  if (!strcmp(a, "--lr")) {
    if (!cli_parse_double(a, val, &c->lr)) return 2;
    return c->lr > 0 ? 0 : cli_usage("train: --lr must be > 0");
  }
  if (!strcmp(a, "--grad-cutoff")) {
    if (!cli_parse_double(a, val, &c->cutoff)) return 2;
    return c->cutoff > 0 ? 0 : cli_usage("train: --grad-cutoff must be > 0");
  }
  if (!strcmp(a, "--lr-peak")) {
    if (!cli_parse_double(a, val, &c->lr_peak)) return 2;
    return c->lr_peak > 0 ? 0 : cli_usage("train: --lr-peak must be > 0");
  }
  if (!strcmp(a, "--warmup")) {
    if (!cli_parse_double(a, val, &c->warmup)) return 2;
    return c->warmup > 0 && c->warmup < 1 ? 0 : cli_usage("train: --warmup is a fraction of the epochs, in (0, 1)");
  }
  if (!strcmp(a, "--lr-schedule")) {
    for (size_t i = 0; i < sizeof schedule_names / sizeof schedule_names[0]; i++)
      if (!strcmp(val, schedule_names[i])) return c->schedule = (evsnn_lr_shape_t)i, 0;
    return cli_usage("train: --lr-schedule: expected const, cosine or warmup-cosine, got '%s'", val);
  }
  if (!strcmp(a, "--grad")) {
    if (!strcmp(val, "bptt")) return c->grad = EVSNN_GRAD_BPTT, 0;
    if (!strcmp(val, "paper")) return c->grad = EVSNN_GRAD_PAPER, 0;
    return cli_usage("train: --grad: expected bptt or paper, got '%s'", val);
  }
  if (!strcmp(a, "--init")) {
    if (!strcmp(val, "fanin")) return c->init = EVSNN_INIT_FANIN, 0;
    if (!strcmp(val, "width")) return c->init = EVSNN_INIT_WIDTH, 0;
    return cli_usage("train: --init: expected fanin or width, got '%s'", val);
  }
  return -1;
}

static double lr_peak(const config_t *c) { return c->lr_peak > 0 ? c->lr_peak : 10 * c->lr; }

/* Everything needed to rebuild the run, as key=value lines. */
static void format_meta(char *buf, size_t cap, const config_t *c, const evsnn_epoch_t *ep, double test_acc) {
  snprintf(buf, cap,
           "preset=%s\ngrad=%s\nengine=%s\ninit=%s\ntrain_steps=%ld\ntest_steps=%ld\nlr=%.17g\nlr_schedule=%s\n"
           "lr_peak=%.17g\nwarmup=%.17g\n"
           "batch=%ld\nshift=%ld\ngrad_cutoff=%.9g\nseed=%ld\nthreads=%ld\nepochs=%ld\nlimit_train=%ld\nlimit_test=%ld\n"
           "epoch=%u\nepoch_done=%u\nepoch_correct=%u\nepoch_loss_sum=%.17g\ntest_accuracy=%.6f\n",
           c->preset, grad_name(c->grad), cli_engine_name(c->engine), init_name(c->init),
           c->train_T, c->test_T, c->lr, schedule_names[c->schedule], lr_peak(c), c->warmup, c->batch, c->shift,
           c->cutoff, c->seed, c->threads * c->ranks, c->epochs, c->limit_train, c->limit_test, ep->epoch, ep->done, ep->correct,
           ep->loss_sum, test_acc);
  size_t len = strlen(buf);
  if (c->dt_us > 0 && len < cap) len += (size_t)snprintf(buf + len, cap - len, "dt_us=%.6g\n", c->dt_us);
  if (len < cap) snprintf(buf + len, cap - len, "net=%s\n", c->net);
}

/* Reads a checkpoint's settings (options given after --resume override them). */
static int config_from_meta(config_t *c, evsnn_epoch_t *ep, const char *meta, const char *path) {
  static const char *keys[] = {"grad", "init", "train_steps", "test_steps", "lr", "lr_schedule", "lr_peak",
                               "warmup", "batch", "shift", "grad_cutoff", "seed", "threads", "epochs",
                               "engine", "limit_train", "limit_test"};
  static const char *opts[] = {"--grad", "--init", "--train-steps", "--test-steps", "--lr", "--lr-schedule",
                               "--lr-peak", "--warmup", "--batch", "--shift", "--grad-cutoff", "--seed",
                               "--threads", "--epochs", "--engine", "--limit-train", "--limit-test"};
  char v[64];
  if (!cli_meta_get(meta, "lr_schedule", v, sizeof v)) c->schedule = EVSNN_LR_CONST; /* older than schedules */
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (!cli_meta_get(meta, keys[i], v, sizeof v)) continue; /* older checkpoints: the preset's value */
    if (!strcmp(keys[i], "grad_cutoff") && !strcmp(v, "inf")) continue;
    if (parse_option(c, opts[i], v)) {
      fprintf(stderr, "evsnn: %s: bad %s in the model's metadata\n", path, keys[i]);
      return 1;
    }
  }
  long e = 0, done = 0, correct = 0;
  if (cli_meta_get(meta, "epoch", v, sizeof v) && !cli_parse_long("epoch", v, 0, 100000, &e)) return 1;
  if (cli_meta_get(meta, "epoch_done", v, sizeof v) && !cli_parse_long("epoch_done", v, 0, 0x7fffffffL, &done)) return 1;
  if (cli_meta_get(meta, "epoch_correct", v, sizeof v) && !cli_parse_long("epoch_correct", v, 0, 0x7fffffffL, &correct))
    return 1;
  ep->epoch = (uint32_t)e, ep->done = (uint32_t)done, ep->correct = (uint32_t)correct;
  ep->loss_sum = cli_meta_get(meta, "epoch_loss_sum", v, sizeof v) ? strtod(v, NULL) : 0;
  if (cli_meta_get(meta, "preset", v, sizeof v))
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
      if (!strcmp(v, presets[i].preset)) c->preset = presets[i].preset;
  return 0;
}

/* Builds the network c names, with the input size --inputs asks for when
 * the description's input is a plain size (as the paper network's 784
 * becomes 2 x W x H for event recordings); desc gets the description. */
static int describe_net(config_t *c, char *desc, size_t size, evsnn_net_t *net) {
  const char *rest = c->net + strspn(c->net, " \t");
  size_t first = strcspn(rest, " \t");
  int flat = strspn(rest, "0123456789") == first;
  if (c->inputs && flat) snprintf(desc, size, "%ld%s", c->inputs, rest + first);
  else snprintf(desc, size, "%s", c->net);
  int err = evsnn_net_parse(net, desc);
  if (err) return cli_fail(err, "--net");
  if (c->inputs && c->inputs != (long)evsnn_net_inputs(net)) {
    evsnn_net_free(net);
    return cli_usage("train: --inputs %ld, but \"%s\" takes %u inputs", c->inputs, desc, evsnn_net_inputs(net));
  }
  c->inputs = evsnn_net_inputs(net);
  return 0;
}


/* Every rank checks that the others read the same samples and labels. */
static int agree_data(dist_t *d, const evsnn_dataset_t *ds, const char *dir, int idx, const char *set) {
  char images[1100], labels[1100];
  snprintf(images, sizeof images, idx ? "%s/%s-images-idx3-ubyte" : "%s/%s", dir, set);
  snprintf(labels, sizeof labels, idx ? "%s/%s-labels-idx1-ubyte" : "%s/%s", dir, set);
  int differ = dist_agree(d, idx ? "the images" : "the binned recordings", images, dist_samples_crc(ds));
  return dist_agree(d, "the labels", labels, dist_labels_crc(ds)) || differ;
}

static int train(int argc, char **argv, dist_t *dist) {
  const char *dir = NULL, *log_path = NULL, *out_path = NULL, *resume = NULL;
  long cores = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
  config_t c = presets[0];
  /* Ranks on one node share its cores. */
  cores = cores / dist->local_size > 0 ? cores / dist->local_size : 1;
  long default_threads = cores < CLI_MAX_THREADS ? cores : CLI_MAX_THREADS;
  c.threads = default_threads;
  int json = 0, rc, talk = dist->rank == 0;
  long saved_shares = 0;
  double timeout = 60;
  /* The preset and --resume first: other options override them wherever they stand. */
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--resume")) resume = argv[i + 1];
    if (strcmp(argv[i], "--preset")) continue;
    size_t p = 0;
    while (p < sizeof presets / sizeof presets[0] && strcmp(argv[i + 1], presets[p].preset)) p++;
    if (p == sizeof presets / sizeof presets[0])
      return cli_usage("train: unknown preset '%s' (known: bondarev2021, best, nmnist)", argv[i + 1]);
    long threads = c.threads;
    c = presets[p];
    c.threads = threads;
  }
  evsnn_net_t net;
  evsnn_adam_t opt = {0};
  evsnn_epoch_t ep = {0};
  int err;
  if (resume) {
    char *meta = NULL;
    if ((err = evsnn_model_load(resume, &net, &meta, &opt))) return cli_fail(err, resume);
    rc = !opt.n ? (fprintf(stderr, "evsnn: %s: no optimizer state in this model; it cannot be resumed\n", resume), 1)
                : config_from_meta(&c, &ep, meta, resume);
    /* The checkpoint's shares, split over this run's ranks unless --threads says otherwise. */
    saved_shares = c.threads;
    c.threads = saved_shares % dist->size == 0 ? saved_shares / dist->size : default_threads;
    free(meta);
    if (rc) {
      evsnn_net_free(&net), evsnn_adam_free(&opt);
      return rc;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_train();
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (!val) return cli_usage("train: %s needs a value", a);
    i++;
    if (!strcmp(a, "--preset") || !strcmp(a, "--resume")) continue;
    else if (!strcmp(a, "--data")) dir = val;
    else if (!strcmp(a, "--log")) log_path = val;
    else if (!strcmp(a, "--out")) out_path = val;
    else if (!strcmp(a, "--mpi-timeout")) {
      if (!cli_parse_double(a, val, &timeout)) return 2;
      if (!(timeout >= 1 && timeout <= 86400)) return cli_usage("train: --mpi-timeout: expected 1 to 86400 seconds");
    }
    else if ((rc = parse_option(&c, a, val)) > 0) return rc;
    else if (rc < 0) return cli_usage("train: unknown option '%s' (see evsnn train --help)", a);
  }
  if (resume && c.inputs && c.inputs != (long)evsnn_net_inputs(&net)) {
    rc = cli_usage("train: --inputs %ld, but %s takes %u inputs", c.inputs, resume, evsnn_net_inputs(&net));
    evsnn_net_free(&net), evsnn_adam_free(&opt);
    return rc;
  }
  if (resume) c.inputs = evsnn_net_inputs(&net);
  char desc[512];
  if (!resume && (rc = describe_net(&c, desc, sizeof desc, &net))) return rc;
  c.ranks = dist->size;
  /* What fixes the bits is the number of shares a batch is cut into. */
  if (resume && talk && saved_shares != c.threads * c.ranks)
    fprintf(stderr, "evsnn: NOTE: the checkpoint split its batches into %ld shares (ranks x threads), this run into "
            "%ld x %ld: the result will not be bit-identical to an uninterrupted run\n", saved_shares, c.ranks,
            c.threads);
  if (resume && ep.epoch >= c.epochs) {
    fprintf(stderr, "evsnn: %s: already trained for %u of %ld epochs (raise --epochs to go on)\n", resume, ep.epoch,
            c.epochs);
    evsnn_net_free(&net), evsnn_adam_free(&opt);
    return 1;
  }

  evsnn_dataset_t train = {0}, test = {0};
  int is_sample = 0;
  char used[1024];
  rc = 0;
  if (dir && evsnn_dataset_is_events_dir(dir)) {
    /* Event recordings in DIR/train and DIR/test, each binned into T steps
     * over its own span (evsnn/dataset.h); test uses the first test-steps bins. */
    if (c.shift) rc = cli_usage("train: --shift moves images; %s holds event recordings", dir);
    else if ((err = evsnn_dataset_load_events_dir(&train, &test, dir, (uint32_t)c.inputs, (uint32_t)c.train_T, 0,
                                                  EVSNN_BIN_BINARY, &net.sensor)))
      rc = cli_fail(err, dir);
    if (rc) { /* the network is built already */
      evsnn_net_free(&net), evsnn_adam_free(&opt);
      return rc;
    }
    char sensor[128];
    evsnn_sensor_map_describe(&train.map, sensor, sizeof sensor);
    snprintf(used, sizeof used, "%s (event recordings of a %s, in %ld bins of %.0f us on average)", dir, sensor,
             c.train_T, train.dt_us);
    c.dt_us = train.dt_us;
    net.sensor = train.map; /* the model records the sensor it learned (evsnn/sensor.h) */
  } else {
    if ((err = evsnn_dataset_load_dir(&train, &test, dir, &is_sample, used, sizeof used))) {
      evsnn_net_free(&net), evsnn_adam_free(&opt);
      return cli_fail(err, dir ? dir : "MNIST");
    }
    long px = (long)train.rows * train.cols;
    if (c.inputs != px) {
      evsnn_dataset_free(&train), evsnn_dataset_free(&test);
      evsnn_net_free(&net), evsnn_adam_free(&opt);
      return cli_usage("train: %s takes %ld inputs, but the images of %s have %ld pixels", resume ? resume : desc,
                       c.inputs, used, px);
    }
  }
  if (c.limit_train) evsnn_dataset_limit(&train, (uint32_t)c.limit_train);
  if (c.limit_test) evsnn_dataset_limit(&test, (uint32_t)c.limit_test);
  /* The ranks agree on the settings and the data before the first batch;
   * past the agreement, every rank has its stop handlers in place. */
  cli_stop_catch();
  {
    char settings[1024];
    evsnn_epoch_t start = ep;
    format_meta(settings, sizeof settings, &c, &start, 0);
    int events = dir && evsnn_dataset_is_events_dir(dir);
    const char *where = events ? dir : used;
    int differ = dist_agree(dist, "the settings", "the command line", dist_crc(settings, strlen(settings)));
    differ |= agree_data(dist, &train, where, !events, "train");
    differ |= agree_data(dist, &test, where, !events, events ? "test" : "t10k");
    if (differ) {
      evsnn_dataset_free(&train), evsnn_dataset_free(&test);
      if (resume) evsnn_net_free(&net), evsnn_adam_free(&opt);
      dist->together = 1;
      return 1;
    }
  }
  if (is_sample && talk)
    fprintf(stderr, "evsnn: NOTE: training on the EMBEDDED SAMPLE (%s: %u train, %u test images), not the full MNIST "
            "set; run datasets/fetch-mnist for the real thing\n", used, train.n, test.n);

  if (!resume) {
    evsnn_net_init_params(&net, (uint64_t)c.seed, c.init, NULL);
    if ((err = evsnn_adam_init(&opt, net.n_params, (float)c.lr))) return cli_fail(err, "optimizer");
  }
  FILE *log = NULL;
  int jsonl = log_path && strlen(log_path) > 5 && !strcmp(log_path + strlen(log_path) - 5, "jsonl");
  if (!talk) log_path = NULL; /* rank 0 logs and saves */
  if (log_path && !(log = fopen(log_path, resume ? "a" : "w"))) {
    evsnn_dataset_free(&train), evsnn_dataset_free(&test);
    return cli_fail(EVSNN_EIO, log_path);
  }
  if (log && !jsonl && !resume)
    fprintf(log, "epoch,train_loss,train_accuracy,test_accuracy,seconds,samples_per_second,lr\n");

  evsnn_trainer_t *tr[CLI_MAX_THREADS];
  for (long w = 0; w < c.threads; w++)
    if ((err = evsnn_trainer_new(&tr[w], &net, (uint32_t)c.train_T, c.grad, c.engine))) return cli_fail(err, "trainer");
    else evsnn_trainer_set_cutoff(tr[w], (float)c.cutoff);
  cli_parallel_t par;
  cli_parallel_init(&par, (uint32_t)c.threads);
  dist_shares(dist, (uint32_t)c.threads, timeout);
  dist->stop = cli_stop_signal;

  evsnn_lr_schedule_t schedule = {c.schedule, c.lr, lr_peak(&c), c.warmup * c.epochs, (uint32_t)c.epochs};
  char lr_text[96];
  if (c.schedule == EVSNN_LR_WARMUP_COSINE)
    snprintf(lr_text, sizeof lr_text, "%g, up to %g in %g epoch(s), cosine to 0", c.lr, schedule.peak, schedule.warmup);
  else
    snprintf(lr_text, sizeof lr_text, "%g%s", c.lr, c.schedule == EVSNN_LR_COSINE ? " cosine" : "");
  evsnn_net_describe(&net, desc, sizeof desc);
  char ranks[32] = "";
  if (dist->size > 1) snprintf(ranks, sizeof ranks, "%d ranks x ", dist->size);
  if (talk)
    fprintf(stderr, "evsnn train: %s%s \"%s\" on %s (%u train, %u test), grad %s, %s engine, T %ld/%ld, batch %ld, "
            "lr %s, shift %ld, seed %ld, %s%ld thread(s), kernels %s\n", resume ? "resuming " : "", c.preset, desc, used,
            train.n, test.n, grad_name(c.grad), cli_engine_name(c.engine), c.train_T, c.test_T, c.batch,
            lr_text, c.shift, c.seed, ranks, c.threads, evsnn_kernels()->name);
  if (resume && talk)
    fprintf(stderr, "evsnn train: from epoch %u, sample %u\n", ep.epoch + 1, ep.done);
  progress_t prog = {.tty = isatty(2), .dist = dist};
  double test_acc = 0, peak = 0, seconds = 0, samples = 0;
  long peak_epoch = 0;
  evsnn_counts_t counts = {0};
  char meta[2048];
  rc = 0;
  for (uint32_t e = ep.epoch; e < (uint32_t)c.epochs; e++) {
    if (e != ep.epoch) ep = (evsnn_epoch_t){0};
    ep.epoch = e, ep.batch = (uint32_t)c.batch, ep.seed = (uint64_t)c.seed, ep.shift = (uint32_t)c.shift;
    ep.schedule = &schedule;
    ep.progress = progress, ep.arg = &prog;
    ep.reducer = dist->size > 1 ? &dist->base : NULL;
    prog.t0 = evsnn__now(), prog.first = ep.done, prog.quarter = (uint32_t)((uint64_t)ep.done * 4 / train.n);
    err = evsnn_train_epoch(tr, (uint32_t)c.threads, c.threads > 1 ? &par.base : NULL, &opt, &net, &train, &ep);
    double dt = evsnn__now() - prog.t0;
    seconds += dt, samples += ep.done - prog.first;
    if (err == EVSNN_ECANCELED) {
      const char *path = out_path ? out_path : "evsnn-checkpoint.evsnn";
      format_meta(meta, sizeof meta, &c, &ep, test_acc);
      if (talk && (err = evsnn_model_save(path, &net, meta, &opt))) return cli_fail(err, path);
      dist->together = 1, rc = stop_status();
      if (!talk) break;
      fprintf(stderr, "evsnn: interrupted in epoch %u after %u of %u samples; checkpoint saved to %s\n"
              "evsnn: continue with: evsnn train --resume %s\n", e + 1, ep.done, train.n, path, path);
      rc = stop_status();
      break;
    }
    if (err) return cli_fail(err, "training");
    evsnn_test_t pass = {.T = (uint32_t)c.test_T, .seed = (uint64_t)c.seed + 1, .engine = EVSNN_ENGINE_EVENT,
                         .counts = &counts};
    if ((err = evsnn_test_accuracy(&net, &test, &pass, &test_acc)))
      return cli_fail(err, "test");
    if (test_acc > peak) peak = test_acc, peak_epoch = e + 1;
    double loss = ep.loss_sum / train.n, acc = (double)ep.correct / train.n, rate = (ep.done - prog.first) / dt;
    printf("epoch %u/%ld  loss %.4f  train %.2f%%  test %.2f%% (T=%ld)  %.1fs  %.0f samples/s\n", e + 1, c.epochs, loss,
           100 * acc, 100 * test_acc, c.test_T, dt, rate);
    fflush(stdout);
    if (log && jsonl)
      log_jsonl(log, e + 1, loss, acc, test_acc, dt, rate, evsnn_lr_at(&schedule, e));
    else if (log)
      fprintf(log, "%u,%.6f,%.6f,%.6f,%.3f,%.1f,%g\n", e + 1, loss, acc, test_acc, dt, rate, evsnn_lr_at(&schedule, e));
    if (log) fflush(log);
    /* Saved after every epoch (atomically): the model and its checkpoint. */
    if (out_path && talk) {
      evsnn_epoch_t next = {.epoch = e + 1};
      format_meta(meta, sizeof meta, &c, &next, test_acc);
      if ((err = evsnn_model_save(out_path, &net, meta, &opt))) return cli_fail(err, out_path);
    }
    if (stop_requested(dist)) { /* between epochs: the model just saved is the checkpoint */
      dist->together = 1, rc = stop_status();
      if (!talk) break;
      fprintf(stderr, "evsnn: interrupted after epoch %u%s%s\n", e + 1, out_path ? "; continue with: evsnn train --resume " : "",
              out_path ? out_path : "");
      rc = stop_status();
      break;
    }
  }
  if (!rc) {
    double synops = 0, macs = 0, n = test.n ? test.n : 1;
    for (uint32_t q = 0; q < net.n_projs; q++) synops += (double)counts.synops[q], macs += (double)counts.dense_macs[q];
    printf("test sparsity per image (T=%ld): spikes", c.test_T);
    for (uint32_t m = 0; m + 1 < net.n_pops; m++) printf("%s%s %.0f", m ? "  " : " ", net.pop[m].name, counts.spikes[m] / n);
    printf("; synaptic ops %.0f vs dense MACs %.0f (%.1fx fewer)\n", synops / n, macs / n, synops > 0 ? macs / synops : 0.0);
    if (json) {
      cli_json_t j;
      cli_json_start(&j, stdout);
      cli_json_object(&j, NULL);
      cli_json_string(&j, "preset", c.preset);
      cli_json_string(&j, "grad", grad_name(c.grad));
      cli_json_string(&j, "net", desc);
      cli_json_number(&j, "test_accuracy", "%.6f", test_acc);
      cli_json_number(&j, "peak_test_accuracy", "%.6f", peak);
      cli_json_int(&j, "peak_epoch", peak_epoch);
      cli_json_number(&j, "train_accuracy", "%.6f", (double)ep.correct / (train.n ? train.n : 1));
      cli_json_int(&j, "epochs", c.epochs);
      cli_json_number(&j, "seconds", "%.3f", seconds);
      cli_json_number(&j, "samples_per_second", "%.1f", seconds > 0 ? samples / seconds : 0.0);
      cli_json_array(&j, "spike_rates");
      for (uint32_t m = 0; m + 1 < net.n_pops; m++)
        cli_json_number(&j, NULL, "%.6f", counts.spikes[m] / n / (double)c.test_T / net.pop[m].n);
      cli_json_end(&j);
      cli_json_number(&j, "synops_per_image", "%.1f", synops / n);
      cli_json_number(&j, "dense_macs_per_image", "%.1f", macs / n);
      cli_json_end(&j);
    }
  }
  if (!rc) dist->together = 1;
  cli_stop_release();
  if (log) fclose(log);
  cli_parallel_close(&par);
  evsnn_adam_free(&opt);
  for (long w = 0; w < c.threads; w++) evsnn_trainer_free(tr[w]);
  evsnn_net_free(&net);
  evsnn_dataset_free(&train);
  evsnn_dataset_free(&test);
  return rc;
}

int evsnn_cmd_train(int argc, char **argv) {
  dist_t dist;
  if (dist_init(&dist, &argc, &argv)) return 1;
  if (dist.rank && !freopen("/dev/null", "w", stdout)) return dist_finish(&dist, 1, 0); /* rank 0 prints */
  int rc = train(argc, argv, &dist);
  return dist_finish(&dist, rc, dist.together);
}
