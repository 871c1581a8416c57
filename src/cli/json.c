/* The CLI's JSON writer (json.h): users parse --json with real parsers, and
 * the strings in it are paths, which on Linux hold any byte, so escaping and
 * UTF-8 checking live here once instead of in each command's printf. */
#include "cli/json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>

#include "evsnn/net.h"

void cli_json_start(cli_json_t *j, FILE *f) { *j = (cli_json_t){.f = f}; }

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 if the bytes there are not one. */
static int utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  int n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000;
  else return 0;
  unsigned cp = c & (0x3f >> (n - 1));
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the terminating NUL */
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

static void put_string(FILE *f, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', f);
  while (*s) {
    unsigned c = *s;
    if (c == '"' || c == '\\') fputc('\\', f), fputc((int)c, f), s++;
    else if (c == '\n') fputs("\\n", f), s++;
    else if (c == '\r') fputs("\\r", f), s++;
    else if (c == '\t') fputs("\\t", f), s++;
    else if (c < 0x20) fprintf(f, "\\u%04x", c), s++;
    else {
      int n = utf8_len(s);
      if (n == 0) fputs("\xef\xbf\xbd", f), s++; /* U+FFFD for the one stray byte */
      else fwrite(s, 1, (size_t)n, f), s += n;
    }
  }
  fputc('"', f);
}

/* The separator and key every value needs. */
static void member(cli_json_t *j, const char *key) {
  if (j->depth > 0) {
    if (j->has_member[j->depth - 1]) fputs(", ", j->f);
    j->has_member[j->depth - 1] = true;
  }
  if (key) {
    put_string(j->f, key);
    fputs(": ", j->f);
  }
}

static void open_container(cli_json_t *j, const char *key, char c) {
  member(j, key);
  assert(j->depth < CLI_JSON_MAX_DEPTH);
  fputc(c, j->f);
  j->closer[j->depth] = c == '{' ? '}' : ']';
  j->has_member[j->depth++] = false;
}

void cli_json_object(cli_json_t *j, const char *key) { open_container(j, key, '{'); }
void cli_json_array(cli_json_t *j, const char *key) { open_container(j, key, '['); }

void cli_json_end(cli_json_t *j) {
  assert(j->depth > 0);
  j->depth--;
  fputc(j->closer[j->depth], j->f);
  if (j->depth == 0) fputc('\n', j->f);
}

void cli_json_string(cli_json_t *j, const char *key, const char *s) {
  member(j, key);
  put_string(j->f, s ? s : "");
}

void cli_json_int(cli_json_t *j, const char *key, int64_t v) {
  member(j, key);
  fprintf(j->f, "%" PRId64, v);
}

void cli_json_uint(cli_json_t *j, const char *key, uint64_t v) {
  member(j, key);
  fprintf(j->f, "%" PRIu64, v);
}

void cli_json_bool(cli_json_t *j, const char *key, bool v) {
  member(j, key);
  fputs(v ? "true" : "false", j->f);
}

void cli_json_number(cli_json_t *j, const char *key, const char *fmt, double v) {
  member(j, key);
  if (isfinite(v)) fprintf(j->f, fmt, v);
  else fputs("null", j->f);
}

void cli_json_pop(cli_json_t *j, const evsnn_pop_t *p) {
  cli_json_string(j, "name", p->name);
  cli_json_array(j, "shape");
  cli_json_uint(j, NULL, p->c), cli_json_uint(j, NULL, p->h), cli_json_uint(j, NULL, p->w);
  cli_json_end(j);
}
