#include "engine/salvage.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "engine/info_log.h"
#include "engine/private_file_system.h"
#include "engine/store_internal.h"

namespace sagadb {
namespace {

namespace fs = std::filesystem;

// --- Probes: keys as big-endian numbers of a fixed width, for seeking between two keys.

using Probe = std::vector<uint8_t>;

Probe Pad(std::string_view key, size_t width) {
  Probe p(width, 0);
  std::copy_n(key.begin(), std::min(key.size(), width), p.begin());
  return p;
}

std::string_view AsKey(const Probe& p) { return std::string_view(reinterpret_cast<const char*>(p.data()), p.size()); }

// a + b; false on overflow (a is then unspecified).
bool Add(Probe& a, const Probe& b) {
  unsigned carry = 0;
  for (size_t i = a.size(); i-- > 0;) {
    const unsigned sum = a[i] + b[i] + carry;
    a[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  return carry == 0;
}

// (a + b) / 2, for a <= b.
Probe Midpoint(const Probe& a, const Probe& b) {
  Probe sum = a;
  const bool fits = Add(sum, b);
  unsigned carry = fits ? 0 : 1;
  for (uint8_t& byte : sum) {
    const unsigned v = (carry << 8) | byte;
    byte = static_cast<uint8_t>(v >> 1);
    carry = v & 1;
  }
  return sum;
}

// a + 1 == b
bool Adjacent(Probe a, const Probe& b) {
  Probe one(a.size(), 0);
  one.back() = 1;
  return Add(a, one) && a == b;
}

// Whether a seek to `probe` reads without error (it lands on a key, or cleanly past the last one).
bool SeekReads(const CursorFactory& open, const Probe& probe, std::unique_ptr<Cursor>* cursor) {
  auto c = open();
  c->Seek(AsKey(probe));
  const bool ok = c->status().ok();
  if (ok) *cursor = std::move(c);
  return ok;
}

// After a read failed past `after` (the table's start if !has_after): a cursor on the first key it can read
// beyond the damage (not Valid() if it reads to the end), or null if nothing beyond `after` can be read.
std::unique_ptr<Cursor> SeekPastDamage(const CursorFactory& open, bool has_after, std::string_view after) {
  // Wider than any key of the engine's tables, with room below the next key of a table of longer keys.
  const size_t width = std::max<size_t>(after.size(), 16) + 8;
  Probe failed = Pad(has_after ? after : std::string_view(), width);  // a seek here (or just past) failed
  std::unique_ptr<Cursor> found;
  // Gallop: ever longer steps past the failure, until a seek reads.
  Probe step(width, 0);
  step.back() = 1;
  Probe reads;
  for (;;) {
    Probe probe = failed;
    if (!Add(probe, step)) probe.assign(width, 0xff);
    if (SeekReads(open, probe, &found)) {
      reads = probe;
      break;
    }
    if (probe == Probe(width, 0xff)) return nullptr;
    failed = probe;
    if (!Add(step, step)) step.assign(width, 0xff);  // doubles; once it cannot, the next probe is the last key
  }
  // Narrow down: the first probe that reads, to the precision of the probes.
  while (!Adjacent(failed, reads)) {
    Probe mid = Midpoint(failed, reads);
    std::unique_ptr<Cursor> c;
    if (SeekReads(open, mid, &c)) {
      reads = mid;
      found = std::move(c);
    } else {
      failed = mid;
    }
  }
  return found;
}

// A cursor over one table file, which it keeps open.
class FileCursor : public Cursor {
 public:
  FileCursor(std::unique_ptr<rocksdb::SstFileReader> reader, std::string what)
      : reader_(std::move(reader)), it_(reader_->NewIterator(rocksdb::ReadOptions())), what_(std::move(what)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view key) override { it_->Seek(store_internal::ToSlice(key)); }
  void SeekForPrev(std::string_view key) override { it_->SeekForPrev(store_internal::ToSlice(key)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status(), what_); }

 private:
  std::unique_ptr<rocksdb::SstFileReader> reader_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::string what_;
};

Result<std::unique_ptr<rocksdb::SstFileReader>> OpenReader(const std::string& db_path, const TableFile& file) {
  rocksdb::Options options;
  auto reader = std::make_unique<rocksdb::SstFileReader>(options);
  const std::string path = (fs::path(db_path) / file.name).string();
  auto s = reader->Open(path);
  if (s.IsPathNotFound() || s.IsNotFound()) return Status::NotFound(fmt::format("{} is gone", path));
  SAGADB_RETURN_IF_ERROR(FromRocks(s, fmt::format("opening {}", path)));
  return reader;
}

}  // namespace

bool UnreadableRange::Contains(std::string_view key) const {
  return (from_start || key > after) && (to_end || key < before);
}

bool UnreadableRange::Overlaps(std::string_view lo, std::string_view hi) const {
  return (from_start || hi > after) && (to_end || lo < before);
}

void WalkReadable(const CursorFactory& open,
                  const std::function<void(std::string_view key, std::string_view value)>& visit, TableWalk* walk,
                  size_t max_ranges) {
  std::unique_ptr<Cursor> c = open();
  bool has_last = false;
  std::string last;
  for (c->SeekToFirst();;) {
    for (; c->Valid(); c->Next()) {
      visit(c->key(), c->value());
      walk->keys++;
      has_last = true;
      last.assign(c->key());
    }
    const Status st = c->status();
    if (st.ok()) return;
    UnreadableRange range;
    range.from_start = !has_last;
    range.after = last;
    range.error = st.message();
    c = walk->unreadable.size() + 1 < max_ranges ? SeekPastDamage(open, has_last, last) : nullptr;
    if (c != nullptr && c->Valid() && has_last && c->key() <= last) c = nullptr;  // no progress: give up here
    range.to_end = c == nullptr || !c->Valid();
    if (!range.to_end) range.before.assign(c->key());
    walk->unreadable.push_back(std::move(range));
    if (c == nullptr) return;
  }
}

std::vector<TableFile> Store::TableFiles() const {
  std::vector<rocksdb::LiveFileMetaData> live;
  rocks_->db->GetLiveFilesMetaData(&live);
  std::vector<TableFile> files;
  for (const auto& m : live) {
    TableFile f;
    f.table = m.column_family_name;
    f.name = fs::path(m.name).filename().string();
    f.level = m.level;
    f.size_bytes = m.size;
    f.entries = m.num_entries + m.num_deletions;
    f.smallest = m.smallestkey;
    f.largest = m.largestkey;
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const TableFile& a, const TableFile& b) { return std::tie(a.table, a.name) < std::tie(b.table, b.name); });
  return files;
}

Status VerifyTableFile(const std::string& db_path, const TableFile& file) {
  SAGADB_ASSIGN_OR_RETURN(auto reader, OpenReader(db_path, file));
  return FromRocks(reader->VerifyChecksum(), fmt::format("verifying {} of {}", file.name, file.table));
}

Result<std::unique_ptr<Cursor>> OpenTableFile(const std::string& db_path, const TableFile& file) {
  SAGADB_ASSIGN_OR_RETURN(auto reader, OpenReader(db_path, file));
  return std::unique_ptr<Cursor>(
      std::make_unique<FileCursor>(std::move(reader), fmt::format("reading {} of {}", file.name, file.table)));
}

namespace {

// Hard-links every file under `from` to the same place under `to`.
Status LinkTree(const fs::path& from, const fs::path& to, uint64_t* linked) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path target = to / fs::relative(it->path(), from, ec);
    if (it->is_directory(ec)) {
      fs::create_directories(target, ec);
      if (!ec) fs::permissions(target, fs::perms::owner_all, fs::perm_options::replace, ec);
    } else if (it->is_regular_file(ec)) {
      fs::create_hard_link(it->path(), target, ec);
      if (!ec) ++*linked;
    }
    if (ec) return Status::IOError(fmt::format("linking {} into {}: {}", it->path().string(), to.string(), ec.message()));
  }
  if (ec) return Status::IOError(fmt::format("reading {}: {}", from.string(), ec.message()));
  return Status::OK();
}

}  // namespace

