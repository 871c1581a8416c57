/* evsnn/events.h: event files and DVS-style input.
 *
 * Three layers, bottom up:
 *   evsnn_stream_t        bytes from a file, a gzip file or memory, pulled in
 *                         fixed-size chunks, with the byte offset reached so
 *                         errors can say where they happened;
 *   evsnn_event_reader_t  one interface over every event format (ours, EVT
 *                         2.0/3.0, .dat, AEDAT, N-MNIST, text), the decoder
 *                         chosen by content sniffing or by name;
 *   evsnn_event_writer_t  the project's own gzip container (docs/event-format.md),
 *                         or, by the path's extension, a format the readers
 *                         read back: text, N-MNIST .bin, AEDAT 3.1.
 *
 * Every function returns 0 or a negative EVSNN_E* code and records a detail
 * line (file, byte or event offset, expected vs. got) for evsnn_error_detail().
 * Readers never hold a whole file in memory.
 */
#ifndef EVSNN_EVENTS_H
#define EVSNN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/time.h"

/* One event, 16 bytes. For network spike records x is the neuron and y the
 * layer, and p is 1. */
typedef struct evsnn_event_s {
  int64_t t;      /* timestamp, microseconds, 0 <= t < EVSNN_T_END (evsnn/time.h) */
  uint16_t x, y;  /* pixel; for spike records: x = neuron, y = layer */
  uint8_t p;      /* polarity: 1 = ON (brighter), 0 = OFF; 1 for spikes */
  uint8_t pad_[3];
} evsnn_event_t;

enum { EVSNN_EVENTS_DVS = 0, EVSNN_EVENTS_SPIKES = 1 };

typedef struct evsnn_event_info_s {
  const char *format;      /* "evsnn", "evt2", "evt3", "dat", "aedat2", "aedat3",
                              "aedat4", "nmnist", "text" */
  uint32_t width, height;  /* sensor size; 0 if the file does not say */
  uint32_t channels;       /* polarity channels (2 for DVS) */
  int kind;                /* EVSNN_EVENTS_DVS or EVSNN_EVENTS_SPIKES */
  int32_t label;           /* class label or -1 */
  const char *meta;        /* free-form metadata text or "" */
} evsnn_event_info_t;

/* ------------------------------------------------------------ streams ---- */

/* A byte source. open_file detects gzip by its magic (1f 8b) and inflates
 * transparently (multi-member files too); open_mem reads the caller's buffer,
 * which must outlive the stream. The stream owns an internal chunk buffer. */
typedef struct evsnn_stream_s evsnn_stream_t;

int evsnn_stream_open_file(evsnn_stream_t **s, const char *path);
int evsnn_stream_open_mem(evsnn_stream_t **s, const void *data, size_t len,
                          const char *name /* for messages; NULL: "<memory>" */);
/* Copies up to len bytes to dst; *got < len only at the end of the data.
 * Errors: EVSNN_EIO, EVSNN_ETRUNC (gzip cut short), EVSNN_ECHECKSUM (gzip CRC),
 * EVSNN_ECORRUPT (bad deflate data). Bytes before a fault are delivered. */
int evsnn_stream_read(evsnn_stream_t *s, void *dst, size_t len, size_t *got);
/* Exposes the buffered bytes without consuming them, filling the buffer to
 * at least want bytes (at most the chunk size) unless the data ends first.
 * *p stays valid until the next read/peek/skip. */
int evsnn_stream_peek(evsnn_stream_t *s, size_t want, const uint8_t **p, size_t *avail);
/* Consumes n bytes already exposed by peek. */
void evsnn_stream_skip(evsnn_stream_t *s, size_t n);
/* Bytes consumed so far (decompressed offset for gzip files). */
uint64_t evsnn_stream_offset(const evsnn_stream_t *s);
/* Non-zero when the underlying data is gzip-compressed. */
int evsnn_stream_is_gzip(const evsnn_stream_t *s);
const char *evsnn_stream_name(const evsnn_stream_t *s);
/* Accepts NULL. */
void evsnn_stream_close(evsnn_stream_t *s);

/* ------------------------------------------------------------ readers ---- */

typedef struct evsnn_event_reader_s evsnn_event_reader_t;

/* format NULL: sniff the content (and the extension to break ties). */
int evsnn_event_reader_open(evsnn_event_reader_t **r, const char *path, const char *format);
int evsnn_event_reader_open_mem(evsnn_event_reader_t **r, const void *data, size_t len,
                                const char *format);
/* Fills up to cap events; *n = 0 at the end. On error, the events decoded
 * before the fault have been returned by earlier calls or are returned with
 * *n > 0 and the error comes on the next call; none is dropped or invented.
 * Every format gives times in the domain of evsnn/time.h, never decreasing:
 * an event outside it is EVSNN_ERANGE, one earlier than the event before it
 * EVSNN_EORDER, each naming the event's index (from 0) in the file. */
int evsnn_event_read(evsnn_event_reader_t *r, evsnn_event_t *ev, size_t cap, size_t *n);
const evsnn_event_info_t *evsnn_event_reader_info(const evsnn_event_reader_t *r);
/* Accepts NULL. */
void evsnn_event_reader_close(evsnn_event_reader_t *r);

/* ------------------------------------------------------------ writers ---- */

