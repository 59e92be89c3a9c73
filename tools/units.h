// Parsing and printing of sizes ("10GiB", "512MiB", "4096") and times for the sagadb tool.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sagadb::tool {

// Accepts a positive integer with an optional unit: B, KiB, MiB, GiB, TiB (also K, M, G, T and KB/MB/GB/TB,
// read as powers of 1024). nullopt for anything else, zero, or overflow.
std::optional<uint64_t> ParseSize(std::string_view text);
// "10 GiB", "1.5 MiB", "512 B".
std::string FormatSize(uint64_t bytes);
// RFC 3339 UTC with milliseconds ("2026-11-24T16:05:01.123Z"); "" for 0.
std::string FormatTime(int64_t ns);
// "12.3 ms", "1.20 s".
std::string FormatDuration(int64_t ns);
// "45s", "12m", "3h 20m", "4d 2h": a long span, to the two largest units.
std::string FormatSpan(int64_t ns);
// A positive whole number with a unit: ms, s, m (minutes), h, d, w. "30m", "2h", "7d". nullopt otherwise.
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text);
// A moment, in ns since the epoch: RFC 3339 ("2026-11-24T16:05:01Z", "2026-11-24T17:05:01.5+01:00") or a
// duration before `now_ns` ("2h": two hours ago). nullopt otherwise.
std::optional<int64_t> ParseMoment(std::string_view text, int64_t now_ns);

}  // namespace sagadb::tool
