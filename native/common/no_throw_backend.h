// A backend wrapper whose steps never throw: std::bad_alloc (an address-space limit, an exhausted
// heap) and std::system_error become a named Status, and the snapshot is failed at once so every
// wait on it ends and the backend's failure path releases the writers. CreateBackend wraps every
// backend in it: a native async step returns a Status, it does not throw into the promise worker.
#pragma once

#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>

#include "backend.h"
#include "thread.h"

namespace cowbench {

class NoThrowBackend final : public Backend {
 public:
  explicit NoThrowBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  Status prepare(SnapshotContext& ctx) override {
    return guard(ctx, "prepare", [&] { return inner_->prepare(ctx); });
  }
  Status beforeArm(SnapshotContext& ctx) override {
    return guard(ctx, "arm", [&] { return inner_->beforeArm(ctx); });
  }
  Status arm(SnapshotContext& ctx) override {
    return guard(ctx, "arm", [&] { return inner_->arm(ctx); });
  }
  Status copy(SnapshotContext& ctx) override {
    return guard(ctx, "copy", [&] { return inner_->copy(ctx); });
  }
  void release(SnapshotContext& ctx) override {
    guard(ctx, "release", [&] {
      inner_->release(ctx);
      return Status::Ok();
    });
  }

 private:
  template <typename Fn>
  static Status guard(SnapshotContext& ctx, const char* step, Fn&& fn) {
    Status st;
    try {
      return fn();
    } catch (const std::bad_alloc&) {
      st = OutOfMemory(std::string("in the snapshot's ") + step + " step");
    } catch (const std::system_error& e) {
      st = Status::Sys(std::string("snapshot ") + step, "", e.code().value());
    }
    ctx.fail(st);
    return st;
  }

  std::unique_ptr<Backend> inner_;
};

}  // namespace cowbench
