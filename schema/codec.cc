#include "schema/codec.h"

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "disk_generated.h"
#include "instance_generated.h"
#include "saga_event_generated.h"
#include "saga_generated.h"
#include "saga_index_generated.h"

namespace sagadb {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using flatbuffers::Vector;

Offset<Vector<uint8_t>> IdVector(FlatBufferBuilder& b, const Uuid& id) {
  return b.CreateVector(id.bytes.data(), id.bytes.size());
}

Offset<Vector<uint8_t>> OptionalIdVector(FlatBufferBuilder& b, const std::optional<Uuid>& id) {
  if (!id) return 0;
  return IdVector(b, *id);
}

std::string Finish(FlatBufferBuilder& b) {
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// A required id must be exactly 16 bytes.
bool ReadId(const Vector<uint8_t>* v, Uuid* out, const char* field, std::string* why) {
  if (v == nullptr || v->size() != 16) {
    *why = std::string(field) + " is not a 16-byte id";
    return false;
  }
  std::copy(v->begin(), v->end(), out->bytes.begin());
  return true;
}

// An optional id is absent, or exactly 16 bytes.
bool ReadOptionalId(const Vector<uint8_t>* v, std::optional<Uuid>* out, const char* field, std::string* why) {
  if (v == nullptr || v->size() == 0) {
    out->reset();
    return true;
  }
  Uuid id;
  if (!ReadId(v, &id, field, why)) return false;
  *out = id;
  return true;
}

// FlatBuffers reads a record's scalars in place, so the buffer must be aligned for the widest of them (8 bytes).
// The verifier only checks alignment relative to the buffer's start, and values read from RocksDB come at
// whatever address their block puts them (undefined behaviour to read in place; a fault on some CPUs): those
// are copied into aligned memory first.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::string_view bytes) : view_(bytes) {
    if (bytes.empty() || reinterpret_cast<uintptr_t>(bytes.data()) % alignof(uint64_t) == 0) return;
    copy_.resize((bytes.size() + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    std::memcpy(copy_.data(), bytes.data(), bytes.size());
    view_ = std::string_view(reinterpret_cast<const char*>(copy_.data()), bytes.size());
  }
  std::string_view view() const { return view_; }

 private:
  std::vector<uint64_t> copy_;
  std::string_view view_;
};

// Takes AlignedBytes, not a view, so that no decoder can verify and read bytes in place. The root points into
// `aligned`, which must outlive it.
template <typename Root>
const Root* VerifiedRoot(const AlignedBytes& aligned, const char* identifier, std::string* why) {
  const std::string_view bytes = aligned.view();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8 || !flatbuffers::BufferHasIdentifier(data, identifier)) {
    *why = std::string("not a ") + identifier + " record (wrong size or file identifier)";
    return nullptr;
  }
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!verifier.VerifyBuffer<Root>(identifier)) {
    *why = "record failed FlatBuffers verification";
    return nullptr;
  }
  return flatbuffers::GetRoot<Root>(data);
}

template <typename E>
bool InRange(E value, E max, const char* field, std::string* why) {
  if (static_cast<unsigned>(value) > static_cast<unsigned>(max)) {
    *why = std::string(field) + " has unknown value " + std::to_string(static_cast<unsigned>(value));
    return false;
  }
  return true;
}

}  // namespace

std::string Encode(const Instance& r) {
  FlatBufferBuilder b(256);
  std::vector<Offset<fb::AttachedDisk>> attached;
  for (const auto& a : r.attached) {
    attached.push_back(fb::CreateAttachedDisk(b, static_cast<uint8_t>(a.slot), IdVector(b, a.disk_id)));
  }
  auto root = fb::CreateInstance(b, IdVector(b, r.id), b.CreateString(r.project), b.CreateString(r.name),
                                 static_cast<fb::InstanceState>(r.state), r.cpus, r.memory_bytes,
                                 OptionalIdVector(b, r.boot_disk_id), b.CreateVector(attached), r.generation,
                                 r.created_ns, r.modified_ns, OptionalIdVector(b, r.saga_id));
  fb::FinishInstanceBuffer(b, root);
  return Finish(b);
}

