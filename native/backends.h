// The native backend registry (backends.cc): the one place that lists the backend folders. Only
// the glue, which sits above every folder, creates backends by name.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/backend.h"
#include "common/options.h"

namespace cowbench {

// Constructs the backend registered under `name`, converting its own options from `options`: an
// unknown key or a bad value is EINVAL.
Status CreateBackend(const std::string& name, const OptionBag& options, std::unique_ptr<Backend>* out);

// Each registered backend's option keys, in declaration order (checked against TypeScript's).
std::vector<std::pair<std::string, std::vector<std::string>>> BackendOptionKeys();

}  // namespace cowbench
