// Routing of synchronous write faults (SIGSEGV from mprotect, SIGBUS from UFFD_FEATURE_SIGBUS)
// to the snapshot that owns the faulting address, and chaining of every other fault to the
// handler installed before ours (Node and V8 install their own SIGSEGV handlers).
//
// A signal handler is process-wide, so its state is too: FaultSignalState (fault_signals.cc) is
// the one process-wide struct, and everything the handler touches in it is a lock-free atomic.
// Registration and unregistration run on ordinary threads and may take a mutex; the handler
// never does.
#pragma once

#include <csignal>
#include <cstddef>

#include "status.h"

namespace cowbench {

// Called in signal context on the faulting thread; must be async-signal-safe (no malloc, no
// locks, no C++ exceptions; atomics and raw syscalls only). Returns true when the access should
// be retried, false to pass the fault on to the previous handler.
using FaultFn = bool (*)(void* self, char* address);

// Routes faults raised as `signo` (SIGSEGV or SIGBUS) inside [base, base+bytes) to fn(self,
// addr). Installs our handler for `signo` on first use (SA_SIGINFO), keeping the previous one.
Status RegisterFaultRange(int signo, char* base, size_t bytes, FaultFn fn, void* self, int* slotOut);

// Stops routing faults to the range, then waits until no handler is still inside its FaultFn.
// For a short grace period afterwards a protection fault in the range is retried rather than
// chained (a fault taken just before the owner re-enabled writes may be delivered late).
void UnregisterFaultRange(int slot);

}  // namespace cowbench
