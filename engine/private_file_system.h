// The environment a Store gives RocksDB: the caller's file system (the default POSIX one, or a test's), wrapped
// so that every file and directory RocksDB creates for the database is private to its owner.
//
//   std::unique_ptr<rocksdb::Env> env = NewPrivateEnv(config.env);   // null: RocksDB's default
//   db_options.env = env.get();                                       // must outlive the database
//
// The database holds everything the appliance's control plane knows, so its directory is created 0700 and its
// files 0600 (directories RocksDB makes, 0700). RocksDB creates files with mode 0644 filtered by the process
// umask; changing the umask would change it for the whole embedding process, and RocksDB's own switch
// (Env::SetAllowNonOwnerAccess) is a property of the process-wide default Env. So the wrapper changes the mode
// of each file right after RocksDB creates it: every file-creating call (NewWritableFile, ReopenWritableFile,
// ReuseWritableFile, NewRandomRWFile, LockFile, NewLogger) and directory creation. Between the creation and
// the chmod the file is empty and reachable only through the database directory, which is already private.
// A failed chmod fails the call: a file that cannot be made private is not used.
//
// Only the file system of a given Env is kept: the returned Env has RocksDB's default threads and clock
// (those of every Env sagadb and its tests use).
#pragma once

#include <memory>

namespace rocksdb {
class Env;
}

namespace sagadb {

std::unique_ptr<rocksdb::Env> NewPrivateEnv(rocksdb::Env* base);

}  // namespace sagadb
