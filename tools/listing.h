// How the sagadb tool prints a page of a listing, in each of its three forms, one row at a time (a page is never
// held whole, so `--limit 0` streams a listing of any length):
//   table   a header line, one line per row, then, if the page is full, "(more: --after <cursor>)"
//   --json  one JSON document for the page: {"<items>": [ ...rows... ], "next": "<cursor>" | null}
//   --jsonl one JSON object per line, one per row; if the page is full, a last line {"next": "<cursor>"}
// The cursor is the id of the page's last row: `--after <cursor>` gives the next page (which may be empty).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace sagadb::tool {

enum class ListFormat { kTable, kJson, kJsonl };

class PageWriter {
 public:
  // `items` names the rows' array in the JSON document ("sagas", "instances", "disks"). Prints the table
  // header, or opens the document.
  PageWriter(ListFormat format, std::string items, const std::string& table_header);
  // Prints one row: `row` as JSON, or `line` (without its newline) as a table row.
  void Row(const nlohmann::json& row, const std::string& line);
  // Ends the page; `next` is set when the page is full.
  void End(const std::optional<std::string>& next);

 private:
  ListFormat format_;
  std::string items_;
  size_t rows_ = 0;
};

}  // namespace sagadb::tool
