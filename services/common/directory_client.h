#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/clock.h"
#include "services/common/quiet_hours.h"

namespace peerwell {

struct DirectoryClientOptions {
  std::string service_name;  // the `sub` of the service tokens this client mints
  std::string jwt_secret;
  absl::Duration call_timeout = absl::Seconds(2);
  // Short, so that a change of consent reaches every service well within SPEC's 5 seconds.
  absl::Duration cache_ttl = absl::Seconds(2);
  // A person's or consent's entry while a DirectoryChangeFeed vouches for it: the feed forgets
  // it as soon as the directory announces a change, so this is only a backstop (for a change
  // announced in no event) and a bound on keeping people no one asks about.
  absl::Duration followed_cache_ttl = absl::Seconds(30);
  size_t max_cached = 20'000;
};

// How the other services ask the directory who a person is, who supervises them and what they
// consented to. Every call has a deadline and acts as role `service` for the organisation in
// question (tokens minted from the shared secret and reused until shortly before expiry).
// Answers are cached for cache_ttl; errors are not cached. A person or consent read late in its
// entry's life is answered from the cache and fetched again in the background, so that a busy
// caller never waits for the directory once warm: before, every entry filled together expired
// together, and each service stalled on the misses every cache_ttl.
//
// With a DirectoryChangeFeed following the directory's events, a person's and a consent's
// entry live for followed_cache_ttl instead, as long as the feed is no more than cache_ttl
// behind: the feed forgets an entry when its change is announced, so a change still takes effect
// here within cache_ttl, and the directory is not asked again for every cached person every
// cache_ttl (at 100 volunteers, 200 calls from every service every 1.5 s; in a burst, since
// entries filled together are refreshed together). Their refreshes are spread by key over the
// third quarter of that life.
class DirectoryClient final : public CredentialDirectory {
 public:
  DirectoryClient(std::shared_ptr<grpc::Channel> channel, DirectoryClientOptions options,
                  const Clock& clock);
  // Cancels the refreshes in flight and waits for them.
  ~DirectoryClient() override;

  absl::StatusOr<directory::v1::Person> GetPerson(const std::string& organization_id,
                                                  const std::string& person_id);
  absl::StatusOr<directory::v1::Consent> GetConsent(const std::string& organization_id,
                                                    const std::string& volunteer_id);
  struct PersonRef {
    std::string organization_id;
    std::string person_id;
  };
  struct PersonAndConsent {
    absl::StatusOr<directory::v1::Person> person;
    absl::StatusOr<directory::v1::Consent> consent;
  };
  // GetPerson and GetConsent of each, what the cache lacks asked side by side: people whose
  // entries expired together (an event consumer's round) wait for one round trip, not one each.
  std::vector<PersonAndConsent> GetPeopleAndConsents(const std::vector<PersonRef>& refs);
  // Everyone of `role` in the organisation (every page), e.g. the supervisors a slot may be
  // offered with. Cached for cache_ttl, so a busy caller reads the list once per cache_ttl.
  absl::StatusOr<std::vector<directory::v1::Person>> ListPeople(const std::string& organization_id,
                                                                directory::v1::Role role);
  // Partner API keys (x-api-key) for services other than the directory.
  absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view secret) override;
  // From GetPerson, so a deactivation ends the person's tokens here within cache_ttl.
  absl::Status CheckMember(const Caller& caller) override;
  // Drops what is cached about a person, e.g. on a consent.changed event.
  void Forget(const std::string& organization_id, const std::string& person_id);
  // Drops the people whose supervisors include `supervisor_id`: erasing a supervisor takes them
  // off their volunteers' records without an event naming each volunteer.
  void ForgetSupervisees(const std::string& organization_id, const std::string& supervisor_id);

  // For the DirectoryChangeFeed: it forgets every change the directory announces from `time`
  // on (it knows where the directory's events stood at `time`).
  void FollowChangesFrom(absl::Time time);
  // For the DirectoryChangeFeed: every change announced before `time` has been forgotten.
  void ChangesSeenUntil(absl::Time time);
  // Whether a person or consent fetched now would live for followed_cache_ttl.
  bool FollowingChanges();

 private:
  template <typename T>
  struct Entry {
    T value;
    absl::Time fetch_time;  // when the read that brought it was sent
    // Whether the feed may vouch for it: no Forget overtook its fetch (whether the feed had
    // started by then is asked at each lookup).
    bool followed = false;
    // Where in the third quarter of a followed life it is fetched again, from its key: entries
    // fetched together are not fetched again together.
    double refresh_spread = 0;
    bool refreshing = false;
  };
  // When a read was sent, and the Forget count then: an answer that a Forget overtook may
  // carry what was forgotten.
  struct Fetch {
    absl::Time time;
    uint64_t generation = 0;
  };
  Fetch BeginFetch();
  // Whether the feed vouches, at `now`, for what a read sent at `fetch_time` brought.
  bool FollowingLocked(absl::Time fetch_time, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct Life {
    absl::Time expire_time;
    absl::Time refresh_time;  // from when a reader has the entry fetched again
  };
  template <typename T>
  Life LifeLocked(const Entry<T>& entry, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Prepare(grpc::ClientContext& context, const std::string& organization_id);
  // The cached value, if any; with `refresh`, also whether the caller is to fetch it again in
  // the background (the entry is late in its life and no refresh is under way).
  template <typename T>
  bool Lookup(absl::flat_hash_map<std::string, Entry<T>>& cache, const std::string& key, T* out,
              bool* refresh = nullptr);
  // `followable`: whether the feed's Forget reaches this cache (people and consents).
  template <typename T>
  void Store(absl::flat_hash_map<std::string, Entry<T>>& cache, const std::string& key,
             const T& value, const Fetch& fetch, bool followable);
  void RefreshPerson(const std::string& organization_id, const std::string& person_id);
  void RefreshConsent(const std::string& organization_id, const std::string& volunteer_id);
  // Fetches `cache`'s entry `key` again in the background: `start` begins the asynchronous call
  // (with its own deadline; counted, so that the destructor can cancel it and wait), and
  // `value_of` takes the entry from its response.
  template <typename Response, typename T, typename Request, typename Start, typename ValueOf>
  void Refresh(absl::flat_hash_map<std::string, Entry<T>>& cache,
               const std::string& organization_id, std::string key, Request request, Start start,
               ValueOf value_of);
  // A refresh's answer: stored if nothing was forgotten meanwhile (a person the directory no
  // longer knows dropped), and the refresh counted out.
  template <typename T>
  void Refreshed(absl::flat_hash_map<std::string, Entry<T>>& cache, const std::string& key,
                 const grpc::ClientContext* call, const Fetch& fetch, const grpc::Status& status,
                 const T* value);

  std::unique_ptr<directory::v1::DirectoryService::Stub> stub_;
  const DirectoryClientOptions options_;
  const Clock& clock_;
  ServiceTokens tokens_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry<directory::v1::Person>> people_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry<directory::v1::Consent>> consents_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry<std::vector<directory::v1::Person>>> listings_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry<Caller>> api_keys_ ABSL_GUARDED_BY(mu_);
  uint64_t forget_generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time changes_followed_from_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time changes_seen_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::vector<std::shared_ptr<grpc::ClientContext>> refreshes_ ABSL_GUARDED_BY(mu_);
  std::condition_variable refreshed_;
};

// The person's quiet hours as the directory holds them ("HH:MM" to "HH:MM" local); nullopt when
// they have none.
std::optional<QuietHours> QuietHoursOf(const directory::v1::Person& person);

}  // namespace peerwell
