/* evsnn/model.h: model files. A versioned, little-endian, checksummed
 * container for a network (sizes, leak, thresholds, weights), free-form
 * "key=value" metadata and optionally the Adam state for resuming. The
 * layout is specified field by field in docs/model-format.md.
 */
#ifndef EVSNN_MODEL_H
#define EVSNN_MODEL_H

#include "evsnn/net.h"
#include "evsnn/train.h"

#define EVSNN_MODEL_VERSION 1

/* Writes PATH.tmp, then renames it over path, so a crash never leaves a
 * half-written model. meta may be NULL; adam may be NULL (no resume state). */
int evsnn_model_save(const char *path, const evsnn_net_t *net, const char *meta, const evsnn_adam_t *adam);

/* Loads a model into net (initialised here; free with evsnn_net_free).
 * *meta, if meta is non-NULL, gets a malloc'd copy of the metadata ("" if
 * none). If adam is non-NULL and the file holds Adam state, *adam is
 * initialised from it (free with evsnn_adam_free); if the file holds none,
 * adam->n is 0. On failure nothing is allocated. */
int evsnn_model_load(const char *path, evsnn_net_t *net, char **meta, evsnn_adam_t *adam);

#endif
