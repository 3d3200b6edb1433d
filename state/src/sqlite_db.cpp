#include "arachne/state/sqlite_db.hpp"

#include <sqlite3.h>

namespace arachne {

sqlite_db::sqlite_db(const std::string& path, bool create) : path_(path) {
  auto flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    auto code = db_ != nullptr ? sqlite3_errcode(db_) : SQLITE_NOMEM;
    sqlite3_close(db_);
    db_ = nullptr;
    throw sqlite_error("cannot open SQLite database '" + path + "': " + msg, code);
  }
  sqlite3_extended_result_codes(db_, 0);
}

sqlite_db::~sqlite_db() {
  sqlite3_close(db_);
}

void sqlite_db::exec(const char* sql) {
  char* err = nullptr;
  auto rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw sqlite_error("sqlite '" + path_ + "': " + msg, rc);
  }
}

void sqlite_db::exec_quietly(const char* sql) noexcept {
  sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

void sqlite_db::fail(const std::string& what) const {
  throw sqlite_error(what + " '" + path_ + "': " + sqlite3_errmsg(db_), sqlite3_errcode(db_));
}

sqlite_stmt::sqlite_stmt(const sqlite_db& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db.get(), sql, -1, &stmt_, nullptr) != SQLITE_OK)
    db.fail("sqlite");
}

sqlite_stmt::~sqlite_stmt() {
  sqlite3_finalize(stmt_);
}

sqlite_stmt& sqlite_stmt::text(int i, std::string_view s) {
  sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  return *this;
}

sqlite_stmt& sqlite_stmt::number(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

sqlite_stmt& sqlite_stmt::real(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

void sqlite_stmt::run() {
  if (next()) {
    reset();
    throw sqlite_error("sqlite '" + db_.path() + "': a statement returned rows", SQLITE_MISUSE);
  }
}

bool sqlite_stmt::next() {
  auto rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc != SQLITE_DONE) {
    // The message before the reset, which may replace it.
    sqlite_error err{"sqlite '" + db_.path() + "': " + sqlite3_errmsg(db_.get()), rc};
    reset();
    throw err;
  }
  reset();
  return false;
}

int64_t sqlite_stmt::number_at(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

double sqlite_stmt::real_at(int col) const {
  return sqlite3_column_double(stmt_, col);
}

std::string_view sqlite_stmt::text_at(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p == nullptr ? std::string_view{}
                      : std::string_view{p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

void sqlite_stmt::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

} // namespace arachne
