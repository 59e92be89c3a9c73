// The commands that change the database: each takes the database (a second owner is refused with a clear
// message and nothing changes, and so is a database holding sagas in flight whose actions this program does
// not know), lets recovery run, starts one saga and waits for its end. Also `demo`, the
// overload scenario, `recover` and `check`. A request that names a record that does not exist, or a name that
// is taken, is refused (exit 1) on a secondary before the database is taken, so it writes nothing.
#pragma once

#include <cstdint>
#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

struct InstanceCreateArgs {
  std::string name;
  int disks = 1;
  std::string disk_size = "10GiB";
  uint32_t cpus = 2;
  std::string memory = "4GiB";
};

struct DemoArgs {
  int instances = 30;
  int disks = 11;
  double fail_rate = 0.05;
  // Of forward steps, failing for good: about one instance-create of 11 disks in five meets one and unwinds.
  double permanent_rate = 0.005;
  uint64_t seed = 0;  // 0: from the clock
  int concurrency = 0;  // 0: all at once
};

int InstanceCreate(const GlobalOptions& g, const InstanceCreateArgs& a);
int InstanceDelete(const GlobalOptions& g, const std::string& id_or_name);
int DiskCreate(const GlobalOptions& g, const std::string& name, const std::string& size);
int DiskAttach(const GlobalOptions& g, const std::string& disk, const std::string& instance);
int DiskDetach(const GlobalOptions& g, const std::string& disk, const std::string& instance);
int DiskDelete(const GlobalOptions& g, const std::string& disk);
int Recover(const GlobalOptions& g);
int Demo(const GlobalOptions& g, const DemoArgs& a);
// Inspection: works beside a running owner. `quiescent` also requires that no saga is executing.
int CheckCommand(const GlobalOptions& g, bool quiescent);

}  // namespace sagadb::tool
