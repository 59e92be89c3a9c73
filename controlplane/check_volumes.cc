// Check's pass over the volume files (invariant 6), a group of shard directories at a time: the group's shards
// are listed, then a view of the database is taken (a catch-up of an inspection store, a snapshot of a
// read-write one), and each shard's names are merged with the disks whose ids put them in that shard (the disks
// table is in id order, and a shard is an id's first byte). A group is 16 shards: 1/16 of the names in memory,
// and 16 views per check (a catch-up costs a secondary about as much as listing a shard). A disk record is created before its volume and destroyed after it, except by
// disk-delete, which destroys the record first: so a listed volume's disk is in the view, and a destroyed
// disk's volume is either being removed by a saga in flight in the view, or gone when looked for again.
#include <filesystem>

#include <fmt/format.h>

#include "controlplane/check_state.h"
#include "controlplane/footprint.h"
#include "controlplane/volumes.h"
#include "log/saga_query.h"
#include "schema/codec.h"

namespace sagadb::check_internal {
namespace {

std::string Id(const Uuid& id) { return id.ToString(); }

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

class VolumePass {
 public:
  explicit VolumePass(CheckState& s) : s_(s) {}

  void Run() {
    auto top = ListVolumeDir(s_.volumes_dir);
    if (!top.ok()) {
      s_.Violation(check_kind::kVolume, {s_.volumes_dir}, top.status().ToString());
      return;
    }
    for (const auto& name : top->other_files) OtherFile(name);
    constexpr int kGroup = 16;
    for (int first = 0; first < 256; first += kGroup) {
      std::vector<std::optional<ShardListing>> group(kGroup);
      for (int k = 0; k < kGroup; ++k) {
        group[k].emplace();
        if (!top->shards[first + k]) continue;
        auto l = ListVolumeShard(s_.volumes_dir, static_cast<uint8_t>(first + k));
        if (l.ok()) {
          *group[k] = std::move(*l);
        } else {
          s_.Violation(check_kind::kVolume, {s_.volumes_dir}, l.status().ToString());
          group[k].reset();
        }
      }
      // The view after the listing.
      if (s_.store->mode() == OpenMode::kSecondary) {
        Status st = s_.store->CatchUp();
        if (!st.ok()) s_.Violation(check_kind::kVolume, {s_.volumes_dir}, st.ToString());
      }
      std::shared_ptr<const Snapshot> view = s_.store->NewSnapshot();
      in_flight_.reset();
      for (int k = 0; k < kGroup; ++k) {
        if (group[k]) Shard(static_cast<uint8_t>(first + k), *group[k], view.get());
      }
    }
  }

 private:
  void OtherFile(const std::string& name) {
    s_.Note(check_kind::kOtherFile, {name}, fmt::format("{} in the volumes directory is not a volume", name));
  }

  void Shard(uint8_t shard, const ShardListing& listing, const Snapshot* view) {
    s_.report->volumes += listing.volumes.size();
    for (const auto& name : listing.other_files) OtherFile(name);
    auto disks = s_.store->NewCursor(s_.disks_table, view);
    const char first = static_cast<char>(shard);
    disks->Seek(std::string_view(&first, 1));
    auto volume = listing.volumes.begin();
    for (; disks->Valid() && !disks->key().empty() && disks->key()[0] == first; disks->Next()) {
      auto id = Uuid::FromBytes(disks->key());
      if (!id) continue;  // reported by the disk pass
      for (; volume != listing.volumes.end() && volume->first < *id; ++volume) NoDisk(*volume);
      const bool listed = volume != listing.volumes.end() && volume->first == *id;
      Disk d;
      std::string why;
      if (!Decode(disks->value(), &d, &why) || d.id != *id) {
        if (listed) ++volume;  // unreadable: reported by the disk pass
        continue;
      }
      if (listed) {
        DiskWithVolume(d, volume->second);
        ++volume;
      } else {
        DiskWithoutVolume(d);
      }
    }
    if (!disks->status().ok()) s_.Violation(check_kind::kCorruption, {}, disks->status().ToString());
    for (; volume != listing.volumes.end(); ++volume) NoDisk(*volume);
  }

  void DiskWithoutVolume(const Disk& d) {
    if (d.state == DiskState::kDestroyed || d.state == DiskState::kCreating) return;
    // Listed before the view: a volume made since (by a disk-create that then finalized) is found now.
    const std::string path = VolumePath(s_.volumes_dir, d.id);
    if (Exists(path)) return;
    s_.Violation(check_kind::kVolume, {Id(d.id)},
                 fmt::format("disk {} is {} but has no volume file {}", Id(d.id), ToString(d.state), path));
  }

  void DiskWithVolume(const Disk& d, const std::string& file) {
    if (d.state != DiskState::kDestroyed) return;
    // Removed since the listing (by the disk-delete that destroyed the record), or being removed by a saga in
    // flight in this view.
    const std::string path = VolumePath(s_.volumes_dir, d.id);
    if (!Exists(path)) return;
    if (!s_.options.quiescent) {
      if (InFlight().count(d.id) > 0) return;
      // A saga that removed it and finished between the look and the list of sagas in flight.
      if (!Exists(path)) return;
    }
    const std::optional<SagaState> saga = s_.SagaStateOf(d.saga_id);
    if (saga && *saga == SagaState::kFailed) {
      s_.Violation(check_kind::kLeak, {Id(d.id), Id(*d.saga_id)},
                   fmt::format("volume {} of disk {} remains, but saga {} that created it failed", file, Id(d.id),
                               Id(*d.saga_id)));
    } else {
      s_.Violation(check_kind::kVolume, {Id(d.id)}, fmt::format("volume {} belongs to destroyed disk {}", file, Id(d.id)));
    }
  }

  void NoDisk(const std::pair<Uuid, std::string>& volume) {
    s_.Violation(check_kind::kVolume, {Id(volume.first)},
                 fmt::format("volume {} belongs to no disk (no record of disk {})", volume.second, Id(volume.first)));
  }

  // The disks that sagas in flight act on, read (once per group that needs them) after the group's view, so
  // that a saga in flight in the view is either still in flight or has finished, its volume step done.
  const std::set<Uuid>& InFlight() {
    if (in_flight_) return *in_flight_;
    in_flight_.emplace();
    SagaQuery q;
    q.states = {SagaState::kRunning, SagaState::kUnwinding};
    q.limit = 0;
    SagaListing listing;
    Status st = ListSagaRecords(*s_.store, q, [&](const SagaRecord& r) {
      SagaFootprint f = FootprintOf(r.kind, Json::parse(r.params, nullptr, /*allow_exceptions=*/false));
      in_flight_->insert(f.disks.begin(), f.disks.end());
    }, &listing);
    if (!st.ok()) s_.Violation(check_kind::kCorruption, {}, st.ToString());
    return *in_flight_;
  }

  CheckState& s_;
  std::optional<std::set<Uuid>> in_flight_;
};

}  // namespace

void CheckVolumes(CheckState& s) { VolumePass(s).Run(); }

}  // namespace sagadb::check_internal
