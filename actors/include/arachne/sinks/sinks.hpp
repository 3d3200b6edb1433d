#pragma once

#include <cstdint>
#include <string>

#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "arachne/actor_types.hpp"

namespace arachne {

/// The default size at which a WARC file is closed and the next one begun.
constexpr uint64_t default_warc_max_bytes = uint64_t{1} << 30;

/// Opens a built-in sink from its `--out` spec: `jsonl:PATH` (`.gz` for
/// gzip, `-` for standard output), `sqlite:PATH`, `warc:PATH` (`.warc` or
/// `.warc.gz`, rotated at `warc_max_bytes`), `null` or `stats` (count only).
/// Fails with a one-line message for a bad spec or a file it cannot create.
/// With `append`, files are added to instead of replaced (a sink opened again
/// after a failure).
caf::expected<sink_actor> open_sink(caf::actor_system& sys, const std::string& spec,
                                    uint64_t warc_max_bytes = default_warc_max_bytes,
                                    bool append = false);

/// One sink in front of several: every message goes to each, the reply comes
/// once all have answered (the first error wins).
sink_actor spawn_sink_fanout(caf::actor_system& sys, std::vector<sink_actor> sinks);

} // namespace arachne
