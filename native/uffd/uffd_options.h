// Options of the uffd backend: the same keys, in the same order, as src/backends/uffd.ts declares.
#pragma once

#include "../common/copy_path_options.h"
#include "../common/options.h"

namespace cowbench {

enum class Delivery { kThread, kSigbus };       // handler threads read the fd, or SIGBUS in the writer
enum class HandlerWait { kPoll, kSpin };        // sleep in poll(2), or busy-read the fd
enum class HandlerCpu { kAny, kSame, kOther };  // pin handlers to the faulting thread's CPU, another, or not

struct UffdOptions {
  unsigned handlers = 1;
  Delivery delivery = Delivery::kThread;
  HandlerWait handlerWait = HandlerWait::kPoll;
  HandlerCpu handlerCpu = HandlerCpu::kAny;
  bool handlerBatch = false;  // un-protect a batch of faults with DONTWAKE, then one UFFDIO_WAKE
  CopyPathOptions copyPath;   // --drain-wake, --fault-around, --copy-order: the shared fault path's
  bool prearm = true;         // write-protect before the pause, re-protect the few pages written since
  unsigned armThreads = 1;    // threads splitting the arm-time write-protect

  void read(OptionReader& r) {
    r.count("handlers", &handlers, 1, 64);
    r.choice("delivery", &delivery, {{"thread", Delivery::kThread}, {"sigbus", Delivery::kSigbus}});
    r.choice("handlerWait", &handlerWait, {{"poll", HandlerWait::kPoll}, {"spin", HandlerWait::kSpin}});
    r.choice("handlerCpu", &handlerCpu,
             {{"any", HandlerCpu::kAny}, {"same", HandlerCpu::kSame}, {"other", HandlerCpu::kOther}});
    r.flag("handlerBatch", &handlerBatch);
    copyPath.read(r);
    r.flag("prearm", &prearm);
    r.count("armThreads", &armThreads, 1, 64);
  }
};

}  // namespace cowbench
