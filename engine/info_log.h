// InfoLog: RocksDB's diagnostic log (the LOG file), written by sagadb instead of by RocksDB's own logger.
//
//   std::shared_ptr<rocksdb::Logger> log = OpenInfoLog(db_path, /*keep_files=*/4);
//   db_options.info_log = log;
//
// Why not RocksDB's logger: it appends through a WritableFileWriter and ignores every error. Once one append
// fails (the disk is full), the writer remembers the failure, and the next line logged trips an assertion in
// RocksDB (`sync_without_flush_called_`, WritableFileWriter::AssertFalseAndGetStatusForPrevError): Debian builds
// RocksDB with assertions on, so a full disk aborted the process. This logger writes with plain write(2) and,
// after its first failed write, stays silent: the database's own error handling says what went wrong, and a
// log that could not be written is never written again.
//
// The contract, kept from RocksDB's: the log is <dir>/LOG; an open moves the previous one to
// LOG.old.<microseconds> and keeps at most `keep_files` info log files (LOG included). Files are created 0600,
// like every other file of the database (engine/private_file_system.h). If the log cannot be opened at all, the
// returned logger discards everything: a database must not refuse to open for want of its diagnostics.
//
// Thread safety: the logger may be called from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace rocksdb {
class Logger;
}

namespace sagadb {

std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, size_t keep_files);

}  // namespace sagadb
