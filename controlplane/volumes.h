// Volumes: the backing file of each disk, a sparse file of the disk's size in the volumes directory
// (<database dir>/volumes/), named by the disk id alone ("<disk id>.vol"), so a file can always be matched to
// its disk record and an action that runs again finds the file its first run made. Files sit in one of 256
// subdirectories named by the id's first two hex digits (volumes/3f/3f2a...e1.vol): creating a file locks its
// directory, and with one flat directory the parallel disk-creates of busy sagas queued on that one lock.
//
//   std::string dir = VolumesDirFor(store->path());
//   SAGADB_RETURN_IF_ERROR(CreateVolume(dir, disk_id, 10ull << 30));   // idempotent
//   SAGADB_RETURN_IF_ERROR(RemoveVolume(dir, disk_id));                 // idempotent
//
// Both are durable when they return OK (the file and the directory entry are synced), because the saga log
// records the step as done right after. A failed CreateVolume leaves no file behind.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb {

// <database_dir>/volumes
std::string VolumesDirFor(std::string_view database_dir);
// <dir>/<first two hex digits of the id>/<disk id>.vol
std::string VolumePath(std::string_view dir, const Uuid& disk);
// The disk a volume file name (without its directory) belongs to, or nullopt if the name is not a volume's.
std::optional<Uuid> VolumeDiskId(std::string_view file_name);

// Creates the directories if needed (durably) and a sparse file of size_bytes (or resizes the one already
// there).
Status CreateVolume(std::string_view dir, const Uuid& disk, uint64_t size_bytes);
// Removes the file; OK if there is none.
Status RemoveVolume(std::string_view dir, const Uuid& disk);

// fsync calls made by CreateVolume and RemoveVolume in this process so far (files and the directory alike):
// the synced writes a saga makes outside the store, for the benchmark's per-saga count.
uint64_t VolumeSyncCount();

// The volumes directory a shard at a time, so that a check holds one shard's names (1/256 of them), never all.
struct VolumeDirListing {
  std::array<bool, 256> shards{};        // which shard subdirectories exist ("00" .. "ff")
  std::vector<std::string> other_files;  // entries that are not shard directories, sorted
};
struct ShardListing {
  std::vector<std::pair<Uuid, std::string>> volumes;  // sorted by disk id; path relative to the volumes directory
  std::vector<std::string> other_files;               // entries that are not volumes of this shard, sorted
};
// Empty if the directory does not exist. IOError if it cannot be read.
Result<VolumeDirListing> ListVolumeDir(std::string_view dir);
// The shard whose name is the hex of `shard` (a disk id's first byte). Empty if it does not exist.
Result<ShardListing> ListVolumeShard(std::string_view dir, uint8_t shard);

struct VolumeListing {
  std::map<Uuid, std::string> volumes;   // disk id -> path relative to the volumes directory ("3f/3f2a...vol")
  std::vector<std::string> other_files;  // entries that are not volumes (or not where their id puts them)
};
// The directory's contents, subdirectories included, all at once (for tests; `check` lists a shard at a time);
// empty if it does not exist. IOError if it cannot be read.
Result<VolumeListing> ListVolumes(std::string_view dir);

}  // namespace sagadb
