#include "services/common/directory_client.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "services/common/blocking.h"
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

DirectoryClient::~DirectoryClient() {
  std::vector<std::shared_ptr<grpc::ClientContext>> in_flight;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight = refreshes_;
  }
  // Outside the lock: a cancelled call's callback may run before TryCancel returns.
  for (const auto& call : in_flight) call->TryCancel();
  std::unique_lock<std::mutex> lock(mu_);
  refreshed_.wait(lock, [this] { return refreshes_.empty(); });
}

void DirectoryClient::Prepare(grpc::ClientContext& context, const std::string& organization_id) {
  context.AddMetadata("authorization", "Bearer " + tokens_.For(organization_id));
  // Never past the deadline of the call this lookup serves.
  context.set_deadline(
      absl::ToChronoTime(std::min(CurrentDeadline(), absl::Now() + options_.call_timeout)));
}

DirectoryClient::Fetch DirectoryClient::BeginFetch() {
  std::lock_guard<std::mutex> lock(mu_);
  return {clock_.Now(), forget_generation_};
}

bool DirectoryClient::FollowingLocked(absl::Time fetch_time, absl::Time now) const {
  return fetch_time >= changes_followed_from_ && changes_seen_until_ >= now - options_.cache_ttl;
}

template <typename T>
DirectoryClient::Life DirectoryClient::LifeLocked(const Entry<T>& entry, absl::Time now) const {
  if (entry.followed && FollowingLocked(entry.fetch_time, now)) {
    const absl::Duration life = options_.followed_cache_ttl;
    return {entry.fetch_time + life, entry.fetch_time + life * (0.5 + 0.25 * entry.refresh_spread)};
  }
  const absl::Duration life = options_.cache_ttl;
  return {entry.fetch_time + life, entry.fetch_time + life * 0.75};
}

template <typename T>
bool DirectoryClient::Lookup(absl::flat_hash_map<std::string, Entry<T>>& cache,
                             const std::string& key, T* out, bool* refresh) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache.find(key);
  if (it == cache.end()) return false;
  const absl::Time now = clock_.Now();
  const Life life = LifeLocked(it->second, now);
  if (life.expire_time <= now) return false;
  *out = it->second.value;
  if (refresh != nullptr && !it->second.refreshing && now >= life.refresh_time) {
    it->second.refreshing = true;
    *refresh = true;
  }
  return true;
}

template <typename T>
void DirectoryClient::Store(absl::flat_hash_map<std::string, Entry<T>>& cache,
                            const std::string& key, const T& value, const Fetch& fetch,
                            bool followable) {
  const double spread = static_cast<double>(std::hash<std::string>()(key) % 1024) / 1024;
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_.Now();
  if (cache.size() >= options_.max_cached) {
    for (auto it = cache.begin(); it != cache.end();) {
      auto current = it++;
      if (LifeLocked(current->second, now).expire_time <= now) cache.erase(current);
    }
    if (cache.size() >= options_.max_cached) cache.clear();
  }
  cache[key] = {value, fetch.time, followable && fetch.generation == forget_generation_, spread};
}

template <typename T>
void DirectoryClient::Refreshed(absl::flat_hash_map<std::string, Entry<T>>& cache,
                                const std::string& key, const grpc::ClientContext* call,
                                const Fetch& fetch, const grpc::Status& status, const T* value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache.find(key);
  if (it != cache.end() && fetch.generation == forget_generation_ && status.ok()) {
    it->second.value = *value;
    it->second.fetch_time = fetch.time;
    it->second.followed = true;
    it->second.refreshing = false;
  } else if (it != cache.end() && status.error_code() == grpc::StatusCode::NOT_FOUND) {
    cache.erase(it);  // erased from the directory: not one more answer from the cache
  } else if (it != cache.end()) {
    it->second.refreshing = false;  // the next reader tries again; the entry ages as before
  }
  std::erase_if(refreshes_, [call](const auto& in_flight) { return in_flight.get() == call; });
  refreshed_.notify_all();
}

template <typename Response, typename T, typename Request, typename Start, typename ValueOf>
void DirectoryClient::Refresh(absl::flat_hash_map<std::string, Entry<T>>& cache,
                              const std::string& organization_id, std::string key, Request request,
                              Start start, ValueOf value_of) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->context.AddMetadata("authorization", "Bearer " + tokens_.For(organization_id));
  // Its own deadline: the call that noticed the entry ageing may end long before.
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  Fetch fetch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    refreshes_.push_back({call, &call->context});
    fetch = {clock_.Now(), forget_generation_};
  }
  start(&call->context, &call->request, &call->response,
        [this, &cache, call, key = std::move(key), fetch, value_of](grpc::Status status) {
          Refreshed(cache, key, &call->context, fetch, status, value_of(call->response));
        });
}

