/* Byte streams over a plain file, a gzip file or a memory buffer, in the
 * spirit of redis' rio: one interface so every decoder works unchanged on
 * all three. A stream keeps one fixed-size chunk buffer; decoders pull bytes
 * through it (peek/skip for zero-copy parsing, read for copies) and never
 * hold a whole file. The offset counts consumed bytes of the decompressed
 * data so error messages can name the byte at fault. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/internal.h"
#include "evsnn/events.h"

#define CHUNK (256 * 1024)

struct evsnn_stream_s {
  FILE *fp;          /* plain file, or NULL */
  gzFile gz;         /* gzip file, or NULL */
  const uint8_t *mem;/* memory source: the whole buffer is the chunk */
  uint8_t *buf;      /* CHUNK bytes for file sources */
  size_t pos, end;   /* unconsumed bytes are [pos, end) */
  uint64_t base;     /* offset of buf[0] in the data */
  int eof;           /* the source has no more bytes */
  int err;           /* sticky source error, reported once the buffer drains */
  char name[256];
};

static evsnn_stream_t *stream_new(const char *name) {
  evsnn_stream_t *s = calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  snprintf(s->name, sizeof(s->name), "%s", name);
  return s;
}

int evsnn_stream_open_file(evsnn_stream_t **out, const char *path) {
  *out = NULL;
  evsnn_stream_t *s = stream_new(path);
  if (s == NULL) return evsnn__fail(EVSNN_ENOMEM, "%s: stream", path);
  s->fp = fopen(path, "rb");
  if (s->fp == NULL) {
    int e = errno;
    free(s);
    return evsnn__fail(e == ENOENT ? EVSNN_ENOENT : EVSNN_EIO, "%s: %s", path, strerror(e));
  }
  s->buf = malloc(CHUNK);
  if (s->buf == NULL) {
    evsnn_stream_close(s);
    return evsnn__fail(EVSNN_ENOMEM, "%s: stream buffer", path);
  }
  /* Look at the magic, then hand the descriptor to zlib when it is gzip:
   * gzread handles concatenated members and checks each CRC and length. */
  uint8_t magic[2];
  size_t got = fread(magic, 1, 2, s->fp);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    fclose(s->fp);
    s->fp = NULL;
    s->gz = gzopen(path, "rb");
    if (s->gz == NULL) {
      evsnn_stream_close(s);
      return evsnn__fail(EVSNN_EIO, "%s: cannot open as gzip", path);
    }
    gzbuffer(s->gz, CHUNK);
  } else {
    rewind(s->fp);
  }
  *out = s;
  return 0;
}

int evsnn_stream_open_mem(evsnn_stream_t **out, const void *data, size_t len, const char *name) {
  *out = NULL;
  evsnn_stream_t *s = stream_new(name ? name : "<memory>");
  if (s == NULL) return evsnn__fail(EVSNN_ENOMEM, "<memory>: stream");
  s->mem = data;
  s->end = len;
  s->eof = 1;
  *out = s;
  return 0;
}

/* Maps zlib's complaint at the current position to our codes. */
static int gz_error(evsnn_stream_t *s) {
  int zerr;
  const char *msg = gzerror(s->gz, &zerr);
  uint64_t at = s->base + s->end;
  if (zerr == Z_BUF_ERROR)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: gzip data ends early (%s)", s->name,
                       (unsigned long long)at, msg);
  if (zerr == Z_DATA_ERROR && strstr(msg, "check") != NULL)
    return evsnn__fail(EVSNN_ECHECKSUM, "%s: byte %llu: gzip %s", s->name,
                       (unsigned long long)at, msg);
  if (zerr == Z_DATA_ERROR)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: gzip %s", s->name,
                       (unsigned long long)at, msg);
  return evsnn__fail(EVSNN_EIO, "%s: byte %llu: %s", s->name, (unsigned long long)at, msg);
}

/* Moves the unconsumed tail to the front and reads until want bytes are
 * buffered or the source ends; a source error is kept until the good bytes
 * before it have been consumed. */
static void fill(evsnn_stream_t *s, size_t want) {
  if (s->mem != NULL || s->eof || s->end - s->pos >= want) return;
  if (s->pos > 0) {
    memmove(s->buf, s->buf + s->pos, s->end - s->pos);
    s->base += s->pos;
    s->end -= s->pos;
    s->pos = 0;
  }
  while (s->end < want && !s->eof) {
    size_t room = CHUNK - s->end;
    if (s->gz != NULL) {
      int r = gzread(s->gz, s->buf + s->end, (unsigned)room);
      if (r < 0) {
        s->err = gz_error(s);
        s->eof = 1;
      } else if (r == 0) {
        /* gzread returns 0 both at a clean end and at a cut-off member. */
        int zerr;
        gzerror(s->gz, &zerr);
        if (zerr != Z_OK) s->err = gz_error(s);
        s->eof = 1;
      } else {
        s->end += (size_t)r;
      }
    } else {
      size_t r = fread(s->buf + s->end, 1, room, s->fp);
      s->end += r;
      if (r < room) {
        if (ferror(s->fp))
          s->err = evsnn__fail(EVSNN_EIO, "%s: byte %llu: read error", s->name,
                               (unsigned long long)(s->base + s->end));
        s->eof = 1;
      }
    }
  }
}

static const uint8_t *data_of(const evsnn_stream_t *s) { return s->mem ? s->mem : s->buf; }

int evsnn_stream_peek(evsnn_stream_t *s, size_t want, const uint8_t **p, size_t *avail) {
  if (want > CHUNK) want = CHUNK;
  fill(s, want);
  *p = data_of(s) + s->pos;
  *avail = s->end - s->pos;
  /* Report the source error only once every good byte is out. */
  if (*avail == 0 && s->err != 0) return s->err;
  return 0;
}

void evsnn_stream_skip(evsnn_stream_t *s, size_t n) {
  if (n > s->end - s->pos) n = s->end - s->pos;
  s->pos += n;
}

int evsnn_stream_read(evsnn_stream_t *s, void *dst, size_t len, size_t *got) {
  uint8_t *d = dst;
  *got = 0;
  while (*got < len) {
    const uint8_t *p;
    size_t avail;
    int err = evsnn_stream_peek(s, len - *got, &p, &avail);
    if (err != 0) return *got > 0 ? 0 : err;
    if (avail == 0) break;
    size_t k = avail < len - *got ? avail : len - *got;
    memcpy(d + *got, p, k);
    s->pos += k;
    *got += k;
  }
  return 0;
}

uint64_t evsnn_stream_offset(const evsnn_stream_t *s) { return s->base + s->pos; }
int evsnn_stream_is_gzip(const evsnn_stream_t *s) { return s->gz != NULL; }
const char *evsnn_stream_name(const evsnn_stream_t *s) { return s->name; }

void evsnn_stream_close(evsnn_stream_t *s) {
  if (s == NULL) return;
  if (s->fp != NULL) fclose(s->fp);
  if (s->gz != NULL) gzclose(s->gz);
  free(s->buf);
  free(s);
}