bool Decode(std::string_view bytes, Instance* out, std::string* why) {
  const AlignedBytes aligned(bytes);
  const auto* r = VerifiedRoot<fb::Instance>(aligned, fb::InstanceIdentifier(), why);
  if (r == nullptr) return false;
  if (!ReadId(r->id(), &out->id, "id", why)) return false;
  if (!InRange(r->state(), fb::InstanceState::MAX, "state", why)) return false;
  out->project = Str(r->project());
  out->name = Str(r->name());
  out->state = static_cast<InstanceState>(r->state());
  out->cpus = r->cpus();
  out->memory_bytes = r->memory_bytes();
  if (!ReadOptionalId(r->boot_disk_id(), &out->boot_disk_id, "boot_disk_id", why)) return false;
  out->attached.clear();
  if (r->attached() != nullptr) {
    for (const auto* a : *r->attached()) {
      AttachedDisk d;
      d.slot = a->slot();
      if (!ReadId(a->disk_id(), &d.disk_id, "attached.disk_id", why)) return false;
      out->attached.push_back(d);
    }
  }
  out->generation = r->generation();
  out->created_ns = r->created_ns();
  out->modified_ns = r->modified_ns();
  return ReadOptionalId(r->saga_id(), &out->saga_id, "saga_id", why);
}

std::string Encode(const Disk& r) {
  FlatBufferBuilder b(192);
  auto root = fb::CreateDisk(b, IdVector(b, r.id), b.CreateString(r.project), b.CreateString(r.name),
                             static_cast<fb::DiskState>(r.state), r.size_bytes, OptionalIdVector(b, r.instance_id),
                             static_cast<int8_t>(r.slot), r.generation, r.created_ns, r.modified_ns,
                             OptionalIdVector(b, r.saga_id));
  fb::FinishDiskBuffer(b, root);
  return Finish(b);
}

bool Decode(std::string_view bytes, Disk* out, std::string* why) {
  const AlignedBytes aligned(bytes);
  const auto* r = VerifiedRoot<fb::Disk>(aligned, fb::DiskIdentifier(), why);
  if (r == nullptr) return false;
  if (!ReadId(r->id(), &out->id, "id", why)) return false;
  if (!InRange(r->state(), fb::DiskState::MAX, "state", why)) return false;
  out->project = Str(r->project());
  out->name = Str(r->name());
  out->state = static_cast<DiskState>(r->state());
  out->size_bytes = r->size_bytes();
  if (!ReadOptionalId(r->instance_id(), &out->instance_id, "instance_id", why)) return false;
  out->slot = r->slot();
  out->generation = r->generation();
  out->created_ns = r->created_ns();
  out->modified_ns = r->modified_ns();
  return ReadOptionalId(r->saga_id(), &out->saga_id, "saga_id", why);
}

std::string Encode(const SagaRecord& r) {
  FlatBufferBuilder b(1024);
  std::vector<Offset<fb::DagNode>> nodes;
  nodes.reserve(r.nodes.size());
  for (const auto& n : r.nodes) {
    nodes.push_back(fb::CreateDagNode(b, b.CreateString(n.name), static_cast<fb::NodeKind>(n.kind),
                                      b.CreateString(n.action), b.CreateString(n.constant), b.CreateVector(n.deps),
                                      n.scope, n.link));
  }
  std::vector<Offset<fb::DagScope>> scopes;
  for (const auto& s : r.scopes) {
    scopes.push_back(fb::CreateDagScope(b, b.CreateString(s.name), s.parent, s.params_node));
  }
  auto root = fb::CreateSaga(b, IdVector(b, r.id), b.CreateString(r.kind), b.CreateVector(nodes),
                             b.CreateVector(scopes), b.CreateString(r.params), static_cast<fb::SagaState>(r.state),
                             r.created_ns, r.modified_ns, r.finished_ns, b.CreateString(r.output), r.error_node,
                             r.error_code, b.CreateString(r.error), r.generation);
  fb::FinishSagaBuffer(b, root);
  return Finish(b);
}

bool DecodeHeader(std::string_view bytes, SagaHeader* out, std::string* why) {
  const AlignedBytes aligned(bytes);
  const auto* r = VerifiedRoot<fb::Saga>(aligned, fb::SagaIdentifier(), why);
  if (r == nullptr) return false;
  if (!ReadId(r->id(), &out->id, "id", why)) return false;
  if (!InRange(r->state(), fb::SagaState::MAX, "state", why)) return false;
  out->kind = Str(r->kind());
  out->state = static_cast<SagaState>(r->state());
  out->created_ns = r->created_ns();
  out->modified_ns = r->modified_ns();
  out->finished_ns = r->finished_ns();
  out->generation = r->generation();
  return true;
}

