#include "testing/probe.h"

#include <fmt/format.h>

#include <charconv>

namespace sagadb::testing {
namespace {

// The probe whose pressure applies to the action running on this thread: reads an action makes through
// sagadb (ctx.Read, its txn's Get) happen on the thread that runs it.
thread_local const KitProbe* tls_pressured = nullptr;

class PressureScope {
 public:
  explicit PressureScope(const KitProbe* probe) : saved_(tls_pressured) { tls_pressured = probe; }
  ~PressureScope() { tls_pressured = saved_; }
  PressureScope(const PressureScope&) = delete;
  PressureScope& operator=(const PressureScope&) = delete;

 private:
  const KitProbe* saved_;
};

Status PowerIsOff() { return Status::IOError("the power is off (a power loss injected by the test kit)"); }

// A user's domain, its actions going through the probe. Names and tables are the user's, so a database opened
// with it is the user's database.
class ProbedDomain : public Domain {
 public:
  ProbedDomain(std::shared_ptr<Domain> inner, KitProbe* probe) : inner_(std::move(inner)), probe_(probe) {}

  std::string_view name() const override { return inner_->name(); }
  std::vector<std::string> tables() const override { return inner_->tables(); }

  Status RegisterActions(ActionRegistry& registry) override {
    ActionRegistry own;
    SAGADB_RETURN_IF_ERROR(inner_->RegisterActions(own));
    for (const auto& [name, def] : own.all()) {
      auto user = std::make_shared<const ActionDef>(def);
      ActionDef wrapped{def.name, def.kind, nullptr, nullptr};
      KitProbe* probe = probe_;
      wrapped.action = [probe, user](ActionContext& ctx) { return probe->Action(*user, ctx); };
      // An action without an undo keeps having none: what the engine does then must not change.
      if (def.undo) wrapped.undo = [probe, user](ActionContext& ctx) { return probe->Undo(*user, ctx); };
      SAGADB_RETURN_IF_ERROR(registry.Register(std::move(wrapped)));
    }
    return Status::OK();
  }

 private:
  std::shared_ptr<Domain> inner_;
  KitProbe* probe_;
};

}  // namespace

std::string FaultPoint::Id() const {
  return fmt::format("{}-{}-{}", when == When::kBefore ? "before" : "after", at == At::kWrite ? "write" : "effect",
                     n);
}

std::string FaultPoint::ToString() const {
  return fmt::format("{} {} {}", when == When::kBefore ? "before" : "after", at == At::kWrite ? "write" : "effect",
                     n);
}

std::optional<FaultPoint> FaultPoint::Parse(std::string_view id) {
  FaultPoint p;
  auto take = [&id](std::string_view prefix) {
    if (!id.starts_with(prefix)) return false;
    id.remove_prefix(prefix.size());
    return true;
  };
  if (take("before-")) {
    p.when = When::kBefore;
  } else if (take("after-")) {
    p.when = When::kAfter;
  } else {
    return std::nullopt;
  }
  if (take("write-")) {
    p.at = At::kWrite;
  } else if (take("effect-")) {
    p.at = At::kEffect;
  } else {
    return std::nullopt;
  }
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), p.n);
  if (ec != std::errc() || end != id.data() + id.size() || p.n == 0) return std::nullopt;
  return p;
}

void KitProbe::Arm(FaultPoint point, Fire fire) {
  point_ = point;
  fire_ = std::move(fire);
  armed_.store(point.n > 0);
}

void KitProbe::SetPressure(std::string node) {
  MutexLock lock(&mu_);
  pressure_node_ = std::move(node);
}

void KitProbe::SetTransientRate(double rate, uint64_t seed) {
  MutexLock lock(&mu_);
  rate_ = rate;
  rng_.seed(seed);
  has_rate_.store(rate > 0);
}

bool KitProbe::RollTransient() {
  if (!has_rate_.load(std::memory_order_relaxed)) return false;
  MutexLock lock(&mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < rate_;
}

void KitProbe::MaybeFire(FaultPoint::When when, FaultPoint::At at, uint64_t n, const std::string& node) {
  if (!armed_.load() || point_.when != when || point_.at != at || point_.n != n) return;
  if (fired_.exchange(true)) return;
  fire_(node);
  power_off_.store(true);
}

Domains KitProbe::Wrap(const Domains& domains) {
  Domains out;
  for (const auto& d : domains) out.push_back(d == nullptr ? nullptr : std::make_shared<ProbedDomain>(d, this));
  return out;
}

template <typename R, typename Body>
R KitProbe::Around(bool external, const std::string& node, Body body) {
  if (power_off_.load()) return PowerIsOff();
  if (!external) return body();
  const uint64_t n = effects_.fetch_add(1) + 1;
  MaybeFire(FaultPoint::When::kBefore, FaultPoint::At::kEffect, n, node);
  if (power_off_.load()) return PowerIsOff();
  R result = body();
  MaybeFire(FaultPoint::When::kAfter, FaultPoint::At::kEffect, n, node);
  return result;
}

Result<Json> KitProbe::Action(const ActionDef& def, ActionContext& ctx) {
  bool pressured;
  {
    MutexLock lock(&mu_);
    pressured = !pressure_node_.empty() && pressure_node_ == ctx.node_name();
  }
  return Around<Result<Json>>(def.kind == ActionKind::kExternal, ctx.node_name(), [&]() -> Result<Json> {
    PressureScope scope(pressured ? this : nullptr);
    return def.action(ctx);
  });
}

Status KitProbe::Undo(const ActionDef& def, ActionContext& ctx) {
  return Around<Status>(def.kind == ActionKind::kExternal, ctx.node_name() + " (undo)", [&]() -> Status {
    PressureScope scope(nullptr);
    return def.undo(ctx);
  });
}

Status KitProbe::BeforeWrite(uint64_t n) {
  MaybeFire(FaultPoint::When::kBefore, FaultPoint::At::kWrite, n);
  if (RollTransient()) return Status::Transient("injected by the test kit: all claims are used (write)");
  return Status::OK();
}

void KitProbe::AfterWrite(uint64_t n) { MaybeFire(FaultPoint::When::kAfter, FaultPoint::At::kWrite, n); }

Status KitProbe::BeforeRead() {
  if (tls_pressured == this) {
    pressured_reads_.fetch_add(1);
    return Status::Transient("injected by the test kit: all claims are used (read)");
  }
  if (RollTransient()) return Status::Transient("injected by the test kit: all claims are used (read)");
  return Status::OK();
}

}  // namespace sagadb::testing
