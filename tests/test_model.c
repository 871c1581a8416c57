/* Model files: bit-exact round trips, and every way a file can be bad. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evsnn/error.h"
#include "evsnn/model.h"

static char path[64];

static void setup(void) {
  strcpy(path, "/tmp/evsnn-model-XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
}

static void teardown(void) { unlink(path); }

static void small_net(evsnn_net_t *net) {
  cr_assert_eq(evsnn_net_init(net, (uint32_t[]){20, 17, 5}, 3, 0.75f), 0);
  evsnn_net_init_params(net, 9, EVSNN_INIT_WIDTH, (float[]){2});
}

static long file_size(void) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static void poke(long at, int xor_with) {
  FILE *f = fopen(path, "r+b");
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ xor_with, f);
  fclose(f);
}

TestSuite(model, .init = setup, .fini = teardown);

Test(model, round_trip_is_bit_exact_with_meta_and_adam) {
  evsnn_net_t a, b;
  small_net(&a);
  evsnn_adam_t opt, opt2;
  cr_assert_eq(evsnn_adam_init(&opt, a.n_params, 1e-3f), 0);
  float *g = calloc(a.n_params, sizeof(float));
  for (size_t i = 0; i < a.n_params; i++) g[i] = a.params[i] * 0.1f;
  evsnn_adam_step(&opt, a.params, g);
  evsnn_adam_step(&opt, a.params, g);
  cr_assert_eq(evsnn_model_save(path, &a, "preset=test\nepochs=2\n", &opt), 0, "%s", evsnn_error_detail());
  char *meta;
  cr_assert_eq(evsnn_model_load(path, &b, &meta, &opt2), 0, "%s", evsnn_error_detail());
  cr_expect_str_eq(meta, "preset=test\nepochs=2\n");
  cr_expect_eq(b.n_layers, 2);
  cr_expect_eq(b.sizes[1], 17);
  cr_expect_eq(b.beta, 0.75f);
  cr_expect_eq(b.layer[0].threshold, a.layer[0].threshold);
  cr_assert_eq(b.n_params, a.n_params);
  cr_expect(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0);
  cr_expect_eq(opt2.t, 2);
  cr_expect(memcmp(opt.m, opt2.m, sizeof(float) * a.n_params) == 0);
  cr_expect(memcmp(opt.v, opt2.v, sizeof(float) * a.n_params) == 0);
  free(meta);
  free(g);
  evsnn_adam_free(&opt);
  evsnn_adam_free(&opt2);
  evsnn_net_free(&a);
  evsnn_net_free(&b);
}

Test(model, without_adam_loads_with_empty_state) {
  evsnn_net_t a, b;
  small_net(&a);
  cr_assert_eq(evsnn_model_save(path, &a, NULL, NULL), 0);
  evsnn_adam_t opt;
  char *meta;
  cr_assert_eq(evsnn_model_load(path, &b, &meta, &opt), 0);
  cr_expect_eq(opt.n, 0);
  cr_expect_str_eq(meta, "");
  free(meta);
  evsnn_net_free(&a);
  evsnn_net_free(&b);
}

static int load_err(void) {
  evsnn_net_t b;
  int err = evsnn_model_load(path, &b, NULL, NULL);
  if (err) cr_expect_null(b.params, "nothing stays allocated on failure");
  evsnn_net_free(&b);
  return err;
}

Test(model, every_corruption_is_named) {
  evsnn_net_t a;
  small_net(&a);
  cr_assert_eq(evsnn_model_save(path, &a, "k=v\n", NULL), 0);
  long n = file_size();
  poke(n / 2, 0x10);
  cr_expect_eq(load_err(), EVSNN_ECHECKSUM);
  cr_expect(strstr(evsnn_error_detail(), path) != NULL);
  poke(n / 2, 0x10);
  cr_expect_eq(load_err(), 0);
  cr_assert_eq(truncate(path, n - 100), 0);
  cr_expect_eq(load_err(), EVSNN_ECHECKSUM);
  cr_assert_eq(truncate(path, 6), 0);
  cr_expect_eq(load_err(), EVSNN_ETRUNC);
  cr_assert_eq(evsnn_model_save(path, &a, NULL, NULL), 0);
  poke(0, 0x20);
  cr_expect_eq(load_err(), EVSNN_EFORMAT);
  poke(0, 0x20);
  poke(8, 0x03);
  cr_expect_eq(load_err(), EVSNN_EVERSION);
  cr_expect(strstr(evsnn_error_detail(), "version 2") != NULL, "%s", evsnn_error_detail());
  unlink(path);
  cr_expect_eq(load_err(), EVSNN_ENOENT);
  evsnn_net_free(&a);
}
