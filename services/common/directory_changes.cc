#include "services/common/directory_changes.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/events.h"
#include "services/common/log.h"
#include "services/common/person_erasure.h"

namespace peerwell {
namespace {

constexpr size_t kBatch = 256;
// An idle feed says it is caught up at least this often: well within the client's cache_ttl, so
// that a quiet directory never makes the client fall back to it.
constexpr absl::Duration kBlock = absl::Milliseconds(250);
constexpr absl::Duration kFirstRetry = absl::Milliseconds(200);
// A feed refused for good (its user may not read the stream) asks no more often than this.
constexpr absl::Duration kLongestRetry = absl::Seconds(5);

}  // namespace

DirectoryChangeFeed::DirectoryChangeFeed(RedisAddress redis, DirectoryClient& directory,
                                         const Clock& clock)
    : redis_(std::move(redis)), directory_(directory), clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

DirectoryChangeFeed::~DirectoryChangeFeed() {
  stop_.Stop();
  thread_.join();
}

void DirectoryChangeFeed::Loop() {
  const std::string stream = EventStreamKey("directory");
  std::string last;  // empty until the newest event is known: the feed starts after it
  std::unique_ptr<RedisConnection> connection;
  absl::Duration retry = kFirstRetry;
  bool failing = false;
  // Nothing read this time: the connection dropped (read on from `last` once Redis is back,
  // losing nothing), and the next try waits a little longer each time.
  auto failed = [&](const std::string& error) {
    if (!failing) {
      Log(Severity::kWarning,
          "following the directory's changes failed; cached people expire after the short TTL "
          "until it recovers",
          {Field("error", error)});
    }
    failing = true;
    connection.reset();
    stop_.Wait(retry);
    retry = std::min(retry * 2, kLongestRetry);
  };
  while (!stop_.stopped()) {
    if (connection == nullptr) {
      auto connected = RedisConnection::Connect(redis_, absl::Seconds(1));
      if (!connected.ok()) {
        failed(connected.status().ToString());
        continue;
      }
      connection = *std::move(connected);
    }
    if (!stop_.BeginRead(*connection)) break;
    // Every change announced before `sent` is in the answer (up to kBatch of them).
    const absl::Time sent = clock_.Now();
    absl::StatusOr<RedisReply> reply =
        last.empty()
            ? connection->Execute({"XREVRANGE", stream, "+", "-", "COUNT", "1"}, absl::Seconds(2))
            : connection->Execute(
                  {"XREAD", "COUNT", absl::StrCat(kBatch), "BLOCK",
                   absl::StrCat(absl::ToInt64Milliseconds(kBlock)), "STREAMS", stream, last},
                  kBlock + absl::Seconds(2));
    stop_.EndRead();
    // An XREAD answer is nil (nothing new) or [[stream, entries]]; anything else is a failure,
    // never "caught up".
    const bool expected = reply.ok() && !reply->IsError() &&
                          (last.empty() || reply->IsNil() ||
                           (reply->IsArray() && reply->elements.size() == 1 &&
                            reply->elements[0].elements.size() == 2));
    if (!expected) {
      if (stop_.stopped()) break;
      failed(!reply.ok()        ? reply.status().ToString()
             : reply->IsError() ? reply->str
                                : "an answer of an unexpected shape");
      continue;
    }
    if (failing) Log(Severity::kInfo, "following the directory's changes again");
    failing = false;
    retry = kFirstRetry;
    if (last.empty()) {
      std::vector<StreamEntry> newest = ParseStreamEntries(*reply);
      last = newest.empty() ? std::string("0-0") : newest[0].id;
      directory_.FollowChangesFrom(clock_.Now());
      continue;
    }
    size_t read = 0;
    if (reply->IsArray()) {
      for (const StreamEntry& entry : ParseStreamEntries(reply->elements[0].elements[1])) {
        ++read;
        last = entry.id;
        // Whatever the event, every person it names is read afresh next time: their record,
        // consent or supervisors changed, or they were erased.
        const std::string organization_id = entry.Get("organization_id");
        for (const char* field : {"person_id", "volunteer_id", "supervisor_id"}) {
          const std::string person_id = entry.Get(field);
          if (!person_id.empty()) directory_.Forget(organization_id, person_id);
        }
        // An erased supervisor leaves their volunteers' records too, without an event for each
        // (and the erasure deletes the events that named them together).
        if (entry.Get("type") == kPersonErasedEvent) {
          directory_.ForgetSupervisees(organization_id, entry.Get("person_id"));
        }
      }
    }
    // A full batch may have left later events: caught up only once a read comes back short.
    if (read < kBatch) directory_.ChangesSeenUntil(sent);
  }
}

}  // namespace peerwell
