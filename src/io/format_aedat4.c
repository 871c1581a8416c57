/* iniVation AEDAT 4.0 (DV): polarity events of the EVTS stream; packets of
 * other streams (frames, IMU, triggers) are skipped unread.
 *
 * Layout, from https://docs.inivation.com/software/software-advanced-usage/file-formats/aedat-4.0.html
 * and the schemas in neuromorphicsystems/aedat (flatbuffers/ioheader.fbs,
 * events.fbs; src/aedat_core.rs):
 *   "#!AER-DAT4.0\r\n", u32 LE length, an IOHeader flatbuffer (identifier
 *   "IOHE"): field 0 compression (0 none, 1 LZ4, 2 LZ4 high, 3 zstd,
 *   4 zstd high), field 1 dataTablePosition (i64, -1 if absent), field 2 the
 *   XML description naming each stream's typeIdentifier and sizeX/sizeY.
 *   Then packets: u32 streamId, u32 size, size bytes compressed as a whole
 *   that inflate to a size-prefixed EventPacket flatbuffer whose field 0 is
 *   a vector of struct Event { i64 t; i16 x; i16 y; bool on; } (16 bytes).
 *   The packets end at dataTablePosition, where an index (FileDataTable)
 *   without the packet prefix follows; we stop there.
 * LZ4 packets (one LZ4 frame each) go through liblz4's frame decoder, which
 * verifies the frame's content checksum and its blocks' checksums when the
 * frame descriptor says they are present; zstd packets (one zstd stream
 * each, as the reference decoder reads them) through libzstd's streaming
 * decoder. Flatbuffers are read by hand with every offset bounds-checked. */
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/internal.h"
#include "io/formats.h"

#define HEADER_MAX (1u << 20)
#define PACKET_MAX (64u << 20) /* compressed or decompressed; larger is corrupt */

typedef struct {
  evsnn_stream_t *s;
  int compression;
  int64_t table_pos;      /* stop here; -1: at the end of the data */
  uint32_t evts;          /* stream id of the events */
  uint8_t *in, *out;      /* packet buffers, grown to the largest packet */
  size_t in_cap, out_cap;
  ZSTD_DCtx *zd;          /* zstd files only, made at open */
  LZ4F_dctx *ld;          /* LZ4 files only, made at open */
  uint64_t packets;       /* packets met so far, of every stream: names a bad one */
  const uint8_t *ev;      /* the current packet's Event structs */
  uint32_t nev, iev;
  int err;                /* a fault met after events were returned: sticky,
                             as the packet's bytes are consumed by then */
} a4state_t;

static int grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  uint8_t *p = realloc(*buf, need);
  if (p == NULL) return -1;
  *buf = p, *cap = need;
  return 0;
}

/* Makes room in z->out beyond its first `used` bytes: doubles it, from 64 KiB
 * up to PACKET_MAX, past which the packet is corrupt. */
static int grow_out(a4state_t *z, size_t used, uint64_t at) {
  if (used < z->out_cap) return 0;
  if (z->out_cap >= PACKET_MAX)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: packet inflates beyond %u bytes", evsnn_stream_name(z->s),
                       (unsigned long long)at, PACKET_MAX);
  size_t want = z->out_cap < (1u << 16) ? 1u << 16 : 2 * z->out_cap;
  if (grow(&z->out, &z->out_cap, want < PACKET_MAX ? want : PACKET_MAX) != 0)
    return evsnn__fail(EVSNN_ENOMEM, "%s: packet buffer", evsnn_stream_name(z->s));
  return 0;
}

/* A zstd packet: one or more zstd frames back to back, inflated into z->out
 * with the decoder made at open. */
