#include "log/index_migration.h"

#include <string>

#include "engine/batch.h"
#include "log/saga_index.h"
#include "schema/codec.h"

namespace sagadb {
namespace {

// The id of the last saga whose entry is durable, kept in the metadata while a build is under way.
constexpr std::string_view kProgressKey = "saga_index_build_after";

}  // namespace

Status BuildSagaIndex(Store* store, const IndexBuildOptions& options, IndexBuildReport* report) {
  const size_t per_batch = options.sagas_per_batch == 0 ? 1 : options.sagas_per_batch;
  auto cursor = store->NewCursor(kSagasTable);
  auto progress = store->Get(kMetaTable, kProgressKey);
  if (progress.ok()) {
    report->resumed = true;
    cursor->Seek(*progress);
    if (cursor->Valid() && cursor->key() == *progress) cursor->Next();
  } else if (progress.status().IsNotFound()) {
    cursor->SeekToFirst();
  } else {
    return progress.status();
  }

  Batch batch;
  size_t in_batch = 0;
  std::string last;
  for (; cursor->Valid(); cursor->Next()) {
    SagaHeader header;
    std::string why;
    auto id = Uuid::FromBytes(cursor->key());
    if (!id || !DecodeHeader(cursor->value(), &header, &why) || header.id != *id) {
      report->unreadable++;
      continue;
    }
    StageIndex(&batch, header);
    last.assign(cursor->key());
    report->sagas++;
    if (++in_batch == per_batch) {
      batch.Put(kMetaTable, kProgressKey, last);
      SAGADB_RETURN_IF_ERROR(store->Write(batch));
      report->batches++;
      batch.Clear();
      in_batch = 0;
    }
  }
  SAGADB_RETURN_IF_ERROR(cursor->status());
  batch.Delete(kMetaTable, kProgressKey);
  SAGADB_RETURN_IF_ERROR(store->CommitSchemaVersion(std::move(batch), 2));
  report->batches++;
  return Status::OK();
}

}  // namespace sagadb
