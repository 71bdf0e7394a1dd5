// Node-API glue: converts options once, runs every blocking step on a worker thread, turns a
// Status into one Error shape ({code, syscall, errno, message}). No snapshot logic lives here.
#include <napi.h>

#include <functional>
#include <memory>

#include "common/backend.h"
#include "common/calibrate.h"
#include "common/fault_latency.h"
#include "common/probe.h"
#include "common/region.h"
#include "common/sink.h"
#include "common/verify.h"
#include "common/writers.h"
#include "softdirty/clear_refs_tracker.h"
#include "softdirty/scan_micro.h"
#include "softdirty/scan_trial.h"

namespace cowbench {
namespace {

Napi::Error ToError(Napi::Env env, const Status& st) {
  Napi::Error e = Napi::Error::New(env, st.message);
  e.Set("code", Napi::String::New(env, st.code));
  if (!st.syscall.empty()) e.Set("syscall", Napi::String::New(env, st.syscall));
  if (st.err) {
    e.Set("errno", Napi::Number::New(env, st.err));
    e.Set("errnoName", Napi::String::New(env, Status::ErrnoName(st.err)));
  }
  return e;
}

void ThrowIf(Napi::Env env, const Status& st) {
  if (!st.ok()) throw ToError(env, st);
}

// Runs `work` off the event loop; resolves with `result(env)` or rejects with the Status.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Result = std::function<Napi::Value(Napi::Env)>;
  static Napi::Promise Run(Napi::Object keepAlive, std::function<Status()> work, Result result = nullptr) {
    auto* w = new PromiseWorker(keepAlive, std::move(work), std::move(result));
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 private:
  PromiseWorker(Napi::Object keepAlive, std::function<Status()> work, Result result)
      : Napi::AsyncWorker(keepAlive.Env()), keepAlive_(Napi::Persistent(keepAlive)),
        deferred_(Napi::Promise::Deferred::New(keepAlive.Env())), work_(std::move(work)),
        result_(std::move(result)) {}
  void Execute() override { status_ = work_(); }
  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) {
      deferred_.Reject(ToError(env, status_).Value());
      return;
    }
    deferred_.Resolve(result_ ? result_(env) : env.Undefined());
  }
  Napi::ObjectReference keepAlive_;  // the wrapped object the work runs on stays alive
  Napi::Promise::Deferred deferred_;
  std::function<Status()> work_;
  Result result_;
  Status status_;
};

std::string StringOpt(Napi::Object o, const char* key, const std::string& def) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : def;
}
double NumberOpt(Napi::Object o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
}
bool BoolOpt(Napi::Object o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

Napi::Object LatencyObject(Napi::Env env, const Histogram::Snapshot& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", Napi::Number::New(env, static_cast<double>(h.total())));
  const std::pair<const char*, double> qs[] = {{"p50_ns", 0.5}, {"p90_ns", 0.9}, {"p99_ns", 0.99}, {"p999_ns", 0.999}};
  for (auto& [k, q] : qs) o.Set(k, Napi::Number::New(env, static_cast<double>(h.quantile(q))));
  o.Set("max_ns", Napi::Number::New(env, static_cast<double>(h.max)));
  return o;
}

// ---- Region ----------------------------------------------------------------------------------
class RegionWrap : public Napi::ObjectWrap<RegionWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Region",
                       {InstanceMethod("init", &RegionWrap::InitRegion), InstanceMethod("release", &RegionWrap::ReleaseRegion),
                        InstanceAccessor("bytes", &RegionWrap::Bytes, nullptr),
                        InstanceAccessor("pages", &RegionWrap::Pages, nullptr)});
  }
  // new Region({bytes, hugepage, fill: 'all'|'none'|'half'})
  explicit RegionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RegionWrap>(info) {
    Napi::Object o = info[0].As<Napi::Object>();
    bytes_ = static_cast<size_t>(NumberOpt(o, "bytes", 0));
    hugepage_ = BoolOpt(o, "hugepage", false);
    std::string fill = StringOpt(o, "fill", "all");
    fill_ = fill == "none" ? FillMode::kNone : fill == "half" ? FillMode::kHalf : FillMode::kAll;
  }
  Region region;

 private:
  Napi::Value InitRegion(const Napi::CallbackInfo& info) {
    return PromiseWorker::Run(Value(), [this] { return region.create(bytes_, hugepage_, fill_); });
  }
  Napi::Value ReleaseRegion(const Napi::CallbackInfo& info) {
    region.release();
    return info.Env().Undefined();
  }
  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(region.bytes())); }
  Napi::Value Pages(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(region.pages())); }
  size_t bytes_ = 0;
  bool hugepage_ = false;
  FillMode fill_ = FillMode::kAll;
};

