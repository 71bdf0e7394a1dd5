// Backend options as they arrive from JavaScript (a flat key -> value bag), and the reader each
// backend's options struct converts itself with, once, when the backend is created: enums from
// their names, counts in range, and a refusal for any key no field asked for. Nothing on a fault
// path ever looks at a string.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "status.h"

namespace cowbench {

using OptionValue = std::variant<double, bool, std::string>;
using OptionBag = std::map<std::string, OptionValue>;

class OptionReader {
 public:
  // `bag` null: only record the keys asked for (the registry's key list).
  OptionReader(const char* backend, const OptionBag* bag) : backend_(backend), bag_(bag) {}

  void count(const char* key, unsigned* out, uint64_t min, uint64_t max) {
    uint64_t v = *out;
    count(key, &v, min, max);
    *out = static_cast<unsigned>(v);
  }
  void count(const char* key, uint64_t* out, uint64_t min, uint64_t max) {
    const OptionValue* v = find(key);
    if (!v) return;
    const double* d = std::get_if<double>(v);
    if (!d || *d < static_cast<double>(min) || *d > static_cast<double>(max) ||
        *d != static_cast<double>(static_cast<uint64_t>(*d)))
      return bad(key, "a whole number in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    *out = static_cast<uint64_t>(*d);
  }
  // A count, or the one word `word` (then *isWord is true and *out unchanged).
  void countOrWord(const char* key, unsigned* out, uint64_t min, uint64_t max, const char* word, bool* isWord) {
    const OptionValue* v = find(key);
    if (!v) return;
    const std::string* s = std::get_if<std::string>(v);
    if (s && *s == word) {
      *isWord = true;
      return;
    }
    const double* d = std::get_if<double>(v);
    if (!d || *d < static_cast<double>(min) || *d > static_cast<double>(max) ||
        *d != static_cast<double>(static_cast<uint64_t>(*d)))
      return bad(key, "a whole number in [" + std::to_string(min) + ", " + std::to_string(max) + "] or " + word);
    *out = static_cast<unsigned>(*d);
    *isWord = false;
  }
  void flag(const char* key, bool* out) {
    const OptionValue* v = find(key);
    if (!v) return;
    const bool* b = std::get_if<bool>(v);
    if (!b) return bad(key, "true or false");
    *out = *b;
  }
  template <typename E>
  void choice(const char* key, E* out, std::initializer_list<std::pair<const char*, E>> choices) {
    const OptionValue* v = find(key);
    if (!v) return;
    const std::string* s = std::get_if<std::string>(v);
    std::string names;
    for (const auto& [name, value] : choices) {
      if (s && *s == name) {
        *out = value;
        return;
      }
      names += names.empty() ? name : std::string(", ") + name;
    }
    bad(key, "one of: " + names);
  }

  // The first bad value, else a refusal of the first key no field read.
  Status finish() const {
    if (!error_.ok() || !bag_) return error_;
    for (const auto& [key, value] : *bag_) {
      bool known = false;
      for (const std::string& k : keys_) known = known || k == key;
      if (!known) return Status::Fail("EINVAL", std::string(backend_) + ": unknown option '" + key + "'");
    }
    return Status::Ok();
  }
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  const OptionValue* find(const char* key) {
    keys_.push_back(key);
    if (!bag_) return nullptr;
    auto it = bag_->find(key);
    return it == bag_->end() ? nullptr : &it->second;
  }
  void bad(const char* key, const std::string& expected) {
    if (error_.ok())
      error_ = Status::Fail("EINVAL", std::string(backend_) + ": option '" + key + "' must be " + expected);
  }

  const char* backend_;
  const OptionBag* bag_;
  std::vector<std::string> keys_;
  Status error_;
};

// Converts `bag` into a backend's options struct (which has `void read(OptionReader&)`).
template <typename Options>
Status ReadOptions(const char* backend, const OptionBag& bag, Options* out) {
  OptionReader r(backend, &bag);
  out->read(r);
  return r.finish();
}

// The keys an options struct reads, in declaration order.
template <typename Options>
std::vector<std::string> OptionKeys(const char* backend) {
  OptionReader r(backend, nullptr);
  Options().read(r);
  return r.keys();
}

}  // namespace cowbench
