// The listings of the sagadb tool: instances, disks and sagas, a page at a time (tools/listing.h has the three
// output forms and the cursor), and the sagas that have stalled. Inspection commands: they open the database
// as a secondary (tools/cli.h) and write nothing. Arguments are checked before the database is opened. A record
// met on the way that cannot be read is said on stderr ("sagadb: <table>/<id>: <why>"), and the exit code is 1.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace sagadb::tool {

struct ListArgs {
  size_t limit = 100;               // rows per page; 0: no limit
  std::string after;                // the cursor of the page before (an id)
  std::vector<std::string> states;  // only records in one of these states
  // Sagas only:
  std::string kind;                 // only sagas of this kind
  std::string since, until;         // created in [since, until): RFC 3339 or a duration ago ("2h")
  std::string stalled;              // a duration: running/unwinding sagas with no event for that long
};

int InstanceList(const GlobalOptions& g, const ListArgs& a);
int DiskList(const GlobalOptions& g, const ListArgs& a);
int SagaList(const GlobalOptions& g, const ListArgs& a);

}  // namespace sagadb::tool
