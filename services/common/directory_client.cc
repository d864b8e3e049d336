#include "services/common/directory_client.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "services/common/deadline.h"
#include "services/common/validation.h"

namespace peerwell {
namespace {

namespace v1 = directory::v1;

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// What the directory's answer to this service means for the caller this service is serving.
// The directory refusing this service's own token (a secret that differs, a role it does not
// grant) is this deployment's fault, not the caller's: passed through, it would tell a caller
// holding a good token that their credentials are bad.
absl::Status FromDirectory(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    return absl::InternalError(absl::StrCat(
        "the directory refused this service's credentials: ", status.error_message()));
  }
  return FromGrpc(status);
}

std::string Key(const std::string& organization_id, const std::string& id) {
  return absl::StrCat(organization_id, "/", id);
}

}  // namespace

DirectoryClient::DirectoryClient(std::shared_ptr<grpc::Channel> channel,
                                 DirectoryClientOptions options, const Clock& clock)
    : stub_(v1::DirectoryService::NewStub(channel)),
      options_(std::move(options)),
      clock_(clock),
      tokens_(options_.service_name, options_.jwt_secret, options_.max_cached) {}

void DirectoryClient::Prepare(grpc::ClientContext& context, const std::string& organization_id) {
  context.AddMetadata("authorization", "Bearer " + tokens_.For(organization_id));
  // Never past the deadline of the call this lookup serves.
  context.set_deadline(
      absl::ToChronoTime(std::min(CurrentDeadline(), absl::Now() + options_.call_timeout)));
}

template <typename T>
bool DirectoryClient::Lookup(absl::flat_hash_map<std::string, Entry<T>>& cache,
                             const std::string& key, T* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache.find(key);
  if (it == cache.end() || it->second.expire_time <= clock_.Now()) return false;
  *out = it->second.value;
  return true;
}

template <typename T>
void DirectoryClient::Store(absl::flat_hash_map<std::string, Entry<T>>& cache,
                            const std::string& key, const T& value) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Time now = clock_.Now();
  if (cache.size() >= options_.max_cached) {
    absl::erase_if(cache, [now](const auto& entry) { return entry.second.expire_time <= now; });
    if (cache.size() >= options_.max_cached) cache.clear();
  }
  cache[key] = {value, now + options_.cache_ttl};
}

absl::StatusOr<v1::Person> DirectoryClient::GetPerson(const std::string& organization_id,
                                                      const std::string& person_id) {
  std::string key = Key(organization_id, person_id);
  v1::Person person;
  if (Lookup(people_, key, &person)) return person;
  grpc::ClientContext context;
  Prepare(context, organization_id);
  v1::GetPersonRequest request;
  request.set_person_id(person_id);
  v1::GetPersonResponse response;
  grpc::Status status = stub_->GetPerson(&context, request, &response);
  if (!status.ok()) return FromDirectory(status);
  Store(people_, key, response.person());
  return response.person();
}

absl::StatusOr<v1::Consent> DirectoryClient::GetConsent(const std::string& organization_id,
                                                        const std::string& volunteer_id) {
  std::string key = Key(organization_id, volunteer_id);
  v1::Consent consent;
  if (Lookup(consents_, key, &consent)) return consent;
  grpc::ClientContext context;
  Prepare(context, organization_id);
  v1::GetConsentRequest request;
  request.set_volunteer_id(volunteer_id);
  v1::GetConsentResponse response;
  grpc::Status status = stub_->GetConsent(&context, request, &response);
  if (!status.ok()) return FromDirectory(status);
  Store(consents_, key, response.consent());
  return response.consent();
}

absl::StatusOr<std::vector<v1::Person>> DirectoryClient::ListPeople(
    const std::string& organization_id, v1::Role role) {
  std::string key = absl::StrCat(Key(organization_id, "*"), "/", static_cast<int>(role));
  std::vector<v1::Person> people;
  if (Lookup(listings_, key, &people)) return people;
  v1::ListPeopleRequest request;
  request.set_role(role);
  request.set_page_size(1000);
  do {
    grpc::ClientContext context;
    Prepare(context, organization_id);
    v1::ListPeopleResponse response;
    grpc::Status status = stub_->ListPeople(&context, request, &response);
    if (!status.ok()) return FromDirectory(status);
    for (v1::Person& person : *response.mutable_people()) people.push_back(std::move(person));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  Store(listings_, key, people);
  return people;
}

absl::StatusOr<Caller> DirectoryClient::AuthenticateApiKey(absl::string_view secret) {
  auto identity = ParseApiKeySecret(secret);
  if (!identity.ok()) return identity.status();
  // Keyed by the whole secret (held in memory only), so a wrong secret for a known key id is
  // never answered from the cache.
  std::string key(secret);
  Caller caller;
  if (Lookup(api_keys_, key, &caller)) return caller;
  grpc::ClientContext context;
  Prepare(context, identity->organization_id);
  v1::AuthenticateApiKeyRequest request;
  request.set_secret(key);
  v1::AuthenticateApiKeyResponse response;
  grpc::Status status = stub_->AuthenticateApiKey(&context, request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) return FromGrpc(status);
    return absl::UnavailableError("cannot check the API key now: the directory did not answer");
  }
  caller.person_id = response.api_key_id();
  caller.organization_id = response.organization_id();
  caller.role = CallerRole::kPartner;
  caller.scopes.assign(response.scopes().begin(), response.scopes().end());
  Store(api_keys_, key, caller);
  return caller;
}

absl::Status DirectoryClient::CheckMember(const Caller& caller) {
  auto person = GetPerson(caller.organization_id, caller.person_id);
  // A malformed id names nobody, like an unknown one. Anything else is the directory's trouble,
  // not the caller's: their credentials may be fine, they cannot be checked now, and the client
  // may try again (as for API keys).
  if (!person.ok() && person.status().code() != absl::StatusCode::kNotFound &&
      person.status().code() != absl::StatusCode::kInvalidArgument) {
    return absl::UnavailableError(absl::StrCat(
        "cannot check the caller's membership now: ", person.status().message()));
  }
  return MemberTokenStatus(person.ok(),
                           person.ok() && person->status() == v1::PERSON_STATUS_INACTIVE);
}

void DirectoryClient::Forget(const std::string& organization_id, const std::string& person_id) {
  std::string key = Key(organization_id, person_id);
  std::lock_guard<std::mutex> lock(mu_);
  people_.erase(key);
  consents_.erase(key);
}

std::optional<QuietHours> QuietHoursOf(const directory::v1::Person& person) {
  auto start = ParseLocalTimeOfDay(person.quiet_hours().start());
  auto end = ParseLocalTimeOfDay(person.quiet_hours().end());
  if (!start.has_value() || !end.has_value()) return std::nullopt;
  return QuietHours{*start, *end};
}

}  // namespace peerwell
