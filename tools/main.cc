// sagadb: the command-line program. tools/app.h parses the arguments (CLI11) and dispatches to the commands.
#include "tools/app.h"

int main(int argc, char** argv) { return sagadb::tool::Main(argc, argv); }
