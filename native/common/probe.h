// Kernel features probed by behaviour, never by return code alone.
#pragma once

#include <string>
#include <vector>

namespace cowbench {

struct ProbeResult {
  std::string name;
  bool ok = false;
  std::string detail;  // what was found, or why it is unavailable
};

// Every probe, in display order.
std::vector<ProbeResult> ProbeAll();

// Individual probes shared with the backends that depend on them.
ProbeResult ProbeUserfaultfd(unsigned long long* features, bool* userModeOnly = nullptr);
ProbeResult ProbeUffdWriteProtect();
ProbeResult ProbePagemapScan();
ProbeResult ProbeSoftDirty();

}  // namespace cowbench