static int zstd_packet(a4state_t *z, const uint8_t *src, size_t n, size_t *got, uint64_t at) {
  const char *name = evsnn_stream_name(z->s);
  ZSTD_DCtx_reset(z->zd, ZSTD_reset_session_only);
  ZSTD_inBuffer in = {src, n, 0};
  ZSTD_outBuffer out = {z->out, z->out_cap, 0};
  for (;;) {
    int err = grow_out(z, out.pos, at);
    if (err != 0) return err;
    out.dst = z->out, out.size = z->out_cap;
    size_t r = ZSTD_decompressStream(z->zd, &out, &in);
    if (ZSTD_isError(r))
      return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: zstd packet: %s", name, (unsigned long long)at,
                         ZSTD_getErrorName(r));
    if (r == 0 && in.pos == in.size) break; /* the last frame ended with the packet */
    if (in.pos == in.size && out.pos < out.size)
      return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: zstd frame cut short", name, (unsigned long long)at);
  }
  *got = out.pos;
  return 0;
}

/* An LZ4 packet: one LZ4 frame (or more, back to back) inflated into z->out
 * with the decoder made at open. liblz4 checks the checksums the frame
 * descriptor announces; a mismatch is reported with the packet's number. */
static int lz4_packet(a4state_t *z, const uint8_t *src, size_t n, size_t *got, uint64_t at) {
  const char *name = evsnn_stream_name(z->s);
  LZ4F_resetDecompressionContext(z->ld);
  size_t i = 0, o = 0;
  for (;;) {
    int err = grow_out(z, o, at);
    if (err != 0) return err;
    size_t in = n - i, room = z->out_cap - o, out = room;
    size_t r = LZ4F_decompress(z->ld, z->out + o, &out, src + i, &in, NULL);
    if (LZ4F_isError(r))
      return evsnn__fail(EVSNN_ECORRUPT, "%s: packet %llu at byte %llu: LZ4 frame: %s", name,
                         (unsigned long long)z->packets, (unsigned long long)at, LZ4F_getErrorName(r));
    i += in, o += out;
    if (r == 0 && i == n) break; /* the last frame ended with the packet */
    /* All input given, room left, and the decoder still wants bytes. */
    if (i == n && out < room)
      return evsnn__fail(EVSNN_ETRUNC, "%s: packet %llu at byte %llu: LZ4 frame cut short", name,
                         (unsigned long long)z->packets, (unsigned long long)at);
  }
  *got = o;
  return 0;
}

/* The EventPacket flatbuffer (size-prefixed) in p[0..n): sets ev/nev. */
static int parse_packet(a4state_t *z, const uint8_t *p, size_t n, uint64_t at) {
  if (n < 8 || evsnn__le32(p) > n - 4) goto bad;
  const uint8_t *fb = p + 4;
  size_t fl = evsnn__le32(p), table = evsnn__le32(fb);
  if (fl < 8 || table > fl - 4) goto bad; /* fl < 8 first: fl - 4 must not wrap */
  int64_t vt = (int64_t)table - (int32_t)evsnn__le32(fb + table);
  if (vt < 0 || (uint64_t)vt > fl - 6) goto bad; /* vtable size and field 0 */
  z->nev = z->iev = 0;
  if (evsnn__le16(fb + vt) < 6) return 0; /* no elements field */
  size_t f = evsnn__le16(fb + vt + 4);
  if (f == 0) return 0;
  if (f > fl - table || fl - table - f < 4) goto bad;
  size_t vec = table + f + evsnn__le32(fb + table + f);
  if (vec < table + f || vec > fl - 4) goto bad;
  uint32_t count = evsnn__le32(fb + vec);
  if (count > (fl - vec - 4) / 16) goto bad;
  z->ev = fb + vec + 4;
  z->nev = count;
  return 0;
bad:
  return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: malformed event packet", evsnn_stream_name(z->s),
                     (unsigned long long)at);
}

static int sniff_aedat4(const uint8_t *h, size_t len, const char *path) {
  return len >= 12 && memcmp(h, "#!AER-DAT4.0", 12) == 0 ? 100 : 0;
}

