// The per-fault round trip of a backend, measured on its real fault path: prepare and arm the
// backend over a region, then, without running its copier, write one byte to each page in turn
// from this thread and time each write. Every write is a first write to an unsaved page, so each
// sample is one full fault: delivery, the backend's copy into its buffer, un-protection, return.
#pragma once

#include <memory>
#include <vector>

#include "backend.h"
#include "region.h"
#include "sink.h"
#include "status.h"

namespace cowbench {

// `backend` is created by the caller (native/backends.h).
Status MeasureFaultLatency(std::unique_ptr<Backend> backend, Region& region, Sink& sink, const SessionOptions& options,
                           std::vector<double>* samplesNs, SnapshotMetrics* metrics);

}  // namespace cowbench
