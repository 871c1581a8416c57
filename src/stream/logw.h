/* A log writer that never blocks its caller (logw.c): lines go into a
 * bounded buffer that a thread of its own writes to a descriptor; when the
 * buffer is full a line is dropped and counted, and the count is written
 * once the buffer drains. evsnn serve logs through it, so that a stderr
 * nobody reads cannot stop the loop. */
#ifndef EVSNN_STREAM_LOGW_H
#define EVSNN_STREAM_LOGW_H

#include <stddef.h>
#include <stdint.h>

typedef struct evsnn__logw_s evsnn__logw_t;

/* Starts the writer on fd (not closed by the writer), with cap bytes of
 * buffer. EVSNN_ENOMEM, EVSNN_ESYS (no thread). */
int evsnn__logw_start(evsnn__logw_t **out, int fd, size_t cap);
/* Queues prefix + line + a newline, or drops the line when there is no
 * room. Any thread. */
void evsnn__logw_put(evsnn__logw_t *w, const char *prefix, const char *line);
/* Lines dropped so far. */
uint64_t evsnn__logw_dropped(evsnn__logw_t *w);
/* Waits up to wait_ms for the queued lines to be written, then stops.
 * Returns 1 when all were written and the writer is freed; 0 when the
 * descriptor still blocks: the writer thread is then left blocked in
 * write(2) (its memory with it) until the process exits. */
int evsnn__logw_stop(evsnn__logw_t *w, int wait_ms);

#endif
