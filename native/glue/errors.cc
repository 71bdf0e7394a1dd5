// The one Error shape crossing into JavaScript, and C++ exceptions as a named Status.
#include <new>
#include <stdexcept>
#include <system_error>

#include "../common/thread.h"
#include "glue.h"

namespace cowbench {

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

// A C++ exception thrown by a native step (std::bad_alloc, std::system_error from a thread that
// cannot start, ...) as the Status that names it; `step` says which call it interrupted.
Status StatusFromException(const char* step) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return OutOfMemory(std::string("in the ") + step + " step");
  } catch (const std::system_error& e) {
    const int err = e.code().category() == std::generic_category() || e.code().category() == std::system_category()
                        ? e.code().value()
                        : 0;
    Status st = Status::Fail(err ? Status::ErrnoName(err) : "ESYSTEM", std::string(step) + ": " + e.what());
    st.err = err;
    if (err == EAGAIN)
      st.message += " (could not start a thread; raise the task limit or use fewer --handlers/--writers)";
    return st;
  } catch (const std::exception& e) {
    return Status::Fail("EEXCEPTION", std::string(step) + ": " + e.what());
  } catch (...) {
    return Status::Fail("EEXCEPTION", std::string(step) + ": unknown C++ exception");
  }
}

Napi::Object LatencyObject(Napi::Env env, const Histogram::Snapshot& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", Napi::Number::New(env, static_cast<double>(h.total())));
  const std::pair<const char*, double> qs[] = {{"p50_ns", 0.5}, {"p90_ns", 0.9}, {"p99_ns", 0.99}, {"p999_ns", 0.999}};
  for (auto& [k, q] : qs) o.Set(k, Napi::Number::New(env, static_cast<double>(h.quantile(q))));
  o.Set("max_ns", Napi::Number::New(env, static_cast<double>(h.max)));
  // The percentile curve (HdrHistogram-style), for charts: [percentile, ns] pairs.
  const double curve[] = {50, 75, 90, 95, 98, 99, 99.5, 99.8, 99.9, 99.95, 99.98, 99.99, 99.995, 99.999};
  Napi::Array c = Napi::Array::New(env);
  for (double p : curve) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::Number::New(env, p));
    pair.Set(1u, Napi::Number::New(env, static_cast<double>(h.quantile(p / 100))));
    c.Set(c.Length(), pair);
  }
  o.Set("curve", c);
  return o;
}

}  // namespace cowbench
