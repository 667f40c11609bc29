/* dataport.h — the C ABI of dataport, for other languages (Python ctypes/cffi, Rust bindgen, C).
 *
 * Plain C99. Every symbol starts with dataport_ / DATAPORT_. The library is libdataport_c.so.
 *
 * Conventions (they hold for every function below):
 *  - Status: functions return dataport_status, 0 (DATAPORT_OK) on success, else one of the
 *    DATAPORT_E_* codes. The values are pinned and equal dataport::errc in the C++ API.
 *  - Errors: on failure the message (what went wrong and what to do; secrets redacted) is
 *    available from dataport_last_error() on the SAME thread until that thread's next dataport
 *    call. Successful calls clear it.
 *  - Strings returned through `char** out` parameters are owned by the caller and must be freed
 *    with dataport_free_string(). On failure *out is set to NULL.
 *  - Handles are opaque. Every handle has a NULL-safe free function. Passing NULL where a handle
 *    is required returns DATAPORT_E_INVALID_ARGUMENT (never crashes).
 *  - Options are JSON object strings (NULL or "" = no options). Unknown keys are an error, so a
 *    misspelled option never silently does nothing. New options never change the ABI.
 *  - No function throws or aborts on bad input; C++ exceptions never cross this boundary.
 *
 * Lifetime: readers, listings and mount sessions keep their context's runtime alive.
 * dataport_context_destroy() releases the context handle; the runtime (its I/O threads) is
 * stopped and joined at once when no reader, listing or mount session is open, else when the
 * last of them is freed. Free every handle before dlclose()-ing the library.
 *
 * Thread-safety: a context may be used from any number of threads at once. A reader may be read
 * from several threads at once. A listing is used by one thread at a time (calls are serialized
 * internally, so concurrent use is safe but the order of entries between threads is arbitrary).
 */
#ifndef DATAPORT_H
#define DATAPORT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define DATAPORT_API __declspec(dllimport)
#elif defined(__GNUC__)
#define DATAPORT_API __attribute__((visibility("default")))
#else
#define DATAPORT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ---------------------------------------------------------------------------- */
#define DATAPORT_VERSION_MAJOR 0
#define DATAPORT_VERSION_MINOR 1
#define DATAPORT_VERSION_PATCH 0
#define DATAPORT_VERSION_STRING "0.1.0"

/** The library's version ("0.1.0"); a static string, do not free. Compare with
 *  DATAPORT_VERSION_STRING to detect a header/library mismatch. Thread-safe. */
DATAPORT_API const char* dataport_version(void);

/* ---- status codes (pinned; equal to dataport::errc) --------------------------------------- */
typedef int dataport_status;
#define DATAPORT_OK 0
#define DATAPORT_E_INVALID_ARGUMENT 1 /* bad URI, option, JSON, NULL handle, closed handle */
#define DATAPORT_E_NOT_FOUND 2
#define DATAPORT_E_PERMISSION_DENIED 3
#define DATAPORT_E_AUTHENTICATION_FAILED 4
#define DATAPORT_E_CHANGED 5 /* the object changed while a reader had it open */
#define DATAPORT_E_ALREADY_EXISTS 6
#define DATAPORT_E_TRANSIENT_EXHAUSTED 7
#define DATAPORT_E_TIMEOUT 8
#define DATAPORT_E_NETWORK 9
#define DATAPORT_E_IO 10
#define DATAPORT_E_UNSUPPORTED 11
#define DATAPORT_E_CANCELLED 12
#define DATAPORT_E_NO_SPACE 13
#define DATAPORT_E_PROTOCOL 14
#define DATAPORT_E_INTERNAL 15
#define DATAPORT_E_TLS 16

/** Message of the last failed call on this thread ("" when the last call succeeded). The
 *  pointer is owned by the library and valid until the next dataport call on this thread.
 *  Messages longer than 4 KiB are truncated. Never NULL. */
DATAPORT_API const char* dataport_last_error(void);

/** Short stable name of a status ("not_found"); static string, do not free. */
DATAPORT_API const char* dataport_status_name(dataport_status status);

/** Frees a string returned by the library. NULL is a no-op. */
DATAPORT_API void dataport_free_string(char* text);

/* ---- context ------------------------------------------------------------------------------ */
typedef struct dataport_context dataport_context;

/** Creates a runtime. `options_json`: NULL, "" or a JSON object whose keys are settings'
 *  environment-variable names (see docs/settings.md; values as strings, numbers or booleans),
 *  plus "workspace" (path of a workspace file) and "io_threads" (1..64). Settings start from the
 *  process environment; the JSON overrides them. Unknown keys, bad values or JSON that is not an
 *  object return DATAPORT_E_INVALID_ARGUMENT. On success *out is a new context. */
DATAPORT_API dataport_status dataport_context_create(const char* options_json,
                                                     dataport_context** out);

