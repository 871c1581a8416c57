/* evsnn/rng.h: the one pseudo-random generator every seeded result uses.
 *
 * xoshiro256** (Blackman and Vigna, 2018), seeded through splitmix64. Pure
 * 64-bit integer arithmetic, so a seed gives the same stream on every
 * machine and compiler. Streams for independent uses (a sample, an epoch's
 * shuffle, a layer's initialisation) are derived from (seed, stream id) with
 * evsnn_rng_init, never by sharing one generator across threads.
 */
#ifndef EVSNN_RNG_H
#define EVSNN_RNG_H

#include <stdint.h>

typedef struct evsnn_rng_s {
  uint64_t s[4];
} evsnn_rng_t;

/* Seeds the generator for stream `stream` of `seed`. */
void evsnn_rng_init(evsnn_rng_t *rng, uint64_t seed, uint64_t stream);

static inline uint64_t evsnn__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t evsnn_rng_next(evsnn_rng_t *rng) {
  uint64_t *s = rng->s;
  uint64_t result = evsnn__rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = evsnn__rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 24 random bits: exactly representable as float. */
static inline float evsnn_rng_uniform(evsnn_rng_t *rng) {
  return (float)(evsnn_rng_next(rng) >> 40) * 0x1.0p-24f;
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, unbiased). */
uint32_t evsnn_rng_below(evsnn_rng_t *rng, uint32_t n);

#endif
