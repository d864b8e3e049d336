#include "tests/fuzz/request_mutator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace peerwell::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

template <typename T>
T Pick(const std::vector<T>& values, std::mt19937_64& random) {
  return values[std::uniform_int_distribution<size_t>(0, values.size() - 1)(random)];
}

bool OneIn(int n, std::mt19937_64& random) {
  return std::uniform_int_distribution<int>(0, n - 1)(random) == 0;
}

// Arithmetic on the wire's integers wraps, as it would in a client, rather than overflow.
int64_t Wrapped(int64_t current, int64_t factor, int64_t delta) {
  return static_cast<int64_t>(static_cast<uint64_t>(current) * static_cast<uint64_t>(factor) +
                              static_cast<uint64_t>(delta));
}

// A new value for an integer field of range [min, max].
int64_t NewInteger(int64_t current, int64_t min, int64_t max, std::mt19937_64& random) {
  int64_t value = 0;
  switch (std::uniform_int_distribution<int>(0, 5)(random)) {
    case 0:
      value = Pick<int64_t>({0, 1, -1, min, max}, random);
      break;
    case 1:
      value = Wrapped(current, 1, std::uniform_int_distribution<int64_t>(-3, 3)(random));
      break;
    // Around the bounds a service is likely to check: a page size, a score, an hour of a day.
    case 2:
      value = Pick<int64_t>({7, 23, 24, 59, 60, 100, 101, 1000, 1001, 86400}, random);
      break;
    // Times: now-ish seconds since the epoch, and far ones.
    case 3:
      value = Pick<int64_t>(
          {1796000000, 1800000000, 253402300799, 253402300800, -62135596800, -62135596801}, random);
      break;
    case 4:
      value = Wrapped(current, 2, 0);
      break;
    default:
      value = std::uniform_int_distribution<int64_t>(std::max<int64_t>(min, -1000000),
                                                     std::min<int64_t>(max, 1000000))(random);
  }
  return std::clamp(value, min, max);
}

// The checks protobuf makes of a string field on the wire, so that no mutant is refused there.
bool IsValidUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xe  ? 3
                    : (byte >> 3) == 0x1e ? 4
                                          : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

void RequestMutator::Mutate(Message& message, std::mt19937_64& random) const {
  int steps = std::uniform_int_distribution<int>(1, 4)(random);
  for (int step = 0; step < steps; ++step) MutateOnce(message, random, 0);
}

