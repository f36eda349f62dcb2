// Table: rows of text printed as aligned columns, the way `clownix ... ls` shows things.
#ifndef CLOWNIX_CLIENTS_CLI_TABLE_H_
#define CLOWNIX_CLIENTS_CLI_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

namespace clownix::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // Adds a row; missing cells are blank, extra cells are a bug (abort).
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Columns separated by two spaces, each as wide as its widest cell (the last one unpadded,
  // so lines carry no trailing blanks). Widths count UTF-8 characters, not bytes.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_TABLE_H_
