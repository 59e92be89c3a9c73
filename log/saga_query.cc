#include "log/saga_query.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/clock.h"
#include "log/saga_index.h"
#include "log/saga_log.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

bool HasIndex(const Store& store) { return store.HasTable(kSagaIndexTable) && store.schema_version() >= 2; }

bool Matches(const SagaQuery& q, SagaState state, std::string_view kind, int64_t created_ns) {
  if (!q.states.empty() && std::find(q.states.begin(), q.states.end(), state) == q.states.end()) return false;
  if (!q.kind.empty() && kind != q.kind) return false;
  if (q.created_since_ns != 0 && created_ns < q.created_since_ns) return false;
  if (q.created_until_ns != 0 && created_ns >= q.created_until_ns) return false;
  return true;
}

std::string KeyText(std::string_view key) {
  if (auto id = Uuid::FromBytes(key)) return id->ToString();
  std::string hex;
  for (unsigned char c : key) hex += fmt::format("{:02x}", c);
  return hex;
}

// Hands matches to `fn` and keeps count; true once the page is full.
class Page {
 public:
  Page(const SagaQuery& q, const std::function<void(const SagaRecord&)>& fn, SagaListing* listing)
      : limit_(q.limit), fn_(fn), listing_(listing) {}
  bool Add(const SagaRecord& r) {
    fn_(r);
    if (limit_ != 0 && ++count_ == limit_) {
      listing_->next = r.id;
      return true;
    }
    return false;
  }

 private:
  size_t limit_;
  size_t count_ = 0;
  const std::function<void(const SagaRecord&)>& fn_;
  SagaListing* listing_;
};

Status ListFromIndex(Store& store, const SagaQuery& q, Page& page, SagaListing* listing) {
  const SagaLog log(&store);
  IndexCursor c(store, IndexCursor::kActive);
  if (q.after) {
    c.SeekAfter(*q.after);
  } else {
    c.SeekToFirst();
  }
  for (; c.Valid(); c.Next()) {
    const SagaIndexEntry& e = c.entry();
    if (!Matches(q, e.state, e.kind, e.created_ns)) continue;
    auto r = log.ReadRecord(c.id());
    if (!r.ok()) {
      if (!r.status().IsNotFound() && r.status().code() != Code::kCorruption) return r.status();
      listing->unreadable.push_back(r.status().IsNotFound()
                                        ? fmt::format("saga_index/{}: indexed as in flight but has no record",
                                                      c.id().ToString())
                                        : r.status().message());
      continue;
    }
    // The entry is as new as the record when both are read now; a record that moved on since is listed as it is.
    if (!Matches(q, r->state, r->kind, r->created_ns)) continue;
    if (page.Add(*r)) return Status::OK();
  }
  if (c.malformed() > 0) listing->unreadable.push_back(c.first_malformed());
  return c.status();
}

Status ListFromRecords(const Store& store, const SagaQuery& q, Page& page, SagaListing* listing) {
  auto it = store.NewCursor(kSagasTable);
  if (q.after) {
    const std::string_view key = q.after->AsBytes();
    it->Seek(key);
    if (it->Valid() && it->key() == key) it->Next();
  } else {
    it->SeekToFirst();
  }
  SagaHeader h;
  SagaRecord r;
  for (; it->Valid(); it->Next()) {
    std::string why;
    auto id = Uuid::FromBytes(it->key());
    if (!id) {
      why = "the key is not a 16-byte id";
    } else if (!DecodeHeader(it->value(), &h, &why)) {
    } else if (h.id != *id) {
      why = fmt::format("the record says it is saga {}", h.id.ToString());
    } else if (!Matches(q, h.state, h.kind, h.created_ns)) {
      continue;
    } else if (Decode(it->value(), &r, &why)) {
      if (page.Add(r)) return Status::OK();
      continue;
    }
    listing->unreadable.push_back(fmt::format("sagas/{}: {}", KeyText(it->key()), why));
  }
  return it->status();
}

}  // namespace

bool OnlyInFlight(const SagaQuery& q) {
  return !q.states.empty() && std::none_of(q.states.begin(), q.states.end(), IsFinished);
}

