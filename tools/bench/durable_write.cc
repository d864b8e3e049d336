// The durable-write baseline (SPEC §9): an otherwise empty unary handler that answers once one
// atomic, fsync'd Redis write of a check-in's size is done, through the services' own Redis
// client, so that a figure of an acknowledged write (SubmitCheckin) compares with what the write
// alone costs on the same machine, in the same run.
#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "peerwell/bench/v1/bench.grpc.pb.h"
#include "services/common/deadline.h"
#include "services/common/redis_client.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace bv1 = ::peerwell::bench::v1;

// Keys of their own (the test user and an operator's bench user may write pw:bench:*), in one
// hash slot, as a check-in's keys are in its organisation's, so MULTI/EXEC would also do on a
// cluster.
constexpr char kCheckinKeyPrefix[] = "pw:bench:{durable}:checkin:";
constexpr char kEventStream[] = "pw:bench:{durable}:events";
// Memory stays bounded: the hashes reuse this many ids round robin, and the stream is capped at
// as many entries (XADD MAXLEN ~, as the services cap theirs).
constexpr uint64_t kCheckinIds = 100'000;
// UNLINKed at the end per command.
constexpr uint64_t kKeysPerUnlink = 1000;

// The fields a stored check-in has (services/checkin/redis_checkin_store.cc), with the values of
// the three check-ins submit-checkin takes turns with (WHO-5, CBI, pulse): 11 fields of 280-460
// bytes in the hash, 14 of 260-440 in the event, so that Redis writes, logs and fsyncs as many
// bytes per call as for a real check-in.
struct StoredCheckin {
  const char* instrument_id;
  const char* answers;
  const char* scores;
  const char* session_kind;
  const char* hours;
};
constexpr StoredCheckin kCheckins[] = {
    {"who5", "1=3,2=4,3=2,4=3,5=4", "who5_raw=16=,who5=64=good", "", "0"},
    {"cbi",
     "1=25,2=50,3=75,4=100,5=0,6=25,7=50,8=75,9=100,10=0,11=25,12=50,13=75,14=100,15=0,16=25,17=50,"
     "18=75,19=100",
     "cbi_personal=45.833333333333336=low,cbi_volunteering=46.428571428571431=low,"
     "cbi_people_supported=58.333333333333336=moderate",
     "", "0"},
    {"pulse", "energy=3,stayed_with_me=1,want_to_talk=0", "", "group", "2.5"},
};
// Ids as the services make them: a letter and 20 hex digits.
constexpr char kVolunteerId[] = "p6927111c822054f09605";
constexpr char kOrganizationId[] = "oa5eed40dcfa866f7564d";
constexpr char kOccurTime[] = "2026-12-03T17:10:11.425526692+00:00";
// A sealed 31-byte note: a version byte, a 12-byte nonce, the ciphertext and a 16-byte tag.
constexpr size_t kSealedNoteBytes = 60;

std::string SealedNote() {
  std::string note(kSealedNoteBytes, '\0');
  for (size_t i = 0; i < note.size(); ++i) note[i] = static_cast<char>((i * 151 + 7) & 0xff);
  return note;
}

// One check-in's write: its hash and its event, in one MULTI/EXEC. Redis logs a transaction to the
// append-only file as one block and, with appendfsync always, fsyncs before it answers, so the
// reply means both are on disk. It is one command group of the pipelining client, like a
// service's write; a check-in's is one EVALSHA whose script also indexes the record and checks the
// request id, so this is the floor under it, not its equal.
class CheckinWriter {
 public:
  explicit CheckinWriter(RedisClient& redis) : redis_(redis), note_(SealedNote()) {}

  // Answers through `done`, on the Redis client's I/O thread, under the current thread's deadline.
  void Write(absl::AnyInvocable<void(absl::Status) &&> done) {
    const uint64_t n = next_.fetch_add(1);
    const StoredCheckin& c = kCheckins[n % std::size(kCheckins)];
    const std::string id = absl::StrFormat("c%020x", n % kCheckinIds);
    const std::string instrument_version = "1";
    const std::string sessions_facilitated = "0";
    RedisCommand hset{"HSET",
                      absl::StrCat(kCheckinKeyPrefix, id),
                      "id",
                      id,
                      "volunteer_id",
                      kVolunteerId,
                      "instrument_id",
                      c.instrument_id,
                      "instrument_version",
                      instrument_version,
                      "answers",
                      c.answers,
                      "scores",
                      c.scores,
                      "session_kind",
                      c.session_kind,
                      "hours",
                      c.hours,
                      "sessions_facilitated",
                      sessions_facilitated,
                      "submit_time",
                      absl::StrCat(absl::ToUnixMicros(absl::Now())),
                      "note",
                      note_};
    RedisCommand xadd{"XADD",
                      kEventStream,
                      "MAXLEN",
                      "~",
                      absl::StrCat(kCheckinIds),
                      "*",
                      "type",
                      "checkin.submitted",
                      "organization_id",
                      kOrganizationId,
                      "occur_time",
                      kOccurTime,
                      "checkin_id",
                      id,
                      "volunteer_id",
                      kVolunteerId,
                      "instrument_id",
                      c.instrument_id,
                      "instrument_version",
                      instrument_version,
                      "answers",
                      c.answers,
                      "scores",
                      c.scores,
                      "session_kind",
                      c.session_kind,
                      "hours",
                      c.hours,
                      "sessions_facilitated",
                      sessions_facilitated};
    std::vector<RedisCommand> commands;
    commands.push_back(std::move(hset));
    commands.push_back(std::move(xadd));
    redis_.TransactionAsync(
        std::move(commands),
        [done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
          if (!replies.ok()) return std::move(done)(replies.status());
          for (const RedisReply& reply : *replies) {
            if (reply.IsError()) {
              return std::move(done)(absl::InternalError(absl::StrCat("redis: ", reply.str)));
            }
          }
          std::move(done)(absl::OkStatus());
        });
  }

