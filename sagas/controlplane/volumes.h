// Volumes: the backing file of each disk, a sparse file of the disk's size in the volumes directory
// (<database dir>/volumes/), named by the disk id alone ("<disk id>.vol"), so a file can always be matched to
// its disk record and an action that runs again finds the file its first run made.
//
//   std::string dir = VolumesDirFor(store->path());
//   SAGADB_RETURN_IF_ERROR(CreateVolume(dir, disk_id, 10ull << 30));   // idempotent
//   SAGADB_RETURN_IF_ERROR(RemoveVolume(dir, disk_id));                 // idempotent
//
// Both are durable when they return OK (the file and the directory entry are synced), because the saga log
// records the step as done right after. A failed CreateVolume leaves no file behind.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "schema/uuid.h"

namespace sagadb {

// <database_dir>/volumes
std::string VolumesDirFor(std::string_view database_dir);
// <dir>/<disk id>.vol
std::string VolumePath(std::string_view dir, const Uuid& disk);
// The disk a volume file name belongs to, or nullopt if the name is not a volume's.
std::optional<Uuid> VolumeDiskId(std::string_view file_name);

// Creates the directory if needed and a sparse file of size_bytes (or resizes the one already there).
Status CreateVolume(std::string_view dir, const Uuid& disk, uint64_t size_bytes);
// Removes the file; OK if there is none.
Status RemoveVolume(std::string_view dir, const Uuid& disk);

struct VolumeListing {
  std::map<Uuid, std::string> volumes;   // disk id -> file name
  std::vector<std::string> other_files;  // entries that are not volumes
};
// The directory's contents; empty if it does not exist. IOError if it cannot be read.
Result<VolumeListing> ListVolumes(std::string_view dir);

}  // namespace sagadb
