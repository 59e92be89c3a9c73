#include "engine/write_txn.h"

#include <fmt/format.h>

#include <algorithm>

namespace sagadb {

bool WriteTxn::Holds(std::string_view key) const {
  return std::binary_search(held_.begin(), held_.end(), locks_->StripeOf(key));
}

Status WriteTxn::Lock(std::span<const std::string_view> keys) {
  std::vector<size_t> wanted;
  wanted.reserve(keys.size());
  for (auto key : keys) wanted.push_back(locks_->StripeOf(key));
  return LockStripes(std::move(wanted));
}

Status WriteTxn::LockStripes(std::vector<size_t> wanted) {
  std::erase_if(wanted, [&](size_t s) { return std::binary_search(held_.begin(), held_.end(), s); });
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  const size_t highest = held_.empty() ? 0 : held_.back();
  std::vector<size_t> taken;
  for (size_t s : wanted) {
    if (held_.empty() || s > highest) {
      locks_->Lock(s);
    } else if (!locks_->TryLock(s)) {
      for (size_t t : taken) locks_->Unlock(t);
      lock_conflict_ = true;
      return Status::Transient("record lock busy (taken out of order); retry the operation");
    }
    taken.push_back(s);
  }
  held_.insert(held_.end(), taken.begin(), taken.end());
  std::sort(held_.begin(), held_.end());
  return Status::OK();
}

void WriteTxn::ReleaseLocks() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) locks_->Unlock(*it);
  held_.clear();
}

Result<std::string> WriteTxn::Get(TableId table, std::string_view key) {
  auto it = staged_.find(std::make_pair(table, key));
  if (it != staged_.end()) {
    if (!it->second) return Status::NotFound(fmt::format("no key in {}", store_->TableName(table)));
    return *it->second;
  }
  return store_->Get(table, key);
}

void WriteTxn::Stage(TableId table, std::string_view key, std::optional<std::string> value) {
  Key k(table, std::string(key));
  auto it = staged_.find(k);
  Undo undo{k, std::nullopt};
  if (it != staged_.end()) {
    undo.before = it->second;
    it->second = std::move(value);
  } else {
    staged_.emplace(std::move(k), std::move(value));
  }
  undo_.push_back(std::move(undo));
}

void WriteTxn::Put(TableId table, std::string_view key, std::string_view value) { Stage(table, key, std::string(value)); }

void WriteTxn::Delete(TableId table, std::string_view key) { Stage(table, key, std::nullopt); }

void WriteTxn::AppendTo(Batch* batch) const {
  for (const auto& [key, value] : staged_) {
    if (value) {
      batch->Put(key.first, key.second, *value);
    } else {
      batch->Delete(key.first, key.second);
    }
  }
}

void WriteTxn::RollbackTo(const Mark& m) {
  while (undo_.size() > m.undo) {
    Undo& u = undo_.back();
    if (u.before) {
      staged_[u.key] = std::move(*u.before);
    } else {
      staged_.erase(u.key);
    }
    undo_.pop_back();
  }
  lock_conflict_ = false;
}

Result<TableId> WriteTxn::Resolve(std::string_view table) const {
  auto t = store_->FindTable(table);
  if (!t.ok() && t.status().IsNotFound()) return Status::InvalidRequest(t.status().message());
  return t;
}

Result<std::string> WriteTxn::Get(std::string_view table, std::string_view key) {
  SAGADB_ASSIGN_OR_RETURN(TableId t, Resolve(table));
  return Get(t, key);
}

Status WriteTxn::Put(std::string_view table, std::string_view key, std::string_view value) {
  SAGADB_ASSIGN_OR_RETURN(TableId t, Resolve(table));
  Put(t, key, value);
  return Status::OK();
}

Status WriteTxn::Delete(std::string_view table, std::string_view key) {
  SAGADB_ASSIGN_OR_RETURN(TableId t, Resolve(table));
  Delete(t, key);
  return Status::OK();
}

Status WriteTxn::Commit() {
  Batch batch;
  AppendTo(&batch);
  return store_->Write(batch);
}

}  // namespace sagadb
