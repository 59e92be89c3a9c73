// WritePrometheus: a Metrics snapshot in the Prometheus text exposition format, version 0.0.4.
#include <fmt/format.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "sagadb/metrics.h"

namespace sagadb {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// A label value: backslash, double quote and line feed escaped.
std::string EscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

class Writer {
 public:
  explicit Writer(std::string_view prefix) : prefix_(prefix) {}

  // Starts a family: its # HELP and # TYPE lines. `help` is plain text on one line.
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = fmt::format("{}_{}", prefix_, name);
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, help, name_, type);
  }

  void Sample(const Labels& labels, uint64_t value) { Line("", labels, std::to_string(value)); }

  // The family's series for one label set: cumulative buckets up to le="+Inf", then _sum and _count.
  void Histo(const Labels& labels, const Histogram& h) {
    Labels with_le = labels;
    with_le.emplace_back("le", "");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le = i < h.bounds.size() ? Number(h.bounds[i]) : "+Inf";
      with_le.back().second = le;
      Line("_bucket", with_le, std::to_string(cumulative));
    }
    if (h.buckets.size() <= h.bounds.size()) {  // a histogram without its last bucket: +Inf is still required
      with_le.back().second = "+Inf";
      Line("_bucket", with_le, std::to_string(h.count));
    }
    Line("_sum", labels, Number(h.sum));
    Line("_count", labels, std::to_string(h.count));
  }

  std::string Take() { return std::move(out_); }

 private:
  void Line(std::string_view suffix, const Labels& labels, const std::string& value) {
    out_ += name_;
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += fmt::format("{}=\"{}\"", labels[i].first, EscapeLabel(labels[i].second));
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  const std::string_view prefix_;
  std::string name_;
  std::string out_;
};

}  // namespace

std::string WritePrometheus(const Metrics& m, std::string_view prefix) {
  Writer w(prefix);
  w.Family("sagas_started_total", "counter", "Sagas started by this process since the database was opened.");
  for (const auto& [kind, c] : m.by_kind) w.Sample({{"kind", kind}}, c.started);
  w.Family("sagas_resumed_total", "counter", "Interrupted sagas that recovery resumed when the database was opened.");
  for (const auto& [kind, c] : m.by_kind) w.Sample({{"kind", kind}}, c.resumed);
  w.Family("sagas_ended_total", "counter",
           "Saga executions that ended, by outcome: the state they ended in, or halted (resumed at the next open).");
  for (const auto& [kind, c] : m.by_kind) {
    for (const auto& [outcome, n] : c.ended) w.Sample({{"kind", kind}, {"outcome", outcome}}, n);
  }
  w.Family("sagas_rejected_total", "counter", "Starts refused with Overloaded at the admission limit.");
  w.Sample({}, m.rejected);
  w.Family("sagas_in_flight", "gauge", "Sagas executing in this process now.");
  w.Sample({}, m.in_flight);
  w.Family("sagas_unfinished", "gauge",
           "Sagas of the database that have not finished, by state (stuck and paused ones wait for an operator).");
  for (const auto& [state, n] : m.unfinished) w.Sample({{"state", state}}, n);

  w.Family("saga_duration_seconds", "histogram", "From a saga's creation to the end of its execution, by outcome.");
  for (const auto& [outcome, h] : m.saga_seconds) w.Histo({{"outcome", outcome}}, h);
  w.Family("node_duration_seconds", "histogram",
           "Forward steps that succeeded: from the start of the last attempt until the outcome was durable.");
  w.Histo({}, m.node_seconds);
  w.Family("action_duration_seconds", "histogram", "The same steps, by the action they ran.");
  for (const auto& [action, h] : m.node_seconds_by_action) w.Histo({{"action", action}}, h);

  w.Family("store_synced_writes_total", "counter", "Synced batches written to the store (each one fsync).");
  w.Sample({}, m.synced_writes);
  w.Family("store_synced_write_entries", "histogram", "Puts and deletes in each synced batch.");
  w.Histo({}, m.synced_write_entries);
  w.Family("store_written_bytes_total", "counter", "Bytes of keys and values written to the store.");
  w.Sample({}, m.bytes_written);
  w.Family("saga_rounds_total", "counter", "Rounds of sagas written, each one synced batch of their steps and events.");
  w.Sample({}, m.rounds);
  w.Family("saga_round_events", "histogram", "Log events in each round.");
  w.Histo({}, m.round_events);

  w.Family("retries_total", "counter",
           "Operations tried again: forward actions and undos after a transient failure, writes of the log, and "
           "local steps that met a record lock out of order.");
  w.Sample({{"what", "action"}}, m.action_retries);
  w.Sample({{"what", "undo"}}, m.undo_retries);
  w.Sample({{"what", "log"}}, m.log_retries);
  w.Sample({{"what", "lock_conflict"}}, m.lock_conflict_retries);
  return w.Take();
}

}  // namespace sagadb
