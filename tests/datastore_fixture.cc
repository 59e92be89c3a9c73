#include "tests/datastore_fixture.h"

namespace sagadb::testing {

void DatastoreTest::SetUp() {
  path_ = dir_.Sub("db");
  Reopen();
}

void DatastoreTest::Close() {
  ds_.reset();
  store_.reset();
}

void DatastoreTest::Reopen() {
  Close();
  store_ = Must(Store::Open(Config()));
  ds_ = Must(Datastore::Open(store_.get(), &locks_));
}

StoreConfig DatastoreTest::Config(OpenMode mode) const {
  StoreConfig config;
  config.path = path_;
  config.mode = mode;
  config.tables = {kInstancesTable, kDisksTable, kNamesTable};
  return config;
}

Instance DatastoreTest::NewInstance(const std::string& name, InstanceState state, const std::string& project) {
  InstanceSpec spec;
  spec.id = Uuid::Generate();
  spec.project = project;
  spec.name = name;
  spec.cpus = 2;
  spec.memory_bytes = 4ull << 30;
  Instance r = Must(ds_->CreateInstance(spec));
  if (state == InstanceState::kCreating) return r;
  const InstanceState from[] = {InstanceState::kCreating};
  return Must(ds_->SetInstanceState(r.id, from, state));
}

Disk DatastoreTest::NewDisk(const std::string& name, DiskState state, const std::string& project) {
  DiskSpec spec;
  spec.id = Uuid::Generate();
  spec.project = project;
  spec.name = name;
  spec.size_bytes = 10ull << 30;
  Disk r = Must(ds_->CreateDisk(spec));
  if (state == DiskState::kCreating) return r;
  const DiskState from[] = {DiskState::kCreating};
  return Must(ds_->SetDiskState(r.id, from, state));
}

Disk DatastoreTest::NewAttachedDisk(const std::string& name, const Instance& instance) {
  Disk d = NewDisk(name, DiskState::kDetached, instance.project);
  return Must(ds_->AttachDisk(d.id, instance.id));
}

}  // namespace sagadb::testing
