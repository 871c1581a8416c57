/* What both builds of src/dist share: the checksums by which ranks agree
 * that they read the same data set with the same settings. */
#include <zlib.h>

#include "dist/dist.h"

uint32_t dist_crc(const void *p, size_t len) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const unsigned char *b = p;
  /* crc32 takes at most UINT_MAX bytes at once. */
  for (size_t done = 0; done < len;) {
    uInt step = len - done > 1u << 30 ? 1u << 30 : (uInt)(len - done);
    crc = crc32(crc, b + done, step);
    done += step;
  }
  return (uint32_t)crc;
}

uint32_t dist_samples_crc(const evsnn_dataset_t *ds) {
  uint32_t shape[4] = {ds->n, ds->rows, ds->cols, ds->steps};
  uint32_t crc[3] = {dist_crc(shape, sizeof shape), 0, 0};
  if (ds->pixels) crc[1] = dist_crc(ds->pixels, (size_t)ds->n * ds->rows * ds->cols);
  if (ds->start) {
    size_t bins = (size_t)ds->n * ds->steps;
    crc[1] = dist_crc(ds->start, sizeof(uint64_t) * (bins + 1));
    crc[2] = dist_crc(ds->spikes, sizeof(uint32_t) * ds->start[bins]);
  }
  return dist_crc(crc, sizeof crc);
}

uint32_t dist_labels_crc(const evsnn_dataset_t *ds) { return dist_crc(ds->labels, ds->n); }
