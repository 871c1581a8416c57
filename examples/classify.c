/* A small program that uses only the public API: builds the paper's
 * 784-300-300-10 network with its initialisation, encodes a synthetic image
 * (a bright bar) as Poisson spikes, runs it for T steps event by event, and
 * prints the spikes per layer, the output potentials and what sparsity
 * saved. Usage: classify [T]  (default 20). */
#include <evsnn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  uint32_t T = argc > 1 ? (uint32_t)atoi(argv[1]) : 20;
  uint32_t sizes[] = {784, 300, 300, 10};
  evsnn_net_t net;
  evsnn_state_t st;
  evsnn_poisson_t enc;
  int err;
  if ((err = evsnn_net_init(&net, sizes, 4, 0.8187f)) || (err = evsnn_state_init(&st, &net)) ||
      (err = evsnn_poisson_init(&enc, 784))) {
    fprintf(stderr, "classify: %s: %s\n", evsnn_strerror(err), evsnn_error_detail());
    return 1;
  }
  evsnn_net_init_params(&net, 42, EVSNN_INIT_FANIN, (const float[]){5, 3});

  uint8_t image[784] = {0};
  for (int y = 4; y < 24; y++)
    for (int x = 12; x < 16; x++) image[y * 28 + x] = 255;
  evsnn_poisson_set_image(&enc, image);

  evsnn_rng_t rng;
  evsnn_rng_init(&rng, 42, 0);
  uint32_t spikes[784];
  for (uint32_t k = 0; k < T; k++) {
    uint32_t n = evsnn_poisson_step(&enc, &rng, spikes);
    evsnn_state_step(&st, spikes, n);
    printf("step %2u: spikes in %3u  h1 %3u  h2 %3u\n", k, st.n_spikes[0], st.n_spikes[1], st.n_spikes[2]);
  }
  const float *v = evsnn_state_potentials(&st, 3);
  printf("output potentials:");
  for (int i = 0; i < 10; i++) printf(" %.3f", v[i]);
  printf("\nclass %u\n", evsnn_argmax(v, 10));
  uint64_t synops = 0, macs = 0;
  for (uint32_t m = 0; m < net.n_layers; m++) synops += st.counts.synops[m], macs += st.counts.dense_macs[m];
  printf("synaptic operations %llu, dense multiply-accumulates %llu (%.1fx fewer)\n", (unsigned long long)synops,
         (unsigned long long)macs, synops ? (double)macs / (double)synops : 0.0);
  evsnn_poisson_free(&enc);
  evsnn_state_free(&st);
  evsnn_net_free(&net);
  return 0;
}
