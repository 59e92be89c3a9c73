#include "tools/units.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <ctime>
#include <utility>

namespace sagadb::tool {

std::optional<uint64_t> ParseSize(std::string_view text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit;
  for (; i < text.size(); ++i) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
  static const std::array<std::pair<std::string_view, int>, 14> kUnits = {{
      {"", 0}, {"b", 0}, {"k", 1}, {"kb", 1}, {"kib", 1}, {"m", 2}, {"mb", 2},
      {"mib", 2}, {"g", 3}, {"gb", 3}, {"gib", 3}, {"t", 4}, {"tb", 4}, {"tib", 4},
  }};
  for (const auto& [name, shift] : kUnits) {
    if (unit != name) continue;
    for (int s = 0; s < shift; ++s) {
      if (value > UINT64_MAX / 1024) return std::nullopt;
      value *= 1024;
    }
    if (value == 0) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::string FormatSize(uint64_t bytes) {
  static const std::array<std::string_view, 5> kNames = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < kNames.size()) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  if (v == static_cast<double>(static_cast<uint64_t>(v))) return fmt::format("{} {}", static_cast<uint64_t>(v), kNames[u]);
  return fmt::format("{:.1f} {}", v, kNames[u]);
}

std::string FormatTime(int64_t ns) {
  if (ns == 0) return "";
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>((ns / 1'000'000) % 1000));
}

std::string FormatDuration(int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns < 1'000'000) return fmt::format("{:.0f} us", ns / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.1f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string FormatSpan(int64_t ns) {
  int64_t secs = ns < 0 ? 0 : ns / 1'000'000'000;
  if (secs < 60) return fmt::format("{}s", secs);
  if (secs < 3600) return fmt::format("{}m {}s", secs / 60, secs % 60);
  if (secs < 86400) return fmt::format("{}h {}m", secs / 3600, secs % 3600 / 60);
  return fmt::format("{}d {}h", secs / 86400, secs % 86400 / 3600);
}

std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  size_t i = 0;
  int64_t value = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (value > 1'000'000'000) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  if (i == 0 || value == 0) return std::nullopt;
  static const std::array<std::pair<std::string_view, int64_t>, 6> kUnits = {{
      {"ms", 1'000'000}, {"s", 1'000'000'000}, {"m", 60'000'000'000}, {"h", 3'600'000'000'000},
      {"d", 86'400'000'000'000}, {"w", 604'800'000'000'000},
  }};
  for (const auto& [unit, ns] : kUnits) {
    if (text.substr(i) != unit) continue;
    if (value > INT64_MAX / ns) return std::nullopt;
    return std::chrono::nanoseconds(value * ns);
  }
  return std::nullopt;
}

namespace {

// Reads exactly `n` digits at *i.
bool Digits(std::string_view t, size_t* i, int n, int* out) {
  if (*i + n > t.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = t[*i + k];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view t, size_t* i, std::string_view one_of) {
  if (*i >= t.size() || one_of.find(t[*i]) == std::string_view::npos) return false;
  ++*i;
  return true;
}

}  // namespace

std::optional<int64_t> ParseMoment(std::string_view t, int64_t now_ns) {
  if (auto ago = ParseDuration(t)) return now_ns - ago->count();
  std::tm tm{};
  size_t i = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(t, &i, 4, &year) || !Expect(t, &i, "-") || !Digits(t, &i, 2, &month) || !Expect(t, &i, "-") ||
      !Digits(t, &i, 2, &day) || !Expect(t, &i, "Tt ") || !Digits(t, &i, 2, &hour) || !Expect(t, &i, ":") ||
      !Digits(t, &i, 2, &minute) || !Expect(t, &i, ":") || !Digits(t, &i, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  int64_t frac_ns = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int64_t scale = 100'000'000;
    const size_t start = i;
    for (; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); ++i) {
      frac_ns += (t[i] - '0') * scale;
      scale /= 10;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    const int sign = t[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!Digits(t, &i, 2, &oh) || !Expect(t, &i, ":") || !Digits(t, &i, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t secs = timegm(&tm);
  return (static_cast<int64_t>(secs) - offset_s) * 1'000'000'000 + frac_ns;
}

}  // namespace sagadb::tool
