#include "sagadb/database.h"

#include <fmt/format.h>

#include <set>

#include "db/database_impl.h"
#include "recovery/recovery.h"

namespace sagadb {

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options,
                                                 std::vector<std::shared_ptr<Domain>> domains) {
  return OpenDatabase(options, std::move(domains), OpenSeams{});
}

Result<std::unique_ptr<Database>> OpenDatabase(const DatabaseOptions& options,
                                               std::vector<std::shared_ptr<Domain>> domains,
                                               const OpenSeams& seams) {
  if (options.path.empty()) return Status::InvalidRequest("DatabaseOptions::path is empty");
  if (options.executor.threads == 0) return Status::InvalidRequest("ExecutorOptions::threads must be at least 1");
  auto impl = std::make_unique<DatabaseImpl>();
  impl->options_ = options;
  impl->domains_ = std::move(domains);

  StoreConfig config;
  config.path = options.path;
  config.create_if_missing = options.create_if_missing;
  config.options = options.store;
  config.logger = options.logger;
  config.env = seams.env;
  config.hooks = seams.hooks;
  std::set<std::string> tables;
  for (const auto& domain : impl->domains_) {
    if (domain == nullptr) return Status::InvalidRequest("a domain is null");
    for (auto& t : domain->tables()) {
      if (tables.insert(t).second) config.tables.push_back(t);
    }
    Status st = domain->RegisterActions(impl->registry_);
    if (!st.ok()) return Status::InvalidRequest(fmt::format("domain {}: {}", domain->name(), st.message()));
  }
  SAGADB_ASSIGN_OR_RETURN(impl->store_, Store::Open(config));
  impl->executor_ = std::make_unique<SagaExecutor>(impl->store_.get(), &impl->locks_, &impl->registry_,
                                                   options.executor, options.logger);
  std::unique_ptr<Database> db(new Database(std::move(impl)));
  DatabaseImpl& i = *db->impl_;
  SAGADB_RETURN_IF_ERROR(RecoverAtOpen(*i.executor_, i.registry_, options.wait_for_recovery, options.logger, &i.report_));
  return db;
}

Database::Database(std::unique_ptr<DatabaseImpl> impl) : impl_(std::move(impl)) {}

Database::~Database() { impl_->Close(); }

void DatabaseImpl::Close() {
  if (executor_) executor_->Shutdown();
  executor_.reset();
  store_.reset();
}

Result<SagaHandle> Database::Start(const SagaDag& dag, Json params, const StartOptions& options) {
  return impl_->executor().Start(dag, std::move(params), options);
}

Result<SagaResult> Database::Run(const SagaDag& dag, Json params, const StartOptions& options) {
  return impl_->executor().Run(dag, std::move(params), options);
}

Result<std::string> Database::Read(std::string_view table, std::string_view key) const {
  auto t = impl_->store().FindTable(table);
  if (!t.ok()) return Status::InvalidRequest(t.status().message());
  return impl_->store().Get(*t, key);
}

void Database::WaitIdle() { impl_->executor().WaitIdle(); }
size_t Database::in_flight() const { return impl_->executor().in_flight(); }
ExecutorStats Database::stats() const { return impl_->executor().stats(); }
const RecoveryReport& Database::recovery() const { return impl_->recovery(); }
const std::string& Database::path() const { return impl_->store().path(); }

}  // namespace sagadb