void RequestMutator::MutateOnce(Message& message, std::mt19937_64& random, int depth) const {
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  const Reflection& reflection = *message.GetReflection();
  if (type.field_count() == 0) return;
  const FieldDescriptor& field =
      *type.field(std::uniform_int_distribution<int>(0, type.field_count() - 1)(random));
  // Deep enough: requests nest a few levels at most, and a bound keeps a recursive type finite.
  bool may_descend = depth < 6;

  if (field.is_repeated()) {
    int size = reflection.FieldSize(message, &field);
    switch (std::uniform_int_distribution<int>(0, 4)(random)) {
      case 0:
        reflection.ClearField(&message, &field);
        return;
      case 1:
        if (size > 0) reflection.RemoveLast(&message, &field);
        return;
      case 2:
        if (size > 0 && size < 64) {
          // A duplicate of an element: the same id twice is a favourite of broken validation.
          int from = std::uniform_int_distribution<int>(0, size - 1)(random);
          if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            reflection.AddMessage(&message, &field)
                ->CopyFrom(reflection.GetRepeatedMessage(message, &field, from));
          } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
            reflection.AddString(&message, &field,
                                 reflection.GetRepeatedString(message, &field, from));
          } else {
            MutateOnce(message, random, depth);
          }
          return;
        }
        [[fallthrough]];
      case 3:
        if (size < 64) {
          switch (field.cpp_type()) {
            case FieldDescriptor::CPPTYPE_MESSAGE: {
              Message* added = reflection.AddMessage(&message, &field);
              if (may_descend) MutateOnce(*added, random, depth + 1);
              return;
            }
            case FieldDescriptor::CPPTYPE_STRING:
              reflection.AddString(&message, &field, "");
              break;
            case FieldDescriptor::CPPTYPE_INT32:
              reflection.AddInt32(&message, &field, 0);
              break;
            case FieldDescriptor::CPPTYPE_INT64:
              reflection.AddInt64(&message, &field, 0);
              break;
            case FieldDescriptor::CPPTYPE_UINT32:
              reflection.AddUInt32(&message, &field, 0);
              break;
            case FieldDescriptor::CPPTYPE_UINT64:
              reflection.AddUInt64(&message, &field, 0);
              break;
            case FieldDescriptor::CPPTYPE_DOUBLE:
              reflection.AddDouble(&message, &field, 0);
              break;
            case FieldDescriptor::CPPTYPE_FLOAT:
              reflection.AddFloat(&message, &field, 0);
              break;
            case FieldDescriptor::CPPTYPE_BOOL:
              reflection.AddBool(&message, &field, false);
              break;
            case FieldDescriptor::CPPTYPE_ENUM:
              reflection.AddEnumValue(&message, &field, 0);
              break;
          }
          size = reflection.FieldSize(message, &field);
          MutateScalar(message, field, size - 1, random);
          return;
        }
        [[fallthrough]];
      default:
        if (size == 0) return;
        int index = std::uniform_int_distribution<int>(0, size - 1)(random);
        if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (may_descend) {
            MutateOnce(*reflection.MutableRepeatedMessage(&message, &field, index), random,
                       depth + 1);
          }
        } else {
          MutateScalar(message, field, index, random);
        }
        return;
    }
  }

  if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (OneIn(5, random)) {
      reflection.ClearField(&message, &field);
    } else if (may_descend) {
      // Also sets a field of a oneof, which clears its siblings.
      MutateOnce(*reflection.MutableMessage(&message, &field), random, depth + 1);
    }
    return;
  }
  if (OneIn(8, random)) {
    reflection.ClearField(&message, &field);
    return;
  }
  MutateScalar(message, field, -1, random);
}