  // Deletes what the writes left, so that a run against a Redis of one's own leaves nothing.
  absl::Status Remove() {
    const uint64_t ids = std::min(next_.load(), kCheckinIds);
    std::vector<RedisCommand> unlinks{{"UNLINK", kEventStream}};
    for (uint64_t first = 0; first < ids; first += kKeysPerUnlink) {
      RedisCommand unlink{"UNLINK"};
      for (uint64_t i = first; i < std::min(ids, first + kKeysPerUnlink); ++i) {
        unlink.push_back(absl::StrFormat("%sc%020x", kCheckinKeyPrefix, i));
      }
      unlinks.push_back(std::move(unlink));
    }
    auto replies = redis_.ExecuteAll(std::move(unlinks));
    return replies.ok() ? absl::OkStatus() : replies.status();
  }

 private:
  RedisClient& redis_;
  const std::string note_;
  std::atomic<uint64_t> next_{0};
};

// The handler starts the write on gRPC's own thread and answers from the reply, as SubmitCheckin
// does while its caches hold what it needs (UnaryCallRunner::RunAsync): no thread waits for the
// write, so the floor pays no more hand-offs than the check-in it is the floor of.
class DurableWriteService final : public bv1::BenchService::CallbackService {
 public:
  explicit DurableWriteService(CheckinWriter& writer) : writer_(writer) {}

  grpc::ServerUnaryReactor* DurableWrite(grpc::CallbackServerContext* context,
                                         const bv1::EmptyRequest*, bv1::EmptyResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    // The Redis client bounds the write by the call's deadline, as in a service.
    ScopedDeadline deadline(absl::FromChrono(context->deadline()));
    writer_.Write([this, reactor](absl::Status status) {
      if (!status.ok()) Remember(status);
      reactor->Finish(status.ok() ? grpc::Status::OK
                                  : grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                                 std::string(status.message())));
    });
    return reactor;
  }

  // The first error a write met, for the notes (a refused user shows there, not only as a code).
  std::string first_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  void Remember(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_error_.empty()) first_error_ = status.ToString();
  }

  CheckinWriter& writer_;
  std::mutex mu_;
  std::string first_error_;
};

class DurableWriteScenario final : public Scenario {
 public:
  DurableWriteScenario(const RedisAddress& address, int channels, int min_replicas)
      : redis_(Options(address, min_replicas)),
        writer_(redis_),
        service_(writer_),
        server_(service_) {
    for (auto& channel : Channels(server_.address(), channels)) {
      stubs_.push_back(bv1::BenchService::NewStub(channel));
    }
  }

  ~DurableWriteScenario() override {
    (void)writer_.Remove();  // a Redis gone by now leaves nothing worth an error at exit
  }

  absl::Status Reachable() { return redis_.Ping(absl::Seconds(2)); }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      auto request = std::make_shared<bv1::EmptyRequest>();
      auto response = std::make_shared<bv1::EmptyResponse>();
      stubs_[slot % stubs_.size()]->async()->DurableWrite(
          context, request.get(), response.get(),
          [request, response, done = std::move(done)](grpc::Status status) { done(status); });
    };
  }

  std::vector<std::string> Notes() override {
    std::vector<std::string> notes{absl::StrFormat(
        "durable-write: one MULTI/EXEC of HSET (11 fields) and XADD (14 fields) per call to %s, "
        "started on gRPC's thread and answered from the reply%s",
        redis_.options().address.ToString(),
        redis_.options().min_replicas > 0
            ? absl::StrFormat(" once %d replica(s) have it (WAIT)", redis_.options().min_replicas)
            : "")};
    if (std::string error = service_.first_error(); !error.empty()) {
      // Notes go into JSON strings as they are.
      std::replace(error.begin(), error.end(), '"', '\'');
      std::replace(error.begin(), error.end(), '\\', '/');
      notes.push_back(absl::StrCat("durable-write: first error: ", error));
    }
    return notes;
  }

 private:
  static RedisOptions Options(const RedisAddress& address, int min_replicas) {
    RedisOptions options;  // connections and timeouts as every service has them
    options.address = address;
    options.min_replicas = min_replicas;
    return options;
  }

  RedisClient redis_;
  CheckinWriter writer_;
  DurableWriteService service_;
  InProcessServer server_;
  std::vector<std::unique_ptr<bv1::BenchService::Stub>> stubs_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> MakeDurableWriteScenario(const RedisAddress& redis,
                                                                   int channels, int min_replicas) {
  auto scenario = std::make_unique<DurableWriteScenario>(redis, channels, min_replicas);
  if (absl::Status status = scenario->Reachable(); !status.ok()) {
    return absl::UnavailableError(absl::StrCat("durable-write: Redis at ", redis.ToString(),
                                               " does not answer: ", status.message()));
  }
  return scenario;
}

}  // namespace peerwell::bench