Status RepairCopy(const std::string& from, const std::string& to, RepairCopyReport* report) {
  std::error_code ec;
  if (fs::exists(to, ec) && (!fs::is_directory(to, ec) || !fs::is_empty(to, ec))) {
    return Status::InvalidRequest(fmt::format("{} exists and is not an empty directory", to));
  }
  if (!fs::exists(fs::path(from) / "CURRENT", ec)) {
    return Status::InvalidRequest(fmt::format("{} is not a sagadb database", from));
  }
  fs::create_directories(to, ec);
  if (!ec) fs::permissions(to, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Status::IOError(fmt::format("creating {}: {}", to, ec.message()));
  for (const auto& e : fs::directory_iterator(from, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory(ec)) {
      if (name == "volumes") SAGADB_RETURN_IF_ERROR(LinkTree(e.path(), fs::path(to) / name, &report->volumes_linked));
      continue;  // lost/ of an earlier repair, a secondary's files: not the database
    }
    // The lock is the original's; the info logs are RocksDB's diary of the original, not the database.
    if (name == "LOCK" || name.starts_with("LOG")) continue;
    fs::copy_file(e.path(), fs::path(to) / name, ec);
    if (!ec) fs::permissions(fs::path(to) / name, fs::perms::owner_read | fs::perms::owner_write,
                             fs::perm_options::replace, ec);
    if (ec) return Status::IOError(fmt::format("copying {} to {}: {}", e.path().string(), to, ec.message()));
    report->copied.push_back(name);
  }
  if (ec) return Status::IOError(fmt::format("reading {}: {}", from, ec.message()));
  std::sort(report->copied.begin(), report->copied.end());

  // Files the repair makes are private, as the store's are, and its diary is sagadb's own writer.
  auto env = NewPrivateEnv(nullptr);
  rocksdb::DBOptions db_options;
  db_options.env = env.get();
  db_options.info_log = OpenInfoLog(to, 1);
  std::vector<std::string> names;
  const bool listed = rocksdb::DB::ListColumnFamilies(db_options, to, &names).ok() && !names.empty();
  if (!listed) names.assign(store_internal::kEngineTables.begin(), store_internal::kEngineTables.end());
  if (std::find(names.begin(), names.end(), rocksdb::kDefaultColumnFamilyName) == names.end()) {
    names.insert(names.begin(), rocksdb::kDefaultColumnFamilyName);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> tables;
  for (const auto& n : names) tables.emplace_back(n, rocksdb::ColumnFamilyOptions());
  if (listed) {
    // The repair turns every write-ahead log it finds into a table file, also the parts whose data a table file
    // already holds (a log outlives the flush of one table while it holds another's writes), and two files of
    // the same writes are an inconsistency it refuses. An open of the copy (its MANIFEST permitting) writes the
    // logs' unflushed parts into tables and drops the logs first. It reads no table block, so a damaged one
    // does not stop it; compactions, which would, are off.
    rocksdb::DBOptions open_options = db_options;
    open_options.create_if_missing = false;
    rocksdb::ColumnFamilyOptions quiet;
    quiet.disable_auto_compactions = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> quiet_tables;
    for (const auto& n : names) quiet_tables.emplace_back(n, quiet);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    if (rocksdb::DB::Open(open_options, to, quiet_tables, &handles, &raw).ok()) {
      for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
      raw->Close().PermitUncheckedError();
      delete raw;
    }
  }
  const auto s = rocksdb::RepairDB(to, db_options, tables, rocksdb::ColumnFamilyOptions());
  SAGADB_RETURN_IF_ERROR(FromRocks(s, fmt::format("repairing {}", to)));
  // lost/ also receives the logs the repair turned into tables and the MANIFEST it replaced: not data set aside.
  for (const auto& e : fs::directory_iterator(fs::path(to) / "lost", ec)) {
    if (e.path().extension() == ".sst") report->set_aside.push_back(e.path().filename().string());
  }
  std::sort(report->set_aside.begin(), report->set_aside.end());
  return Status::OK();
}

}  // namespace sagadb
