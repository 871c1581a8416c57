# src/net: the network description.
evsnninclude_HEADERS += include/evsnn/net.h
libevsnn_la_SOURCES += src/net/net.c src/net/describe.c src/net/neuron.c src/net/proj.h src/net/proj_dense.c \
	src/net/proj_conv.c src/net/proj_pool.c
