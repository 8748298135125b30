// A plain-text table with aligned columns, the shape of every human listing.
#pragma once

#include <string>
#include <vector>

namespace sched::sessionctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);

  // Short rows are padded with empty cells; extra cells are dropped.
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }

  // Header line then one line per row, columns two spaces apart, no
  // trailing spaces; every line ends in '\n'.
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sched::sessionctl
