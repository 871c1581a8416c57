# src/encode: Poisson rate encoding (and the DVS emulator).
evsnninclude_HEADERS += include/evsnn/encode.h
libevsnn_la_SOURCES += src/encode/poisson.c
