// `softdirty` on the module: the backend's internals for tests and the scan suite (scanTrial,
// decodePagemap, ScanMicro).
#include <memory>
#include <vector>

#include "../softdirty/clear_refs_tracker.h"
#include "../softdirty/scan_micro.h"
#include "../softdirty/scan_trial.h"
#include "glue.h"

namespace cowbench {
namespace {

// ScanMicro: single dirty-tracking operations, called synchronously (tinybench).
class ScanMicroWrap : public Napi::ObjectWrap<ScanMicroWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "ScanMicro",
        {InstanceMethod("writeProtectPair", &ScanMicroWrap::WriteProtectPair),
         InstanceMethod("touch", &ScanMicroWrap::Touch), InstanceMethod("pagemapScan", &ScanMicroWrap::PagemapScan),
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
      "softdirty.scanTrial", keep, [opts, reps] { return RunScanTrial(opts, reps.get()); },
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

Napi::Object SoftdirtyExports(Napi::Env env) {
  Napi::Object softdirty = Napi::Object::New(env);
  softdirty.Set("scanTrial", Napi::Function::New(env, SoftdirtyScanTrialJs));
  softdirty.Set("decodePagemap", Napi::Function::New(env, SoftdirtyDecodePagemapJs));
  softdirty.Set("ScanMicro", ScanMicroWrap::Init(env));
  return softdirty;
}

}  // namespace cowbench