// ---- Workload --------------------------------------------------------------------------------
class WorkloadWrap : public Napi::ObjectWrap<WorkloadWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Workload",
                       {InstanceMethod("start", &WorkloadWrap::Start), InstanceMethod("stop", &WorkloadWrap::Stop),
                        InstanceMethod("quiesce", &WorkloadWrap::Quiesce), InstanceMethod("resume", &WorkloadWrap::Resume),
                        InstanceMethod("beginPhase", &WorkloadWrap::BeginPhase),
                        InstanceMethod("phaseStats", &WorkloadWrap::PhaseStatsJs),
                        InstanceMethod("versions", &WorkloadWrap::Versions)});
  }
  // new Workload(region)
  explicit WorkloadWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WorkloadWrap>(info) {
    Napi::Object r = info[0].As<Napi::Object>();
    regionRef_ = Napi::Persistent(r);
    workload = std::make_unique<Workload>(RegionWrap::Unwrap(r)->region);
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
    c.pattern = pattern == "sequential" ? Pattern::kSequential : pattern == "hotset" ? Pattern::kHotset : Pattern::kRandom;
    c.ratePagesPerSec = NumberOpt(o, "rate", 0);
    c.seed = static_cast<uint64_t>(NumberOpt(o, "seed", 1));
    ThrowIf(info.Env(), workload->start(c));
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    return PromiseWorker::Run(Value(), [this] {
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
    for (auto& [e, n] : s.failedByErrno) byErrno.Set(Status::ErrnoName(e), Napi::Number::New(env, static_cast<double>(n)));
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
  // Only meaningful while quiesced or stopped.
  Napi::Value Versions(const Napi::CallbackInfo& info) {
    const auto& v = workload->versions();
    auto arr = Napi::Uint32Array::New(info.Env(), v.size());
    std::copy(v.begin(), v.end(), arr.Data());
    return arr;
  }
  Napi::ObjectReference regionRef_;
};

// ---- Sink ------------------------------------------------------------------------------------
class SinkWrap : public Napi::ObjectWrap<SinkWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sink",
                       {InstanceMethod("commit", &SinkWrap::Commit), InstanceMethod("discard", &SinkWrap::Discard),
                        InstanceAccessor("tempPath", &SinkWrap::TempPath, nullptr),
                        InstanceAccessor("isNull", &SinkWrap::IsNull, nullptr),
                        InstanceAccessor("bytesWritten", &SinkWrap::BytesWritten, nullptr)});
  }
  // new Sink(finalPath[, {testTempName}]): creates the 0600 temporary at once. testTempName
  // (tests only) names the first temporary tried, so a test can plant a file or symlink there.
  explicit SinkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SinkWrap>(info) {
    std::string testTempName;
    if (info.Length() > 1 && info[1].IsObject()) testTempName = StringOpt(info[1].As<Napi::Object>(), "testTempName", "");
    ThrowIf(info.Env(), sink.open(info[0].As<Napi::String>().Utf8Value(), testTempName));
  }
  Sink sink;

 private:
  Napi::Value Commit(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), sink.commit(info[0].ToBoolean().Value()));
    return info.Env().Undefined();
  }
  Napi::Value Discard(const Napi::CallbackInfo& info) {
    sink.discard();
    return info.Env().Undefined();
  }
  Napi::Value TempPath(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), sink.tempPath()); }
  Napi::Value IsNull(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), sink.isNull()); }
  Napi::Value BytesWritten(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(sink.bytesWritten()));
  }
};

