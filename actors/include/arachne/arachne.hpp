#pragma once

// Everything a crawler program needs: run_app (a program run as `arachne
// crawl` runs), the configuration, the crawl facade, pages and their
// helpers, the protocol, the built-in sinks, and CAF_MAIN with the
// middleman for programs that run their own actor system.

#include "caf/actor_system.hpp"
#include "caf/exec_main.hpp"
#include "caf/io/middleman.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/app.hpp"
#include "arachne/config.hpp"
#include "arachne/crawl.hpp"
#include "arachne/messages.hpp"
#include "arachne/page.hpp"
#include "arachne/sink.hpp"
#include "arachne/url.hpp"
#include "arachne/sinks/jsonl_sink.hpp"
#include "arachne/sinks/sinks.hpp"
#include "arachne/sinks/sqlite_sink.hpp"
#include "arachne/sinks/stats_sink.hpp"
#include "arachne/sinks/warc_sink.hpp"