/** Releases a context (NULL-safe). Stops and joins its I/O threads unless readers or listings
 *  made from it are still open (then the last of them to be freed does). Must not be called
 *  from a progress callback. */
DATAPORT_API void dataport_context_destroy(dataport_context* context);

/** Resolves a URI (local path, file://, http(s)://, wasb(s)://, abfs(s)://, azureml://) to JSON:
 *  {"backend","service_url","account","container","path","credential","asset_type","uri"}
 *  (credential is the kind only, never secret material). No network access. */
DATAPORT_API dataport_status dataport_resolve(dataport_context* context, const char* uri,
                                              char** out_json);

/** Stats a file or folder. JSON: {"path","size","is_directory","etag","last_modified"
 *  (ISO 8601 UTC),"content_md5","content_type"}; absent fields are omitted. Blocks. */
DATAPORT_API dataport_status dataport_stat(dataport_context* context, const char* uri,
                                           char** out_json);

/* ---- listing ------------------------------------------------------------------------------ */
typedef struct dataport_list dataport_list;

/** Starts listing a folder. `options_json`: {"recursive": bool, "page_size": 1..5000}. Nothing
 *  is requested until the first dataport_list_next(); pages are fetched lazily. */
DATAPORT_API dataport_status dataport_list_open(dataport_context* context, const char* uri,
                                                const char* options_json, dataport_list** out);

/** The next entry as JSON (the stat fields plus "name", the path relative to the listed
 *  folder), or *out_json = NULL with DATAPORT_OK when the listing is complete. Blocks while a
 *  page is fetched. */
DATAPORT_API dataport_status dataport_list_next(dataport_list* list, char** out_json);

/** Frees a listing (NULL-safe). */
DATAPORT_API void dataport_list_close(dataport_list* list);

/* ---- reader ------------------------------------------------------------------------------- */
typedef struct dataport_reader dataport_reader;

/** Opens a file for random-access reads of its current version (pinned by ETag: a later change
 *  makes reads fail with DATAPORT_E_CHANGED). Uses the mount's block and cache settings. */
DATAPORT_API dataport_status dataport_reader_open(dataport_context* context, const char* uri,
                                                  dataport_reader** out);

/** Reads up to `length` bytes at `offset` into `buffer`; *out_read is the count, short only at
 *  the end of the file and 0 at or past it (not an error). Blocks. Thread-safe. `buffer` may be
 *  NULL only when `length` is 0. Must not be called from a progress callback. */
DATAPORT_API dataport_status dataport_reader_read_at(dataport_reader* reader, uint64_t offset,
                                                     void* buffer, size_t length, size_t* out_read);

/** The file's size in bytes (of the pinned version). */
DATAPORT_API dataport_status dataport_reader_size(dataport_reader* reader, uint64_t* out_size);

/** Closes and frees a reader (NULL-safe). The handle is invalid afterwards. To make a handle
 *  unusable while other threads may still hold it, use dataport_reader_shutdown() first:
 *  later reads then fail with DATAPORT_E_INVALID_ARGUMENT ("reader is closed"). */
DATAPORT_API void dataport_reader_close(dataport_reader* reader);

/** Releases the reader's file and caches but keeps the handle valid; every later read or size
 *  call returns DATAPORT_E_INVALID_ARGUMENT. Reads already running finish normally. NULL-safe. */
DATAPORT_API void dataport_reader_shutdown(dataport_reader* reader);

/* ---- copy --------------------------------------------------------------------------------- */

/** Progress of a copy, passed to the callback. Bytes are bytes written to the destination. */
typedef struct dataport_progress {
  uint64_t files_known; /* files listed so far */
  uint64_t files_done;
  uint64_t files_failed;
  uint64_t files_skipped;
  uint64_t bytes_known; /* bytes of the files listed so far */
  uint64_t bytes_done;
  uint64_t elapsed_ms;
  int listing_done; /* 1 when files_known is final */
} dataport_progress;

/** Progress callback: called about every progress_interval_ms and once at the end, on a library
 *  I/O thread; keep it quick and do not call dataport functions that block (reads, copies,
 *  destroy) from it. Return 0 to continue, non-zero to cancel the copy. */
typedef int (*dataport_progress_fn)(const dataport_progress* progress, void* user_data);

/** Copies `source` to `destination` (local <-> remote, remote -> remote). `options_json` keys:
 *  "recursive" (bool, needed for folders), "threads", "chunk_size", "inflight_bytes" (numbers),
 *  "if_exists" ("fail" | "overwrite" | "skip-identical"), "verify_md5", "fail_fast", "fsync",
 *  "direct_io" (absent: DATAPORT_DIRECT_IO), "restart_on_change", "create_container" (bools),
 *  "progress_interval_ms" (number).
 *  `progress` may be NULL. Blocks until the copy ends. On return, when `out_summary_json` is not
 *  NULL, it receives {"files_done","files_failed","files_skipped","bytes","duration_ms",
 *  "requests","retries","cancelled","failed":[{"path","reason","code"}],"skipped":[...]} even
 *  when the status is an error (NULL only if the copy could not start).
 *  Status: DATAPORT_OK when no file failed; DATAPORT_E_CANCELLED when the callback cancelled;
 *  otherwise the code of the first failed file (the message counts the failures). */
