// Who holds a database: the typed answer to "is it in use?", asked before opening rather than read out of an
// error message afterwards.
//
//   if (pid_t pid = LockHolder(path); pid != 0) return Status::Conflict(...);   // another process owns it
//
// RocksDB takes a POSIX record lock (fcntl F_SETLK) on <db>/LOCK for as long as a process has the database
// open for writing. F_GETLK reports that lock to every other process. It does not report a lock this process
// holds: a second open within one process is refused by the Store's own table of open databases instead.
#pragma once

#include <sys/types.h>

#include <string>

namespace sagadb {

// The pid of another process holding the lock of the database at `path`, or 0: nobody holds it, there is no
// LOCK file (no database), or the holder is this process.
pid_t LockHolder(const std::string& path);

}  // namespace sagadb
