#include "tests/authz/world.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "jwt/jwt.hpp"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "tests/authz/matrix.h"
#include "tests/testing/wait.h"

namespace peerwell::authz {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
namespace gv1 = ::peerwell::gateway::v1;
namespace nv1 = ::peerwell::network::v1;
namespace sv1 = ::peerwell::supervision::v1;

// Events reach the alerts and supervision services through Redis streams, within a second or
// two on a loaded machine; this is far beyond that.
constexpr absl::Duration kEventDeadline = absl::Seconds(20);
constexpr absl::Duration kCallDeadline = absl::Seconds(15);

std::string RandomHex(int digits) {
  thread_local absl::BitGen gen;
  std::string hex;
  for (int i = 0; i < digits; ++i) hex.push_back("0123456789abcdef"[absl::Uniform(gen, 0, 16)]);
  return hex;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Signed with the suite's secret and otherwise valid, but for another audience.
std::string WrongAudienceToken(const std::string& key, const std::string& subject,
                               const std::string& organization_id) {
  using namespace jwt::params;
  jwt::jwt_object token{algorithm("HS256"), secret(key)};
  auto now = std::chrono::system_clock::now();
  token.add_claim("iss", std::string(kTokenIssuer))
      .add_claim("aud", "another-audience")
      .add_claim("sub", subject)
      .add_claim("role", "coordinator")
      .add_claim("org", organization_id)
      .add_claim("iat", now)
      .add_claim("exp", now + std::chrono::hours(1));
  return token.signature();
}

// The people of a session a label names: who runs it, and who takes part (if anyone).
struct SessionShape {
  const char* lead;
  const char* participant;
};
const std::map<std::string, SessionShape>& SessionShapes() {
  static const auto* shapes =
      new std::map<std::string, SessionShape>{{"V_with_S", {"S", "V"}},
                                              {"S_without_V", {"S", nullptr}},
                                              {"V_with_S2", {"S2", "V"}},
                                              {"W_with_S2", {"S2", "W"}},
                                              {"C_leads", {"C", nullptr}}};
  return *shapes;
}

// A server-streaming call: OK once the server has sent its initial metadata (the services send
// it when the stream is live), else the status it ended with before that.
class StreamProbe : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamProbe(grpc::GenericStub& stub, grpc::ClientContext& context, const std::string& method,
              const grpc::ByteBuffer& request)
      : context_(context), request_(request) {
    stub.PrepareBidiStreamingCall(&context, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartCall();
  }

  grpc::Status Await() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return metadata_read_ || done_; });
    bool live = live_;
    lock.unlock();
    if (live) context_.TryCancel();
    lock.lock();
    ready_.wait(lock, [&] { return done_; });
    return live ? grpc::Status::OK : status_;
  }

  void OnReadInitialMetadataDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    metadata_read_ = true;
    live_ = ok;  // false for a call that ended without metadata (trailers only)
    ready_.notify_all();
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    ready_.notify_all();
  }

 private:
  grpc::ClientContext& context_;
  grpc::ByteBuffer request_;
  std::mutex mu_;
  std::condition_variable ready_;
  bool metadata_read_ = false;
  bool live_ = false;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace

