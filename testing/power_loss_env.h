// PowerLossEnv: a RocksDB Env for tests that loses, on demand, everything the disk was never asked to keep.
//
// It remembers which bytes and which file names have been made durable (by an fsync of the file, or of its
// directory) and, after a simulated power cut, puts the files back in exactly that state. A crash test can
// then check that every write the engine acknowledged as durable is still there, and that the database opens
// cleanly from whatever else was lost.
//
//   PowerLossEnv power;
//   StoreOptions opts;
//   opts.path = dir.Sub("db");
//   opts.env = power.env();
//   std::unique_ptr<Store> store = *Store::Open(opts);
//   ... writes; at any moment, from any thread (a StoreHooks::AfterWrite, say):
//   power.Crash();                        // the disk freezes: nothing done from now on survives
//   store.reset();                        // tear the engine down; its shutdown writes are thrown away
//   Status s = power.DropUnsyncedData();  // the files as the power loss left them
//   store = *Store::Open(opts);           // sees only what was durable at the crash
//
// What is modelled (everything below goes through the Env's FileSystem):
//   - File data: bytes appended to a file opened for writing are durable once Sync or Fsync of that file
//     returns (and RangeSync when FileOptions::strict_bytes_per_sync makes it a full sync). Close, Flush and
//     the ordinary RangeSync (sync_file_range, which only starts write-back) make nothing durable. After a
//     power loss a file holds exactly its durable prefix.
//   - File names: creating (NewWritableFile, ReopenWritableFile of a missing file, LinkFile), renaming and
//     deleting a file is durable only once its directory has been fsynced through an FSDirectory (for a
//     rename, both directories). Otherwise the power loss undoes it: a new file disappears, a renamed file
//     goes back to its old name and the file it replaced comes back, a deleted file comes back.
//   - Crash(): from then on nothing becomes durable. Writes, syncs, creations, renames and deletes still
//     happen (so the engine can finish shutting down with a consistent view of its files), but they are
//     undone by DropUnsyncedData. The two operations that would destroy durable bytes beyond repair are
//     refused with an IOError instead: truncating a file below its durable size, and reopening an existing
//     file with NewWritableFile (which truncates it).
//   - Files this Env never opened for writing are taken as fully durable as found.
//
// What is not modelled:
//   - Power losses that keep more than the durable state: part of an unsynced tail, torn or garbage sectors,
//     some unsynced name changes but not others. We always rewind to exactly what was durable: the harshest
//     clean outcome, not every possible one.
//   - Directories: creating and removing them is passed through and taken as durable at once.
//   - NewWritableFile over an existing name before the crash: the old content is taken as gone for good.
//   - Random-access writes: NewRandomRWFile is refused as not supported (RocksDB uses it only to ingest
//     external files). FileSystem::Truncate is passed through (RocksDB's POSIX file system lacks it).
//   - Data synced through a handle after its name was deleted or replaced: what comes back is the content
//     durable at the delete or rename.
//   - Anything written outside this Env, such as the info log RocksDB creates with its own logger.
//
// Thread safety: all methods may be called concurrently with the engine's use of env(). This object must
// outlive every database opened with env().
#pragma once

#include <rocksdb/env.h>

#include <memory>

#include "sagadb/status.h"

namespace sagadb::testing {

class PowerLossFileSystem;

class PowerLossEnv {
 public:
  // Wraps RocksDB's default (POSIX) file system.
  PowerLossEnv();
  ~PowerLossEnv();
  PowerLossEnv(const PowerLossEnv&) = delete;
  PowerLossEnv& operator=(const PowerLossEnv&) = delete;

  // The Env to put in StoreOptions::env (or rocksdb::DBOptions::env). Owned by this object.
  rocksdb::Env* env() const { return env_.get(); }

  // The power goes off: what is durable now is all that DropUnsyncedData will keep. Idempotent.
  void Crash();
  bool crashed() const;

  // Rewinds the files to what was durable at the crash (or now, if Crash was not called): truncates every
  // tracked file to its durable size and undoes every creation, rename and delete whose directory was not
  // fsynced. Then forgets all tracking, as Reset does, ready for the next round.
  // REQUIRES: the database is closed. Returns InvalidRequest, changing nothing, while any file opened for
  // writing through env() is still open; IOError if the file system refuses a step (the files are then
  // partly rewound).
  Status DropUnsyncedData();

  // Takes everything on disk as durable and clears the crash: the start of a new round without a power loss.
  // REQUIRES: no file opened for writing through env() is still open.
  void Reset();

 private:
  std::shared_ptr<PowerLossFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace sagadb::testing
