// The writer kinds: how one write reaches a page.
#include <memory>

#include "stamp.h"
#include "writers.h"

namespace cowbench {
namespace {

// A plain CPU store of the stamps.
class CpuWriter final : public PageWriter {
 public:
  const char* kind() const override { return "cpu"; }
  int write(char* page, uint32_t pageIndex, uint32_t version) override {
    WriteStamp(page, pageIndex, version);
    return 0;
  }
};

}  // namespace

Status CreatePageWriter(const std::string& kind, size_t /*index*/, Region& /*region*/,
                        std::unique_ptr<PageWriter>* out) {
  if (kind == "cpu") {
    *out = std::make_unique<CpuWriter>();
    return Status::Ok();
  }
  return Status::Fail("EINVAL", "unknown writer kind '" + kind + "'");
}

}  // namespace cowbench
