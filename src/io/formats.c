/* The event reader: one table of format decoders and the sniffing that
 * picks one. A decoder registers by adding one line to `formats` below; the
 * reader owns the stream and the decoder's state and forwards reads. Every
 * read passes one gate here, so that no format can hand the engines a time
 * outside evsnn/time.h's domain or a time that goes back. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "io/formats.h"

/* Ordered by how cheaply and surely they recognise their content; the
 * highest sniff score wins, earlier entries win ties. */
static const evsnn__event_format_t *const formats[] = {
    &evsnn__format_evsnn,
    &evsnn__format_evt2,
    &evsnn__format_evt3,
    &evsnn__format_dat,
    &evsnn__format_aedat2,
    &evsnn__format_aedat3,
    &evsnn__format_aedat4,
    &evsnn__format_nmnist,
    &evsnn__format_text,
    NULL,
};

struct evsnn_event_reader_s {
  const evsnn__event_format_t *fmt;
  evsnn_stream_t *s;
  evsnn_event_info_t info;
  void *state;
  uint64_t count;  /* events delivered */
  int64_t last_t;  /* the last one's time, 0 before the first */
  int err;         /* a fault the gate found after events it delivered first */
  /* The detail of a fault kept for the next call (the gate's or a
   * decoder's), recorded again then: that call may run on another thread
   * (replay decodes on libuv's pool), whose detail line is not this one's. */
  char detail[512];
};

static const evsnn__event_format_t *by_name(const char *name) {
  for (size_t i = 0; formats[i] != NULL; i++)
    if (strcmp(formats[i]->name, name) == 0) return formats[i];
  return NULL;
}

static int sniff(evsnn_stream_t *s, const char *path, const evsnn__event_format_t **out) {
  const uint8_t *head;
  size_t len;
  int err = evsnn_stream_peek(s, EVSNN__SNIFF_BYTES, &head, &len);
  if (err != 0) return err;
  int best = 0;
  *out = NULL;
  for (size_t i = 0; formats[i] != NULL; i++) {
    int score = formats[i]->sniff(head, len, path);
    if (score > best) best = score, *out = formats[i];
  }
  if (*out == NULL)
    return evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: no known event format matches the first %zu bytes",
                       evsnn_stream_name(s), len);
  return 0;
}

/* Takes ownership of s, also on failure. */
static int reader_open(evsnn_event_reader_t **out, evsnn_stream_t *s, const char *path,
                       const char *format) {
  *out = NULL;
  const evsnn__event_format_t *fmt = NULL;
  int err = 0;
  if (format != NULL) {
    fmt = by_name(format);
    if (fmt == NULL)
      err = evsnn__fail(EVSNN_EINVAL, "%s: unknown event format \"%s\"", evsnn_stream_name(s), format);
  } else {
    err = sniff(s, path, &fmt);
  }
  if (err != 0) {
    evsnn_stream_close(s);
    return err;
  }
  evsnn_event_reader_t *r = calloc(1, sizeof(*r));
  void *state = calloc(1, fmt->state_size ? fmt->state_size : 1);
  if (r == NULL || state == NULL) {
    free(r);
    free(state);
    evsnn_stream_close(s);
    return evsnn__fail(EVSNN_ENOMEM, "%s: reader", evsnn_stream_name(s));
  }
  r->fmt = fmt;
  r->s = s;
  r->state = state;
  r->info.format = fmt->name;
  r->info.label = -1;
  r->info.meta = "";
  r->info.channels = 2;
  err = fmt->open(state, s, &r->info);
  if (err != 0) {
    evsnn_event_reader_close(r);
    return err;
  }
  *out = r;
  return 0;
}

int evsnn__header_line(evsnn_stream_t *s, char prefix, char *line, size_t cap) {
  const uint8_t *p;
  size_t avail, n = 0;
  int err = evsnn_stream_peek(s, EVSNN__LINE_MAX, &p, &avail);
  if (err != 0) return err;
  if (avail == 0 || p[0] != (uint8_t)prefix) return 0;
  while (n < avail && p[n] != '\n') n++;
  if (n == avail && avail >= EVSNN__LINE_MAX)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: header line longer than %d bytes",
                       evsnn_stream_name(s), (unsigned long long)evsnn_stream_offset(s),
                       EVSNN__LINE_MAX);
  size_t m = n, k;
  if (m > 0 && p[m - 1] == '\r') m--;
  k = m < cap - 1 ? m : cap - 1;
  memcpy(line, p, k);
  line[k] = 0;
  evsnn_stream_skip(s, n < avail ? n + 1 : n);
  return 1;
}

int evsnn_event_reader_open(evsnn_event_reader_t **r, const char *path, const char *format) {
  evsnn_stream_t *s;
  *r = NULL;
  int err = evsnn_stream_open_file(&s, path);
  if (err != 0) return err;
  return reader_open(r, s, path, format);
}

int evsnn_event_reader_open_mem(evsnn_event_reader_t **r, const void *data, size_t len,
                                const char *format) {
  evsnn_stream_t *s;
  *r = NULL;
  int err = evsnn_stream_open_mem(&s, data, len, NULL);
  if (err != 0) return err;
  return reader_open(r, s, NULL, format);
}

/* The gate: delivers the events before the first one outside the domain
 * or earlier than its predecessor, and keeps that fault for the next call,
 * as the decoders do with theirs. */
int evsnn_event_read(evsnn_event_reader_t *r, evsnn_event_t *ev, size_t cap, size_t *n) {
  *n = 0;
  if (r->err) return evsnn__fail(r->err, "%s", r->detail);
  evsnn__clear_detail();
  int err = r->fmt->read(r->state, ev, cap, n);
  if (err != 0 && !evsnn_error_detail()[0] && r->detail[0]) evsnn__fail(err, "%s", r->detail);
  else if (err == 0 && *n > 0 && evsnn_error_detail()[0]) /* a fault kept for the next call */
    snprintf(r->detail, sizeof r->detail, "%s", evsnn_error_detail());
  int64_t last = r->last_t;
  for (size_t i = 0; i < *n; i++) {
    int64_t t = ev[i].t;
    unsigned long long at = (unsigned long long)(r->count + i);
    if (!evsnn_time_ok(t))
      r->err = evsnn__fail(EVSNN_ERANGE, "%s: event %llu: t %lld us outside the time domain 0 <= t < 2^61 us",
                           evsnn_stream_name(r->s), at, (long long)t);
    else if (t < last)
      r->err = evsnn__fail(EVSNN_EORDER, "%s: event %llu: t %lld us goes back from %lld us",
                           evsnn_stream_name(r->s), at, (long long)t, (long long)last);
    if (r->err) {
      snprintf(r->detail, sizeof r->detail, "%s", evsnn_error_detail());
      *n = i;
      break;
    }
    last = t;
  }
  r->count += *n, r->last_t = last;
  if (r->err) return *n ? 0 : r->err;
  return err;
}

const evsnn_event_info_t *evsnn_event_reader_info(const evsnn_event_reader_t *r) {
  return &r->info;
}

void evsnn_event_reader_close(evsnn_event_reader_t *r) {
  if (r == NULL) return;
  r->fmt->close(r->state);
  free(r->state);
  evsnn_stream_close(r->s);
  free(r);
}

int evsnn__has_ext(const char *path, const char *ext) {
  if (path == NULL) return 0;
  size_t n = strlen(path), e = strlen(ext);
  if (n > 3 && strcmp(path + n - 3, ".gz") == 0) n -= 3;
  return n >= e && strncasecmp(path + n - e, ext, e) == 0;
}
