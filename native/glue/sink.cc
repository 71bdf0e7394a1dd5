// The Sink class: where the image goes (a 0600 temporary, committed or discarded).
#include "glue.h"

namespace cowbench {
namespace {

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
    if (info.Length() > 1 && info[1].IsObject())
      testTempName = StringOpt(info[1].As<Napi::Object>(), "testTempName", "");
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

}  // namespace

Napi::Function SinkClass(Napi::Env env) { return SinkWrap::Init(env); }
Sink& SinkOf(Napi::Object sink) { return SinkWrap::Unwrap(sink)->sink; }

}  // namespace cowbench
