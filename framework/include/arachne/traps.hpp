#pragma once

#include <cstdint>
#include <string_view>

namespace arachne {

/// Crawler-trap heuristics on normalised URLs, plain functions the frontier
/// applies to the links it takes up (docs/user-guide.md, "Traps").

/// True if the last 64 segments of `url`'s path hold a run of segments
/// repeated `times` times in a row ("/a/a/a/", "/x/y/x/y/x/y/"): relative
/// links that loop. `times` below 2 never matches.
bool repeats_segments(std::string_view url, uint32_t times) noexcept;

/// True if `a` and `b` have the same origin and paths and queries that
/// differ only in the digits of their numbers, and hold a number
/// ("/calendar/2026/12/" and "/calendar/2027/1/", "?page=3" and "?page=14").
bool same_shape(std::string_view a, std::string_view b) noexcept;

} // namespace arachne
