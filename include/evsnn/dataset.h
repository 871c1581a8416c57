/* evsnn/dataset.h: labelled samples: images in the IDX format of MNIST,
 * or sensor events already binned into steps.
 *
 * The loader reads IDX files raw or gzip-compressed (zlib detects which),
 * checks magic, type byte, dimensions and that the data length is exact,
 * and that the image and label files agree on the count. Functions return
 * 0 or a negative EVSNN_E* code with a detail line (see evsnn/error.h);
 * on failure nothing stays allocated.
 */
#ifndef EVSNN_DATASET_H
#define EVSNN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/encode.h"
#include "evsnn/sensor.h"

typedef struct evsnn_dataset_s {
  uint32_t n, rows, cols; /* a sample has rows * cols inputs */
  uint8_t *pixels;        /* images: n * rows * cols bytes, row-major per image; owned */
  uint8_t *labels;        /* n bytes; owned */
  /* Binned event data (pixels NULL): sample i's step k input spikes are
   * spikes[start[i * steps + k] .. start[i * steps + k + 1]); owned. */
  uint32_t steps;
  uint32_t *spikes;
  uint64_t *start;
  double dt_us; /* binned events: the mean step length, microseconds (0 for images) */
  evsnn_sensor_map_t map; /* binned events: the sensor map every recording went through (width 0 for images) */
} evsnn_dataset_t;

/* Points *in at sample i: for images, loads it into enc (sized for rows *
 * cols inputs) and draws from rng; for binned events, at its trace. */
void evsnn_dataset_input(const evsnn_dataset_t *d, uint32_t i, evsnn_poisson_t *enc, evsnn_rng_t *rng,
                         evsnn_input_t *in);

/* Loads an idx3 image file (magic 0x00000803) and an idx1 label file
 * (0x00000801), raw or .gz. *d is overwritten (zeroed on failure). */
int evsnn_dataset_load_idx(evsnn_dataset_t *d, const char *images_path,
                           const char *labels_path);

/* Loads train and test from DIR (files train-images-idx3-ubyte[.gz],
 * train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
 * t10k-labels-idx1-ubyte[.gz]). If dir is NULL: tries $EVSNN_DATA, then
 * datasets/mnist, then falls back to datasets/sample and sets *is_sample = 1
 * (a directory is tried when its training images exist). The chosen
 * directory is written to dir_out (cap bytes) so the CLI can print it.
 * is_sample and dir_out may be NULL. */
int evsnn_dataset_load_dir(evsnn_dataset_t *train, evsnn_dataset_t *test,
                           const char *dir, int *is_sample, char *dir_out,
                           size_t cap);

/* An event dataset: DIR/train/ and DIR/test/ each hold one labelled event
 * recording per sample (any format evsnn/events.h reads; the label from
 * the file's header must be 0..255). Files are taken in name order, so
 * the sample order does not depend on the file system. Each recording is
 * binned into `steps` steps (evsnn_binned_read_file: dt_us > 0 fixes the
 * step, 0 spreads each recording's span over the steps) through one
 * map: `built` when given with a width (the sensor a model was built for,
 * evsnn_sensor_map_for), else the map that fits the first recording's
 * sensor onto n_inputs (evsnn_sensor_map_fit); d->map records it. Every
 * recording must have that sensor size (a set mixing sensors would train
 * one network on two geometries). The result is a binned dataset (pixels
 * NULL, rows 1, cols n_inputs) that the trainer and the test loop consume
 * like images. Errors name the file; on failure nothing stays allocated. */
int evsnn_dataset_load_events(evsnn_dataset_t *d, const char *dir, uint32_t n_inputs, uint32_t steps, double dt_us,
                              evsnn_bin_mode_t mode, const evsnn_sensor_map_t *built);
/* Both halves: DIR/train and DIR/test, the test half through the train
 * half's map. */
int evsnn_dataset_load_events_dir(evsnn_dataset_t *train, evsnn_dataset_t *test, const char *dir, uint32_t n_inputs,
                                  uint32_t steps, double dt_us, evsnn_bin_mode_t mode, const evsnn_sensor_map_t *built);
/* Non-zero when DIR looks like an event dataset (DIR/train is a directory
 * and DIR holds no MNIST training images). */
int evsnn_dataset_is_events_dir(const char *dir);

/* Keeps the first n examples (no copy); no-op if n >= d->n. */
void evsnn_dataset_limit(evsnn_dataset_t *d, uint32_t n);

/* Frees the arrays and zeroes *d; accepts a zeroed struct. */
void evsnn_dataset_free(evsnn_dataset_t *d);

#endif
