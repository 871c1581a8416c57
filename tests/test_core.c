/* Tests of src/core: the error table and the PRNG. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/error.h"
#include "evsnn/rng.h"

Test(error, every_code_has_a_name_and_message) {
  for (int e = EVSNN__ERR_FIRST + 1; e < EVSNN__ERR_END; e++) {
    cr_expect_str_neq(evsnn_strerror(e), "unknown error", "code %d", e);
    cr_expect(strncmp(evsnn_err_name(e), "EVSNN_E", 7) == 0);
  }
  cr_expect_str_eq(evsnn_strerror(12345), "unknown error");
  cr_expect_str_eq(evsnn_err_name(EVSNN_ETRUNC), "EVSNN_ETRUNC");
}

Test(error, fail_records_detail) {
  int e = evsnn__fail(EVSNN_EFORMAT, "%s: magic %u", "x.idx", 7u);
  cr_expect_eq(e, EVSNN_EFORMAT);
  cr_expect_str_eq(evsnn_error_detail(), "x.idx: magic 7");
}

Test(rng, same_seed_same_stream_and_streams_differ) {
  evsnn_rng_t a, b, c;
  evsnn_rng_init(&a, 42, 0);
  evsnn_rng_init(&b, 42, 0);
  evsnn_rng_init(&c, 42, 1);
  int differ = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t x = evsnn_rng_next(&a);
    cr_assert_eq(x, evsnn_rng_next(&b));
    differ += x != evsnn_rng_next(&c);
  }
  cr_expect_gt(differ, 95);
}

Test(rng, known_first_value_pins_the_algorithm) {
  /* Pinned so that a change of generator, which would silently change every
   * seeded result, fails here first. */
  evsnn_rng_t r;
  evsnn_rng_init(&r, 1, 0);
  cr_expect_eq(evsnn_rng_next(&r), 0xbaa24e21d05c2935ull);
}

Test(rng, uniform_mean_and_bounds) {
  evsnn_rng_t r;
  evsnn_rng_init(&r, 7, 3);
  double sum = 0;
  for (int i = 0; i < 100000; i++) {
    float u = evsnn_rng_uniform(&r);
    cr_assert(u >= 0.0f && u < 1.0f);
    sum += u;
  }
  cr_expect_float_eq(sum / 100000, 0.5, 0.01);
  unsigned hist[7] = {0};
  for (int i = 0; i < 70000; i++) hist[evsnn_rng_below(&r, 7)]++;
  for (int k = 0; k < 7; k++) cr_expect(hist[k] > 9500 && hist[k] < 10500, "bucket %d: %u", k, hist[k]);
}