/* Stream id and sensor size of the EVTS stream from the XML description. */
static void parse_description(a4state_t *z, char *xml, evsnn_event_info_t *info) {
  char *e = strstr(xml, "\"typeIdentifier\" type=\"string\">EVTS<");
  if (e == NULL) return;
  for (char *q = e; q > xml; q--)
    if (strncmp(q, "<node name=\"", 12) == 0 && q[12] >= '0' && q[12] <= '9') {
      z->evts = (uint32_t)strtoul(q + 12, NULL, 10);
      break;
    }
  static const char kx[] = "key=\"sizeX\" type=\"int\">", ky[] = "key=\"sizeY\" type=\"int\">";
  char *sx = strstr(e, kx), *sy = strstr(e, ky);
  if (sx && sy) info->width = (uint32_t)atoi(sx + sizeof(kx) - 1), info->height = (uint32_t)atoi(sy + sizeof(ky) - 1);
}

static int open_aedat4(void *st, evsnn_stream_t *s, evsnn_event_info_t *info) {
  a4state_t *z = st;
  const char *name = evsnn_stream_name(s);
  uint8_t head[18];
  size_t got;
  z->s = s;
  z->table_pos = -1;
  int err = evsnn_stream_read(s, head, 18, &got);
  if (err != 0) return err;
  if (got < 14 || memcmp(head, "#!AER-DAT4.0\r\n", 14) != 0)
    return evsnn__fail(EVSNN_EFORMAT, "%s: byte 0: expected \"#!AER-DAT4.0\"", name);
  if (got < 18) return evsnn__fail(EVSNN_ETRUNC, "%s: byte 14: header length missing", name);
  uint32_t hl = evsnn__le32(head + 14);
  if (hl < 8 || hl > HEADER_MAX)
    return evsnn__fail(EVSNN_ECORRUPT, "%s: byte 14: IOHeader length %u", name, hl);
  if (grow(&z->in, &z->in_cap, (size_t)hl + 1) != 0) return evsnn__fail(EVSNN_ENOMEM, "%s: header", name);
  if ((err = evsnn_stream_read(s, z->in, hl, &got)) != 0) return err;
  if (got < hl)
    return evsnn__fail(EVSNN_ETRUNC, "%s: byte 18: IOHeader cut short (%zu of %u bytes)", name, got, hl);
  const uint8_t *fb = z->in;
  size_t table = evsnn__le32(fb);
  if (table > hl - 4) goto bad;
  int64_t vt = (int64_t)table - (int32_t)evsnn__le32(fb + table);
  if (vt < 0 || (uint64_t)vt > hl - 4) goto bad;
  unsigned vsize = evsnn__le16(fb + vt);
  if ((uint64_t)vt + vsize > hl) goto bad;
  for (unsigned fld = 0; fld < 3 && 4 + 2 * fld + 2 <= vsize; fld++) {
    size_t off = evsnn__le16(fb + vt + 4 + 2 * fld);
    if (off == 0) continue;
    size_t at = table + off, need = fld == 1 ? 8 : 4;
    if (at > hl || hl - at < need) goto bad;
    if (fld == 0) z->compression = (int)evsnn__le32(fb + at);
    if (fld == 1) z->table_pos = (int64_t)evsnn__le64(fb + at);
    if (fld == 2) {
      size_t str = at + evsnn__le32(fb + at);
      if (str < at || str > hl - 4 || evsnn__le32(fb + str) > hl - str - 4) goto bad;
      size_t sl = evsnn__le32(fb + str);
      memmove(z->in, fb + str + 4, sl); /* the other fields are read already */
      z->in[sl] = 0;
      parse_description(z, (char *)z->in, info);
      break;
    }
  }
  if (z->compression < 0 || z->compression > 4)
    return evsnn__fail(EVSNN_EUNSUPPORTED, "%s: byte 18: unknown packet compression %d (0-4 are known)", name,
                       z->compression);
  if (z->compression >= 3 && !(z->zd = ZSTD_createDCtx())) return evsnn__fail(EVSNN_ENOMEM, "%s: zstd", name);
  if ((z->compression == 1 || z->compression == 2) && LZ4F_isError(LZ4F_createDecompressionContext(&z->ld, LZ4F_VERSION)))
    return evsnn__fail(EVSNN_ENOMEM, "%s: LZ4", name);
  return 0;
bad:
  return evsnn__fail(EVSNN_ECORRUPT, "%s: byte 18: malformed IOHeader", name);
}

