# examples: small programs that use only the public API (built by make,
# not installed); make check runs them so they cannot rot.
noinst_PROGRAMS += examples/classify
examples_classify_SOURCES = examples/classify.c
examples_classify_LDADD = $(EVSNN_LIBS)
noinst_PROGRAMS += examples/stream
examples_stream_SOURCES = examples/stream.c
examples_stream_LDADD = $(EVSNN_LIBS)
