/* evsnn test: accuracy of a saved model (any graph) on the MNIST test set
 * or an event dataset's binned test recordings, with the anytime curve
 * (the accuracy when deciding after 1, 2, ..., T steps) and the sparsity
 * counters per population (evsnn/stats.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "evsnn.h"

static int usage_test(void) {
  printf("usage: evsnn test --model MODEL [--data DIR] [--steps T] [--limit N] [--seed S] [--engine event|dense] [--json]\n"
         "  --engine dense runs the dense CBLAS reference on the same input spikes\n");
  return 0;
}

int evsnn_cmd_test(int argc, char **argv) {
  const char *dir = NULL, *model = NULL;
  long T = 5, limit = 0, seed = 2;
  int json = 0;
  evsnn_engine_t engine = EVSNN_ENGINE_EVENT;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_test();
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (!val) return cli_usage("test: %s needs a value", a);
    i++;
    if (!strcmp(a, "--model")) model = val;
    else if (!strcmp(a, "--data")) dir = val;
    else if (!strcmp(a, "--steps")) { if (!cli_parse_long(a, val, 1, 10000, &T)) return 2; }
    else if (!strcmp(a, "--limit")) { if (!cli_parse_long(a, val, 1, 100000000, &limit)) return 2; }
    else if (!strcmp(a, "--seed")) { if (!cli_parse_long(a, val, 0, 0x7fffffffL, &seed)) return 2; }
    else if (!strcmp(a, "--engine")) { if (!cli_parse_engine(a, val, &engine)) return 2; }
    else return cli_usage("test: unknown option '%s' (see evsnn test --help)", a);
  }
  if (!model) return cli_usage("test: --model MODEL is required");
  evsnn_net_t net;
  int err;
  if (cli_load_model(model, &net)) return 1;
  evsnn_dataset_t train = {0}, test = {0};
  int is_sample = 0;
  char used[1024];
  if (dir && evsnn_dataset_is_events_dir(dir)) {
    /* Event recordings in DIR/test, each binned into T steps over its span. */
    snprintf(used, sizeof used, "%s/test", dir);
    if ((err = evsnn_dataset_load_events(&test, used, evsnn_net_inputs(&net), (uint32_t)T, 0, EVSNN_BIN_BINARY,
                                         &net.sensor))) {
      evsnn_net_free(&net);
      return cli_fail(err, dir);
    }
  } else if ((err = evsnn_dataset_load_dir(&train, &test, dir, &is_sample, used, sizeof used))) {
    evsnn_net_free(&net);
    return cli_fail(err, dir ? dir : "MNIST");
  }
  evsnn_dataset_free(&train);
  if (limit) evsnn_dataset_limit(&test, (uint32_t)limit);
  if (is_sample) fprintf(stderr, "evsnn: NOTE: testing on the EMBEDDED SAMPLE (%s), not the full MNIST test set\n", used);
  double acc, *anytime = malloc(sizeof(double) * (size_t)T);
  evsnn_counts_t counts;
  if (!anytime) return cli_fail(EVSNN_ENOMEM, "test");
  evsnn_test_t pass = {.T = (uint32_t)T, .seed = (uint64_t)seed, .engine = engine, .counts = &counts, .anytime = anytime};
  evsnn_stats_t st;
  if ((err = evsnn_test_accuracy(&net, &test, &pass, &acc)) || (err = evsnn_stats_init(&st, &net)))
    return cli_fail(err, "test");
  evsnn_stats_add(&st, &counts);
  printf("%s: %.2f%% on %u test images from %s at T=%ld (%s engine)\nanytime (accuracy deciding after k steps):", model,
         100 * acc, test.n, used, T, cli_engine_name(engine));
  for (long k = 0; k < T; k++) printf("%s k=%ld %.2f%%", k ? "," : "", k + 1, 100 * anytime[k]);
  printf("\n");
  /* The same counters as train's test pass and evsnn stats. */
  evsnn_stats_total_t tot;
  evsnn_stats_total(&st, &tot);
  double synops = (double)tot.synops, macs = (double)tot.dense_macs, n = test.n ? test.n : 1;
  printf("sparsity per image: input spikes %.1f", counts.spikes[0] / n);
  for (uint32_t m = 1; m + 1 < net.n_pops; m++) printf(", %s %.1f", net.pop[m].name, counts.spikes[m] / n);
  printf("; synaptic ops %.0f vs dense MACs %.0f (%.1fx fewer)\n", synops / n, macs / n, synops > 0 ? macs / synops : 0.0);
  if (json) {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_number(&j, "accuracy", "%.6f", acc);
    cli_json_int(&j, "steps", T);
    cli_json_uint(&j, "images", test.n);
    cli_json_array(&j, "anytime");
    for (long k = 0; k < T; k++) cli_json_number(&j, NULL, "%.6f", anytime[k]);
    cli_json_end(&j);
    cli_json_array(&j, "spikes");
    for (uint32_t m = 0; m + 1 < net.n_pops; m++) cli_json_uint(&j, NULL, counts.spikes[m]);
    cli_json_end(&j);
    cli_json_number(&j, "synops", "%.0f", synops);
    cli_json_number(&j, "dense_macs", "%.0f", macs);
    /* Per population, as evsnn stats names them: the spikes of the
     * population and the operations of the projections into it. */
    cli_json_array(&j, "populations");
    for (uint32_t m = 0; m < net.n_pops; m++) {
      const evsnn_pop_t *p = &net.pop[m];
      evsnn_stats_pop_t sp;
      evsnn_stats_pop(&st, m, &sp);
      cli_json_object(&j, NULL);
      cli_json_pop(&j, p);
      cli_json_uint(&j, "neurons", sp.neurons);
      cli_json_bool(&j, "spiking", sp.spiking);
      cli_json_uint(&j, "spikes", sp.spikes);
      cli_json_number(&j, "spikes_per_neuron_per_step", "%.6g", sp.per_step);
      cli_json_uint(&j, "synops", sp.synops);
      cli_json_uint(&j, "dense_macs", sp.dense_macs);
      cli_json_end(&j);
    }
    cli_json_end(&j);
    cli_json_end(&j);
  }
  evsnn_stats_free(&st);
  free(anytime);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
  return 0;
}