bool Decode(std::string_view bytes, SagaRecord* out, std::string* why) {
  const AlignedBytes aligned(bytes);
  const auto* r = VerifiedRoot<fb::Saga>(aligned, fb::SagaIdentifier(), why);
  if (r == nullptr) return false;
  if (!ReadId(r->id(), &out->id, "id", why)) return false;
  if (!InRange(r->state(), fb::SagaState::MAX, "state", why)) return false;
  out->kind = Str(r->kind());
  out->nodes.clear();
  if (r->nodes() != nullptr) {
    for (const auto* n : *r->nodes()) {
      if (!InRange(n->kind(), fb::NodeKind::MAX, "node kind", why)) return false;
      DagNode node;
      node.name = Str(n->name());
      node.kind = static_cast<NodeKind>(n->kind());
      node.action = Str(n->action());
      node.constant = Str(n->constant());
      if (n->deps() != nullptr) node.deps.assign(n->deps()->begin(), n->deps()->end());
      node.scope = n->scope();
      node.link = n->link();
      out->nodes.push_back(std::move(node));
    }
  }
  out->scopes.clear();
  if (r->scopes() != nullptr) {
    for (const auto* s : *r->scopes()) {
      out->scopes.push_back(DagScope{Str(s->name()), s->parent(), s->params_node()});
    }
  }
  out->params = Str(r->params());
  out->state = static_cast<SagaState>(r->state());
  out->created_ns = r->created_ns();
  out->modified_ns = r->modified_ns();
  out->finished_ns = r->finished_ns();
  out->output = Str(r->output());
  out->error_node = r->error_node();
  out->error_code = r->error_code();
  out->error = Str(r->error());
  out->generation = r->generation();
  return true;
}

std::string Encode(const SagaEvent& r) {
  FlatBufferBuilder b(128);
  const bool op = r.type == EventType::kOperator;  // only operator events carry the operator's fields
  auto root = fb::CreateSagaEvent(b, r.node, static_cast<fb::EventType>(r.type), b.CreateString(r.output),
                                  r.error_code, b.CreateString(r.error), r.time_ns, r.attempts, r.start_ns,
                                  static_cast<fb::OperatorOp>(r.op), op ? b.CreateString(r.actor) : 0,
                                  op ? b.CreateString(r.reason) : 0, r.abandon_kind);
  fb::FinishSagaEventBuffer(b, root);
  return Finish(b);
}

bool Decode(std::string_view bytes, SagaEvent* out, std::string* why) {
  const AlignedBytes aligned(bytes);
  const auto* r = VerifiedRoot<fb::SagaEvent>(aligned, fb::SagaEventIdentifier(), why);
  if (r == nullptr) return false;
  if (!InRange(r->type(), fb::EventType::MAX, "event type", why)) return false;
  out->node = r->node();
  out->type = static_cast<EventType>(r->type());
  out->output = Str(r->output());
  out->error_code = r->error_code();
  out->error = Str(r->error());
  out->time_ns = r->time_ns();
  out->attempts = r->attempts();
  out->start_ns = r->start_ns();
  if (!InRange(r->op(), fb::OperatorOp::MAX, "operator action", why)) return false;
  out->op = static_cast<OperatorOp>(r->op());
  out->actor = Str(r->actor());
  out->reason = Str(r->reason());
  out->abandon_kind = r->abandon_kind();
  return true;
}

std::string Encode(const SagaIndexEntry& r) {
  FlatBufferBuilder b(64);
  auto root = fb::CreateSagaIndexEntry(b, static_cast<uint8_t>(r.state), b.CreateString(r.kind), r.created_ns,
                                       r.finished_ns);
  fb::FinishSagaIndexEntryBuffer(b, root);
  return Finish(b);
}

bool Decode(std::string_view bytes, SagaIndexEntry* out, std::string* why) {
  const AlignedBytes aligned(bytes);
  const auto* r = VerifiedRoot<fb::SagaIndexEntry>(aligned, fb::SagaIndexEntryIdentifier(), why);
  if (r == nullptr) return false;
  out->state = static_cast<SagaState>(r->state());
  out->kind = Str(r->kind());
  out->created_ns = r->created_ns();
  out->finished_ns = r->finished_ns();
  return true;
}

}  // namespace sagadb
