#include "sagadb/database.h"

#include <fmt/format.h>

#include <set>

#include "base/clock.h"
#include "db/database_impl.h"
#include "log/index_migration.h"
#include "log/prune.h"
#include "log/saga_query.h"
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
  if (impl->store_->schema_version() < 2) {
    // A database written before the saga index: build it, once, before recovery reads it.
    const auto start = std::chrono::steady_clock::now();
    IndexBuildReport built;
    SAGADB_RETURN_IF_ERROR(BuildSagaIndex(impl->store_.get(), {}, &built));
    impl->report_.indexed = built.sagas;
    impl->report_.index_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.logger != nullptr) {
      options.logger->Log(LogLevel::kInfo,
                          fmt::format("built the saga index of {}: {} sagas in {:.3f}s ({} unreadable records left "
                                      "out){}",
                                      options.path, built.sagas, impl->report_.index_seconds, built.unreadable,
                                      built.resumed ? ", resuming an interrupted build" : ""));
    }
  }
  if (impl->store_->schema_version() < kSchemaVersion) {
    // Version 3 adds only values a version-2 sagadb must not meet: say so before any can be written.
    SAGADB_RETURN_IF_ERROR(impl->store_->CommitSchemaVersion(Batch(), kSchemaVersion));
  }
  impl->executor_ = std::make_unique<SagaExecutor>(impl->store_.get(), &impl->locks_, &impl->registry_,
                                                   options.executor, options.logger);
  std::unique_ptr<Database> db(new Database(std::move(impl)));
  DatabaseImpl& i = *db->impl_;
  SAGADB_RETURN_IF_ERROR(RecoverAtOpen(*i.executor_, i.registry_, options.wait_for_recovery,
                                       options.retry_paused_at_open, options.logger, &i.report_));
  if (options.retention.enabled) {
    i.retention_ = std::make_unique<RetentionTask>(i.store_.get(), &i.prune_mu_, options.retention, options.logger);
    i.retention_->Start();
  }
  return db;
}

Database::Database(std::unique_ptr<DatabaseImpl> impl) : impl_(std::move(impl)) {}

Database::~Database() { impl_->Close(); }

void DatabaseImpl::Close() {
  if (retention_) retention_->Stop();
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

Result<SagaState> Database::Cancel(const Uuid& saga, const OperatorRequest& request) {
  return impl_->executor().Cancel(saga, request);
}

Result<SagaHandle> Database::Resume(const Uuid& saga, const OperatorRequest& request) {
  return impl_->executor().ResumeSaga(saga, request);
}

Result<SagaState> Database::Abandon(const Uuid& saga, AbandonKind kind, const OperatorRequest& request) {
  return impl_->executor().Abandon(saga, kind, request);
}

Result<std::string> Database::Read(std::string_view table, std::string_view key) const {
  auto t = impl_->store().FindTable(table);
  if (!t.ok()) return Status::InvalidRequest(t.status().message());
  return impl_->store().Get(*t, key);
}

Result<SagaPage> Database::ListSagas(const SagaQuery& query) const {
  SagaPage page;
  SagaListing listing;
  SAGADB_RETURN_IF_ERROR(ListSagaRecords(
      impl_->store(), query, [&](const SagaRecord& r) { page.sagas.push_back(SummaryOf(r)); }, &listing));
  page.next = listing.next;
  page.unreadable = std::move(listing.unreadable);
  return page;
}

Result<StalledReport> Database::ListStalled(std::chrono::nanoseconds quiet) const {
  return ListStalledSagas(impl_->store(), quiet);
}

Result<PruneReport> Database::Prune(const RetentionPolicy& policy, bool dry_run) {
  PruneOptions o;
  o.policy = policy;
  o.dry_run = dry_run;
  o.sagas_per_batch = impl_->options().retention.sagas_per_batch;
  PruneReport report;
  MutexLock lock(&impl_->prune_mu());
  SAGADB_RETURN_IF_ERROR(PruneFinishedSagas(&impl_->store(), o, &report));
  return report;
}

void Database::WaitIdle() { impl_->executor().WaitIdle(); }
size_t Database::in_flight() const { return impl_->executor().in_flight(); }
ExecutorStats Database::stats() const { return impl_->executor().stats(); }
const RecoveryReport& Database::recovery() const { return impl_->recovery(); }
const std::string& Database::path() const { return impl_->store().path(); }

}  // namespace sagadb