DATAPORT_API dataport_status dataport_copy(dataport_context* context, const char* source,
                                           const char* destination, const char* options_json,
                                           dataport_progress_fn progress, void* user_data,
                                           char** out_summary_json);

/* ---- metrics ------------------------------------------------------------------------------ */

/** The context's counters and request latency as JSON:
 *  {"counters": {"requests": n, ...}, "request_latency_us": {"p50","p90","p99","max"}}. */
DATAPORT_API dataport_status dataport_metrics(dataport_context* context, char** out_json);

/* ---- mount -------------------------------------------------------------------------------- */
/* A location served as a FUSE file system (ro_mount / rw_mount; docs/mount.md). Needs a library
 * built with FUSE (DATAPORT_BUILD_FUSE, the default) and /dev/fuse; a library built without it
 * has the same symbols, which return DATAPORT_E_UNSUPPORTED (dataport_mount_is_mounted: 0).
 * The mount is served by library threads in the calling process: reading the mountpoint from
 * the same process is fine, but the process must stay alive while the mount is used.
 * A session keeps its context's runtime alive: it keeps serving after
 * dataport_context_destroy(); the runtime's threads are joined when the session is freed. */
typedef struct dataport_mount_session dataport_mount_session;

/** Mounts `uri` (a folder, a container or one file) on `mountpoint` (an existing empty folder)
 *  and returns once the kernel mount exists. `options_json` keys (NULL or "" = read only):
 *   "mode": "ro_mount" (default) | "rw_mount", or "read_write": bool (the same; not both unless
 *   they agree); "allow_other": bool (other users may enter; non-root needs user_allow_other);
 *   "block_mode": bool (overrides DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED); "preset": a reader
 *   preset name ("large-sequential", "large-parallel", "small-files-once",
 *   "small-files-epochs", "large-random"); "cache_dir": string (disk cache and rw staging);
 *   "max_threads": 1..1024 FUSE worker threads (default 32); "fuse_options": list of libfuse -o
 *   options (or one comma-separated string). Unknown keys, wrong types and bad values return
 *   DATAPORT_E_INVALID_ARGUMENT naming the key. Other errors: DATAPORT_E_NOT_FOUND (missing
 *   container or folder), DATAPORT_E_INVALID_ARGUMENT (mountpoint missing, not a folder or not
 *   empty), DATAPORT_E_IO (the kernel mount failed). In rw_mount, files are uploaded when
 *   closed (flush/fsync/close); a failed upload is EIO to the writer and is retried at unmount.
 *  On success *out is a new session, owned by the caller (free with dataport_mount_free). */
DATAPORT_API dataport_status dataport_mount(dataport_context* context, const char* uri,
                                            const char* mountpoint, const char* options_json,
                                            dataport_mount_session** out);

/** Asks for a lazy unmount (MNT_DETACH as root, else fusermount3 -u -z) and returns at once; the
 *  file system goes away when no process uses it any more. A no-op when already unmounted or
 *  requested (a failed request is logged). Thread-safe: may be called while another thread
 *  blocks in dataport_mount_wait(). */
DATAPORT_API dataport_status dataport_unmount(dataport_mount_session* session);

/** Blocks until the file system is unmounted (dataport_unmount, umount, fusermount3 -u), joins
 *  the FUSE threads, then gives uploads still pending DATASET_UNMOUNT_TIMEOUT_SECONDS. When
 *  `out_pending_json` is not NULL it receives the files left behind as JSON
 *  [{"path": path in the mount, "staging_file": local file holding the data}] ("[]" when none).
 *  Returns DATAPORT_OK when nothing is pending, DATAPORT_E_IO (naming the files) when uploads
 *  were left pending. Later calls return the same result at once. Call it from one thread at a
 *  time; never from a FUSE request (a program reading its own mount must not wait inside a
 *  read). */
DATAPORT_API dataport_status dataport_mount_wait(dataport_mount_session* session,
                                                 char** out_pending_json);

/** 1 while the file system is mounted and served, else 0 (also for NULL). Thread-safe. */
DATAPORT_API int dataport_mount_is_mounted(const dataport_mount_session* session);

/** Frees a session (NULL-safe): unmounts and waits if still mounted (pending uploads are then
 *  only logged: call dataport_mount_wait() first to learn about them), then releases the
 *  context's runtime if nothing else holds it. Must not run concurrently with other calls on
 *  the same session. */
DATAPORT_API void dataport_mount_free(dataport_mount_session* session);

#ifdef __cplusplus
}
#endif

#endif /* DATAPORT_H */
