// Salvage: what an operator needs when a database's files are damaged (an unreadable block in a table file, say),
// at the level of the store. The sagadb tool's `salvage` command (tools/salvage_*.cc) builds its report on it.
//
//   TableWalk walk;
//   WalkReadable([&] { return store.NewCursor(kSagasTable); }, visit, &walk);   // every key it can read
//   for (const UnreadableRange& r : walk.unreadable) ...                          // and where it could not
//   for (const TableFile& f : *store.TableFiles()) VerifyTableFile(store.path(), f);
//   SAGADB_RETURN_IF_ERROR(RepairCopy(store.path(), "/var/tmp/repaired", &repair));
//
// A cursor stops at the first block it cannot read; WalkReadable steps over it instead and goes on with the
// next key it can read, so one bad block hides only its own keys. The keys it could not read are reported as
// ranges between the readable keys around them (never narrower than the damage: a readable key close to it may
// be counted in, never one that could not be read left out).
//
// RepairCopy never touches the database it repairs: it copies the files and runs RocksDB's repair on the copy.
// RocksDB's repair sets aside (in <copy>/lost/) every table file it cannot read through, with ALL of that file's
// keys, the readable ones too; where an older table file has another version of such a key, that older value is
// what the repaired database holds. What a damaged file holds is therefore what repair may drop or turn back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "sagadb/status.h"

namespace sagadb {

// Keys that could not be read: every key strictly after `after` (or from the table's start) and strictly before
// `before` (or to the table's end).
struct UnreadableRange {
  bool from_start = false;
  std::string after;
  bool to_end = false;
  std::string before;
  std::string error;  // what the failed read said

  // Whether `key` may be one of the keys that could not be read.
  bool Contains(std::string_view key) const;
  // Whether any key in [lo, hi] may be.
  bool Overlaps(std::string_view lo, std::string_view hi) const;
};

struct TableWalk {
  uint64_t keys = 0;  // keys read (and handed to the visitor)
  std::vector<UnreadableRange> unreadable;
};

// Walks every key it can read, in key order, handing each to `visit`, with a cursor from `open` (a new one is
// asked for after each failed read). After a read fails it seeks further and further past the last key it read
// until a seek succeeds, then narrows that down, and records the keys in between as unreadable. At most
// `max_ranges` ranges are recorded; beyond them the walk ends with a last range to the end.
using CursorFactory = std::function<std::unique_ptr<Cursor>()>;
void WalkReadable(const CursorFactory& open,
                  const std::function<void(std::string_view key, std::string_view value)>& visit, TableWalk* walk,
                  size_t max_ranges = 1000);

// Reads every block of the table file and checks it against its checksum: OK, or the first error (Corruption
// for a block that fails its checksum). NotFound if the file is gone (a running owner compacted it away).
Status VerifyTableFile(const std::string& db_path, const TableFile& file);
// A cursor over the keys of one table file alone, as the file has them.
Result<std::unique_ptr<Cursor>> OpenTableFile(const std::string& db_path, const TableFile& file);

struct RepairCopyReport {
  std::vector<std::string> copied;     // the database's files, copied
  uint64_t volumes_linked = 0;         // files of volumes/, hard-linked
  std::vector<std::string> set_aside;  // files the repair could not read through, moved to <copy>/lost/
};

// Copies the database at `from` into the new directory `to` and runs RocksDB's repair on the copy, with the
// tables the database has. The database's own files are copied; the control plane's volume files (volumes/,
// the guests' data, which sagadb only creates and removes) are hard-linked, so the copy costs no space for them
// and removing one in the copy leaves the original's in place. REQUIRES: no process has `from` open for writing
// (the caller asks the lock). InvalidRequest if `to` exists and is not an empty directory.
Status RepairCopy(const std::string& from, const std::string& to, RepairCopyReport* report);

}  // namespace sagadb
