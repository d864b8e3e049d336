#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/message.h"

namespace peerwell::fuzz {

// A structure-aware mutator over any request message, through protobuf reflection (the role
// libprotobuf-mutator plays elsewhere; Debian does not package it): each step picks one field
// anywhere in the message and sets, clears, grows, shrinks or perturbs it, so that every mutant
// is a well-formed request and the services' validation and logic, not the wire parser, are
// what the fuzzer explores. String fields draw on `dictionary` (the world's ids and the
// placeholders that stand for them) besides edge cases.
class RequestMutator {
 public:
  explicit RequestMutator(std::vector<std::string> dictionary)
      : dictionary_(std::move(dictionary)) {}

  // One to four mutation steps.
  void Mutate(google::protobuf::Message& message, std::mt19937_64& random) const;

 private:
  void MutateOnce(google::protobuf::Message& message, std::mt19937_64& random, int depth) const;
  void MutateScalar(google::protobuf::Message& message,
                    const google::protobuf::FieldDescriptor& field, int index,
                    std::mt19937_64& random) const;
  std::string NewString(const std::string& current, bool bytes, std::mt19937_64& random) const;

  std::vector<std::string> dictionary_;
};

}  // namespace peerwell::fuzz
