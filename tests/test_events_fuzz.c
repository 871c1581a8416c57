/* Replays the fuzzer's committed corpus (tests/fuzz/corpus: the seeds, and
 * any input that once crashed or hung a decoder goes there too) through the
 * fuzz harness's own entry point, so make check, and its sanitizer build,
 * keep every decoder clean on them. A crash, a sanitizer report or an abort
 * from the harness's invariants fails the test. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus and the fewest files it must hold; tests/test_proto_fuzz
 * builds this file again for the serve protocol's harness and corpus. */
#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "tests/fuzz/corpus"
#define FUZZ_MIN_FILES 16
#endif

static size_t replay(void) {
  const char *src = getenv("EVSNN_SRCDIR");
  char dir[4096], path[8192];
  snprintf(dir, sizeof(dir), "%s/" FUZZ_CORPUS, src ? src : ".");
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "%s", dir);
  struct dirent *e;
  size_t files = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    /* A private copy of exactly len bytes, so ASan sees any over-read. */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    files++;
  }
  closedir(d);
  return files;
}

Test(fuzz, corpus_replays) { cr_assert_gt(replay(), FUZZ_MIN_FILES); }