SnapshotOptions SnapshotOptionsFrom(Napi::Object o) {
  SnapshotOptions opts;
  opts.bufferBytes = static_cast<size_t>(NumberOpt(o, "bufferBytes", static_cast<double>(opts.bufferBytes)));
  opts.bufferPolicy = StringOpt(o, "bufferPolicy", "block") == "fail" ? BufferPolicy::kFail : BufferPolicy::kBlock;
  opts.handlers = static_cast<unsigned>(NumberOpt(o, "handlers", opts.handlers));
  opts.granularityBytes = static_cast<size_t>(NumberOpt(o, "granularityBytes", static_cast<double>(opts.granularityBytes)));
  opts.delivery = StringOpt(o, "delivery", opts.delivery);
  opts.engine = StringOpt(o, "engine", opts.engine);
  opts.finalDirtyPages = static_cast<uint64_t>(NumberOpt(o, "finalDirtyPages", static_cast<double>(opts.finalDirtyPages)));
  opts.maxPasses = static_cast<unsigned>(NumberOpt(o, "maxPasses", opts.maxPasses));
  opts.armThreads = static_cast<unsigned>(NumberOpt(o, "armThreads", opts.armThreads));
  opts.prearm = BoolOpt(o, "prearm", opts.prearm);
  opts.handlerWait = StringOpt(o, "handlerWait", opts.handlerWait);
  opts.handlerCpu = StringOpt(o, "handlerCpu", opts.handlerCpu);
  opts.handlerBatch = BoolOpt(o, "handlerBatch", opts.handlerBatch);
  opts.drainWake = StringOpt(o, "drainWake", opts.drainWake);
  opts.faultAroundPages = static_cast<unsigned>(NumberOpt(o, "faultAroundPages", opts.faultAroundPages));
  opts.copyOrder = StringOpt(o, "copyOrder", opts.copyOrder);
  opts.injectSkipCopyBeforeWrite = BoolOpt(o, "injectSkipCopyBeforeWrite", false);
  opts.injectSkipFaultAroundPage = BoolOpt(o, "injectSkipFaultAroundPage", false);
  opts.injectSinkDelayUs = static_cast<unsigned>(NumberOpt(o, "injectSinkDelayUs", 0));
  opts.injectChildDelayMs = static_cast<unsigned>(NumberOpt(o, "injectChildDelayMs", 0));
  opts.injectCopierDelayUs = static_cast<unsigned>(NumberOpt(o, "injectCopierDelayUs", 0));
  return opts;
}

// ---- Snapshot --------------------------------------------------------------------------------
class SnapshotWrap : public Napi::ObjectWrap<SnapshotWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Snapshot",
                       {InstanceMethod("prepare", &SnapshotWrap::Prepare), InstanceMethod("arm", &SnapshotWrap::Arm),
                        InstanceMethod("copy", &SnapshotWrap::Copy), InstanceMethod("release", &SnapshotWrap::Release),
                        InstanceMethod("abort", &SnapshotWrap::Abort), InstanceMethod("progress", &SnapshotWrap::Progress),
                        InstanceMethod("expected", &SnapshotWrap::Expected)});
  }
  // new Snapshot(backendName, region, workload, sink, options)
  explicit SnapshotWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SnapshotWrap>(info) {
    Napi::Env env = info.Env();
    ThrowIf(env, CreateBackend(info[0].As<Napi::String>().Utf8Value(), &backend_));
    Napi::Object r = info[1].As<Napi::Object>(), w = info[2].As<Napi::Object>(), s = info[3].As<Napi::Object>();
    refs_[0] = Napi::Persistent(r);
    refs_[1] = Napi::Persistent(w);
    refs_[2] = Napi::Persistent(s);
    Napi::Object o = info[4].As<Napi::Object>();
    SnapshotOptions opts = SnapshotOptionsFrom(o);
    ctx_ = std::make_unique<SnapshotContext>(RegionWrap::Unwrap(r)->region, *WorkloadWrap::Unwrap(w)->workload,
                                             SinkWrap::Unwrap(s)->sink, opts);
  }

  // A snapshot dropped without release() (a library user's bug) must not leave threads running
  // or the region protected: release here, once.
  ~SnapshotWrap() override {
    if (backend_ && ctx_ && !released_) {
      ctx_->fail(Status::Fail("EABORTED", "snapshot collected without release()"));
      backend_->release(*ctx_);
    }
  }

 private:
  Napi::Value Prepare(const Napi::CallbackInfo&) {
    return PromiseWorker::Run(Value(), [this] { return backend_->prepare(*ctx_); });
  }
  Napi::Value Arm(const Napi::CallbackInfo&) {
    return PromiseWorker::Run(Value(), [this] {
      Status st = backend_->beforeArm(*ctx_);
      return st.ok() ? ctx_->stopTheWorld([this] { return backend_->arm(*ctx_); }) : st;
    });
  }
  Napi::Value Copy(const Napi::CallbackInfo&) {
    return PromiseWorker::Run(Value(), [this] { return backend_->copy(*ctx_); });
  }
  Napi::Value Release(const Napi::CallbackInfo&) {
    return PromiseWorker::Run(
        Value(),
        [this] {
          backend_->release(*ctx_);
          released_ = true;
          return Status::Ok();
        },
        [this](Napi::Env env) { return MetricsObject(env); });
  }
  Napi::Value Abort(const Napi::CallbackInfo& info) {
    std::string why = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "aborted";
    ctx_->fail(Status::Fail("EABORTED", why));
    return info.Env().Undefined();
  }
  Napi::Value Progress(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(ctx_->bytesCopied()));
  }
  Napi::Value Expected(const Napi::CallbackInfo& info) {
    auto arr = Napi::Uint32Array::New(info.Env(), ctx_->expected.size());
    std::copy(ctx_->expected.begin(), ctx_->expected.end(), arr.Data());
    return arr;
  }
  Napi::Value MetricsObject(Napi::Env env) {
    const SnapshotMetrics& m = ctx_->metrics;
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
    num("bytes_copied", static_cast<double>(ctx_->bytesCopied()));
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
    Status err = ctx_->firstError();
    if (!err.ok()) o.Set("error", ToError(env, err).Value());
    return o;
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SnapshotContext> ctx_;
  bool released_ = false;
  Napi::ObjectReference refs_[3];
};

