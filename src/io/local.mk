# src/io: event streams (file, gzip, memory), the decoder table and our own
# event container; other formats register in src/io/formats.c.
evsnninclude_HEADERS += include/evsnn/events.h
libevsnn_la_SOURCES += src/io/stream.c src/io/formats.c src/io/formats.h src/io/format_evsnn.c
