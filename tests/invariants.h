// Checks of the invariants of docs/DESIGN.md section 5 over the records of a database, for any test to assert after
// whatever it did (concurrent races, injected faults, crashes and recovery):
//
//   EXPECT_EQ(CheckAttachments(datastore), std::vector<std::string>{});
//
// Each check returns one line per violation, naming the records involved, and an empty list when the invariant
// holds, so a failing test prints exactly what broke.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "controlplane/datastore.h"
#include "schema/records.h"

namespace sagadb::testing {

// Invariant 1: every attached disk names an existing, non-destroyed instance that lists it at the disk's slot;
// each instance's attached count equals the number of disks that name it; slots are unique per instance and in
// 0-11; no instance has more than 12 disks. Also that a disk names an instance exactly when its state is
// `attached`, since that is what "attached disk" means.
std::vector<std::string> CheckAttachments(std::span<const Instance> instances, std::span<const Disk> disks);

// The same over every instance and disk record of the datastore. A record that cannot be read is a violation.
std::vector<std::string> CheckAttachments(const Datastore& datastore);

}  // namespace sagadb::testing
