/* Event datasets: a directory of labelled recordings, each binned into
 * steps through a sensor map, loaded as a binned evsnn_dataset_t that the
 * training and test loops consume through evsnn_input_t like images. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "evsnn/dataset.h"

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* The regular files of dir, sorted. */
static int list_files(const char *dir, char ***out, size_t *n_out) {
  DIR *dp = opendir(dir);
  if (!dp) return evsnn__fail(EVSNN_ENOENT, "%s: cannot open the directory", dir);
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int err = 0;
  while ((de = readdir(dp))) {
    if (de->d_name[0] == '.') continue;
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      char **nn = realloc(names, sizeof *names * cap);
      if (!nn) { err = EVSNN_ENOMEM; break; }
      names = nn;
    }
    if (!(names[n] = strdup(path))) { err = EVSNN_ENOMEM; break; }
    n++;
  }
  closedir(dp);
  if (err) {
    free_names(names, n);
    return evsnn__fail(err, "%s: listing", dir);
  }
  if (n == 0) {
    free(names);
    return evsnn__fail(EVSNN_ENOENT, "%s: no event files", dir);
  }
  qsort(names, n, sizeof *names, cmp_names);
  *out = names, *n_out = n;
  return 0;
}

int evsnn_dataset_load_events(evsnn_dataset_t *d, const char *dir, uint32_t n_inputs, uint32_t steps, double dt_us,
                              evsnn_bin_mode_t mode, const evsnn_sensor_map_t *built) {
  memset(d, 0, sizeof *d);
  char **names;
  size_t n;
  int err = list_files(dir, &names, &n);
  if (err) return err;
  if (n > 0xffffffffu / steps) {
    free_names(names, n);
    return evsnn__fail(EVSNN_ERANGE, "%s: %zu recordings", dir, n);
  }
  evsnn_binned_t b;
  if ((err = evsnn_binned_init(&b, n_inputs, steps, 0, mode))) {
    free_names(names, n);
    return err;
  }
  size_t cap = 1 << 16, used = 0;
  double dt_sum = 0;
  d->labels = malloc(n);
  d->start = malloc(sizeof(uint64_t) * (n * steps + 1));
  d->spikes = malloc(sizeof(uint32_t) * cap);
  if (!d->labels || !d->start || !d->spikes) err = evsnn__fail(EVSNN_ENOMEM, "%s: %zu recordings", dir, n);
  evsnn_sensor_map_t map = {0};
  if (built) map = *built;
  for (size_t i = 0; i < n && !err; i++) {
    int32_t label;
    if ((err = evsnn_binned_read_file(&b, names[i], &map, dt_us, &label))) break;
    if (label < 0 || label > 255) {
      err = evsnn__fail(EVSNN_EFORMAT, "%s: label %d, a training sample needs one in 0..255", names[i], label);
      break;
    }
    size_t len = b.start[steps];
    if (used + len > cap) {
      while (used + len > cap) cap *= 2;
      uint32_t *ns = realloc(d->spikes, sizeof(uint32_t) * cap);
      if (!ns) {
        err = evsnn__fail(EVSNN_ENOMEM, "%s: %zu input spikes", dir, cap);
        break;
      }
      d->spikes = ns;
    }
    memcpy(d->spikes + used, b.idx, sizeof(uint32_t) * len);
    for (uint32_t k = 0; k < steps; k++) d->start[i * steps + k] = used + b.start[k];
    used += len;
    d->labels[i] = (uint8_t)label;
    dt_sum += b.dt_us;
  }
  evsnn_binned_free(&b);
  free_names(names, n);
  if (err) {
    evsnn_dataset_free(d);
    return err;
  }
  d->start[n * steps] = used;
  d->n = (uint32_t)n, d->rows = 1, d->cols = n_inputs, d->steps = steps;
  d->dt_us = n ? dt_sum / (double)n : 0;
  d->map = map;
  return 0;
}

int evsnn_dataset_load_events_dir(evsnn_dataset_t *train, evsnn_dataset_t *test, const char *dir, uint32_t n_inputs,
                                  uint32_t steps, double dt_us, evsnn_bin_mode_t mode, const evsnn_sensor_map_t *built) {
  char sub[4096];
  snprintf(sub, sizeof sub, "%s/train", dir);
  int err = evsnn_dataset_load_events(train, sub, n_inputs, steps, dt_us, mode, built);
  if (err) return err;
  snprintf(sub, sizeof sub, "%s/test", dir);
  if ((err = evsnn_dataset_load_events(test, sub, n_inputs, steps, dt_us, mode, &train->map))) evsnn_dataset_free(train);
  return err;
}

int evsnn_dataset_is_events_dir(const char *dir) {
  char p[4096];
  struct stat sb;
  snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
  if (!stat(p, &sb)) return 0;
  snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
  if (!stat(p, &sb)) return 0;
  snprintf(p, sizeof p, "%s/train", dir);
  return !stat(p, &sb) && S_ISDIR(sb.st_mode);
}