// index -1: the singular field itself.
void RequestMutator::MutateScalar(Message& message, const FieldDescriptor& field, int index,
                                  std::mt19937_64& random) const {
  const Reflection& reflection = *message.GetReflection();
  bool repeated = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t current = repeated ? reflection.GetRepeatedInt32(message, &field, index)
                                 : reflection.GetInt32(message, &field);
      auto value = static_cast<int32_t>(NewInteger(current, std::numeric_limits<int32_t>::min(),
                                                   std::numeric_limits<int32_t>::max(), random));
      repeated ? reflection.SetRepeatedInt32(&message, &field, index, value)
               : reflection.SetInt32(&message, &field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t current = repeated ? reflection.GetRepeatedInt64(message, &field, index)
                                 : reflection.GetInt64(message, &field);
      int64_t value = NewInteger(current, std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max(), random);
      repeated ? reflection.SetRepeatedInt64(&message, &field, index, value)
               : reflection.SetInt64(&message, &field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t current = repeated ? reflection.GetRepeatedUInt32(message, &field, index)
                                  : reflection.GetUInt32(message, &field);
      auto value = static_cast<uint32_t>(
          NewInteger(current, 0, std::numeric_limits<uint32_t>::max(), random));
      repeated ? reflection.SetRepeatedUInt32(&message, &field, index, value)
               : reflection.SetUInt32(&message, &field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t current = repeated ? reflection.GetRepeatedUInt64(message, &field, index)
                                  : reflection.GetUInt64(message, &field);
      auto value = static_cast<uint64_t>(NewInteger(static_cast<int64_t>(current), 0,
                                                    std::numeric_limits<int64_t>::max(), random));
      repeated ? reflection.SetRepeatedUInt64(&message, &field, index, value)
               : reflection.SetUInt64(&message, &field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double value = Pick<double>(
          {0.0, -1.0, 0.5, 1.0, 100.0, 1e308, -1e308, std::numeric_limits<double>::quiet_NaN(),
           std::numeric_limits<double>::infinity(), std::numeric_limits<double>::denorm_min()},
          random);
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        auto narrow = static_cast<float>(value);
        repeated ? reflection.SetRepeatedFloat(&message, &field, index, narrow)
                 : reflection.SetFloat(&message, &field, narrow);
      } else {
        repeated ? reflection.SetRepeatedDouble(&message, &field, index, value)
                 : reflection.SetDouble(&message, &field, value);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value = repeated ? !reflection.GetRepeatedBool(message, &field, index)
                            : !reflection.GetBool(message, &field);
      repeated ? reflection.SetRepeatedBool(&message, &field, index, value)
               : reflection.SetBool(&message, &field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Proto3 enums are open: a number no value names is as possible on the wire as any other.
      const google::protobuf::EnumDescriptor& type = *field.enum_type();
      int value =
          OneIn(4, random)
              ? Pick<int>({-1, 99, std::numeric_limits<int32_t>::max()}, random)
              : type.value(std::uniform_int_distribution<int>(0, type.value_count() - 1)(random))
                    ->number();
      repeated ? reflection.SetRepeatedEnumValue(&message, &field, index, value)
               : reflection.SetEnumValue(&message, &field, value);
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string current = repeated ? reflection.GetRepeatedString(message, &field, index)
                                     : reflection.GetString(message, &field);
      bool bytes = field.type() == FieldDescriptor::TYPE_BYTES;
      std::string value = NewString(current, bytes, random);
      if (!bytes && !IsValidUtf8(value)) value = "a";
      repeated ? reflection.SetRepeatedString(&message, &field, index, std::move(value))
               : reflection.SetString(&message, &field, std::move(value));
      return;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return;
  }
}

std::string RequestMutator::NewString(const std::string& current, bool bytes,
                                      std::mt19937_64& random) const {
  switch (std::uniform_int_distribution<int>(0, 7)(random)) {
    case 0:
    case 1:
      if (!dictionary_.empty()) return Pick(dictionary_, random);
      return current;
    case 2:
      return "";
    case 3:
      // Past every length limit the services set (names, notes, messages, URLs).
      return std::string(Pick<size_t>({65, 129, 257, 1025, 4097, 20000}, random), 'x');
    case 4:
      return Pick<std::string>({" ",
                                "\t",
                                "a\nb",
                                "0",
                                "-1",
                                "1e9",
                                "null",
                                "../..",
                                "%00",
                                "\xe2\x80\x8b",
                                "\xf0\x9f\x98\x80",
                                "2026-02-30",
                                "25:61",
                                "Europe/Nowhere",
                                "UTC",
                                "FREQ=SECONDLY",
                                "https://",
                                "http://127.0.0.1/",
                                "{}",
                                "'\"",
                                "*",
                                "?"},
                               random);
    case 5:
      if (bytes) {
        std::string value(std::uniform_int_distribution<size_t>(0, 48)(random), '\0');
        for (char& c : value) c = static_cast<char>(random());
        return value;
      }
      return current.size() < 10000 ? current + current : current;
    case 6: {
      if (current.empty()) return "a";
      std::string value = current;
      size_t at = std::uniform_int_distribution<size_t>(0, value.size() - 1)(random);
      // ASCII only in string fields: proto3 refuses invalid UTF-8 at the parser, before any of
      // our code runs.
      value[at] = static_cast<char>(std::uniform_int_distribution<int>(0x20, 0x7e)(random));
      return value;
    }
    default:
      if (current.empty()) return current;
      return current.substr(0,
                            std::uniform_int_distribution<size_t>(0, current.size() - 1)(random));
  }
}

}  // namespace peerwell::fuzz
