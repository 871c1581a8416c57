/* Seeding and bounded integers for xoshiro256** (see evsnn/rng.h). */
#include "evsnn/rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void evsnn_rng_init(evsnn_rng_t *rng, uint64_t seed, uint64_t stream) {
  /* Mix the stream id through splitmix64 so that neighbouring streams of one
   * seed start far apart. */
  uint64_t x = seed ^ (0xd1b54a32d192ed03ull * (stream + 1));
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

uint32_t evsnn_rng_below(evsnn_rng_t *rng, uint32_t n) {
  uint64_t m = (evsnn_rng_next(rng) >> 32) * (uint64_t)n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t floor = (uint32_t)(-n) % n;
    while (low < floor) {
      m = (evsnn_rng_next(rng) >> 32) * (uint64_t)n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}
