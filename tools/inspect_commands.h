// The inspection commands of the sagadb tool: shows of records and sagas, the log, the DAG (the listings are in
// tools/list_commands.h). They
// open the database as a secondary (tools/cli.h), so they work while another process owns it, and write
// nothing.
#pragma once

#include <optional>
#include <string>

#include "tools/cli.h"

namespace sagadb::tool {

int InstanceShow(const GlobalOptions& g, const std::string& id_or_name);
int DiskShow(const GlobalOptions& g, const std::string& id_or_name);
int SagaShow(const GlobalOptions& g, const std::string& id);
int SagaEvents(const GlobalOptions& g, const std::string& id);
// DOT on stdout, or with `svg` the SVG that Graphviz's `dot` renders from it.
int SagaDot(const GlobalOptions& g, const std::string& id, bool svg);

}  // namespace sagadb::tool