// ---- ScanMicro: single dirty-tracking operations, called synchronously (tinybench) -----------
class ScanMicroWrap : public Napi::ObjectWrap<ScanMicroWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ScanMicro",
                       {InstanceMethod("writeProtectPair", &ScanMicroWrap::WriteProtectPair),
                        InstanceMethod("touch", &ScanMicroWrap::Touch),
                        InstanceMethod("pagemapScan", &ScanMicroWrap::PagemapScan),
                        InstanceMethod("clearRefsPass", &ScanMicroWrap::ClearRefsPass),
                        InstanceMethod("close", &ScanMicroWrap::Close)});
  }
  // new ScanMicro({pages})
  explicit ScanMicroWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ScanMicroWrap>(info) {
    Napi::Object o = info[0].As<Napi::Object>();
    ThrowIf(info.Env(), micro_.open(static_cast<size_t>(NumberOpt(o, "pages", 512))));
  }

 private:
  Napi::Value WriteProtectPair(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), micro_.writeProtectPair(static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue())));
    return info.Env().Undefined();
  }
  Napi::Value Touch(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), micro_.touch(static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue())));
    return info.Env().Undefined();
  }
  Napi::Value PagemapScan(const Napi::CallbackInfo& info) {
    uint64_t pages = 0;
    ThrowIf(info.Env(), micro_.pagemapScan(&pages));
    return Napi::Number::New(info.Env(), static_cast<double>(pages));
  }
  Napi::Value ClearRefsPass(const Napi::CallbackInfo& info) {
    uint64_t pages = 0;
    ThrowIf(info.Env(), micro_.clearRefsPass(&pages));
    return Napi::Number::New(info.Env(), static_cast<double>(pages));
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    ThrowIf(info.Env(), micro_.close());
    return info.Env().Undefined();
  }
  ScanMicro micro_;
};

// ---- free functions --------------------------------------------------------------------------
// verifyImage(path, expected: Uint32Array) -> Promise<{checked_pages, bad_pages, first_bad, checksum}>
Napi::Value VerifyImageJs(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint32Array arr = info[1].As<Napi::Uint32Array>();
  auto expected = std::make_shared<std::vector<uint32_t>>(arr.Data(), arr.Data() + arr.ElementLength());
  auto result = std::make_shared<VerifyResult>();
  Napi::Object keep = Napi::Object::New(info.Env());
  return PromiseWorker::Run(
      keep, [path, expected, result] { return VerifyImage(path, *expected, result.get()); },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("checked_pages", Napi::Number::New(env, static_cast<double>(result->checkedPages)));
        o.Set("bad_pages", Napi::Number::New(env, static_cast<double>(result->badPages)));
        Napi::Array bad = Napi::Array::New(env, result->firstBad.size());
        for (size_t i = 0; i < result->firstBad.size(); ++i) {
          Napi::Object b = Napi::Object::New(env);
          b.Set("page", Napi::Number::New(env, static_cast<double>(result->firstBad[i].page)));
          b.Set("expected", Napi::Number::New(env, result->firstBad[i].expected));
          b.Set("found", Napi::Number::New(env, static_cast<double>(result->firstBad[i].found)));
          bad.Set(i, b);
        }
        o.Set("first_bad", bad);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(result->checksum));
        o.Set("checksum", Napi::String::New(env, std::string("fnv1a64:") + hex));
        return o;
      });
}

