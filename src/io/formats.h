/* The decoder vtable every event format implements, and the table in
 * formats.c that evsnn_event_reader_open chooses from. Internal to src/io. */
#ifndef EVSNN_IO_FORMATS_H
#define EVSNN_IO_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "evsnn/events.h"

/* Bytes handed to sniff: the first chunk of the (decompressed) data. */
#define EVSNN__SNIFF_BYTES 4096

typedef struct evsnn__event_format_s {
  const char *name;  /* as in evsnn_event_info_t.format */
  /* 0 = not this format ... 100 = certain (a magic number matched). path may
   * be NULL; use its extension only to break ties. */
  int (*sniff)(const uint8_t *head, size_t len, const char *path);
  size_t state_size;  /* zeroed and owned by the reader */
  /* Reads the header from s (which the reader owns and closes) and fills
   * info; info->format is preset to name, label to -1, meta to "". */
  int (*open)(void *state, evsnn_stream_t *s, evsnn_event_info_t *info);
  /* As evsnn_event_read. */
  int (*read)(void *state, evsnn_event_t *ev, size_t cap, size_t *n);
  /* Frees what open allocated inside state; called once, also after a failed open. */
  void (*close)(void *state);
} evsnn__event_format_t;

/* Decoders, one per src/io/format_<name>.c. */
extern const evsnn__event_format_t evsnn__format_evsnn;
extern const evsnn__event_format_t evsnn__format_evt2, evsnn__format_evt21, evsnn__format_evt3, evsnn__format_dat;
extern const evsnn__event_format_t evsnn__format_aedat2, evsnn__format_aedat3, evsnn__format_aedat4;
extern const evsnn__event_format_t evsnn__format_nmnist, evsnn__format_text;

/* The encoders of the formats evsnn_event_writer_open writes besides its
 * own (src/io/writers.c), chosen by the path's last extension. They write
 * through a stdio FILE opened for writing in binary mode. */
typedef struct evsnn__event_sink_s {
  const char *ext;   /* ".txt", ".csv", ".bin", ".aedat" */
  size_t state_size; /* zeroed and owned by the writer */
  int (*open)(void *state, FILE *f, const evsnn_event_info_t *info, const char *path);
  /* index: events written before these, for messages */
  int (*write)(void *state, FILE *f, const evsnn_event_t *ev, size_t n, uint64_t index, const char *path);
  /* Writes what is still held (a last packet); index: events written. */
  int (*finish)(void *state, FILE *f, uint64_t index, const char *path);
} evsnn__event_sink_t;

extern const evsnn__event_sink_t evsnn__sink_text, evsnn__sink_csv, evsnn__sink_nmnist, evsnn__sink_aedat3;

/* Longest text header line a decoder accepts. */
#define EVSNN__LINE_MAX 65536

/* Reads one text header line that starts with prefix into line (cut to
 * cap - 1 bytes, CR/LF removed). Returns 1 with the line consumed, 0 when
 * the next byte is not prefix or the data has ended, or a negative error.
 * A last line without a newline at the end of the data is a line. */
int evsnn__header_line(evsnn_stream_t *s, char prefix, char *line, size_t cap);

/* Non-zero when path (NULL allowed) ends in ext, or in ext followed by ".gz". */
int evsnn__has_ext(const char *path, const char *ext);

#endif
