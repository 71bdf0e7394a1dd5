// The writer-kind registry: how one write reaches a page. The one list of the kinds; each kind
// other than cpu lives beside it in native/writers/.
#include "writer_kinds.h"

#include <time.h>

#include <memory>

#include "../common/stamp.h"
#include "kernel_writers.h"
#include "kvm_writer.h"

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

// The PageWriter of a kind driven by the default page loop.
Status CreatePageWriter(const std::string& kind, Region& region, std::unique_ptr<PageWriter>* out) {
  if (kind == "cpu") {
    *out = std::make_unique<CpuWriter>();
    return Status::Ok();
  }
  if (kind == "read") return CreatePipeReadWriter(out);
  if (kind == "io_uring") return CreateIoUringWriter(out);
  if (kind == "pvm") return CreateProcessVmWriter(region, out);
  return Status::Fail("EINVAL", "unknown writer kind '" + kind + "'");
}

}  // namespace

Status CreateWriterThread(const WriterConfig& config, size_t index, Region& region,
                          std::unique_ptr<WriterThread>* out) {
  const std::string& kind = config.kinds[index];
  // Kinds that run their own loop.
  if (kind == "kvm") return CreateKvmWriter(config, index, region, out);
  // Kinds driven by the default page loop.
  std::unique_ptr<PageWriter> writer;
  Status st = CreatePageWriter(kind, region, &writer);
  if (st.ok()) *out = MakePageLoop(std::move(writer));
  return st;
}

Status ProbeWriterKind(const std::string& kind) {
  Region scratch;
  Status st = scratch.create(64 * kPageSize, false, FillMode::kAll);
  if (!st.ok()) return st;
  Workload workload(scratch, &CreateWriterThread);
  WriterConfig config;
  config.kinds = {kind};
  config.pattern = Pattern::kSequential;
  st = workload.start(config);
  if (!st.ok()) return st;
  const uint64_t deadline = NowNs() + 5000000000ull;
  PhaseStats s;
  do {
    struct timespec ms {
      0, 1000000
    };
    nanosleep(&ms, nullptr);
    s = workload.phaseStats();
  } while (s.writes + s.failedWrites < 16 && NowNs() < deadline);
  workload.quiesce();
  const std::vector<uint32_t> versions = workload.versions();
  size_t advanced = 0, bad = 0;
  for (size_t p = 0; p < versions.size(); ++p) {
    if (versions[p] > 1) ++advanced;
    if (ReadStampVersion(scratch.base() + p * kPageSize, static_cast<uint32_t>(p)) != versions[p]) ++bad;
  }
  workload.resume();
  workload.stop();
  s = workload.phaseStats();
  std::string exits;
  for (auto& [r, n] : s.exitReasons) exits += " " + r + "=" + std::to_string(n);
  if (bad || s.failedWrites || advanced == 0)
    return Status::Fail("ESYS", "writer '" + kind + "' on a scratch region: " + std::to_string(s.writes) + " writes, " +
                                    std::to_string(s.failedWrites) + " failed, " + std::to_string(bad) +
                                    " pages not holding the version written" +
                                    (exits.empty() ? "" : "; exits:" + exits));
  return Status::Ok();
}

}  // namespace cowbench