// plainCopy(region, sink) -> Promise<void>: the region written in order, no snapshot.
Napi::Value PlainCopyJs(const Napi::CallbackInfo& info) {
  Napi::Object r = info[0].As<Napi::Object>(), s = info[1].As<Napi::Object>();
  Region* region = &RegionWrap::Unwrap(r)->region;
  Sink* sink = &SinkWrap::Unwrap(s)->sink;
  Napi::Object keep = Napi::Object::New(info.Env());
  keep.Set("region", r);
  keep.Set("sink", s);
  return PromiseWorker::Run(keep, [region, sink] { return PlainCopy(region->base(), region->bytes(), *sink); });
}

// regionWritable(region) -> {ok, detail}: no page left protected after a snapshot.
Napi::Value RegionWritableJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string detail;
  bool ok = RegionWrap::Unwrap(info[0].As<Napi::Object>())->region.writable(&detail);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", Napi::Boolean::New(env, ok));
  o.Set("detail", Napi::String::New(env, detail));
  return o;
}

// probeWriter(kind) -> Promise<{ok, code?, detail?}>: runs the kind alone on a scratch region.
Napi::Value ProbeWriterJs(const Napi::CallbackInfo& info) {
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  auto status = std::make_shared<Status>();
  Napi::Object keep = Napi::Object::New(info.Env());
  return PromiseWorker::Run(
      keep,
      [kind, status] {
        *status = ProbeWriterKind(kind);
        return Status::Ok();
      },
      [status](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("ok", Napi::Boolean::New(env, status->ok()));
        if (!status->ok()) {
          o.Set("code", Napi::String::New(env, status->code));
          o.Set("detail", Napi::String::New(env, status->message));
        }
        return o;
      });
}

// calibrate(bytes, dir) -> Promise<{memcpy_Bps, page_fault_ns, sink_Bps, sink_bytes}>
Napi::Value CalibrateJs(const Napi::CallbackInfo& info) {
  size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
  std::string dir = info[1].As<Napi::String>().Utf8Value();
  auto result = std::make_shared<Calibration>();
  return PromiseWorker::Run(
      Napi::Object::New(info.Env()), [bytes, dir, result] { return Calibrate(bytes, dir, result.get()); },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("memcpy_Bps", result->memcpyBytesPerSec);
        o.Set("page_fault_ns", result->pageFaultNs);
        o.Set("sink_Bps", result->sinkBytesPerSec);
        o.Set("sink_bytes", static_cast<double>(result->sinkBytes));
        return o;
      });
}

// measureFaultLatency(backend, region, sink, options) -> Promise<{samples_ns: Float64Array, metrics}>:
// one timed first write per page through the backend's fault path (no copier).
Napi::Value MeasureFaultLatencyJs(const Napi::CallbackInfo& info) {
  std::string backend = info[0].As<Napi::String>().Utf8Value();
  Napi::Object r = info[1].As<Napi::Object>(), s = info[2].As<Napi::Object>();
  SnapshotOptions opts = SnapshotOptionsFrom(info[3].As<Napi::Object>());
  Region* region = &RegionWrap::Unwrap(r)->region;
  Sink* sink = &SinkWrap::Unwrap(s)->sink;
  auto samples = std::make_shared<std::vector<double>>();
  auto metrics = std::make_shared<SnapshotMetrics>();
  Napi::Object keep = Napi::Object::New(info.Env());
  keep.Set("region", r);
  keep.Set("sink", s);
  return PromiseWorker::Run(
      keep, [=] { return MeasureFaultLatency(backend, *region, *sink, opts, samples.get(), metrics.get()); },
      [samples, metrics](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        auto arr = Napi::Float64Array::New(env, samples->size());
        std::copy(samples->begin(), samples->end(), arr.Data());
        o.Set("samples_ns", arr);
        o.Set("wp_faults", Napi::Number::New(env, static_cast<double>(metrics->wpFaults)));
        o.Set("pages_copied_before_write", Napi::Number::New(env, static_cast<double>(metrics->pagesCopiedBeforeWrite)));
        Napi::Object extra = Napi::Object::New(env);
        for (const auto& [k, v] : metrics->extra) extra.Set(k, Napi::Number::New(env, v));
        o.Set("extra", extra);
        return o;
      });
}

