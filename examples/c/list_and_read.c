/* Lists a folder and reads a file through the dataport C ABI.
 *
 *   dataport_c_example FOLDER_URI FILE_URI
 *
 * Prints each entry of FOLDER_URI (one JSON object per line), then the size of FILE_URI and the
 * FNV-1a hash of its bytes, read in 64 KiB pieces with dataport_reader_read_at(). Credentials
 * come from the environment (e.g. AZURE_STORAGE_CONNECTION_STRING). Exit status 0 on success. */
#include <stdio.h>
#include <stdlib.h>

#include "dataport.h"

static int report(const char* what, dataport_status status) {
  fprintf(stderr, "%s failed: %s (%d): %s\n", what, dataport_status_name(status), status,
          dataport_last_error());
  return 1;
}

int main(int argc, char** argv) {
  dataport_context* context = NULL;
  dataport_list* list = NULL;
  dataport_reader* reader = NULL;
  dataport_status status;
  char* entry = NULL;
  static unsigned char buffer[65536];
  uint64_t size = 0, offset = 0, hash = 14695981039346656037ULL;
  size_t got = 0, i;
  unsigned long entries = 0;
  int rc = 1;

  if (argc != 3) {
    fprintf(stderr, "usage: %s FOLDER_URI FILE_URI\n", argv[0]);
    return 2;
  }
  printf("dataport %s\n", dataport_version());
  status = dataport_context_create("{\"io_threads\": 2}", &context);
  if (status != DATAPORT_OK) return report("dataport_context_create", status);

  status = dataport_list_open(context, argv[1], "{\"recursive\": false}", &list);
  if (status != DATAPORT_OK) {
    report("dataport_list_open", status);
    goto done;
  }
  for (;;) {
    status = dataport_list_next(list, &entry);
    if (status != DATAPORT_OK) {
      report("dataport_list_next", status);
      goto done;
    }
    if (entry == NULL) break;
    printf("%s\n", entry);
    dataport_free_string(entry);
    ++entries;
  }
  printf("entries: %lu\n", entries);

  status = dataport_reader_open(context, argv[2], &reader);
  if (status != DATAPORT_OK) {
    report("dataport_reader_open", status);
    goto done;
  }
  status = dataport_reader_size(reader, &size);
  if (status != DATAPORT_OK) {
    report("dataport_reader_size", status);
    goto done;
  }
  for (;;) {
    status = dataport_reader_read_at(reader, offset, buffer, sizeof buffer, &got);
    if (status != DATAPORT_OK) {
      report("dataport_reader_read_at", status);
      goto done;
    }
    if (got == 0) break;
    for (i = 0; i < got; ++i) {
      hash ^= buffer[i];
      hash *= 1099511628211ULL;
    }
    offset += got;
  }
  if (offset != size) {
    fprintf(stderr, "read %llu bytes but the size is %llu\n", (unsigned long long)offset,
            (unsigned long long)size);
    goto done;
  }
  printf("size: %llu\nfnv1a: %016llx\n", (unsigned long long)size, (unsigned long long)hash);
  rc = 0;

done:
  dataport_reader_close(reader);
  dataport_list_close(list);
  dataport_context_destroy(context);
  return rc;
}
