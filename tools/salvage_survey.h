// The survey behind `sagadb salvage`: what of a damaged database can still be read, what cannot and where, and
// which sagas, instances and disks that touches, now and once RocksDB's repair has set the damaged table files
// aside. Read-only: it works on an inspection store (beside a running owner).
//
//   SAGADB_ASSIGN_OR_RETURN(SalvageSurvey s, Survey(store));
//   if (!s.ok()) ... s.tables[i].unreadable, s.damaged_files, s.sagas ...
//
// Two walks of every table, each stepping over what it cannot read (engine/salvage.h): the first counts the
// readable keys, verifies every record of the tables it knows and collects the unreadable ranges; the second,
// only when something is damaged, reads each saga's, instance's and disk's keys in the other tables and names
// those whose keys fall in a damaged range (a saga whose record is unreadable, though its events read; a disk
// named by an instance but unreadable itself). Memory follows the damage, never the history.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/salvage.h"
#include "engine/store.h"
#include "sagadb/status.h"
#include "sagadb/uuid.h"

namespace sagadb::tool {

struct TableSurvey {
  std::string name;
  uint64_t readable = 0;     // keys read
  uint64_t undecodable = 0;  // of those, records that fail verification
  std::vector<UnreadableRange> unreadable;
};

// A record whose bytes were read but fail verification.
struct DamagedRecord {
  std::string table;
  std::string key;  // as KeyText shows it
  std::string error;
};

// A table file with a block that fails its checksum: RocksDB's repair sets it aside whole.
struct DamagedFile {
  TableFile file;
  std::string error;
  uint64_t readable_keys = 0;
};

struct AffectedRecord {
  std::string kind;   // a saga's kind, when its record can be read
  std::string state;  // its state, likewise
  std::set<std::string> why;
};

struct SalvageSurvey {
  std::vector<TableSurvey> tables;  // every table, in the store's order
  std::vector<DamagedRecord> damaged_records;
  std::vector<DamagedFile> damaged_files;
  uint64_t files_checked = 0;
  std::map<Uuid, AffectedRecord> sagas, instances, disks;

  // Nothing unreadable, no record that fails verification, no damaged file.
  bool ok() const;
};

// Surveys every table of `store` (and its table files, which must be readable from store.path()).
Result<SalvageSurvey> Survey(Store& store);
// Only the first walk's counts (no verification of records, no files): what a repaired copy holds.
Result<std::vector<TableSurvey>> CountTables(Store& store);

// A key of the named table as an operator reads it: a saga, instance or disk id as a UUID, an event as
// "<saga>#<seq>", an index entry as "a/<saga>" or "f/<time>/<saga>", other printable keys as they are, the rest
// in hex.
std::string KeyText(const std::string& table, std::string_view key);
// "after K before K2", "from the start to the end", ...
std::string RangeText(const std::string& table, const UnreadableRange& range);

}  // namespace sagadb::tool