Napi::Value ProbeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<ProbeResult> all = ProbeAll();
  Napi::Array out = Napi::Array::New(env, all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", all[i].name);
    o.Set("ok", all[i].ok);
    o.Set("detail", all[i].detail);
    out.Set(i, o);
  }
  return out;
}

// softdirty.scanTrial({engine, pages, dirty, fraction, seed, vecLen, reps}) -> Promise<rep[]>:
// the dirty-tracking engines on a known page set (tests, bench/scan.ts).
Napi::Value SoftdirtyScanTrialJs(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  ScanTrialOptions opts;
  opts.engine = StringOpt(o, "engine", opts.engine);
  opts.pages = static_cast<size_t>(NumberOpt(o, "pages", static_cast<double>(opts.pages)));
  opts.dirty = StringOpt(o, "dirty", opts.dirty);
  opts.fraction = NumberOpt(o, "fraction", opts.fraction);
  opts.seed = static_cast<uint64_t>(NumberOpt(o, "seed", 1));
  opts.vecLen = static_cast<size_t>(NumberOpt(o, "vecLen", 0));
  opts.reps = static_cast<unsigned>(NumberOpt(o, "reps", 1));
  auto reps = std::make_shared<std::vector<ScanTrialRep>>();
  Napi::Object keep = Napi::Object::New(info.Env());
  return PromiseWorker::Run(
      keep, [opts, reps] { return RunScanTrial(opts, reps.get()); },
      [reps](Napi::Env env) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, reps->size());
        for (size_t i = 0; i < reps->size(); ++i) {
          const ScanTrialRep& r = (*reps)[i];
          Napi::Object o = Napi::Object::New(env);
          auto num = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
          num("dirtied", r.dirtied);
          num("reported", r.reported);
          num("duplicates", r.duplicates);
          num("missed", r.missed);
          num("spurious", r.spurious);
          num("runs", r.runs);
          num("scan_ns", r.stats.ns);
          num("calls", r.stats.calls);
          num("regions", r.stats.regions);
          num("walk_end_short", r.stats.walkEndShort);
          out.Set(i, o);
        }
        return out;
      });
}

// softdirty.decodePagemap(entries: BigUint64Array, firstPage) -> [first, count][]: clear-refs'
// decoding of /proc/self/pagemap entries (bit 55), for tests on recorded data.
Napi::Value SoftdirtyDecodePagemapJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::BigUint64Array entries = info[0].As<Napi::BigUint64Array>();
  const uint64_t firstPage = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  std::vector<PageRun> runs;
  DecodeSoftDirty(entries.Data(), entries.ElementLength(), firstPage, &runs);
  Napi::Array out = Napi::Array::New(env, runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::Number::New(env, static_cast<double>(runs[i].first)));
    pair.Set(1u, Napi::Number::New(env, static_cast<double>(runs[i].count)));
    out.Set(i, pair);
  }
  return out;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Region", RegionWrap::Init(env));
  exports.Set("Workload", WorkloadWrap::Init(env));
  exports.Set("Sink", SinkWrap::Init(env));
  exports.Set("Snapshot", SnapshotWrap::Init(env));
  exports.Set("verifyImage", Napi::Function::New(env, VerifyImageJs));
  exports.Set("probe", Napi::Function::New(env, ProbeJs));
  exports.Set("probeWriter", Napi::Function::New(env, ProbeWriterJs));
  exports.Set("regionWritable", Napi::Function::New(env, RegionWritableJs));
  exports.Set("plainCopy", Napi::Function::New(env, PlainCopyJs));
  exports.Set("calibrate", Napi::Function::New(env, CalibrateJs));
  exports.Set("measureFaultLatency", Napi::Function::New(env, MeasureFaultLatencyJs));
  Napi::Object softdirty = Napi::Object::New(env);
  softdirty.Set("scanTrial", Napi::Function::New(env, SoftdirtyScanTrialJs));
  softdirty.Set("decodePagemap", Napi::Function::New(env, SoftdirtyDecodePagemapJs));
  softdirty.Set("ScanMicro", ScanMicroWrap::Init(env));
  exports.Set("softdirty", softdirty);
  return exports;
}

}  // namespace cowbench

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return cowbench::Init(env, exports); }
NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
