// The Snapshot class: one SnapshotSession driven step by step from JavaScript.
#include <algorithm>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "../backends.h"
#include "../common/snapshot_session.h"
#include "glue.h"

namespace cowbench {

namespace {

// `o[key]`, a string naming one of `names`' values; `def` when left out. Another value is EINVAL.
template <typename E>
E ChoiceOpt(Napi::Object o, const char* key, const std::vector<std::pair<const char*, E>>& names, E def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  std::string known;
  for (const auto& [n, e] : names) {
    if (name == n) return e;
    known += known.empty() ? n : std::string(", ") + n;
  }
  throw ToError(o.Env(), Status::Fail("EINVAL", std::string("inject.") + key + " must be one of: " + known));
}

// The test hooks (NativeSessionOptions.inject), all off when left out.
Inject InjectFrom(Napi::Value v) {
  Inject inject;
  if (!v.IsObject()) return inject;
  Napi::Object o = v.As<Napi::Object>();
  inject.fault = ChoiceOpt<InjectFault>(o, "fault",
                                        {{"skip-copy-before-write", InjectFault::kSkipCopyBeforeWrite},
                                         {"skip-fault-around-page", InjectFault::kSkipFaultAroundPage},
                                         {"skip-expected-log", InjectFault::kSkipExpectedLog}},
                                        InjectFault::kNone);
  inject.sinkDelayUs = static_cast<unsigned>(NumberOpt(o, "sinkDelayUs", 0));
  inject.childDelayMs = static_cast<unsigned>(NumberOpt(o, "childDelayMs", 0));
  inject.copierDelayUs = static_cast<unsigned>(NumberOpt(o, "copierDelayUs", 0));
  inject.throwInPrepare = ChoiceOpt<InjectThrow>(o, "throw",
                                                 {{"bad_alloc", InjectThrow::kBadAlloc},
                                                  {"system_error", InjectThrow::kSystemError},
                                                  {"exception", InjectThrow::kException}},
                                                 InjectThrow::kNone);
  return inject;
}

}  // namespace

SessionOptions SessionOptionsFrom(Napi::Object o) {
  SessionOptions opts;
  opts.bufferBytes = static_cast<size_t>(NumberOpt(o, "bufferBytes", static_cast<double>(opts.bufferBytes)));
  opts.bufferPolicy = StringOpt(o, "bufferPolicy", "block") == "fail" ? BufferPolicy::kFail : BufferPolicy::kBlock;
  opts.granularityBytes =
      static_cast<size_t>(NumberOpt(o, "granularityBytes", static_cast<double>(opts.granularityBytes)));
  opts.inject = InjectFrom(o.Get("inject"));
  return opts;
}

// A backend's own options ({key: number | boolean | string}) as the bag its factory converts.
OptionBag OptionBagFrom(Napi::Env env, Napi::Value v) {
  OptionBag bag;
  if (v.IsUndefined()) return bag;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "backend options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value x = o.Get(key);
    if (x.IsNumber())
      bag[key] = x.As<Napi::Number>().DoubleValue();
    else if (x.IsBoolean())
      bag[key] = x.As<Napi::Boolean>().Value();
    else if (x.IsString())
      bag[key] = x.As<Napi::String>().Utf8Value();
    else if (!x.IsUndefined())
      throw ToError(env, Status::Fail("EINVAL", "backend option '" + key + "' must be a number, boolean or string"));
  }
  return bag;
}

