// The free functions of the module: verification, probes, plain copy, calibration, fault latency,
// the fault-around policy's trial.
#include <sys/file.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "../backends.h"
#include "../common/calibrate.h"
#include "../common/fault_around_trial.h"
#include "../common/fault_latency.h"
#include "../common/probe.h"
#include "../common/thread.h"
#include "../common/verify.h"
#include "../writers/writer_kinds.h"
#include "glue.h"

namespace cowbench {
namespace {

// verifyImage(path, expected: Uint32Array) -> Promise<{checked_pages, bad_pages, first_bad, checksum}>
Napi::Value VerifyImageJs(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint32Array arr = info[1].As<Napi::Uint32Array>();
  std::shared_ptr<std::vector<uint32_t>> expected;
  try {
    expected = std::make_shared<std::vector<uint32_t>>(arr.Data(), arr.Data() + arr.ElementLength());
  } catch (const std::bad_alloc&) {
    ThrowIf(info.Env(), OutOfMemory("copying the expected page versions for verify"));
  }
  auto result = std::make_shared<VerifyResult>();
  Napi::Object keep = Napi::Object::New(info.Env());
  return PromiseWorker::Run(
      "verifyImage", keep, [path, expected, result] { return VerifyImage(path, *expected, result.get()); },
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
  Region* region = &RegionOf(r);
  Sink* sink = &SinkOf(s);
  Napi::Object keep = Napi::Object::New(info.Env());
  keep.Set("region", r);
  keep.Set("sink", s);
  return PromiseWorker::Run("plainCopy", keep,
                            [region, sink] { return PlainCopy(region->base(), region->bytes(), *sink); });
}

// regionWritable(region) -> {ok, detail}: no page left protected after a snapshot.
Napi::Value RegionWritableJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string detail;
  bool ok = RegionOf(info[0].As<Napi::Object>()).writable(&detail);
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
      "probeWriter", keep,
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

// tryLockExclusive(fd) -> boolean: flock(fd, LOCK_EX|LOCK_NB); false while another process holds it.
// The lock goes with the open file description: closing the fd, or the process dying, drops it.
Napi::Value TryLockExclusiveJs(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  int err = errno;
  if (err == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  ThrowIf(info.Env(), Status::Sys("flock", "flock", err));
  return info.Env().Undefined();
}

// calibrate(bytes, dir) -> Promise<{memcpy_Bps, page_fault_ns, sink_Bps, sink_bytes}>
Napi::Value CalibrateJs(const Napi::CallbackInfo& info) {
  size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
  std::string dir = info[1].As<Napi::String>().Utf8Value();
  auto result = std::make_shared<Calibration>();
  return PromiseWorker::Run(
      "calibrate", Napi::Object::New(info.Env()), [bytes, dir, result] { return Calibrate(bytes, dir, result.get()); },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("memcpy_Bps", result->memcpyBytesPerSec);
        o.Set("page_fault_ns", result->pageFaultNs);
        o.Set("sink_Bps", result->sinkBytesPerSec);
        o.Set("sink_bytes", static_cast<double>(result->sinkBytes));
        return o;
      });
}

// measureFaultLatency(backend, region, sink, options, backendOptions) -> Promise<{samples_ns: Float64Array, metrics}>:
// one timed first write per page through the backend's fault path (no copier).
Napi::Value MeasureFaultLatencyJs(const Napi::CallbackInfo& info) {
  std::string backend = info[0].As<Napi::String>().Utf8Value();
  Napi::Object r = info[1].As<Napi::Object>(), s = info[2].As<Napi::Object>();
  SessionOptions opts = SessionOptionsFrom(info[3].As<Napi::Object>());
  OptionBag backendOpts = OptionBagFrom(info.Env(), info[4]);
  Region* region = &RegionOf(r);
  Sink* sink = &SinkOf(s);
  auto samples = std::make_shared<std::vector<double>>();
  auto metrics = std::make_shared<SnapshotMetrics>();
  Napi::Object keep = Napi::Object::New(info.Env());
  keep.Set("region", r);
  keep.Set("sink", s);
  return PromiseWorker::Run(
      "measureFaultLatency", keep,
      [=] {
        std::unique_ptr<Backend> b;
        Status st = CreateBackend(backend, backendOpts, &b);
        return st.ok() ? MeasureFaultLatency(std::move(b), *region, *sink, opts, samples.get(), metrics.get()) : st;
      },
      [samples, metrics](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        auto arr = Napi::Float64Array::New(env, samples->size());
        std::copy(samples->begin(), samples->end(), arr.Data());
        o.Set("samples_ns", arr);
        o.Set("wp_faults", Napi::Number::New(env, static_cast<double>(metrics->wpFaults)));
        o.Set("pages_copied_before_write",
              Napi::Number::New(env, static_cast<double>(metrics->pagesCopiedBeforeWrite)));
        Napi::Object extra = Napi::Object::New(env);
        for (const auto& [k, v] : metrics->extra) extra.Set(k, Napi::Number::New(env, v));
        o.Set("extra", extra);
        return o;
      });
}

// faultAroundTrial({extents, writesPerSec, faultCostNs?, sequential, writers?, copierExtentsPerSec, seed,
// region?, regionUntilHalf?, sequentialRule?}) ->
// {writes, faults, dense_faults, dense_extents, region_hot_faults, sequential_faults, fault_path_pages,
// first_claims}: the auto policy
// and the fault path's claim code on a simulated clock.
Napi::Value FaultAroundTrialJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object in = info[0].As<Napi::Object>();
  FaultAroundTrialOptions o;
  // A count in lo..hi; a negative, fractional or NaN one is refused here (casting it to size_t is
  // undefined).
  const auto count = [&](const char* key, size_t lo, size_t hi, size_t* out) {
    const double v = in.Get(key).As<Napi::Number>().DoubleValue();
    if (v >= static_cast<double>(lo) && v <= static_cast<double>(hi) &&
        v == static_cast<double>(static_cast<size_t>(v))) {
      *out = static_cast<size_t>(v);
      return true;
    }
    ThrowIf(env, Status::Fail("EINVAL", std::string("fault-around trial: ") + key + " must be a whole number " +
                                            std::to_string(lo) + ".." + std::to_string(hi)));
    return false;
  };
  if (!count("extents", 1, 65536, &o.extents)) return env.Undefined();
  if (in.Get("writers").IsNumber() && !count("writers", 1, 8, &o.writers)) return env.Undefined();
  o.writesPerSec = in.Get("writesPerSec").As<Napi::Number>().DoubleValue();
  if (in.Get("faultCostNs").IsNumber()) o.faultCostNs = in.Get("faultCostNs").As<Napi::Number>().DoubleValue();
  o.sequential = in.Get("sequential").As<Napi::Boolean>().Value();
  o.copierExtentsPerSec = in.Get("copierExtentsPerSec").As<Napi::Number>().DoubleValue();
  o.seed = static_cast<uint64_t>(in.Get("seed").As<Napi::Number>().DoubleValue());
  // The rule switches: a boolean switches, anything else keeps the default (on).
  const auto rule = [&](const char* key, bool& on) {
    if (in.Get(key).IsBoolean()) on = in.Get(key).As<Napi::Boolean>().Value();
  };
  rule("region", o.rules.region);
  rule("regionUntilHalf", o.rules.regionUntilHalf);
  rule("sequentialRule", o.rules.sequential);
  FaultAroundTrialResult r;
  ThrowIf(env, RunFaultAroundTrial(o, &r));
  Napi::Object out = Napi::Object::New(env);
  out.Set("writes", Napi::Number::New(env, static_cast<double>(r.writes)));
  out.Set("faults", Napi::Number::New(env, static_cast<double>(r.faults)));
  out.Set("dense_faults", Napi::Number::New(env, static_cast<double>(r.denseFaults)));
  out.Set("dense_extents", Napi::Number::New(env, static_cast<double>(r.denseExtents)));
  out.Set("region_hot_faults", Napi::Number::New(env, static_cast<double>(r.regionHotFaults)));
  out.Set("sequential_faults", Napi::Number::New(env, static_cast<double>(r.sequentialFaults)));
  out.Set("fault_path_pages", Napi::Number::New(env, static_cast<double>(r.faultPathPages)));
  Napi::Array claims = Napi::Array::New(env, r.claimsKept);
  for (size_t i = 0; i < r.claimsKept; ++i)
    claims.Set(static_cast<uint32_t>(i), Napi::Number::New(env, r.firstClaims[i]));
  out.Set("first_claims", claims);
  return out;
}

// backendOptionKeys() -> {backend: key[]}: what each native backend's options struct reads, for
// the load-time comparison with the TypeScript declarations (src/native.ts).
Napi::Value BackendOptionKeysJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, keys] : BackendOptionKeys()) {
    Napi::Array a = Napi::Array::New(env, keys.size());
    for (size_t i = 0; i < keys.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, keys[i]));
    out.Set(name, a);
  }
  return out;
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

}  // namespace

void ExportFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("verifyImage", Napi::Function::New(env, VerifyImageJs));
  exports.Set("probe", Napi::Function::New(env, ProbeJs));
  exports.Set("backendOptionKeys", Napi::Function::New(env, BackendOptionKeysJs));
  exports.Set("probeWriter", Napi::Function::New(env, ProbeWriterJs));
  exports.Set("regionWritable", Napi::Function::New(env, RegionWritableJs));
  exports.Set("plainCopy", Napi::Function::New(env, PlainCopyJs));
  exports.Set("calibrate", Napi::Function::New(env, CalibrateJs));
  exports.Set("tryLockExclusive", Napi::Function::New(env, TryLockExclusiveJs));
  exports.Set("measureFaultLatency", Napi::Function::New(env, MeasureFaultLatencyJs));
  exports.Set("faultAroundTrial", Napi::Function::New(env, FaultAroundTrialJs));
}

}  // namespace cowbench
