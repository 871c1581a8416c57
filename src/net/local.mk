# src/net: the network description.
evsnninclude_HEADERS += include/evsnn/net.h
libevsnn_la_SOURCES += src/net/net.c
