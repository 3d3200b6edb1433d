#pragma once

#include <string>
#include <string_view>

namespace arachne {

/// Appends `s` as a JSON string literal: quotes, escapes, and U+FFFD for
/// bytes that are not valid UTF-8 (page text is not always what it claims).
void append_json_string(std::string& out, std::string_view s);

} // namespace arachne
