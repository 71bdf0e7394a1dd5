// The native backend registry: the one place that lists the backend folders.
#include "common/backend.h"
#include "common/no_throw_backend.h"
#include "forkcow/forkcow_backend.h"
#include "mprotect/mprotect_backend.h"
#include "softdirty/softdirty_backend.h"
#include "uffd/uffd_backend.h"

namespace cowbench {

namespace {

Status CreateNamedBackend(const std::string& name, std::unique_ptr<Backend>* out) {
  if (name == "uffd") {
    *out = std::make_unique<UffdBackend>();
    return Status::Ok();
  }
  if (name == "softdirty") {
    *out = std::make_unique<SoftdirtyBackend>();
    return Status::Ok();
  }
  if (name == "mprotect") {
    *out = std::make_unique<MprotectBackend>();
    return Status::Ok();
  }
  if (name == "forkcow") {
    *out = std::make_unique<ForkcowBackend>();
    return Status::Ok();
  }
  return Status::Fail("EINVAL", "unknown backend '" + name + "'");
}

}  // namespace

// Every backend is wrapped so that none of its steps throws (common/no_throw_backend.h).
Status CreateBackend(const std::string& name, std::unique_ptr<Backend>* out) {
  try {
    Status st = CreateNamedBackend(name, out);
    if (st.ok()) *out = std::make_unique<NoThrowBackend>(std::move(*out));
    return st;
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the " + name + " backend");
  }
}

}  // namespace cowbench
