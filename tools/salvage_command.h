// `sagadb salvage`: the operator's command for a database with damaged files. Read-only by default: it opens the
// database for inspection (beside a running owner, like the other inspection commands), walks every table
// stepping over what it cannot read, and reports what reads (keys per table), what does not and where (table,
// key range, the error), the records that read but fail verification, the table files with a damaged block,
// which sagas, instances and disks are affected, and the steps back to a working database: RocksDB's repair on
// a copy, an open of the copy (recovery), then `check`; and what the repair may drop.
//
// With --repair-into DIR it also makes that copy: the database's files are copied into DIR (volume files
// hard-linked) and RocksDB's repair runs on the copy, never on the original; the report gives the keys of
// each table before and after. Refused while another process holds the database (a copy of a database being
// written is not a database).
//
// Exit 0 when everything reads and verifies, 1 when anything does not (or the repair failed), 2 for bad usage.
#pragma once

#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

struct SalvageArgs {
  std::string repair_into;  // empty: report only
};

int Salvage(const GlobalOptions& g, const SalvageArgs& a);

}  // namespace sagadb::tool
