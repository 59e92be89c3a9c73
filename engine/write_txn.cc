#include "engine/write_txn.h"

#include <algorithm>

namespace sagadb {

WriteTxn::WriteTxn(Store* store, KeyLocks* locks)
    : store_(store), locks_(locks), batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {}

WriteTxn::~WriteTxn() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) locks_->stripe(*it).unlock();
}

bool WriteTxn::Holds(const Uuid& id) const {
  return std::binary_search(held_.begin(), held_.end(), locks_->StripeOf(id));
}

Status WriteTxn::Lock(std::span<const Uuid> ids) {
  std::vector<size_t> wanted;
  for (const auto& id : ids) wanted.push_back(locks_->StripeOf(id));
  return LockStripes(std::move(wanted));
}

Status WriteTxn::LockKey(std::string_view key) { return LockStripes({locks_->StripeOf(key)}); }

Status WriteTxn::LockStripes(std::vector<size_t> wanted) {
  std::erase_if(wanted, [&](size_t s) { return std::binary_search(held_.begin(), held_.end(), s); });
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  const size_t highest = held_.empty() ? 0 : held_.back();
  std::vector<size_t> taken;
  for (size_t s : wanted) {
    if (held_.empty() || s > highest) {
      locks_->stripe(s).lock();
    } else if (!locks_->stripe(s).try_lock()) {
      for (size_t t : taken) locks_->stripe(t).unlock();
      lock_conflict_ = true;
      return Status::Transient("record lock busy (taken out of order); retry the operation");
    }
    taken.push_back(s);
  }
  held_.insert(held_.end(), taken.begin(), taken.end());
  std::sort(held_.begin(), held_.end());
  return Status::OK();
}

Result<std::string> WriteTxn::Get(Cf cf, std::string_view key) {
  std::string value;
  rocksdb::Slice k(key.data(), key.size());
  auto staged = batch_.GetFromBatch(store_->handle(cf), rocksdb::DBOptions(), k, &value);
  if (staged.ok()) return value;
  if (!staged.IsNotFound()) return FromRocks(staged, "reading staged batch");
  // GetFromBatch returns NotFound both for "not in the batch" and "deleted in the batch"; tell them apart.
  std::unique_ptr<rocksdb::WBWIIterator> it(batch_.NewIterator(store_->handle(cf)));
  it->Seek(k);
  if (it->Valid() && it->Entry().key == k && it->Entry().type == rocksdb::kDeleteRecord) {
    return Status::NotFound(fmt::format("no key in {}", CfName(cf)));
  }
  return store_->Get(cf, key);
}

void WriteTxn::Put(Cf cf, std::string_view key, std::string_view value) {
  batch_.Put(store_->handle(cf), rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
}

void WriteTxn::Delete(Cf cf, std::string_view key) {
  batch_.Delete(store_->handle(cf), rocksdb::Slice(key.data(), key.size()));
}

Status WriteTxn::Commit() { return store_->Write(batch()); }

namespace {

class Appender : public rocksdb::WriteBatch::Handler {
 public:
  Appender(const Store& store, rocksdb::WriteBatch* dst) : store_(store), dst_(dst) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
    auto* h = Handle(cf);
    return h == nullptr ? Unknown(cf) : dst_->Put(h, key, value);
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    auto* h = Handle(cf);
    return h == nullptr ? Unknown(cf) : dst_->Delete(h, key);
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(uint32_t id) const {
    for (int i = 0; i < kNumCfs; ++i) {
      auto* h = store_.handle(static_cast<Cf>(i));
      if (h->GetID() == id) return h;
    }
    return nullptr;
  }
  static rocksdb::Status Unknown(uint32_t cf) {
    return rocksdb::Status::InvalidArgument("write to an unknown column family " + std::to_string(cf));
  }

  const Store& store_;
  rocksdb::WriteBatch* dst_;
};

}  // namespace

Status AppendBatch(const Store& store, rocksdb::WriteBatch& src, rocksdb::WriteBatch* dst) {
  Appender appender(store, dst);
  return FromRocks(src.Iterate(&appender), "combining batches");
}

}  // namespace sagadb
