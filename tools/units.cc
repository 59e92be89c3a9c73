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

}  // namespace sagadb::tool