void DirectoryClient::RefreshPerson(const std::string& organization_id,
                                    const std::string& person_id) {
  v1::GetPersonRequest request;
  request.set_person_id(person_id);
  Refresh<v1::GetPersonResponse>(
      people_, organization_id, Key(organization_id, person_id), std::move(request),
      [this](auto* context, auto* request, auto* response, auto done) {
        stub_->async()->GetPerson(context, request, response, std::move(done));
      },
      [](const v1::GetPersonResponse& response) { return &response.person(); });
}

void DirectoryClient::RefreshConsent(const std::string& organization_id,
                                     const std::string& volunteer_id) {
  v1::GetConsentRequest request;
  request.set_volunteer_id(volunteer_id);
  Refresh<v1::GetConsentResponse>(
      consents_, organization_id, Key(organization_id, volunteer_id), std::move(request),
      [this](auto* context, auto* request, auto* response, auto done) {
        stub_->async()->GetConsent(context, request, response, std::move(done));
      },
      [](const v1::GetConsentResponse& response) { return &response.consent(); });
}

absl::StatusOr<v1::Person> DirectoryClient::GetPerson(const std::string& organization_id,
                                                      const std::string& person_id) {
  std::string key = Key(organization_id, person_id);
  v1::Person person;
  bool refresh = false;
  if (Lookup(people_, key, &person, &refresh)) {
    if (refresh) RefreshPerson(organization_id, person_id);
    return person;
  }
  if (!MayBlock()) return WouldBlock();
  const Fetch fetch = BeginFetch();
  grpc::ClientContext context;
  Prepare(context, organization_id);
  v1::GetPersonRequest request;
  request.set_person_id(person_id);
  v1::GetPersonResponse response;
  grpc::Status status = stub_->GetPerson(&context, request, &response);
  if (!status.ok()) return FromDirectory(status);
  Store(people_, key, response.person(), fetch, /*followable=*/true);
  return response.person();
}

absl::StatusOr<v1::Consent> DirectoryClient::GetConsent(const std::string& organization_id,
                                                        const std::string& volunteer_id) {
  std::string key = Key(organization_id, volunteer_id);
  v1::Consent consent;
  bool refresh = false;
  if (Lookup(consents_, key, &consent, &refresh)) {
    if (refresh) RefreshConsent(organization_id, volunteer_id);
    return consent;
  }
  if (!MayBlock()) return WouldBlock();
  const Fetch fetch = BeginFetch();
  grpc::ClientContext context;
  Prepare(context, organization_id);
  v1::GetConsentRequest request;
  request.set_volunteer_id(volunteer_id);
  v1::GetConsentResponse response;
  grpc::Status status = stub_->GetConsent(&context, request, &response);
  if (!status.ok()) return FromDirectory(status);
  Store(consents_, key, response.consent(), fetch, /*followable=*/true);
  return response.consent();
}

