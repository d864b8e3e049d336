#include "tests/fuzz/fuzz_target.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/create_channel.h"
#include "tests/authz/matrix.h"
#include "tests/testing/tokens.h"

namespace peerwell::fuzz {
namespace {

using google::protobuf::Message;

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor& type) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(&type)->New());
}

bool AnswerIsPromised(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return true;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return !status.error_message().empty();
    default:
      return false;
  }
}

}  // namespace

const google::protobuf::MethodDescriptor* FindMethod(const std::string& rpc) {
  size_t slash = rpc.find('/');
  if (slash == std::string::npos) return nullptr;
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      absl::StrCat(rpc.substr(0, slash), ".", rpc.substr(slash + 1)));
}

absl::StatusOr<std::unique_ptr<FuzzTarget>> FuzzTarget::Start(
    std::string only_rpc, std::vector<std::string> placeholders) {
  auto target = std::unique_ptr<FuzzTarget>(new FuzzTarget());
  if (!only_rpc.empty() && FindMethod(only_rpc) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no RPC is called ", only_rpc));
  }
  target->only_rpc_ = std::move(only_rpc);
  auto started = InProcessSuite::Start({{"log_level", "error"}});
  if (!started.ok()) return started.status();
  target->suite_ = *std::move(started);
  const InProcessSuite& suite = *target->suite_;
  target->stubs_for_world_ = std::make_unique<authz::Stubs>(authz::ConnectStubs(
      [&suite](const std::string& name) { return suite.service(name)->address; }));
  if (absl::Status seeded = target->RenewWorld(); !seeded.ok()) return seeded;
  target->mutator_ = std::make_unique<RequestMutator>(std::move(placeholders));
  return target;
}

absl::Status FuzzTarget::RenewWorld() {
  world_ = std::make_unique<authz::World>(*stubs_for_world_, testing::kTestJwtSecret);
  runs_in_world_ = 0;
  world_spoiled_ = false;
  absl::Status seeded = world_->Seed();
  if (!seeded.ok()) {
    return absl::Status(seeded.code(), absl::StrCat("cannot seed a world: ", seeded.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<FuzzTarget::Outcome> FuzzTarget::Run(absl::string_view data) {
  FuzzInput input = ParseFuzzInput(data);
  if (!only_rpc_.empty() && input.rpc != only_rpc_) return Outcome::kSkipped;
  const google::protobuf::MethodDescriptor* method = FindMethod(input.rpc);
  if (method == nullptr) return Outcome::kSkipped;
  const InProcessSuite::Service* service =
      suite_->ServiceForPackage(method->service()->file()->package());
  if (service == nullptr) {
    return absl::NotFoundError(absl::StrCat("no service of the suite serves ", input.rpc));
  }
  // A mutant whose placeholder no longer names anything (a character changed inside it) is not
  // a call a client could make, and no world would fill it in.
  for (const std::string& name : authz::PlaceholderNames(input.request_text)) {
    if (!authz::CheckPlaceholder(name).ok()) return Outcome::kSkipped;
  }
  // The world makes what the request names on first use. Earlier inputs change it (a key
  // revoked, a member deactivated), so when it can no longer make what a request names, when a
  // caller it made is no longer let in, and every so often, it starts again as new.
  if (++runs_in_world_ > kRunsPerWorld || world_spoiled_) {
    if (absl::Status renewed = RenewWorld(); !renewed.ok()) return renewed;
  }
  auto filled = world_->Fill(input.request_text, input.caller, input.target);
  if (!filled.ok()) {
    if (absl::Status renewed = RenewWorld(); !renewed.ok()) return renewed;
    filled = world_->Fill(input.request_text, input.caller, input.target);
    if (!filled.ok()) return Outcome::kSkipped;
  }
  std::unique_ptr<Message> request = NewMessage(*method->input_type());
  if (!google::protobuf::TextFormat::ParseFromString(filled->text, request.get())) {
    return Outcome::kSkipped;
  }
  auto credentials = world_->CredentialsOf(input.caller);
  if (!credentials.ok()) return Outcome::kSkipped;

  std::unique_ptr<grpc::GenericStub>& stub = stubs_[service->address];
  if (stub == nullptr) {
    stub = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(service->address, grpc::InsecureChannelCredentials()));
  }
  std::string response;
  grpc::Status status = authz::CallRpc(*stub, *method, request->SerializeAsString(), *credentials,
                                       absl::Seconds(10), &response);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
      absl::StrContains(status.error_message(), "deactivated")) {
    world_spoiled_ = true;
  }
  if (!AnswerIsPromised(status)) {
    return absl::InternalError(absl::StrCat(
        input.rpc, " as ", input.caller, " answered ", static_cast<int>(status.error_code()), " '",
        status.error_message(), "' to:\n", request->DebugString()));
  }
  return Outcome::kAnswered;
}

std::string FuzzTarget::Mutate(absl::string_view data, size_t max_size, unsigned int seed) const {
  FuzzInput input = ParseFuzzInput(data);
  std::mt19937_64 random(seed);
  if (!only_rpc_.empty()) input.rpc = only_rpc_;
  const google::protobuf::MethodDescriptor* method = FindMethod(input.rpc);
  if (method == nullptr) return std::string(data);
  std::unique_ptr<Message> request = NewMessage(*method->input_type());
  // A request that does not parse starts again from an empty one.
  google::protobuf::TextFormat::ParseFromString(input.request_text, request.get());
  // Now and then another caller or target: the same request from someone else, or about
  // someone else, is another test.
  const auto& callers = authz::Callers();
  const auto& targets = authz::Targets();
  if (std::find(callers.begin(), callers.end(), input.caller) == callers.end() ||
      std::uniform_int_distribution<int>(0, 15)(random) == 0) {
    input.caller = callers[std::uniform_int_distribution<size_t>(0, callers.size() - 1)(random)];
  } else if (std::find(targets.begin(), targets.end(), input.target) == targets.end() ||
             std::uniform_int_distribution<int>(0, 15)(random) == 0) {
    input.target = targets[std::uniform_int_distribution<size_t>(0, targets.size() - 1)(random)];
  } else {
    mutator_->Mutate(*request, random);
  }
  google::protobuf::TextFormat::PrintToString(*request, &input.request_text);
  std::string mutated = FormatFuzzInput(input);
  if (mutated.size() > max_size) return std::string(data);
  return mutated;
}

}  // namespace peerwell::fuzz
