#pragma once

#include <memory>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "arachne/actor_types.hpp"

namespace arachne {

/// The easy way to write a sink: implement "store these records" and "make
/// them durable"; `spawn_sink` turns it into a `sink_actor` that answers the
/// protocol (acks return credit, flush replies once `flush` returned). One
/// object is only ever called from one actor at a time: no locks needed.
///
/// An exception from any member crashes the sink: the crawl reports it with
/// the records it had not acknowledged (see docs/writing-a-sink.md).
class sink_base {
public:
  virtual ~sink_base();

  /// A crawl starts; says what the records should carry for this sink.
  virtual sink_needs open(const crawl_info& info);

  /// Stores a batch (page records, failure records and items, in order).
  virtual void store(std::vector<record>& records) = 0;

  /// The crawl is over, or asks for durability: make everything stored so far durable.
  virtual void flush();
};

/// Runs `impl` as a sink actor on `sys`.
sink_actor spawn_sink(caf::actor_system& sys, std::unique_ptr<sink_base> impl);

} // namespace arachne
