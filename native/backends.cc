// The native backend registry: the one place that lists the backend folders.
#include "backends.h"

#include "common/no_throw_backend.h"
#include "forkcow/forkcow_backend.h"
#include "mprotect/mprotect_backend.h"
#include "softdirty/softdirty_backend.h"
#include "uffd/uffd_backend.h"

namespace cowbench {
namespace {

struct BackendEntry {
  const char* name;
  Status (*create)(const char* name, const OptionBag& options, std::unique_ptr<Backend>* out);
  std::vector<std::string> (*optionKeys)(const char* name);
};

// A backend class with `using Options = ...;` and a constructor taking them.
template <typename B>
constexpr BackendEntry Entry(const char* name) {
  return {name,
          [](const char* n, const OptionBag& bag, std::unique_ptr<Backend>* out) {
            typename B::Options options;
            Status st = ReadOptions(n, bag, &options);
            if (st.ok()) *out = std::make_unique<B>(options);
            return st;
          },
          [](const char* n) { return OptionKeys<typename B::Options>(n); }};
}

const BackendEntry kBackends[] = {
    Entry<UffdBackend>("uffd"),
    Entry<MprotectBackend>("mprotect"),
    Entry<ForkcowBackend>("forkcow"),
    Entry<SoftdirtyBackend>("softdirty"),
};

}  // namespace

// Every backend is wrapped so that none of its steps throws (common/no_throw_backend.h).
Status CreateBackend(const std::string& name, const OptionBag& options, std::unique_ptr<Backend>* out) {
  try {
    for (const BackendEntry& e : kBackends) {
      if (name != e.name) continue;
      Status st = e.create(e.name, options, out);
      if (st.ok()) *out = std::make_unique<NoThrowBackend>(std::move(*out));
      return st;
    }
  } catch (const std::bad_alloc&) {
    return OutOfMemory("allocating the " + name + " backend");
  }
  return Status::Fail("EINVAL", "unknown backend '" + name + "'");
}

std::vector<std::pair<std::string, std::vector<std::string>>> BackendOptionKeys() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const BackendEntry& e : kBackends) out.emplace_back(e.name, e.optionKeys(e.name));
  return out;
}

}  // namespace cowbench