/* Loads the next EVTS packet; 1 at the end of the packets. */
static int next_packet(a4state_t *z) {
  const char *name = evsnn_stream_name(z->s);
  for (;;) {
    uint64_t at = evsnn_stream_offset(z->s);
    if (z->table_pos >= 0 && at >= (uint64_t)z->table_pos) return 1;
    uint8_t ph[8];
    size_t got;
    int err = evsnn_stream_read(z->s, ph, 8, &got);
    if (err != 0) return err;
    if (got == 0 && z->table_pos >= 0 && at < (uint64_t)z->table_pos)
      return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: data ends before the index at byte %lld", name,
                         (unsigned long long)at, (long long)z->table_pos);
    if (got == 0) return 1;
    if (got < 8)
      return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: packet header cut short", name, (unsigned long long)at);
    uint32_t id = evsnn__le32(ph), size = evsnn__le32(ph + 4);
    z->packets++;
    if (size > PACKET_MAX)
      return evsnn__fail(EVSNN_ECORRUPT, "%s: byte %llu: packet of %u bytes", name, (unsigned long long)at, size);
    if (id != z->evts) {
      for (uint32_t left = size; left > 0;) {
        const uint8_t *p;
        size_t avail;
        if ((err = evsnn_stream_peek(z->s, left, &p, &avail)) != 0) return err;
        if (avail == 0)
          return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: packet cut short", name, (unsigned long long)at);
        size_t k = avail < left ? avail : left;
        evsnn_stream_skip(z->s, k);
        left -= (uint32_t)k;
      }
      continue;
    }
    if (grow(&z->in, &z->in_cap, size) != 0) return evsnn__fail(EVSNN_ENOMEM, "%s: packet buffer", name);
    if ((err = evsnn_stream_read(z->s, z->in, size, &got)) != 0) return err;
    if (got < size)
      return evsnn__fail(EVSNN_ETRUNC, "%s: byte %llu: packet cut short (%zu of %u bytes)", name,
                         (unsigned long long)at, got, size);
    if (z->compression == 0) return parse_packet(z, z->in, size, at);
    size_t n = 0;
    if ((err = z->zd ? zstd_packet(z, z->in, size, &n, at) : lz4_packet(z, z->in, size, &n, at)) != 0) return err;
    return parse_packet(z, z->out, n, at);
  }
}

static int read_aedat4(void *st, evsnn_event_t *ev, size_t cap, size_t *n) {
  a4state_t *z = st;
  size_t k = 0;
  int err = z->err;
  while (k < cap && err == 0) {
    if (z->iev == z->nev) {
      if ((err = next_packet(z)) != 0) break;
      continue;
    }
    for (; z->iev < z->nev && k < cap; z->iev++) {
      const uint8_t *p = z->ev + 16 * (size_t)z->iev;
      evsnn_event_t *e = &ev[k++];
      e->t = (int64_t)evsnn__le64(p);
      e->x = evsnn__le16(p + 8);
      e->y = evsnn__le16(p + 10);
      e->p = p[12] != 0;
      memset(e->pad_, 0, 3);
    }
  }
  *n = k;
  if (err == 1) return 0;
  z->err = err;
  return k > 0 ? 0 : err;
}

static void close_aedat4(void *st) {
  a4state_t *z = st;
  free(z->in);
  free(z->out);
  ZSTD_freeDCtx(z->zd);
  LZ4F_freeDecompressionContext(z->ld);
}

const evsnn__event_format_t evsnn__format_aedat4 = {
    "aedat4", sniff_aedat4, sizeof(a4state_t), open_aedat4, read_aedat4, close_aedat4,
};
