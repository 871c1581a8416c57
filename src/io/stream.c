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
  FILE *fp;          /* the file, plain or gzip */
  int gzip;          /* inflate fp's bytes */
  int member_open;   /* inside a gzip member (so end of file = truncation) */
  z_stream zs;
  uint8_t *in;       /* CHUNK compressed bytes for inflate */
  uint64_t in_off;   /* compressed bytes read from fp */
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
  /* gzip by magic. We drive inflate ourselves rather than gzread, which
   * drops the bytes it inflated in a call that then fails its CRC check;
   * windowBits 15 + 16 checks each member's CRC-32 and length. */
  uint8_t magic[2];
  size_t got = fread(magic, 1, 2, s->fp);
  rewind(s->fp);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    s->gzip = 1;
    s->in = malloc(CHUNK);
    if (s->in == NULL || inflateInit2(&s->zs, 15 + 16) != Z_OK) {
      free(s->in);
      s->in = NULL;
      s->gzip = 0;
      evsnn_stream_close(s);
      return evsnn__fail(EVSNN_ENOMEM, "%s: inflate state", path);
    }
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

/* Maps inflate's complaint to our codes; at is the decompressed offset. */
static int gz_error(evsnn_stream_t *s, int zr) {
  unsigned long long at = s->base + s->end, cat = s->in_off - s->zs.avail_in;
  const char *msg = s->zs.msg ? s->zs.msg : zError(zr);
  if (zr == Z_DATA_ERROR && strstr(msg, "check") != NULL)
    return evsnn__fail(EVSNN_ECHECKSUM, "%s: byte %llu (compressed byte %llu): gzip %s", s->name,
                       at, cat, msg);
  if (zr == Z_DATA_ERROR)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu (compressed byte %llu): gzip %s", s->name,
                       at, cat, msg);
  if (zr == Z_MEM_ERROR) return evsnn__fail(EVSNN_ENOMEM, "%s: inflate", s->name);
  return evsnn__fail(EVSNN_EIO, "%s: byte %llu: inflate error %d", s->name, at, zr);
}

/* Inflates into buf until it holds want bytes, the file ends or an error. */
static void fill_gzip(evsnn_stream_t *s, size_t want) {
  while (s->end < want && !s->eof) {
    if (s->zs.avail_in == 0) {
      size_t r = fread(s->in, 1, CHUNK, s->fp);
      if (ferror(s->fp)) {
        s->err = evsnn__fail(EVSNN_EIO, "%s: compressed byte %llu: read error", s->name,
                             (unsigned long long)s->in_off);
        s->eof = 1;
        return;
      }
      if (r == 0) {
        if (s->member_open)
          s->err = evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu (compressed byte %llu): gzip data ends early",
                               s->name, (unsigned long long)(s->base + s->end),
                               (unsigned long long)s->in_off);
        s->eof = 1;
        return;
      }
      s->in_off += r;
      s->zs.next_in = s->in;
      s->zs.avail_in = (uInt)r;
    }
    if (!s->member_open) {
      /* Next member of a multi-member file; anything but a gzip header
       * after a member is trailing junk, which gzip(1) also ignores. */
      if (s->zs.avail_in >= 1 && s->zs.next_in[0] != 0x1f) {
        s->eof = 1;
        return;
      }
      s->member_open = 1;
    }
    s->zs.next_out = s->buf + s->end;
    s->zs.avail_out = (uInt)(CHUNK - s->end);
    int zr = inflate(&s->zs, Z_NO_FLUSH);
    s->end = CHUNK - s->zs.avail_out;
    if (zr == Z_STREAM_END) {
      s->member_open = 0;
      inflateReset(&s->zs);
    } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
      s->err = gz_error(s, zr);
      s->eof = 1;
    }
  }
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
  if (s->gzip) {
    fill_gzip(s, want);
    return;
  }
  while (s->end < want && !s->eof) {
    size_t room = CHUNK - s->end;
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
int evsnn_stream_is_gzip(const evsnn_stream_t *s) { return s->gzip; }
const char *evsnn_stream_name(const evsnn_stream_t *s) { return s->name; }

void evsnn_stream_close(evsnn_stream_t *s) {
  if (s == NULL) return;
  if (s->fp != NULL) fclose(s->fp);
  if (s->gzip) inflateEnd(&s->zs);
  free(s->in);
  free(s->buf);
  free(s);
}
