// A minimal x86-64 assembler: just the instructions the kvm writer's guest uses, with forward
// labels. Every operation is 32-bit (the default operand size in 64-bit mode, so no REX prefix;
// a 32-bit write zero-extends into the 64-bit register). Encodings follow the Intel SDM: an
// absolute [disp32] is ModRM rm=100 with SIB 0x25 (rm=101 would be RIP-relative in 64-bit mode);
// mod=10 is [base+disp32]; SIB with base=101 and mod=00 is [index*scale+disp32]. Every disp32 is
// sign-extended to 64 bits, so the guest's page tables map addresses at and above 2 GiB twice:
// as themselves and 4 GiB lower, at the top of the address space.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace cowbench {
namespace guest {

enum Reg : uint8_t { EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7 };
enum Cond : uint8_t { kBelow = 0x2, kAboveEq = 0x3, kEqual = 0x4, kNotEqual = 0x5, kLessEq = 0xE, kGreater = 0xF };
// Group-1 ALU ops as ModRM.reg extensions (81 /n id) and as r/m,reg opcodes.
enum Alu : uint8_t { kAdd = 0, kAnd = 4, kSub = 5, kXor = 6, kCmp = 7 };

class Assembler {
 public:
  std::vector<uint8_t> bytes;

  void movImm(Reg r, uint32_t imm) { b(0xB8 + r), d(imm); }
  void movLoad(Reg r, uint32_t abs) { b(0x8B), absolute(r, abs); }
  void movStore(uint32_t abs, Reg r) { b(0x89), absolute(r, abs); }
  void movStoreImm(uint32_t abs, uint32_t imm) { b(0xC7), absolute(0, abs), d(imm); }
  // [base + disp32]; base must not be ESP (that encoding needs a SIB byte).
  void movStoreBase(Reg base, uint32_t disp, Reg r) { b(0x89), b(0x80 | r << 3 | base), d(disp); }
  void movLoadBase(Reg r, Reg base, uint32_t disp) { b(0x8B), b(0x80 | r << 3 | base), d(disp); }
  void movStoreBaseImm(Reg base, uint32_t disp, uint32_t imm) { b(0xC7), b(0x80 | base), d(disp), d(imm); }
  // [index*4 + disp32]
  void movLoadIdx4(Reg r, Reg index, uint32_t disp) { b(0x8B), b(r << 3 | 4), b(2 << 6 | index << 3 | 5), d(disp); }
  void movStoreIdx4(Reg index, uint32_t disp, Reg r) { b(0x89), b(r << 3 | 4), b(2 << 6 | index << 3 | 5), d(disp); }
  void mov(Reg dst, Reg src) { b(0x89), b(0xC0 | src << 3 | dst); }
  void aluImm(Alu op, Reg r, uint32_t imm) { b(0x81), b(0xC0 | op << 3 | r), d(imm); }
  void alu(Alu op, Reg dst, Reg src) { b(static_cast<uint8_t>(op << 3 | 1)), b(0xC0 | src << 3 | dst); }
  void aluLoad(Alu op, Reg r, uint32_t abs) { b(static_cast<uint8_t>(op << 3 | 3)), absolute(r, abs); }
  void cmpMemImm(uint32_t abs, uint32_t imm) { b(0x81), absolute(kCmp, abs), d(imm); }
  void aluMemImm(Alu op, uint32_t abs, uint32_t imm) { b(0x81), absolute(op, abs), d(imm); }
  void imulImm(Reg dst, Reg src, uint32_t imm) { b(0x69), b(0xC0 | dst << 3 | src), d(imm); }
  void imulLoad(Reg dst, uint32_t abs) { b(0x0F), b(0xAF), absolute(dst, abs); }
  void imulLoadImm(Reg dst, uint32_t abs, uint32_t imm) { b(0x69), absolute(dst, abs), d(imm); }
  void mul(Reg r) { b(0xF7), b(0xE0 | r); }                 // edx:eax = eax * r
  void decMem(uint32_t abs) { b(0xFF), absolute(1, abs); }  // dec dword [abs]
  void shl(Reg r, uint8_t n) { b(0xC1), b(0xE0 | r), b(n); }
  void shr(Reg r, uint8_t n) { b(0xC1), b(0xE8 | r), b(n); }
  void inc(Reg r) { b(0xFF), b(0xC0 | r); }  // FF /0 (0x40+r is a REX prefix in 64-bit mode)
  void div(Reg r) { b(0xF7), b(0xF0 | r); }  // edx:eax / r -> eax, remainder edx
  void rdtsc() { b(0x0F), b(0x31); }
  void movupsLoad(uint32_t abs) { b(0x0F), b(0x10), absolute(0, abs); }                         // movups xmm0, [abs]
  void movupsStoreBase(Reg base, uint32_t disp) { b(0x0F), b(0x11), b(0x80 | base), d(disp); }  // [base+disp], xmm0
  void out(uint8_t port) { b(0xE7), b(port); }  // out imm8, eax (at CPL 3 it needs IOPL 3)
  void jmp(int label) { b(0xE9), ref(label); }
  void jcc(Cond c, int label) { b(0x0F), b(0x80 | c), ref(label); }
  void bind(int label) { labels_[label] = bytes.size(); }
  size_t offsetOf(int label) const { return labels_.at(label); }

  // Resolves every rel32 jump; false if a label was never bound.
  bool finish() {
    for (auto& [at, label] : refs_) {
      auto it = labels_.find(label);
      if (it == labels_.end()) return false;
      const int32_t rel = static_cast<int32_t>(it->second) - static_cast<int32_t>(at + 4);
      for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(static_cast<uint32_t>(rel) >> (8 * i));
    }
    return true;
  }

 private:
  // ModRM (mod=00, reg, rm=100) + SIB (no base, no index) + disp32: the absolute address abs.
  void absolute(uint32_t reg, uint32_t abs) { b(reg << 3 | 4), b(0x25), d(abs); }
  void b(uint32_t v) { bytes.push_back(static_cast<uint8_t>(v)); }
  void d(uint32_t v) {
    for (int i = 0; i < 4; ++i) b(v >> (8 * i));
  }
  void ref(int label) {
    refs_.emplace_back(bytes.size(), label);
    d(0);
  }
  std::map<int, size_t> labels_;
  std::vector<std::pair<size_t, int>> refs_;
};

}  // namespace guest
}  // namespace cowbench
