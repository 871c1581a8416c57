/* Error codes, names and messages, all generated from EVSNN_ERRNO_MAP, and
 * the per-thread detail line that failing calls leave for the CLI. */
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_detail[512];

const char *evsnn_strerror(int err) {
  switch (err) {
    case EVSNN_OK: return "success";
#define XX(name, msg) case EVSNN_E##name: return msg;
    EVSNN_ERRNO_MAP(XX)
#undef XX
  }
  return "unknown error";
}

const char *evsnn_err_name(int err) {
  switch (err) {
    case EVSNN_OK: return "EVSNN_OK";
#define XX(name, msg) case EVSNN_E##name: return "EVSNN_E" #name;
    EVSNN_ERRNO_MAP(XX)
#undef XX
  }
  return "EVSNN_EUNKNOWN";
}

const char *evsnn_error_detail(void) { return last_detail; }

int evsnn__fail(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_detail, sizeof last_detail, fmt, ap);
  va_end(ap);
  return err;
}

void evsnn__clear_detail(void) { last_detail[0] = '\0'; }
