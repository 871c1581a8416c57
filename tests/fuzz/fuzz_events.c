/* libFuzzer harness for every event decoder. The first byte picks the
 * decoder (or sniffing), the second the batch size, so one corpus reaches
 * all of them and the resume-mid-record paths; the rest is the file.
 * With the first byte's top bit set the bytes go through a memfd and
 * evsnn_event_reader_open, so the file and gzip layers are fuzzed too.
 * Built with --enable-fuzz (clang) it is a fuzzer; tests/test_events_fuzz.c
 * links the same entry point without libFuzzer and replays the committed
 * corpus and crash regressions under make check. Besides the sanitizers'
 * checks it aborts when a decoder invents events: no format here yields
 * more than 12 events per 2 input bytes (EVT 3.0's VECT_12 is the densest). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "evsnn/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {NULL, "evsnn", "evt2", "evt3", "dat", "aedat2",
                                    "aedat3", "nmnist", "text", "aedat4", "evt21"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const char *format = names[(data[0] & 0x7f) % (sizeof(names) / sizeof(names[0]))];
  int via_file = data[0] >> 7;
  size_t cap = 1 + data[1] % 64, n;
  data += 2, size -= 2;
  evsnn_event_reader_t *r;
  int err;
  if (via_file) {
    char path[64];
    int fd = memfd_create("fuzz", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    err = evsnn_event_reader_open(&r, path, format);
    close(fd); /* the reader holds its own descriptor */
    /* gzip inflates up to ~1032x; a decoded byte still yields <= 16 events */
    size *= 1032;
  } else {
    err = evsnn_event_reader_open_mem(&r, data, size, format);
  }
  if (err != 0) return 0;
  static evsnn_event_t ev[64];
  uint64_t total = 0;
  while (evsnn_event_read(r, ev, cap, &n) == 0 && n > 0) {
    if (n > cap) abort();
    total += n;
    if (total > 16 * (uint64_t)size + 16) abort();
  }
  evsnn_event_reader_close(r);
  return 0;
}
