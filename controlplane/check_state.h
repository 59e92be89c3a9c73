// Internal to check.cc and check_records.cc: what Check read, and where its findings go.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "controlplane/check.h"
#include "controlplane/volumes.h"
#include "schema/records.h"

namespace sagadb::check_internal {

struct CheckState {
  CheckOptions options;
  std::string volumes_dir;
  std::map<Uuid, Instance> instances;
  std::map<Uuid, Disk> disks;
  std::map<Uuid, SagaRecord> sagas;
  // Keys whose record failed to decode (already reported as corruption).
  std::set<Uuid> unreadable;
  // The records that running or unwinding sagas act on (their footprints).
  std::set<Uuid> in_flight_instances;
  std::set<Uuid> in_flight_disks;
  VolumeListing volumes;
  bool volumes_listed = false;
  CheckReport* report = nullptr;

  void Violation(std::string kind, std::vector<std::string> ids, std::string message) {
    report->violations.push_back(Finding{std::move(kind), std::move(ids), std::move(message)});
  }
  void Note(std::string kind, std::vector<std::string> ids, std::string message) {
    report->notes.push_back(Finding{std::move(kind), std::move(ids), std::move(message)});
  }
  // The saga's state, or nullptr if there is no (readable) record of it.
  const SagaRecord* SagaOf(const std::optional<Uuid>& id) const {
    if (!id) return nullptr;
    auto it = sagas.find(*id);
    return it == sagas.end() ? nullptr : &it->second;
  }
};

// Invariant 1.
void CheckAttachments(CheckState& s);
// Invariant 2.
void CheckLeaks(CheckState& s);
// Invariant 3 (and its rule for disks).
void CheckCreating(CheckState& s);
// Invariant 6.
void CheckVolumes(CheckState& s);

}  // namespace sagadb::check_internal