std::vector<DirectoryClient::PersonAndConsent> DirectoryClient::GetPeopleAndConsents(
    const std::vector<PersonRef>& refs) {
  // The asynchronous calls of the misses, completed into these; waited for below, so that the
  // callbacks never outlive what they write.
  struct Call {
    grpc::ClientContext context;
    grpc::Status status;
  };
  struct Missing {
    Call person_call;
    v1::GetPersonRequest person_request;
    v1::GetPersonResponse person_response;
    Call consent_call;
    v1::GetConsentRequest consent_request;
    v1::GetConsentResponse consent_response;
    bool person = false;
    bool consent = false;
  };
  std::vector<PersonAndConsent> found(refs.size(),
                                      {absl::UnknownError(""), absl::UnknownError("")});
  std::vector<std::unique_ptr<Missing>> missing(refs.size());
  std::mutex mu;
  std::condition_variable done;
  int outstanding = 0;
  auto finished = [&] {
    std::lock_guard<std::mutex> lock(mu);
    if (--outstanding == 0) done.notify_all();
  };
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string key = Key(refs[i].organization_id, refs[i].person_id);
    v1::Person person;
    v1::Consent consent;
    bool refresh_person = false;
    bool refresh_consent = false;
    if (Lookup(people_, key, &person, &refresh_person)) found[i].person = std::move(person);
    if (Lookup(consents_, key, &consent, &refresh_consent)) found[i].consent = std::move(consent);
    if (refresh_person) RefreshPerson(refs[i].organization_id, refs[i].person_id);
    if (refresh_consent) RefreshConsent(refs[i].organization_id, refs[i].person_id);
    if (found[i].person.ok() && found[i].consent.ok()) continue;
    auto& m = missing[i] = std::make_unique<Missing>();
    m->person = !found[i].person.ok();
    m->consent = !found[i].consent.ok();
    std::lock_guard<std::mutex> lock(mu);
    outstanding += (m->person ? 1 : 0) + (m->consent ? 1 : 0);
  }
  if (outstanding > 0 && !MayBlock()) {
    for (size_t i = 0; i < refs.size(); ++i) {
      if (missing[i] == nullptr) continue;
      if (missing[i]->person) found[i].person = WouldBlock();
      if (missing[i]->consent) found[i].consent = WouldBlock();
    }
    return found;
  }
  const Fetch fetch = BeginFetch();
  for (size_t i = 0; i < refs.size(); ++i) {
    Missing* m = missing[i].get();
    if (m == nullptr) continue;
    if (m->person) {
      Prepare(m->person_call.context, refs[i].organization_id);
      m->person_request.set_person_id(refs[i].person_id);
      stub_->async()->GetPerson(&m->person_call.context, &m->person_request, &m->person_response,
                                [m, &finished](grpc::Status status) {
                                  m->person_call.status = std::move(status);
                                  finished();
                                });
    }
    if (m->consent) {
      Prepare(m->consent_call.context, refs[i].organization_id);
      m->consent_request.set_volunteer_id(refs[i].person_id);
      stub_->async()->GetConsent(&m->consent_call.context, &m->consent_request,
                                 &m->consent_response, [m, &finished](grpc::Status status) {
                                   m->consent_call.status = std::move(status);
                                   finished();
                                 });
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [&] { return outstanding == 0; });  // every call has a deadline
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    Missing* m = missing[i].get();
    if (m == nullptr) continue;
    const std::string key = Key(refs[i].organization_id, refs[i].person_id);
    if (m->person) {
      if (m->person_call.status.ok()) {
        Store(people_, key, m->person_response.person(), fetch, /*followable=*/true);
        found[i].person = std::move(*m->person_response.mutable_person());
      } else {
        found[i].person = FromDirectory(m->person_call.status);
      }
    }
    if (m->consent) {
      if (m->consent_call.status.ok()) {
        Store(consents_, key, m->consent_response.consent(), fetch, /*followable=*/true);
        found[i].consent = std::move(*m->consent_response.mutable_consent());
      } else {
        found[i].consent = FromDirectory(m->consent_call.status);
      }
    }
  }
  return found;
}

absl::StatusOr<std::vector<v1::Person>> DirectoryClient::ListPeople(
    const std::string& organization_id, v1::Role role) {
  std::string key = absl::StrCat(Key(organization_id, "*"), "/", static_cast<int>(role));
  std::vector<v1::Person> people;
  if (Lookup(listings_, key, &people)) return people;
  if (!MayBlock()) return WouldBlock();
  const Fetch fetch = BeginFetch();
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
  Store(listings_, key, people, fetch, /*followable=*/false);
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
  if (!MayBlock()) return WouldBlock();
  const Fetch fetch = BeginFetch();
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
  Store(api_keys_, key, caller, fetch, /*followable=*/false);
  return caller;
}

absl::Status DirectoryClient::CheckMember(const Caller& caller) {
  auto person = GetPerson(caller.organization_id, caller.person_id);
  // A malformed id names nobody, like an unknown one. Anything else is the directory's trouble,
  // not the caller's: their credentials may be fine, they cannot be checked now, and the client
  // may try again (as for API keys).
  if (!person.ok() && IsWouldBlock(person.status())) return person.status();
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
  ++forget_generation_;  // a refresh under way may carry what was just forgotten
}

void DirectoryClient::ForgetSupervisees(const std::string& organization_id,
                                        const std::string& supervisor_id) {
  const std::string prefix = Key(organization_id, "");
  std::lock_guard<std::mutex> lock(mu_);
  absl::erase_if(people_, [&](const auto& entry) {
    const auto& supervisors = entry.second.value.supervisor_ids();
    return absl::StartsWith(entry.first, prefix) &&
           std::find(supervisors.begin(), supervisors.end(), supervisor_id) != supervisors.end();
  });
  ++forget_generation_;
}

void DirectoryClient::FollowChangesFrom(absl::Time time) {
  std::lock_guard<std::mutex> lock(mu_);
  changes_followed_from_ = time;
}

void DirectoryClient::ChangesSeenUntil(absl::Time time) {
  std::lock_guard<std::mutex> lock(mu_);
  changes_seen_until_ = std::max(changes_seen_until_, time);
}

bool DirectoryClient::FollowingChanges() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_.Now();
  return FollowingLocked(now, now);
}

std::optional<QuietHours> QuietHoursOf(const directory::v1::Person& person) {
  auto start = ParseLocalTimeOfDay(person.quiet_hours().start());
  auto end = ParseLocalTimeOfDay(person.quiet_hours().end());
  if (!start.has_value() || !end.has_value()) return std::nullopt;
  return QuietHours{*start, *end};
}

}  // namespace peerwell