/* The project's own format: gzip (zcat-able), header then delta-encoded
 * records; see docs/event-format.md. Events must come in timestamp order.
 * A path ending in .txt writes the Event Camera Dataset's text (t in
 * seconds, a "width height" first line when the size is known), .csv
 * `t x y p` lines in microseconds, .bin N-MNIST's 40-bit records, .aedat
 * AEDAT 3.1 polarity packets (the sensor named when it has a known size);
 * an event such a format cannot hold, or one outside evsnn/time.h's time
 * domain, is EVSNN_ERANGE, the events before it written. */
typedef struct evsnn_event_writer_s evsnn_event_writer_t;

int evsnn_event_writer_open(evsnn_event_writer_t **w, const char *path,
                            const evsnn_event_info_t *info);
int evsnn_event_write(evsnn_event_writer_t *w, const evsnn_event_t *ev, size_t n);
/* Flushes and frees; returns the first error seen. Accepts NULL. */
int evsnn_event_writer_close(evsnn_event_writer_t *w);

/* In memory, uncompressed: the same header and records appended to a
 * growing buffer (for tests and the socket protocol). evsnn_event_reader_open_mem
 * reads it back. */
typedef struct evsnn_event_buf_s {
  uint8_t *data;  /* owned by the library; free with evsnn_event_buf_free */
  size_t len, cap;
  int64_t last_t; /* private: delta-coding state */
  uint64_t count; /* events written so far */
} evsnn_event_buf_t;

int evsnn_event_buf_init(evsnn_event_buf_t *b, const evsnn_event_info_t *info);
int evsnn_event_buf_write(evsnn_event_buf_t *b, const evsnn_event_t *ev, size_t n);
/* Appends the end record; the buffer is then a complete file body. */
int evsnn_event_buf_finish(evsnn_event_buf_t *b);
void evsnn_event_buf_free(evsnn_event_buf_t *b);

/* ------------------------------------------- push mode (caller buffers) --- */

/* The pieces of docs/event-format.md, encoded to and decoded from caller
 * buffers with nothing allocated, for framed transports (docs/protocol.md)
 * that receive a body in pieces. */
#define EVSNN_EVENT_HEADER_FIXED 32  /* header bytes before the metadata */
#define EVSNN_EVENT_RECORD_MAX 14    /* most bytes one event record takes */

/* Bytes info's header takes: 32 + strlen(meta). */
size_t evsnn_event_header_size(const evsnn_event_info_t *info);
/* Writes the header to out (room for evsnn_event_header_size). EVSNN_EINVAL
 * for a bad kind or metadata over 1 MiB. */
int evsnn_event_header_encode(const evsnn_event_info_t *info, uint8_t *out);
/* Checks and parses the header at the start of p[0..len): the same checks
 * and codes as a file reader. *used gets its size; info->meta is set to ""
 * (the metadata bytes are p[32 .. *used), not terminated). */
int evsnn_event_header_decode(const uint8_t *p, size_t len, evsnn_event_info_t *info, size_t *used);
/* Encodes n events as records continuing from *last_t (0 at the start of a
 * body) into out (room for n * EVSNN_EVENT_RECORD_MAX bytes); *len gets the
 * bytes written, *last_t the last timestamp. EVSNN_EORDER if a timestamp
 * goes back, EVSNN_ERANGE if one is outside evsnn/time.h's domain; then
 * nothing changes. */
int evsnn_event_records_encode(int64_t *last_t, const evsnn_event_t *ev, size_t n, uint8_t *out,
                               size_t *len);
/* Decodes whole event records from p[0..len), continuing from *t (0 at the
 * start of a body; always in the time domain), into ev
 * (room for cap). *n gets the events, *used the bytes they took; it stops
 * early, returning 0, when ev is full or when the next record does not fit
 * in what is left (*used < len: the caller keeps those bytes for later).
 * A record that is faulty or an end record stops it with an error
 * (EVSNN_ECORRUPT: varint over 10 bytes or end record; EVSNN_EORDER: time
 * goes back; EVSNN_ERANGE: time would reach 2^61 us) after *n good events;
 * the detail names the byte offset in p. */
int evsnn_event_records_decode(int64_t *t, const uint8_t *p, size_t len, evsnn_event_t *ev, size_t cap,
                               size_t *n, size_t *used);

/* ------------------------------------------------------ spike records ---- */

/* A network's spikes as an event file of kind SPIKES, one event per spike:
 * x = the neuron, y = its layer (0 = the input), p = 1, t in microseconds.
 * t is the recording's own time when a recording drove the network (evsnn
 * replay --out), and step k at k x EVSNN_SPIKE_STEP_US when discrete steps
 * did (evsnn plot raster --record). Writers and readers of spike records
 * go through these functions, so the convention lives here only. */
#define EVSNN_SPIKE_STEP_US 1000

/* The header of a recording of layers first..n_layers-1 of a network whose
 * layers have sizes[0..n_layers-1]: width = the widest recorded layer,
 * height = n_layers, one channel, kind SPIKES, format "evsnn". */
void evsnn_spike_info(evsnn_event_info_t *info, const uint32_t *sizes, uint32_t first, uint32_t n_layers,
                      int32_t label, const char *meta);
/* One spike as an event. EVSNN_ERANGE when the layer or the neuron does not
 * fit the record's 16 bits; then *e is unchanged. */
int evsnn_spike_event(evsnn_event_t *e, int64_t t, uint32_t layer, uint32_t neuron);
/* The layer and neuron of a spike record (unchecked: compare them with the
 * network's sizes). */
void evsnn_spike_decode(const evsnn_event_t *e, uint32_t *layer, uint32_t *neuron);

#endif