grpc::Status CallRpc(grpc::GenericStub& stub, const google::protobuf::MethodDescriptor& method,
                     const std::string& request, const Credentials& credentials,
                     absl::Duration deadline, std::string* response) {
  HoldCallbackThreads();
  grpc::ClientContext context;
  if (!credentials.bearer.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", credentials.bearer));
  }
  if (!credentials.api_key.empty()) context.AddMetadata("x-api-key", credentials.api_key);
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  std::string path = absl::StrCat("/", method.service()->full_name(), "/", method.name());
  if (method.server_streaming()) {
    StreamProbe probe(stub, context, path, request_buffer);
    return probe.Await();
  }
  grpc::Status status;
  grpc::ByteBuffer answer;
  std::mutex mu;
  std::condition_variable finished;
  bool done = false;
  stub.UnaryCall(&context, path, grpc::StubOptions(), &request_buffer, &answer,
                 [&](grpc::Status answered) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(answered);
                   done = true;
                   finished.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  finished.wait(lock, [&] { return done; });
  response->clear();
  std::vector<grpc::Slice> slices;
  if (status.ok() && answer.Dump(&slices).ok()) {
    for (const grpc::Slice& part : slices) {
      response->append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
  }
  return status;
}

std::string MissingLike(const std::string& value) {
  std::string missing = value;
  size_t i = 0;
  while (i < missing.size()) {
    if (!IsLowerHex(missing[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < missing.size() && IsLowerHex(missing[end])) ++end;
    if (end - i >= 20) missing.replace(end - 20, 20, RandomHex(20));
    i = end;
  }
  return missing;
}

Stubs ConnectStubs(const std::function<std::string(const std::string& service)>& address_of) {
  return {dv1::DirectoryService::NewStub(ServiceChannel(address_of("directory"))),
          cv1::CheckinService::NewStub(ServiceChannel(address_of("checkin"))),
          av1::AlertService::NewStub(ServiceChannel(address_of("alerts"))),
          sv1::SupervisionService::NewStub(ServiceChannel(address_of("supervision"))),
          nv1::PeerNetworkService::NewStub(ServiceChannel(address_of("network"))),
          gv1::WebhookService::NewStub(ServiceChannel(address_of("webhooks")))};
}

World::World(const Stubs& stubs, std::string jwt_secret)
    : stubs_(stubs), jwt_secret_(std::move(jwt_secret)) {
  a_.name = "A";
  b_.name = "B";
  // Whole hours from midnight two days ahead: clear of the debrief offers a critical incident
  // brings (within a day) and of every supervisor's quiet hours (none).
  absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  first_slot_ = absl::FromCivil(today + 3, absl::UTCTimeZone());
}

template <typename Send>
absl::Status World::Call(const char* what, const Credentials& credentials, Send send) {
  grpc::ClientContext context;
  if (!credentials.bearer.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", credentials.bearer));
  }
  if (!credentials.api_key.empty()) context.AddMetadata("x-api-key", credentials.api_key);
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  ++calls_;
  grpc::Status status = send(&context);
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("seeding, ", what, ": ", status.error_message()));
}

absl::Status World::Seed() {
  if (auto seeded = SeedOrg(a_); !seeded.ok()) return seeded;
  return SeedOrg(b_);
}

absl::Status World::SeedOrg(Org& org) {
  auto admin = [&] {
    return Bearer(MintToken(jwt_secret_, {"operator", org.id, CallerRole::kAdmin}, absl::Now()));
  };
  dv1::CreateOrganizationRequest create_org;
  create_org.set_display_name(absl::StrCat("Organisation ", org.name));
  dv1::CreateOrganizationResponse created_org;
  if (auto status = Call("CreateOrganization", admin(),
                         [&](grpc::ClientContext* context) {
                           return stubs_.directory->CreateOrganization(context, create_org,
                                                                       &created_org);
                         });
      !status.ok()) {
    return status;
  }
  org.id = created_org.organization().organization_id();
  struct Member {
    const char* label;
    dv1::Role role;
    CallerRole caller_role;
    const char* supervisor;
  };
  for (const Member& member :
       {Member{"C", dv1::ROLE_COORDINATOR, CallerRole::kCoordinator, nullptr},
        Member{"S", dv1::ROLE_SUPERVISOR, CallerRole::kSupervisor, nullptr},
        Member{"S2", dv1::ROLE_SUPERVISOR, CallerRole::kSupervisor, nullptr},
        Member{"V", dv1::ROLE_VOLUNTEER, CallerRole::kVolunteer, "S"},
        Member{"W", dv1::ROLE_VOLUNTEER, CallerRole::kVolunteer, "S2"}}) {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name(absl::StrCat(member.label, " of ", org.name));
    request.mutable_person()->set_role(member.role);
    if (member.supervisor != nullptr) {
      request.mutable_person()->add_supervisor_ids(org.people.at(member.supervisor));
    }
    Credentials creator = org.tokens.empty() ? admin() : Bearer(Token(org, "C"));
    dv1::CreatePersonResponse response;
    if (auto status = Call("CreatePerson", creator,
                           [&](grpc::ClientContext* context) {
                             return stubs_.directory->CreatePerson(context, request, &response);
                           });
        !status.ok()) {
      return status;
    }
    org.people[member.label] = response.person().person_id();
    org.tokens[member.label] = MintToken(
        jwt_secret_, {response.person().person_id(), org.id, member.caller_role, absl::Hours(2)},
        absl::Now());
  }
  for (const char* volunteer : {"V", "W"}) {
    dv1::SetConsentRequest request;
    request.mutable_consent()->set_risk_monitoring(true);
    request.mutable_consent()->set_share_scores_with_supervisor(true);
    dv1::SetConsentResponse response;
    if (auto status = Call("SetConsent", Bearer(Token(org, volunteer)),
                           [&](grpc::ClientContext* context) {
                             return stubs_.directory->SetConsent(context, request, &response);
                           });
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Credentials> World::CredentialsOf(const std::string& caller) {
  const std::string& coordinator = a_.people.at("C");
  if (caller == "none") return Credentials{"", ""};
  if (caller == "bad_signature") {
    return Bearer(MintToken("not-the-suite-secret-but-as-long-as-one-0123456789",
                            {coordinator, a_.id, CallerRole::kCoordinator}, absl::Now()));
  }
  if (caller == "expired") {
    return Bearer(MintToken(
        jwt_secret_, {coordinator, a_.id, CallerRole::kCoordinator, -absl::Hours(1)}, absl::Now()));
  }
  if (caller == "wrong_audience") {
    return Bearer(WrongAudienceToken(jwt_secret_, coordinator, a_.id));
  }
  if (caller == "volunteer") return Bearer(Token(a_, "V"));
  if (caller == "supervisor") return Bearer(Token(a_, "S"));
  if (caller == "coordinator") return Bearer(Token(a_, "C"));
  if (caller == "admin") {
    return Bearer(MintToken(jwt_secret_, {"operator", a_.id, CallerRole::kAdmin}, absl::Now()));
  }
  if (caller == "service") {
    return Bearer(
        MintToken(jwt_secret_, {"authz-matrix", a_.id, CallerRole::kService}, absl::Now()));
  }
  static const auto* scopes =
      new std::map<std::string, std::string>{{"partner_aggregates", "aggregates:read"},
                                             {"partner_exports", "exports:read"},
                                             {"partner_webhooks", "webhooks:manage"}};
  auto scope = scopes->find(caller);
  if (scope == scopes->end()) return absl::InvalidArgumentError("unknown caller " + caller);
  auto key = Key(a_, caller, scope->second);
  if (!key.ok()) return key.status();
  return ApiKey(key->second);
}

World::Named World::NameTarget(const std::string& kind, const std::string& caller,
                               const std::string& target) {
  std::string role = caller == "volunteer"     ? "V"
                     : caller == "supervisor"  ? "S"
                     : caller == "coordinator" ? "C"
                                               : "";
  std::string own, assigned, same_org;
  if (kind == "session" || kind == "group_session" || kind == "offer") {
    own = role == "V" || role == "S" ? "V_with_S" : role == "C" ? "C_leads" : "W_with_S2";
    assigned = role == "V" ? "S_without_V" : role == "S" ? "V_with_S2" : "V_with_S";
    same_org = "W_with_S2";
  } else if (kind == "api_key") {
    own = "own";
    assigned = "assigned";
    same_org = "same_org";
  } else if (kind == "webhook") {
    own = caller == "partner_webhooks" ? caller : "webhooks other";
    assigned = same_org = "webhooks other";
  } else {
    same_org = kind == "supervisor" ? "S2" : "W";
    own = role.empty() ? same_org : role;
    assigned = role == "V" ? "S" : "V";
  }
  if (target == "own") {
    if (kind == "participant" && (role == "S" || role == "C")) return {nullptr, "", true};
    return {&a_, own};
  }
  if (target == "assigned") return {&a_, assigned};
  if (target == "same_org") return {&a_, same_org};
  if (target == "other_org") return {&b_, same_org};
  return {nullptr, same_org};
}

absl::StatusOr<FilledRequest> World::Fill(const std::string& text, const std::string& caller,
                                          const std::string& target) {
  FilledRequest filled;
  std::map<std::string, std::optional<Resource>> named;  // by kind
  auto value = [&](const std::string& name) -> absl::StatusOr<std::optional<std::string>> {
    std::string kind = TargetKindOf(name);
    if (!kind.empty()) {
      if (target.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("${", name, "} in a request judged without a target"));
      }
      auto it = named.find(kind);
      if (it == named.end()) {
        Named whose = NameTarget(kind, caller, target);
        std::optional<Resource> resource;
        if (!whose.absent) {
          auto made = Make(kind, whose.org != nullptr ? *whose.org : a_, whose.label);
          if (!made.ok()) return made.status();
          resource = *std::move(made);
          if (whose.org == nullptr) {
            for (auto& [field, id] : *resource) id = MissingLike(id);
          }
          for (const auto& [field, id] : *resource) filled.target_values.push_back(id);
        }
        it = named.emplace(kind, std::move(resource)).first;
      }
      if (!it->second.has_value()) return std::nullopt;
      std::string field = name.size() > kind.size() ? name.substr(kind.size() + 1) : "";
      auto found = it->second->find(field);
      if (found == it->second->end()) {
        return absl::InternalError(absl::StrCat("a ", kind, " has no ", field));
      }
      return found->second;
    }
    if (name == "request_id") return absl::StrCat("authz-", ++next_request_, "-", RandomHex(8));
    if (name == "slot") {
      if (auto available = MakeSupervisorsAvailable(a_); !available.ok()) return available;
      return NextSlot();
    }
    if (name == "calendar_token") {
      auto feed = Make("feed", a_, "V");
      if (!feed.ok()) return feed.status();
      return feed->at("token");
    }
    absl::string_view person = name;
    if (absl::ConsumePrefix(&person, "A.")) return a_.people.at(std::string(person));
    absl::string_view offset = name;
    if (absl::ConsumePrefix(&offset, "time") && absl::ConsumeSuffix(&offset, "h")) {
      int hours = 0;
      if (absl::SimpleAtoi(offset, &hours)) {
        return absl::StrCat(absl::ToUnixSeconds(absl::Now() + absl::Hours(hours)));
      }
    }
    return absl::InvalidArgumentError(absl::StrCat("no value for ${", name, "}"));
  };
  auto text_filled = FillTemplate(text, value);
  if (!text_filled.ok()) return text_filled.status();
  filled.text = *std::move(text_filled);
  return filled;
}

std::string World::NextSlot() {
  // Two hours apart, so that an hour's session never touches the next or crosses midnight (the
  // availability windows end at 23:59).
  return absl::StrCat(absl::ToUnixSeconds(first_slot_ + absl::Hours(2) * next_slot_++));
}

absl::StatusOr<std::pair<std::string, std::string>> World::Key(Org& org, const std::string& label,
                                                               const std::string& scope) {
  if (auto it = org.keys.find(label); it != org.keys.end()) return it->second;
  dv1::CreateApiKeyRequest request;
  request.set_display_name(label);
  request.add_scopes(scope);
  dv1::CreateApiKeyResponse response;
  if (auto status = Call("CreateApiKey", Bearer(Token(org, "C")),
                         [&](grpc::ClientContext* context) {
                           return stubs_.directory->CreateApiKey(context, request, &response);
                         });
      !status.ok()) {
    return status;
  }
  return org.keys[label] = {response.api_key().api_key_id(), response.secret()};
}

absl::Status World::MakeSupervisorsAvailable(Org& org) {
  if (org.supervisors_available) return absl::OkStatus();
  for (const char* supervisor : {"S", "S2", "C"}) {
    sv1::SetAvailabilityRequest request;
    request.set_supervisor_id(org.people.at(supervisor));
    for (int weekday = 1; weekday <= 7; ++weekday) {
      sv1::WeeklyWindow* window = request.mutable_availability()->add_weekly();
      window->set_weekday(weekday);
      window->set_start("00:00");
      window->set_end("23:59");
    }
    sv1::SetAvailabilityResponse response;
    if (auto status = Call("SetAvailability", Bearer(Token(org, "C")),
                           [&](grpc::ClientContext* context) {
                             return stubs_.supervision->SetAvailability(context, request,
                                                                        &response);
                           });
        !status.ok()) {
      return status;
    }
  }
  org.supervisors_available = true;
  return absl::OkStatus();
}

absl::Status World::ReportIncident(Org& org, const std::string& person) {
  cv1::ReportCriticalIncidentRequest request;
  request.set_incident_type(cv1::INCIDENT_TYPE_AGGRESSION);
  request.mutable_occur_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
  request.set_request_id(absl::StrCat("incident-", ++next_request_, "-", RandomHex(8)));
  cv1::ReportCriticalIncidentResponse response;
  return Call("ReportCriticalIncident", Bearer(Token(org, person)),
              [&](grpc::ClientContext* context) {
                return stubs_.checkin->ReportCriticalIncident(context, request, &response);
              });
}

absl::StatusOr<std::string> World::AlertAbout(Org& org, const std::string& person) {
  if (auto reported = ReportIncident(org, person); !reported.ok()) return reported;
  std::string alert_id;
  absl::Status failed;
  av1::ListAlertsRequest request;
  request.set_volunteer_id(org.people.at(person));
  request.add_states(av1::ALERT_STATE_TRIGGERED);
  bool raised = testing::WaitFor(
      [&] {
        av1::ListAlertsResponse response;
        failed = Call("ListAlerts", Bearer(Token(org, "C")), [&](grpc::ClientContext* context) {
          return stubs_.alerts->ListAlerts(context, request, &response);
        });
        if (!failed.ok() || response.alerts().empty()) return false;
        alert_id = response.alerts(0).alert_id();
        return true;
      },
      kEventDeadline, absl::Milliseconds(20));
  if (!raised) {
    return absl::DeadlineExceededError(
        absl::StrCat("seeding: no alert about ", person, " of ", org.name,
                     " after their critical incident (last: ", failed.ToString(), ")"));
  }
  return alert_id;
}

absl::StatusOr<std::string> World::OfferTo(Org& org, const std::string& person,
                                           const std::string& supervisor) {
  if (auto available = MakeSupervisorsAvailable(org); !available.ok()) return available;
  if (auto reported = ReportIncident(org, person); !reported.ok()) return reported;
  std::string session_id;
  std::string lead;
  absl::Status failed;
  sv1::ListSessionsRequest request;
  request.add_states(sv1::SESSION_STATE_OFFERED);
  bool offered = testing::WaitFor(
      [&] {
        sv1::ListSessionsResponse response;
        failed =
            Call("ListSessions", Bearer(Token(org, person)), [&](grpc::ClientContext* context) {
              return stubs_.supervision->ListSessions(context, request, &response);
            });
        if (!failed.ok() || response.sessions().empty()) return false;
        session_id = response.sessions(0).session_id();
        lead = response.sessions(0).supervisor_ids_size() == 1
                   ? response.sessions(0).supervisor_ids(0)
                   : "";
        return true;
      },
      kEventDeadline, absl::Milliseconds(20));
  if (offered && lead != org.people.at(supervisor)) {
    return absl::FailedPreconditionError(
        absl::StrCat("seeding: the debrief offered to ", person, " of ", org.name,
                     " is not with their supervisor ", supervisor, " alone"));
  }
  if (!offered) {
    return absl::DeadlineExceededError(
        absl::StrCat("seeding: no debrief offered to ", person, " of ", org.name,
                     " after their critical incident (last: ", failed.ToString(), ")"));
  }
  return session_id;
}

absl::StatusOr<World::Resource> World::MakeSession(Org& org, const std::string& label, bool group) {
  auto shape = SessionShapes().find(label);
  if (shape == SessionShapes().end()) return absl::InternalError("no session " + label);
  if (auto available = MakeSupervisorsAvailable(org); !available.ok()) return available;
  sv1::CreateSessionRequest request;
  sv1::Session* session = request.mutable_session();
  session->set_kind(group ? sv1::SESSION_KIND_GROUP : sv1::SESSION_KIND_INDIVIDUAL);
  session->set_title(label);
  session->add_supervisor_ids(org.people.at(shape->second.lead));
  if (shape->second.participant != nullptr) {
    session->add_participant_ids(org.people.at(shape->second.participant));
  }
  int64_t start = 0;
  if (!absl::SimpleAtoi(NextSlot(), &start)) return absl::InternalError("a slot is a number");
  session->mutable_start_time()->set_seconds(start);
  session->mutable_duration()->set_seconds(3600);
  sv1::CreateSessionResponse response;
  if (auto status = Call("CreateSession", Bearer(Token(org, "C")),
                         [&](grpc::ClientContext* context) {
                           return stubs_.supervision->CreateSession(context, request, &response);
                         });
      !status.ok()) {
    return status;
  }
  return Resource{{"", response.session().session_id()}};
}

absl::StatusOr<World::Resource> World::Make(const std::string& kind, Org& org,
                                            const std::string& label) {
  auto key = std::make_pair(kind, label);
  if (auto it = org.resources.find(key); it != org.resources.end()) return it->second;
  absl::StatusOr<Resource> made = absl::InternalError(absl::StrCat("no resource kind ", kind));
  bool volunteer = label == "V" || label == "W";
  if (kind == "person" || kind == "participant" || kind == "supervisor") {
    made = Resource{{"", org.people.at(label)}};
  } else if (kind == "alert") {
    if (!volunteer) {
      made = Resource{{"", "a" + RandomHex(20)}};  // alerts are about volunteers only
    } else if (auto alert = AlertAbout(org, label); alert.ok()) {
      made = Resource{{"", *alert}};
    } else {
      made = alert.status();
    }
  } else if (kind == "silence") {
    if (!volunteer) {
      made = Resource{{"", "s" + RandomHex(20)}};  // silences are about volunteers only
    } else {
      av1::CreateSilenceRequest request;
      request.set_volunteer_id(org.people.at(label));
      request.mutable_end_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(24)));
      request.set_reason("On leave");
      av1::CreateSilenceResponse response;
      absl::Status status =
          Call("CreateSilence", Bearer(Token(org, "C")), [&](grpc::ClientContext* c) {
            return stubs_.alerts->CreateSilence(c, request, &response);
          });
      made = status.ok() ? absl::StatusOr<Resource>(Resource{{"", response.silence().silence_id()}})
                         : status;
    }
  } else if (kind == "channel") {
    nv1::CreateChannelRequest request;
    request.mutable_channel()->set_kind(nv1::CHANNEL_KIND_GROUP);
    request.mutable_channel()->set_display_name(absl::StrCat(label, "'s channel"));
    request.mutable_channel()->add_member_ids(org.people.at(label));
    nv1::CreateChannelResponse response;
    absl::Status status =
        Call("CreateChannel", Bearer(Token(org, "C")), [&](grpc::ClientContext* c) {
          return stubs_.network->CreateChannel(c, request, &response);
        });
    made = status.ok() ? absl::StatusOr<Resource>(Resource{{"", response.channel().channel_id()}})
                       : status;
  } else if (kind == "message") {
    auto channel = Make("channel", org, label);
    if (!channel.ok()) return channel.status();
    nv1::PostMessageRequest request;
    request.set_channel_id(channel->at(""));
    request.set_body(absl::StrCat("Hello from ", label));
    nv1::PostMessageResponse response;
    absl::Status status = Call(
        "PostMessage", Bearer(Token(org, label)),
        [&](grpc::ClientContext* c) { return stubs_.network->PostMessage(c, request, &response); });
    made = status.ok() ? absl::StatusOr<Resource>(Resource{{"", response.message().message_id()},
                                                           {"channel", channel->at("")}})
                       : status;
  } else if (kind == "report") {
    auto message = Make("message", org, label);
    if (!message.ok()) return message.status();
    nv1::ReportMessageRequest request;
    request.set_channel_id(message->at("channel"));
    request.set_message_id(message->at(""));
    request.set_reason("Not kind");
    nv1::ReportMessageResponse response;
    absl::Status status =
        Call("ReportMessage", Bearer(Token(org, label)), [&](grpc::ClientContext* c) {
          return stubs_.network->ReportMessage(c, request, &response);
        });
    made = status.ok() ? absl::StatusOr<Resource>(Resource{{"", response.report().report_id()}})
                       : status;
  } else if (kind == "feed") {
    sv1::CreateCalendarFeedRequest request;
    sv1::CreateCalendarFeedResponse response;
    absl::Status status =
        Call("CreateCalendarFeed", Bearer(Token(org, label)), [&](grpc::ClientContext* c) {
          return stubs_.supervision->CreateCalendarFeed(c, request, &response);
        });
    absl::string_view token = response.feed().path();
    if (status.ok() &&
        (!absl::ConsumePrefix(&token, "/calendar/") || !absl::ConsumeSuffix(&token, ".ics"))) {
      status = absl::InternalError("seeding: a calendar feed's path is /calendar/<token>.ics");
    }
    made = status.ok() ? absl::StatusOr<Resource>(Resource{{"", response.feed().feed_id()},
                                                           {"token", std::string(token)}})
                       : status;
  } else if (kind == "api_key") {
    auto created = Key(org, absl::StrCat("key ", label), "aggregates:read");
    made =
        created.ok()
            ? absl::StatusOr<Resource>(Resource{{"", created->first}, {"secret", created->second}})
            : created.status();
  } else if (kind == "webhook") {
    auto owner = Key(org, label, "webhooks:manage");
    if (!owner.ok()) return owner.status();
    gv1::CreateWebhookRequest request;
    request.set_url("https://partner.example/peerwell");
    request.add_event_types("alert.resolved");
    gv1::CreateWebhookResponse response;
    absl::Status status = Call("CreateWebhook", ApiKey(owner->second), [&](grpc::ClientContext* c) {
      return stubs_.webhooks->CreateWebhook(c, request, &response);
    });
    made = status.ok() ? absl::StatusOr<Resource>(Resource{{"", response.webhook().webhook_id()}})
                       : status;
  } else if (kind == "session" || kind == "group_session") {
    made = MakeSession(org, label, kind == "group_session");
  } else if (kind == "offer") {
    auto shape = SessionShapes().find(label);
    if (label == "V_with_S" || label == "W_with_S2") {
      auto offer = OfferTo(org, shape->second.participant, shape->second.lead);
      made = offer.ok() ? absl::StatusOr<Resource>(Resource{{"", *offer}}) : offer.status();
    } else {
      made = Make("session", org, label);
    }
  }
  if (!made.ok()) return made.status();
  return org.resources[key] = *std::move(made);
}

}  // namespace peerwell::authz
