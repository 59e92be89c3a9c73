// Parsing and printing of sizes ("10GiB", "512MiB", "4096") and times for the sagadb tool.
#pragma once

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

}  // namespace sagadb::tool