namespace {

// Test-only (options.inject.throwInPrepare): the exception a failing allocation or thread start throws.
void ThrowInjected(InjectThrow what) {
  switch (what) {
    case InjectThrow::kNone:
      return;
    case InjectThrow::kBadAlloc:
      throw std::bad_alloc();
    case InjectThrow::kSystemError:
      throw std::system_error(EAGAIN, std::generic_category(), "std::thread (injected)");
    case InjectThrow::kException:
      throw std::runtime_error("injected exception");
  }
}

class SnapshotWrap : public Napi::ObjectWrap<SnapshotWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "Snapshot",
        {InstanceMethod("prepare", &SnapshotWrap::Prepare), InstanceMethod("arm", &SnapshotWrap::Arm),
         InstanceMethod("copy", &SnapshotWrap::Copy), InstanceMethod("release", &SnapshotWrap::Release),
         InstanceMethod("abort", &SnapshotWrap::Abort), InstanceMethod("progress", &SnapshotWrap::Progress),
         InstanceMethod("expected", &SnapshotWrap::Expected)});
  }
  // new Snapshot(backendName, region, workload, sink, options, backendOptions)
  explicit SnapshotWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SnapshotWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object r = info[1].As<Napi::Object>(), w = info[2].As<Napi::Object>(), s = info[3].As<Napi::Object>();
    refs_[0] = Napi::Persistent(r);
    refs_[1] = Napi::Persistent(w);
    refs_[2] = Napi::Persistent(s);
    std::unique_ptr<Backend> backend;
    ThrowIf(env, CreateBackend(info[0].As<Napi::String>().Utf8Value(), OptionBagFrom(env, info[5]), &backend));
    ThrowIf(env, SnapshotSession::Create(std::move(backend), RegionOf(r), WorkloadOf(w), SinkOf(s),
                                         SessionOptionsFrom(info[4].As<Napi::Object>()), &session_));
  }

 private:
  // A snapshot collected without release() (a library user's bug) is released by the session.
  Napi::Value Prepare(const Napi::CallbackInfo&) {
    return PromiseWorker::Run("snapshot prepare", Value(), [this] {
      ThrowInjected(session_->context().options.inject.throwInPrepare);
      return session_->prepare();
    });
  }
  Napi::Value Arm(const Napi::CallbackInfo&) {
    return PromiseWorker::Run("snapshot arm", Value(), [this] { return session_->arm(); });
  }
  Napi::Value Copy(const Napi::CallbackInfo&) {
    return PromiseWorker::Run("snapshot copy", Value(), [this] { return session_->copy(); });
  }
  Napi::Value Release(const Napi::CallbackInfo&) {
    return PromiseWorker::Run(
        "snapshot release", Value(),
        [this] {
          session_->release();
          return Status::Ok();
        },
        [this](Napi::Env env) { return MetricsObject(env); });
  }
  Napi::Value Abort(const Napi::CallbackInfo& info) {
    session_->abort(info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "aborted");
    return info.Env().Undefined();
  }
  SnapshotContext& ctx() { return session_->context(); }
  Napi::Value Progress(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(ctx().bytesCopied()));
  }
  Napi::Value Expected(const Napi::CallbackInfo& info) {
    auto arr = Napi::Uint32Array::New(info.Env(), ctx().expected.size());
    std::copy(ctx().expected.begin(), ctx().expected.end(), arr.Data());
    return arr;
  }
  Napi::Value MetricsObject(Napi::Env env) {
    const SnapshotMetrics& m = ctx().metrics;
    Napi::Object o = Napi::Object::New(env);
    auto num = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
    auto list = [&](const std::vector<uint64_t>& v) {
      Napi::Array a = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); ++i) a.Set(i, Napi::Number::New(env, static_cast<double>(v[i])));
      return a;
    };
    o.Set("pauses_ns", list(m.pausesNs));
    o.Set("quiesces_ns", list(m.quiescesNs));
    num("wp_faults", static_cast<double>(m.wpFaults));
    num("pages_copied_before_write", static_cast<double>(m.pagesCopiedBeforeWrite));
    num("buffer_peak_bytes", static_cast<double>(m.bufferPeakBytes));
    num("throttled_ns", static_cast<double>(m.throttledNs));
    num("vma_count_peak", static_cast<double>(m.vmaCountPeak));
    num("extra_memory_peak_bytes", static_cast<double>(m.extraMemoryPeakBytes));
    num("bytes_copied", static_cast<double>(ctx().bytesCopied()));
    Napi::Object extra = Napi::Object::New(env);
    for (auto& [k, v] : m.extra) extra.Set(k, Napi::Number::New(env, v));
    o.Set("extra", extra);
    Napi::Object series = Napi::Object::New(env);
    for (auto& [k, v] : m.series) {
      Napi::Array a = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); ++i) a.Set(i, Napi::Number::New(env, v[i]));
      series.Set(k, a);
    }
    o.Set("series", series);
    Status err = ctx().firstError();
    if (!err.ok()) o.Set("error", ToError(env, err).Value());
    return o;
  }

  Napi::ObjectReference refs_[3];  // region, workload, sink: alive as long as the session
  std::unique_ptr<SnapshotSession> session_;
};

}  // namespace

Napi::Function SnapshotClass(Napi::Env env) { return SnapshotWrap::Init(env); }

}  // namespace cowbench
