// The Region class: the memory the writers write and the snapshot copies.
#include "glue.h"

namespace cowbench {
namespace {

class RegionWrap : public Napi::ObjectWrap<RegionWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "Region",
        {InstanceMethod("init", &RegionWrap::InitRegion), InstanceMethod("release", &RegionWrap::ReleaseRegion),
         InstanceMethod("cancelInit", &RegionWrap::CancelInit), InstanceAccessor("bytes", &RegionWrap::Bytes, nullptr),
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
    return PromiseWorker::Run("region init", Value(), [this] { return region.create(bytes_, hugepage_, fill_); });
  }
  Napi::Value CancelInit(const Napi::CallbackInfo& info) {
    region.cancelCreate();
    return info.Env().Undefined();
  }
  Napi::Value ReleaseRegion(const Napi::CallbackInfo& info) {
    region.release();
    return info.Env().Undefined();
  }
  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(region.bytes()));
  }
  Napi::Value Pages(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(region.pages()));
  }
  size_t bytes_ = 0;
  bool hugepage_ = false;
  FillMode fill_ = FillMode::kAll;
};

}  // namespace

Napi::Function RegionClass(Napi::Env env) { return RegionWrap::Init(env); }
Region& RegionOf(Napi::Object region) { return RegionWrap::Unwrap(region)->region; }

}  // namespace cowbench
