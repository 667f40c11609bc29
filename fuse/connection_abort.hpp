// Aborting a FUSE connection the kernel keeps alive after a lazy unmount. Not a public header.
//
// A lazy unmount detaches the mount at once, but the kernel keeps the connection (and the serving
// loop) alive while a program still holds a file of it open. To bound the time an unmount takes,
// mount_session aborts the connection after DATASET_UNMOUNT_TIMEOUT_SECONDS through the fusectl
// file system (/sys/fs/fuse/connections/<id>/abort); the loop then ends, the holder gets ENOTCONN,
// and the session uploads what was staged.
#pragma once

#include <optional>
#include <string>

namespace dataport::fuse_adapter {

/// The fusectl connection id of the FUSE mount on `mountpoint` (the minor device number in
/// /proc/self/mountinfo), or nullopt when no FUSE file system is mounted there.
std::optional<unsigned> fuse_connection_id(const std::string& mountpoint);

/// Sets the kernel readahead of the mount's backing device (/sys/class/bdi/0:<id>/read_ahead_kb):
/// the kernel gives a FUSE mount 128 KiB whatever max_readahead says, which leaves a sequential
/// reader one request deep. Returns an empty string on success, else why it failed.
std::string set_fuse_readahead(unsigned id, unsigned kib);

/// Writes to the connection's abort file, mounting fusectl on /sys/fs/fuse/connections first when
/// it is not mounted (needs root). Returns an empty string on success, else why it failed.
std::string abort_fuse_connection(unsigned id);

}  // namespace dataport::fuse_adapter
