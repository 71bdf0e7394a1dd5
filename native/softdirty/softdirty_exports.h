// The softdirty object of the Node module (softdirty_exports.cc).
#pragma once

#include <napi.h>

namespace cowbench {

Napi::Object SoftdirtyExports(Napi::Env env);

}  // namespace cowbench
