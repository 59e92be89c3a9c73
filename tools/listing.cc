#include "tools/listing.h"

#include <iostream>

namespace sagadb::tool {
namespace {

// `j` as PrintJson prints a document (2-space indents), nested `depth` levels deep.
std::string Indented(const nlohmann::json& j, int depth) {
  std::string text = j.dump(2);
  const std::string pad(2 * depth, ' ');
  std::string out = pad;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

}  // namespace

PageWriter::PageWriter(ListFormat format, std::string items, const std::string& table_header)
    : format_(format), items_(std::move(items)) {
  if (format_ == ListFormat::kTable) std::cout << table_header << "\n";
  if (format_ == ListFormat::kJson) std::cout << "{\n  " << nlohmann::json(items_).dump() << ": [";
}

void PageWriter::Row(const nlohmann::json& row, const std::string& line) {
  switch (format_) {
    case ListFormat::kTable: std::cout << line << "\n"; break;
    case ListFormat::kJsonl: std::cout << row.dump() << "\n"; break;
    case ListFormat::kJson: std::cout << (rows_ == 0 ? "\n" : ",\n") << Indented(row, 2); break;
  }
  rows_++;
}

void PageWriter::End(const std::optional<std::string>& next) {
  const nlohmann::json cursor = next ? nlohmann::json(*next) : nlohmann::json(nullptr);
  switch (format_) {
    case ListFormat::kTable:
      if (next) std::cout << "(more: --after " << *next << ")\n";
      break;
    case ListFormat::kJsonl:
      if (next) std::cout << nlohmann::json{{"next", cursor}}.dump() << "\n";
      break;
    case ListFormat::kJson:
      std::cout << (rows_ == 0 ? "],\n" : "\n  ],\n") << "  \"next\": " << cursor.dump() << "\n}\n";
      break;
  }
  std::cout.flush();
}

}  // namespace sagadb::tool
