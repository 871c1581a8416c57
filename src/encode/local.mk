# src/encode: Poisson rate encoding and the DVS emulator.
evsnninclude_HEADERS += include/evsnn/encode.h
libevsnn_la_SOURCES += src/encode/poisson.c

# Sensor events as input: pixel-to-input maps and binning into steps.
evsnninclude_HEADERS += include/evsnn/sensor.h
libevsnn_la_SOURCES += src/encode/sensor.c
check_PROGRAMS += tests/test_sensor
TESTS += tests/test_sensor
tests_test_sensor_SOURCES = tests/test_sensor.c
tests_test_sensor_CFLAGS = $(TEST_CFLAGS)
tests_test_sensor_LDADD = $(TEST_LIBS)

# The DVS emulator: frames and saccades of still images to DVS events.
evsnninclude_HEADERS += include/evsnn/dvs.h
libevsnn_la_SOURCES += src/encode/dvs.c

check_PROGRAMS += tests/test_dvs
TESTS += tests/test_dvs
tests_test_dvs_SOURCES = tests/test_dvs.c
tests_test_dvs_CFLAGS = $(TEST_CFLAGS)
tests_test_dvs_LDADD = $(TEST_LIBS)
