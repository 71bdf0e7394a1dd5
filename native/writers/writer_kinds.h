// The writer-kind registry (writer_kinds.cc, the one list of the kinds): what the glue hands a
// Workload as its writer factory, and the behavioural probe of one kind.
#pragma once

#include <memory>
#include <string>

#include "../common/region.h"
#include "../common/status.h"
#include "../common/workload.h"

namespace cowbench {

// Creates the body of thread `index` of `config` for its kind ("cpu", "read", "kvm", ...), or
// fails with EUNSUPPORTED naming what the machine lacks. A Workload's WriterFactory.
Status CreateWriterThread(const WriterConfig& config, size_t index, Region& region, std::unique_ptr<WriterThread>* out);

// Runs a writer kind alone on a small scratch region and checks its stamps really land: the
// behavioural probe behind `cowbench compat`'s "unsupported". Fails with EUNSUPPORTED (and the
// reason) where the machine lacks what the kind needs.
Status ProbeWriterKind(const std::string& kind);

}  // namespace cowbench
