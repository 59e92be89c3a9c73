#include "controlplane/params.h"

#include <stdexcept>

namespace sagadb {

void to_json(Json& j, const Uuid& id) { j = id.ToString(); }

void from_json(const Json& j, Uuid& id) {
  auto parsed = Uuid::Parse(j.get<std::string>());
  if (!parsed) throw std::invalid_argument("not an id: " + j.dump());
  id = *parsed;
}

void to_json(Json& j, const DiskCreateParams& p) {
  j = Json{{"disk_id", p.disk_id}, {"project", p.project}, {"name", p.name}, {"size_bytes", p.size_bytes}};
}

void from_json(const Json& j, DiskCreateParams& p) {
  j.at("disk_id").get_to(p.disk_id);
  j.at("project").get_to(p.project);
  j.at("name").get_to(p.name);
  j.at("size_bytes").get_to(p.size_bytes);
}

void to_json(Json& j, const DiskAttachParams& p) {
  j = Json{{"disk_id", p.disk_id}, {"instance_id", p.instance_id}};
}

void from_json(const Json& j, DiskAttachParams& p) {
  j.at("disk_id").get_to(p.disk_id);
  j.at("instance_id").get_to(p.instance_id);
}

void to_json(Json& j, const DiskDeleteParams& p) { j = Json{{"disk_id", p.disk_id}}; }

void from_json(const Json& j, DiskDeleteParams& p) { j.at("disk_id").get_to(p.disk_id); }

void to_json(Json& j, const InstanceCreateParams& p) {
  j = Json{{"instance_id", p.instance_id}, {"project", p.project},           {"name", p.name},
           {"cpus", p.cpus},               {"memory_bytes", p.memory_bytes}, {"disks", p.disks}};
}

void from_json(const Json& j, InstanceCreateParams& p) {
  j.at("instance_id").get_to(p.instance_id);
  j.at("project").get_to(p.project);
  j.at("name").get_to(p.name);
  j.at("cpus").get_to(p.cpus);
  j.at("memory_bytes").get_to(p.memory_bytes);
  j.at("disks").get_to(p.disks);
}

void to_json(Json& j, const InstanceDeleteParams& p) {
  j = Json{{"instance_id", p.instance_id}, {"disk_ids", p.disk_ids}};
}

void from_json(const Json& j, InstanceDeleteParams& p) {
  j.at("instance_id").get_to(p.instance_id);
  j.at("disk_ids").get_to(p.disk_ids);
}

}  // namespace sagadb