Status ListSagaRecords(Store& store, const SagaQuery& query, const std::function<void(const SagaRecord&)>& fn,
                       SagaListing* listing) {
  Page page(query, fn, listing);
  if (OnlyInFlight(query) && HasIndex(store)) return ListFromIndex(store, query, page, listing);
  return ListFromRecords(store, query, page, listing);
}

SagaSummary SummaryOf(const SagaRecord& r) {
  SagaSummary s;
  s.id = r.id;
  s.kind = r.kind;
  s.state = r.state;
  s.created_ns = r.created_ns;
  s.modified_ns = r.modified_ns;
  s.finished_ns = r.finished_ns;
  s.nodes = r.nodes.size();
  if (r.error_node >= 0 && static_cast<size_t>(r.error_node) < r.nodes.size()) {
    s.error_node = QualifiedName(r.nodes, r.scopes, static_cast<uint32_t>(r.error_node));
  }
  if (!r.error.empty()) s.error = Status::FromCode(r.error_code, r.error);
  return s;
}

Result<StalledReport> ListStalledSagas(Store& store, std::chrono::nanoseconds quiet, int64_t now_ns) {
  const int64_t now = now_ns != 0 ? now_ns : NowNs();
  const SagaLog log(&store);
  StalledReport out;
  // The saga if it is quiet, with its record read only then (`record` is null when the caller has none yet).
  auto consider = [&](const Uuid& id, int64_t created_ns, const SagaRecord* record) -> Status {
    SAGADB_ASSIGN_OR_RETURN(std::optional<LoggedEvent> last, log.ReadLastEvent(id));
    StalledSaga s;
    s.last_event_ns = last ? last->event.time_ns : created_ns;
    if (now - s.last_event_ns < quiet.count()) return Status::OK();
    SagaRecord read;
    if (record == nullptr) {
      auto r = log.ReadRecord(id);
      if (r.status().code() == Code::kCorruption) {
        out.unreadable.push_back(r.status().message());
        return Status::OK();
      }
      if (r.status().IsNotFound()) return Status::OK();  // finished and pruned since the entry was read
      SAGADB_RETURN_IF_ERROR(r.status());
      read = std::move(*r);
      record = &read;
    }
    if (record->state != SagaState::kRunning && record->state != SagaState::kUnwinding) return Status::OK();
    s.saga = SummaryOf(*record);
    if (last) {
      const uint32_t node = last->event.node;
      s.last_node = node < record->nodes.size() ? QualifiedName(record->nodes, record->scopes, node)
                                                : fmt::format("#{}", node);
      s.last_event = std::string(ToString(last->event.type));
    }
    out.sagas.push_back(std::move(s));
    return Status::OK();
  };

  if (HasIndex(store)) {
    IndexCursor c(store, IndexCursor::kActive);
    for (c.SeekToFirst(); c.Valid(); c.Next()) {
      const SagaState st = c.entry().state;
      if (st != SagaState::kRunning && st != SagaState::kUnwinding) continue;
      SAGADB_RETURN_IF_ERROR(consider(c.id(), c.entry().created_ns, nullptr));
    }
    SAGADB_RETURN_IF_ERROR(c.status());
    if (c.malformed() > 0) out.unreadable.push_back(c.first_malformed());
  } else {
    SagaQuery in_flight;
    in_flight.states = {SagaState::kRunning, SagaState::kUnwinding};
    in_flight.limit = 0;
    SagaListing listing;
    Status failed;
    SAGADB_RETURN_IF_ERROR(ListSagaRecords(
        store, in_flight,
        [&](const SagaRecord& r) {
          if (failed.ok()) failed = consider(r.id, r.created_ns, &r);
        },
        &listing));
    SAGADB_RETURN_IF_ERROR(failed);
    out.unreadable = std::move(listing.unreadable);
  }
  std::sort(out.sagas.begin(), out.sagas.end(),
            [](const StalledSaga& a, const StalledSaga& b) { return a.last_event_ns < b.last_event_ns; });
  return out;
}

}  // namespace sagadb
