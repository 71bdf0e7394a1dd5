// The Workload class: the writer threads over a region.
#include <algorithm>

#include "../writers/writer_kinds.h"
#include "glue.h"

namespace cowbench {
namespace {

class WorkloadWrap : public Napi::ObjectWrap<WorkloadWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "Workload",
        {InstanceMethod("start", &WorkloadWrap::Start), InstanceMethod("stop", &WorkloadWrap::Stop),
         InstanceMethod("quiesce", &WorkloadWrap::Quiesce), InstanceMethod("resume", &WorkloadWrap::Resume),
         InstanceMethod("beginPhase", &WorkloadWrap::BeginPhase),
         InstanceMethod("phaseStats", &WorkloadWrap::PhaseStatsJs), InstanceMethod("mark", &WorkloadWrap::Mark),
         InstanceMethod("timeline", &WorkloadWrap::Timeline), InstanceMethod("versions", &WorkloadWrap::Versions)});
  }
  // new Workload(region)
  explicit WorkloadWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WorkloadWrap>(info) {
    Napi::Object r = info[0].As<Napi::Object>();
    regionRef_ = Napi::Persistent(r);
    workload = std::make_unique<Workload>(RegionOf(r), &CreateWriterThread);
  }
  std::unique_ptr<Workload> workload;

 private:
  // start({kinds: string[], pattern, rate, seed})
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Object o = info[0].As<Napi::Object>();
    WriterConfig c;
    Napi::Array kinds = o.Get("kinds").As<Napi::Array>();
    for (uint32_t i = 0; i < kinds.Length(); ++i) c.kinds.push_back(kinds.Get(i).As<Napi::String>().Utf8Value());
    std::string pattern = StringOpt(o, "pattern", "random");
    c.pattern = pattern == "sequential" ? Pattern::kSequential
                : pattern == "hotset"   ? Pattern::kHotset
                                        : Pattern::kRandom;
    c.ratePagesPerSec = NumberOpt(o, "rate", 0);
    c.seed = static_cast<uint64_t>(NumberOpt(o, "seed", 1));
    ThrowIf(info.Env(), workload->start(c));
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    return PromiseWorker::Run("workload stop", Value(), [this] {
      workload->stop();
      return Status::Ok();
    });
  }
  Napi::Value Quiesce(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(workload->quiesce()));
  }
  Napi::Value Resume(const Napi::CallbackInfo& info) {
    workload->resume();
    return info.Env().Undefined();
  }
  Napi::Value BeginPhase(const Napi::CallbackInfo& info) {
    workload->beginPhase();
    return info.Env().Undefined();
  }
  Napi::Value PhaseStatsJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PhaseStats s = workload->phaseStats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("writes", Napi::Number::New(env, static_cast<double>(s.writes)));
    o.Set("failed_writes", Napi::Number::New(env, static_cast<double>(s.failedWrites)));
    Napi::Object byErrno = Napi::Object::New(env);
    for (auto& [e, n] : s.failedByErrno)
      byErrno.Set(Status::ErrnoName(e), Napi::Number::New(env, static_cast<double>(n)));
    o.Set("failed_by_errno", byErrno);
    auto counts = [&](const std::map<std::string, uint64_t>& m) {
      Napi::Object c = Napi::Object::New(env);
      for (auto& [k, n] : m) c.Set(k, Napi::Number::New(env, static_cast<double>(n)));
      return c;
    };
    o.Set("writes_by_kind", counts(s.writesByKind));
    o.Set("failed_by_kind", counts(s.failedByKind));
    o.Set("exit_reasons", counts(s.exitReasons));
    o.Set("elapsed_ns", Napi::Number::New(env, static_cast<double>(s.elapsedNs)));
    o.Set("latency", LatencyObject(env, s.latency));
    return o;
  }
  // mark(name): a named moment on the writer-throughput timeline.
  Napi::Value Mark(const Napi::CallbackInfo& info) {
    workload->mark(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  }
  // timeline(): {bucket_ns, first_bucket, writes: number[], marks: [{name, ns}]}
  Napi::Value Timeline(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TimelineSnapshot t = workload->timeline();
    Napi::Object o = Napi::Object::New(env);
    o.Set("bucket_ns", Napi::Number::New(env, static_cast<double>(t.bucketNs)));
    o.Set("first_bucket", Napi::Number::New(env, static_cast<double>(t.firstBucket)));
    Napi::Array writes = Napi::Array::New(env, t.writes.size());
    for (size_t i = 0; i < t.writes.size(); ++i)
      writes.Set(i, Napi::Number::New(env, static_cast<double>(t.writes[i])));
    o.Set("writes", writes);
    Napi::Array marks = Napi::Array::New(env, t.marks.size());
    for (size_t i = 0; i < t.marks.size(); ++i) {
      Napi::Object m = Napi::Object::New(env);
      m.Set("name", t.marks[i].name);
      m.Set("ns", Napi::Number::New(env, static_cast<double>(t.marks[i].ns)));
      marks.Set(i, m);
    }
    o.Set("marks", marks);
    return o;
  }
  // Only meaningful while quiesced or stopped.
  Napi::Value Versions(const Napi::CallbackInfo& info) {
    const auto& v = workload->versions();
    auto arr = Napi::Uint32Array::New(info.Env(), v.size());
    std::copy(v.begin(), v.end(), arr.Data());
    return arr;
  }
  Napi::ObjectReference regionRef_;
};

}  // namespace

Napi::Function WorkloadClass(Napi::Env env) { return WorkloadWrap::Init(env); }
Workload& WorkloadOf(Napi::Object workload) { return *WorkloadWrap::Unwrap(workload)->workload; }

}  // namespace cowbench
