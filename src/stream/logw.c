/* The non-blocking log writer of logw.h. One ring buffer under a mutex;
 * the writer thread copies a run of bytes out under the lock and writes
 * them without it, so a caller holds the lock only for a memcpy, however
 * long write(2) blocks. Drops are counted by the caller's side and reported
 * by the writer when the ring is empty again (the first moment the report
 * itself can get through). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "stream/logw.h"

struct evsnn__logw_s {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t more, drained;
  int fd;
  int stop;
  int idle;          /* the writer waits for lines: nothing in flight */
  char *buf;
  size_t cap, head, n;  /* bytes buf[head .. head + n) (mod cap) are queued */
  uint64_t dropped, unreported;
};

/* Appends len bytes; the caller checked the room. */
static void ring_put(evsnn__logw_t *w, const char *p, size_t len) {
  for (size_t i = 0; i < len; i++) w->buf[(w->head + w->n + i) % w->cap] = p[i];
  w->n += len;
}

static void put_locked(evsnn__logw_t *w, const char *prefix, const char *line) {
  size_t a = strlen(prefix), b = strlen(line);
  if (w->n + a + b + 1 > w->cap) {
    w->dropped++;
    w->unreported++;
    return;
  }
  ring_put(w, prefix, a);
  ring_put(w, line, b);
  ring_put(w, "\n", 1);
  pthread_cond_signal(&w->more);
}

static void *writer(void *arg) {
  evsnn__logw_t *w = arg;
  char chunk[4096];
  pthread_mutex_lock(&w->mu);
  for (;;) {
    if (w->n == 0 && w->unreported > 0) {
      char line[96];
      snprintf(line, sizeof line, "%llu log lines dropped: the log was not read fast enough",
               (unsigned long long)w->unreported);
      w->unreported = 0;
      put_locked(w, "evsnn serve: ", line);
    }
    if (w->n == 0) {
      w->idle = 1;
      pthread_cond_broadcast(&w->drained);
      if (w->stop) break;
      pthread_cond_wait(&w->more, &w->mu);
      continue;
    }
    w->idle = 0;
    size_t k = w->n < sizeof chunk ? w->n : sizeof chunk;
    for (size_t i = 0; i < k; i++) chunk[i] = w->buf[(w->head + i) % w->cap];
    pthread_mutex_unlock(&w->mu);
    size_t done = 0;
    while (done < k) {
      ssize_t r = write(w->fd, chunk + done, k - done);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break; /* a closed or broken descriptor: the bytes are lost, not retried */
      done += (size_t)r;
    }
    pthread_mutex_lock(&w->mu);
    w->head = (w->head + k) % w->cap;
    w->n -= k;
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int evsnn__logw_start(evsnn__logw_t **out, int fd, size_t cap) {
  *out = NULL;
  evsnn__logw_t *w = calloc(1, sizeof *w);
  char *buf = malloc(cap);
  if (w == NULL || buf == NULL) {
    free(w);
    free(buf);
    return evsnn__fail(EVSNN_ENOMEM, "log buffer of %zu bytes", cap);
  }
  w->fd = fd;
  w->buf = buf;
  w->cap = cap;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->more, NULL);
  pthread_cond_init(&w->drained, NULL);
  int r = pthread_create(&w->th, NULL, writer, w);
  if (r != 0) {
    free(buf);
    free(w);
    return evsnn__fail(EVSNN_ESYS, "log writer thread: %s", strerror(r));
  }
  *out = w;
  return 0;
}

void evsnn__logw_put(evsnn__logw_t *w, const char *prefix, const char *line) {
  pthread_mutex_lock(&w->mu);
  put_locked(w, prefix, line);
  pthread_mutex_unlock(&w->mu);
}

uint64_t evsnn__logw_dropped(evsnn__logw_t *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t d = w->dropped;
  pthread_mutex_unlock(&w->mu);
  return d;
}

int evsnn__logw_stop(evsnn__logw_t *w, int wait_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->more);
  int timed_out = 0;
  while (!(w->idle && w->n == 0 && w->unreported == 0) && !timed_out)
    timed_out = pthread_cond_timedwait(&w->drained, &w->mu, &until) != 0;
  int drained = w->idle && w->n == 0 && w->unreported == 0;
  pthread_mutex_unlock(&w->mu);
  if (!drained) {
    pthread_detach(w->th);
    return 0;
  }
  pthread_join(w->th, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->more);
  pthread_cond_destroy(&w->drained);
  free(w->buf);
  free(w);
  return 1;
}
