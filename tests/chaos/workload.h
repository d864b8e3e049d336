#pragma once

// The chaos suite's workload: volunteers submitting check-ins and reporting critical incidents,
// posting to shared channels, and their supervisor acknowledging and resolving the alerts that
// follow, each client the
// way a real one behaves after a timeout or a lost connection: it sends the same write again
// with the same request_id / client_message_id until it gets a definite answer. Every attempt
// goes into a History; afterwards the workload reads back what the services hold.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "services/common/caller.h"
#include "tests/chaos/history.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/seed.h"

namespace peerwell::chaos {

struct WorkloadOptions {
  int clients = 4;                                       // one volunteer each
  absl::Duration attempt_deadline = absl::Seconds(2);    // each attempt's gRPC deadline
  absl::Duration retry_pause = absl::Milliseconds(100);  // between attempts of one write
  absl::Duration give_up_after = absl::Seconds(60);      // a write still unknown after this
  // Between one client's writes: about 50 writes a second per client, a busy organisation's
  // peak rather than a benchmark, so that a slow catch-up shows the fault and not a backlog.
  absl::Duration pace = absl::Milliseconds(20);
};

// What one nemesis run amounted to, printed at the end of its test and recorded in
// docs/RELIABILITY.md.
struct Figures {
  std::string nemesis;
  std::vector<Verdict> verdicts;
  int acknowledgements_ok = 0;
  int acknowledgements_lost = 0;
  int resolutions_ok = 0;
  int resolutions_lost = 0;
  int incidents_counted = 0;     // occurrences on the volunteers' critical-incident alerts
  int incidents_expected = 0;    // incidents acknowledged
  // From the fault's end (or the last incident's acknowledgement, if a retry came later) until
  // every alert had counted them.
  absl::Duration catch_up;
  std::string catch_up_backlog;  // the alerts group's backlog when catching up was slow
  int catch_up_failed_reads = 0;
  std::string catch_up_last_error;
  std::string Text() const;
};

class Workload {
 public:
  Workload(testing::LocalSuite& suite, WorkloadOptions options = {});
  ~Workload();

  // An organisation with a coordinator, a supervisor, options.clients volunteers (who consent to
  // risk monitoring and are supervised by the supervisor) and two group channels of them all.
  grpc::Status Seed();

  // Starts the clients; each loops over its kinds of write until Stop().
  void Start();
  // Stops invoking new writes and waits until every client has a definite answer for the one
  // it was retrying (or gave up on it).
  void Stop();

  // Reads back what the services hold and checks it against the history; waits (up to
  // `alerts_within`) for the alerts service to count every acknowledged incident, and reports how
  // long after the fault's end that happened.
  Figures Check(const std::string& nemesis, absl::Time fault_end,
                absl::Duration alerts_within = absl::Seconds(30));

  // Submits check-ins as the first volunteer, each attempt with a short deadline, until one is
  // acknowledged; returns how long after `since` that was (InfiniteDuration if none within
  // `within`). Each attempt goes into the history like the clients' writes.
  absl::Duration TimeUntilAcknowledged(absl::Time since,
                                       absl::Duration within = absl::Seconds(10));

  const History& history() const { return history_; }
  // Writes acknowledged so far, of every kind.
  int acknowledged() const { return acknowledged_.load(); }
  // Every attempt's (invoke, complete, code), for nemeses that judge each call.
  struct Attempt {
    std::string kind;
    absl::Time invoke_time;
    absl::Time complete_time;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Attempt> Attempts() const;

 private:
  using Volunteer = testing::SeededPerson;
  std::unique_ptr<grpc::ClientContext> As(const std::string& token) const;
  void Client(int index);
  // Sends one logical write until it is acknowledged or refused, logging every attempt.
  // `send` makes one attempt and sets the id an ok answer gave.
  void Write(int client, const std::string& kind, const std::string& key,
             const std::string& subject,
             const std::function<grpc::Status(grpc::ClientContext&, std::string* id)>& send);
  void AcknowledgeOpenAlert(int client);
  // The alerts consumer group's pending entries and positions, for a slow catch-up's report.
  std::string DescribeBacklog();
  // A read-back, sent again while the service is still recovering (for up to 15 s).
  grpc::Status ReadUntilAnswered(const std::function<grpc::Status(grpc::ClientContext&)>& read,
                                 const std::string& token);
  std::vector<StoredWrite> StoredCheckins();
  std::vector<StoredWrite> StoredMessages();

  testing::LocalSuite& suite_;
  const WorkloadOptions options_;
  History history_;
  std::unique_ptr<directory::v1::DirectoryService::Stub> directory_;
  std::unique_ptr<checkin::v1::CheckinService::Stub> checkin_;
  std::unique_ptr<alerts::v1::AlertService::Stub> alerts_;
  std::unique_ptr<network::v1::PeerNetworkService::Stub> network_;
  std::string organization_id_;
  std::string coordinator_token_;
  std::string supervisor_id_;
  std::string supervisor_token_;
  std::vector<Volunteer> volunteers_;
  std::vector<std::string> channels_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> acknowledged_{0};
  std::vector<std::thread> clients_;
  mutable std::mutex mu_;
  std::vector<Attempt> attempts_;
};

}  // namespace peerwell::chaos
