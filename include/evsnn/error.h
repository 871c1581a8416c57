/* evsnn/error.h: error codes, names and messages.
 *
 * Every library function that can fail returns 0 on success or a negative
 * EVSNN_E* code. The library never prints and never exits: it records a
 * one-line detail (which file, which byte or event, what was expected and
 * what was found) that the caller may read with evsnn_error_detail() on the
 * same thread, right after the failing call.
 */
#ifndef EVSNN_ERROR_H
#define EVSNN_ERROR_H

/* XX(name, message). One table generates codes, names and messages. */
#define EVSNN_ERRNO_MAP(XX)                                   \
  XX(NOMEM, "out of memory")                                  \
  XX(INVAL, "invalid argument")                               \
  XX(IO, "input/output error")                                \
  XX(NOENT, "no such file or directory")                      \
  XX(FORMAT, "not a file of the expected format")             \
  XX(TRUNC, "truncated input")                                \
  XX(CORRUPT, "corrupt data")                                 \
  XX(VERSION, "unsupported format version")                   \
  XX(CHECKSUM, "checksum mismatch")                           \
  XX(ORDER, "events out of timestamp order")                  \
  XX(RANGE, "value out of range")                             \
  XX(UNSUPPORTED, "unsupported feature")                      \
  XX(PROTO, "protocol violation")                             \
  XX(CANCELED, "operation canceled")                          \
  XX(SYS, "system call failed")

enum {
  EVSNN_OK = 0,
#define XX(name, msg) EVSNN_E##name,
  EVSNN__ERR_FIRST = -1000,
  EVSNN_ERRNO_MAP(XX)
#undef XX
  EVSNN__ERR_END
};

/* "out of memory", ... ; "unknown error" for codes outside the table. */
const char *evsnn_strerror(int err);
/* "EVSNN_ENOMEM", ... */
const char *evsnn_err_name(int err);
/* The detail the last failing call on this thread recorded, or "" if none. */
const char *evsnn_error_detail(void);

#endif
