// Node-API module init: the classes and functions of native/glue/ (softdirty's internals included).
#include <napi.h>

#include "glue/glue.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Region", cowbench::RegionClass(env));
  exports.Set("Workload", cowbench::WorkloadClass(env));
  exports.Set("Sink", cowbench::SinkClass(env));
  exports.Set("Snapshot", cowbench::SnapshotClass(env));
  cowbench::ExportFunctions(env, exports);
  exports.Set("softdirty", cowbench::SoftdirtyExports(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
