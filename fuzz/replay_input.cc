#include "fuzz/replay_input.h"

#include <algorithm>

namespace sagadb::fuzz {
namespace {

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

ReplayInput DecodeReplayInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  ReplayInput r;
  r.record.id.bytes.fill(0x5a);
  r.record.state = static_cast<SagaState>(in.Byte());
  const int nodes = in.Byte();
  for (int i = 0; i < nodes; ++i) {
    DagNode node;
    node.name = "n" + std::to_string(i);
    node.kind = static_cast<NodeKind>(in.Byte());
    const int deps = in.Byte();
    for (int d = 0; d < deps; ++d) node.deps.push_back(in.Byte());
    node.link = static_cast<int32_t>(in.Byte()) - 1;
    r.record.nodes.push_back(std::move(node));
  }
  r.record.scopes.push_back(DagScope{"saga", 0, -1});
  uint64_t seq = 0;
  while (!in.done()) {
    LoggedEvent e;
    e.event.node = in.Byte();
    e.event.type = static_cast<EventType>(in.Byte());
    seq += in.Byte();
    e.seq = seq;
    e.event.error_code = in.Byte();
    e.event.attempts = in.Byte();
    e.event.time_ns = static_cast<int64_t>(seq);
    r.events.push_back(std::move(e));
  }
  return r;
}

std::string EncodeReplayInput(const SagaRecord& record, const std::vector<LoggedEvent>& events) {
  std::string out;
  auto byte = [&out](uint64_t v) { out.push_back(static_cast<char>(std::min<uint64_t>(v, 255))); };
  byte(static_cast<uint8_t>(record.state));
  byte(record.nodes.size());
  for (const auto& node : record.nodes) {
    byte(static_cast<uint8_t>(node.kind));
    byte(node.deps.size());
    for (uint32_t d : node.deps) byte(d);
    byte(static_cast<uint64_t>(node.link + 1));
  }
  uint64_t seq = 0;
  for (const auto& e : events) {
    byte(e.event.node);
    byte(static_cast<uint8_t>(e.event.type));
    byte(e.seq - seq);
    seq = e.seq;
    byte(e.event.error_code);
    byte(e.event.attempts);
  }
  return out;
}

}  // namespace sagadb::fuzz
