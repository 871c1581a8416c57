/* The one JSON writer behind every --json output and `train --log X.jsonl`.
 * It writes as it goes (no tree in memory), puts the commas itself, escapes
 * every string and key, and writes a number as the caller's printf format
 * prints it, so the figures keep the digits they always had. */
#ifndef EVSNN_CLI_JSON_H
#define EVSNN_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Deep enough for every output here; deeper nesting is a programming error. */
#define CLI_JSON_MAX_DEPTH 16

typedef struct {
  FILE *f;
  unsigned depth;
  bool has_member[CLI_JSON_MAX_DEPTH]; /* the open container at each depth has one: a comma before the next */
  char closer[CLI_JSON_MAX_DEPTH];     /* '}' or ']' for the container open at each depth */
} cli_json_t;

/* Starts a document on f. Members are written with `"key": value` and
 * separated by ", "; key is the member's name inside an object and NULL
 * inside an array or for the document itself. */
void cli_json_start(cli_json_t *j, FILE *f);
void cli_json_object(cli_json_t *j, const char *key);
void cli_json_array(cli_json_t *j, const char *key);
/* Closes the innermost object or array; closing the document's own value
 * ends the line. */
void cli_json_end(cli_json_t *j);

/* A string: valid UTF-8 is kept, quotes, backslashes and control bytes are
 * escaped, and each byte that is not part of a valid UTF-8 sequence (a path
 * on Linux may hold any byte) becomes U+FFFD, so the document always parses. */
void cli_json_string(cli_json_t *j, const char *key, const char *s);
void cli_json_int(cli_json_t *j, const char *key, int64_t v);
void cli_json_uint(cli_json_t *j, const char *key, uint64_t v);
void cli_json_bool(cli_json_t *j, const char *key, bool v);
/* v as printed by fmt (one double conversion: "%.6f", "%g", ...); NaN and
 * infinities, which JSON cannot hold, are written as null. */
void cli_json_number(cli_json_t *j, const char *key, const char *fmt, double v);

/* A population's "name" and "shape" ([C, H, W]) members, as stats and test
 * write them. */
struct evsnn_pop_s;
void cli_json_pop(cli_json_t *j, const struct evsnn_pop_s *p);

#endif
