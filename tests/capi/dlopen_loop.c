/* dlopen -> use -> dlclose, many times in one process: libdataport_c.so must leave nothing behind.
 *
 *   capi_dlopen_loop LIBRARY BLOB_URI BLOB_SIZE [ITERATIONS]
 *
 * Each iteration loads the library with RTLD_NOW|RTLD_LOCAL, creates a context, reads the whole
 * blob (a real read from Azurite) and checks its FNV-1a against the first iteration, destroys the
 * context and dlclose()s. After dlclose, dlopen(RTLD_NOLOAD) tells whether the library really
 * left the process. Threads (/proc/self/task), file descriptors (/proc/self/fd) and RSS are
 * sampled after a warm-up and at the end; growth beyond small noise fails the test (RSS is not
 * checked when DP_LOOP_NO_RSS is set: tests/capi/valgrind_leak_check.sh runs it under memcheck). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataport.h"

static long count_entries(const char* dir) {
  DIR* d = opendir(dir);
  struct dirent* e;
  long n = 0;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - (strcmp(dir, "/proc/self/fd") == 0 ? 1 : 0); /* the DIR's own fd */
}

static long rss_kib(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  }
  fclose(f);
  return kib;
}

#define LOAD(name)                               \
  do {                                           \
    if (!(name = (name##_t)dlsym(lib, #name))) { \
      fprintf(stderr, "missing %s\n", #name);    \
      return 1;                                  \
    }                                            \
  } while (0)

typedef dataport_status (*dataport_context_create_t)(const char*, dataport_context**);
typedef void (*dataport_context_destroy_t)(dataport_context*);
typedef dataport_status (*dataport_reader_open_t)(dataport_context*, const char*,
                                                  dataport_reader**);
typedef dataport_status (*dataport_reader_read_at_t)(dataport_reader*, uint64_t, void*, size_t,
                                                     size_t*);
typedef void (*dataport_reader_close_t)(dataport_reader*);
typedef const char* (*dataport_last_error_t)(void);

static unsigned char buffer[1 << 20];

static int iteration(const char* path, const char* uri, size_t size, uint64_t* hash) {
  dataport_context_create_t dataport_context_create;
  dataport_context_destroy_t dataport_context_destroy;
  dataport_reader_open_t dataport_reader_open;
  dataport_reader_read_at_t dataport_reader_read_at;
  dataport_reader_close_t dataport_reader_close;
  dataport_last_error_t dataport_last_error;
  dataport_context* ctx = NULL;
  dataport_reader* reader = NULL;
  size_t got = 0, i;
  uint64_t h = 14695981039346656037ULL;
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  LOAD(dataport_context_create);
  LOAD(dataport_context_destroy);
  LOAD(dataport_reader_open);
  LOAD(dataport_reader_read_at);
  LOAD(dataport_reader_close);
  LOAD(dataport_last_error);
  if (dataport_context_create("{\"io_threads\": 1}", &ctx) != DATAPORT_OK ||
      dataport_reader_open(ctx, uri, &reader) != DATAPORT_OK ||
      dataport_reader_read_at(reader, 0, buffer, sizeof buffer, &got) != DATAPORT_OK) {
    fprintf(stderr, "dataport call failed: %s\n", dataport_last_error());
    return 1;
  }
  if (got != size) {
    fprintf(stderr, "read %zu bytes, expected %zu\n", got, size);
    return 1;
  }
  for (i = 0; i < got; ++i) {
    h ^= buffer[i];
    h *= 1099511628211ULL;
  }
  *hash = h;
  dataport_reader_close(reader);
  dataport_context_destroy(ctx);
  if (dlclose(lib) != 0) {
    fprintf(stderr, "dlclose: %s\n", dlerror());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  long iterations, i, unloaded = 0, threads0 = 0, fds0 = 0, rss0 = 0, threads, fds, rss;
  uint64_t first = 0, hash = 0;
  size_t size;
  if (argc < 4) {
    fprintf(stderr, "usage: %s LIBRARY BLOB_URI BLOB_SIZE [ITERATIONS]\n", argv[0]);
    return 2;
  }
  size = (size_t)strtoull(argv[3], NULL, 10);
  iterations = argc > 4 ? strtol(argv[4], NULL, 10) : 1000;
  if (size > sizeof buffer) {
    fprintf(stderr, "blob too large for the test buffer\n");
    return 2;
  }
  for (i = 0; i < iterations; ++i) {
    if (iteration(argv[1], argv[2], size, &hash) != 0) {
      fprintf(stderr, "iteration %ld failed\n", i);
      return 1;
    }
    if (i == 0) first = hash;
    if (hash != first) {
      fprintf(stderr, "iteration %ld read different bytes\n", i);
      return 1;
    }
    if (dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == NULL) {
      ++unloaded;
    } else {
      dlclose(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD)); /* drop the two references just taken */
      dlclose(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD));
    }
    if (i == 9 || (iterations <= 10 && i == 0)) {
      threads0 = count_entries("/proc/self/task");
      fds0 = count_entries("/proc/self/fd");
      rss0 = rss_kib();
    }
  }
  threads = count_entries("/proc/self/task");
  fds = count_entries("/proc/self/fd");
  rss = rss_kib();
  printf("iterations=%ld unloaded=%ld threads %ld->%ld fds %ld->%ld rss %ld->%ld KiB\n", iterations,
         unloaded, threads0, threads, fds0, fds, rss0, rss);
  if (threads != 1) {
    fprintf(stderr, "FAIL: %ld threads left (expected only main)\n", threads);
    return 1;
  }
  if (fds > fds0 + 2) {
    fprintf(stderr, "FAIL: file descriptors grew\n");
    return 1;
  }
  /* Under valgrind (DP_LOOP_NO_RSS set) RSS is mostly the tool's shadow memory: not checked. */
  if (!getenv("DP_LOOP_NO_RSS") && rss > rss0 + 16 * 1024) {
    fprintf(stderr, "FAIL: RSS grew by more than 16 MiB\n");
    return 1;
  }
  if (unloaded != iterations) {
    fprintf(stderr, "FAIL: the library stayed loaded after dlclose in %ld of %ld iterations\n",
            iterations - unloaded, iterations);
    return 1;
  }
  printf("ok\n");
  return 0;
}
