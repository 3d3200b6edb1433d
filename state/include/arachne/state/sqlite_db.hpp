#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace arachne {

/// An SQLite failure: what() says what failed and SQLite's message; `code`
/// is SQLite's primary result code (SQLITE_FULL for a full disk, ...).
class sqlite_error : public std::runtime_error {
public:
  sqlite_error(const std::string& what, int code) : std::runtime_error(what), code(code) {}
  int code;
};

/// One SQLite connection, owned by one actor at a time.
class sqlite_db {
public:
  /// Opens the database at `path`, creating it unless `create` is false.
  /// Throws `sqlite_error`.
  explicit sqlite_db(const std::string& path, bool create = true);
  ~sqlite_db();

  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  sqlite3* get() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

  /// Runs one or more statements; throws `sqlite_error`.
  void exec(const char* sql);

  /// Runs `sql` ignoring failure (a ROLLBACK after an error).
  void exec_quietly(const char* sql) noexcept;

  /// Throws `sqlite_error` for the connection's last error, prefixed by `what`.
  [[noreturn]] void fail(const std::string& what) const;

private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

/// A prepared statement: bind, then `run` (no rows) or `next` (rows).
class sqlite_stmt {
public:
  /// Throws `sqlite_error` if `sql` does not compile.
  sqlite_stmt(const sqlite_db& db, const char* sql);
  ~sqlite_stmt();

  sqlite_stmt(const sqlite_stmt&) = delete;
  sqlite_stmt& operator=(const sqlite_stmt&) = delete;

  sqlite_stmt& text(int i, std::string_view s);
  sqlite_stmt& number(int i, int64_t v);
  sqlite_stmt& real(int i, double v);

  /// Steps a statement without rows to its end and resets it; throws.
  void run();

  /// Steps to the next row: true if there is one, false at the end (the
  /// statement is then reset); throws.
  bool next();

  int64_t number_at(int col) const;
  double real_at(int col) const;
  std::string_view text_at(int col) const;

  /// Ends a query early and clears its bindings.
  void reset() noexcept;

private:
  const sqlite_db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

} // namespace arachne
