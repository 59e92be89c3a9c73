// The params of the control-plane sagas, and their JSON form (nlohmann to_json / from_json).
//
//   InstanceCreateParams p = *PlanInstanceCreate(request);   // ids generated up front
//   Json j = p;                                              // stored in the saga record
//   Result<InstanceCreateParams> back = FromJson<InstanceCreateParams>(j, "params");
//
// Every id a saga will create is chosen before the saga starts and travels in its params, so every action can
// find its own record by id: running an action again (after a crash, or twice in a test) finds what the first
// run made instead of making a second one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "sagadb/uuid.h"

namespace sagadb {

using Json = nlohmann::json;

// Ids travel as their canonical text. from_json throws (caught by FromJson) on anything that does not parse.
void to_json(Json& j, const Uuid& id);
void from_json(const Json& j, Uuid& id);

// disk-create, and each disk of an instance-create.
struct DiskCreateParams {
  Uuid disk_id;
  std::string project;
  std::string name;
  uint64_t size_bytes = 0;
};

// disk-attach and disk-detach (and the attach / detach subsagas of the instance sagas).
struct DiskAttachParams {
  Uuid disk_id;
  Uuid instance_id;
};

// disk-delete.
struct DiskDeleteParams {
  Uuid disk_id;
};

// instance-create. disks[0], if any, becomes the boot disk.
struct InstanceCreateParams {
  Uuid instance_id;
  std::string project;
  std::string name;
  uint32_t cpus = 1;
  uint64_t memory_bytes = 0;
  std::vector<DiskCreateParams> disks;
};

// instance-delete: the disks attached when the delete was asked for.
struct InstanceDeleteParams {
  Uuid instance_id;
  std::vector<Uuid> disk_ids;
};

void to_json(Json& j, const DiskCreateParams& p);
void from_json(const Json& j, DiskCreateParams& p);
void to_json(Json& j, const DiskAttachParams& p);
void from_json(const Json& j, DiskAttachParams& p);
void to_json(Json& j, const DiskDeleteParams& p);
void from_json(const Json& j, DiskDeleteParams& p);
void to_json(Json& j, const InstanceCreateParams& p);
void from_json(const Json& j, InstanceCreateParams& p);
void to_json(Json& j, const InstanceDeleteParams& p);
void from_json(const Json& j, InstanceDeleteParams& p);

}  // namespace sagadb
