// The Node-API glue's shared pieces: the one Error shape ({code, syscall, errno, message}), the
// promise worker every blocking step runs on, option readers, and how the glue's objects reach
// each other's native state. No snapshot logic lives in the glue.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "../common/backend.h"
#include "../common/histogram.h"
#include "../common/options.h"
#include "../common/region.h"
#include "../common/sink.h"
#include "../common/status.h"
#include "../common/thread.h"
#include "../common/workload.h"

namespace cowbench {

Napi::Error ToError(Napi::Env env, const Status& st);
void ThrowIf(Napi::Env env, const Status& st);
// Inside a catch: the C++ exception (std::bad_alloc, std::system_error, ...) as a named Status.
Status StatusFromException(const char* step);

// Runs `work` off the event loop; resolves with `result(env)` or rejects with the Status. A C++
// exception inside the work rejects too (as a named Status): the promise always settles.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Result = std::function<Napi::Value(Napi::Env)>;
  static Napi::Promise Run(const char* step, Napi::Object keepAlive, std::function<Status()> work,
                           Result result = nullptr) {
    auto* w = new PromiseWorker(step, keepAlive, std::move(work), std::move(result));
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 private:
  PromiseWorker(const char* step, Napi::Object keepAlive, std::function<Status()> work, Result result)
      : Napi::AsyncWorker(keepAlive.Env()),
        step_(step),
        keepAlive_(Napi::Persistent(keepAlive)),
        deferred_(Napi::Promise::Deferred::New(keepAlive.Env())),
        work_(std::move(work)),
        result_(std::move(result)) {}
  void Execute() override {
    try {
      status_ = work_();
    } catch (...) {
      status_ = StatusFromException(step_);
      SetError(status_.message);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) {
      deferred_.Reject(ToError(env, status_).Value());
      return;
    }
    try {
      deferred_.Resolve(result_ ? result_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(ToError(env, StatusFromException(step_)).Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    // status_ is still Ok when the exception escaped Execute()'s own handler (naming it
    // allocates, and under an address-space limit that can throw std::bad_alloc again).
    const std::string what = e.Message();
    deferred_.Reject(!status_.ok() ? ToError(env, status_).Value()
                     : what.find("bad_alloc") != std::string::npos
                         ? ToError(env, OutOfMemory(std::string("in the ") + step_ + " step")).Value()
                         : ToError(env, Status::Fail("EEXCEPTION", std::string(step_) + ": " + what)).Value());
  }
  const char* step_;
  Napi::ObjectReference keepAlive_;  // the wrapped object the work runs on stays alive
  Napi::Promise::Deferred deferred_;
  std::function<Status()> work_;
  Result result_;
  Status status_;
};

inline std::string StringOpt(Napi::Object o, const char* key, const std::string& def) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : def;
}
inline double NumberOpt(Napi::Object o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
}
inline bool BoolOpt(Napi::Object o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

Napi::Object LatencyObject(Napi::Env env, const Histogram::Snapshot& h);

// The classes (glue/<object>.cc) and the native object behind a JS instance of each.
Napi::Function RegionClass(Napi::Env env);
Region& RegionOf(Napi::Object region);
Napi::Function WorkloadClass(Napi::Env env);
Workload& WorkloadOf(Napi::Object workload);
Napi::Function SinkClass(Napi::Env env);
Sink& SinkOf(Napi::Object sink);
Napi::Function SnapshotClass(Napi::Env env);

// The shared session options (test hooks included, in one `inject` object), and one backend's own
// options as the bag its factory converts.
SessionOptions SessionOptionsFrom(Napi::Object o);
OptionBag OptionBagFrom(Napi::Env env, Napi::Value v);

// `softdirty`: the softdirty backend's internals for tests and the scan suite (glue/softdirty.cc).
Napi::Object SoftdirtyExports(Napi::Env env);

// verifyImage, probe, probeWriter, regionWritable, plainCopy, calibrate, measureFaultLatency,
// backendOptionKeys (glue/functions.cc).
void ExportFunctions(Napi::Env env, Napi::Object exports);

}  // namespace cowbench
