/* evsnn/model.h: model files. A versioned, little-endian, checksummed
 * container for a network (sizes, leak, thresholds, weights), free-form
 * "key=value" metadata and optionally the Adam state for resuming. The
 * layout is specified field by field in docs/model-format.md.
 */
#ifndef EVSNN_MODEL_H
#define EVSNN_MODEL_H

#include "evsnn/net.h"
#include "evsnn/train.h"

/* Written: 2 (a graph). Read: 1 (0.1.0's chains) and 2. */
#define EVSNN_MODEL_VERSION 2

/* Writes PATH.tmp, then renames it over path, so a crash never leaves a
 * half-written model. meta may be NULL; adam may be NULL (no resume state). */
int evsnn_model_save(const char *path, const evsnn_net_t *net, const char *meta, const evsnn_adam_t *adam);

/* Loads a model into net (initialised here; free with evsnn_net_free).
 * *meta, if meta is non-NULL, gets a malloc'd copy of the metadata ("" if
 * none). If adam is non-NULL and the file holds Adam state, *adam is
 * initialised from it (free with evsnn_adam_free); if the file holds none,
 * adam->n is 0. On failure nothing is allocated. Every check of
 * docs/model-format.md is made whether or not adam is wanted, and the sizes
 * are checked against the bytes the file holds before anything is
 * allocated; each error names the file and the byte offset. */
int evsnn_model_load(const char *path, evsnn_net_t *net, char **meta, evsnn_adam_t *adam);

/* Checks that net can run: leak beta in [0, 1], every threshold and weight
 * finite. 0, or EVSNN_ECORRUPT with a detail "NAME: layer m: weight from
 * neuron j to neuron i is nan, not finite" (name NULL: "network"). The
 * loader makes the same check, naming the byte offset instead; importers
 * of other formats call this one on what they built. */
int evsnn_model_check(const evsnn_net_t *net, const char *name);

#endif
