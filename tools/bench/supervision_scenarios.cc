// Scenarios of the supervision service: ProposeSlots over a pool of supervisors with realistic
// weekly availability, leave and four weeks of bookings.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/supervision/v1/supervision.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace dv1 = ::peerwell::directory::v1;
namespace sv1 = ::peerwell::supervision::v1;
using ::google::protobuf::util::TimeUtil;

constexpr int kWeeks = 4;
constexpr int kThreads = 4;           // preparation: supervisors are prepared side by side
constexpr int kCheckedAnswers = 200;  // answers checked against what was booked (see Check)

// A time of day as minutes since local midnight, and a weekly window in a local time zone.
struct LocalWindow {
  int weekday;  // 1 = Monday … 7 = Sunday
  int start;
  int end;
};

struct Interval {
  absl::Time start;
  absl::Time end;
  bool Overlaps(absl::Time s, absl::Time e) const { return s < end && start < e; }
};

struct QuietHours {
  int start;  // minutes; the quiet time runs over midnight when end <= start
  int end;
};

struct PoolSupervisor {
  std::string person_id;
  std::string authorization;
  std::string timezone;
  absl::TimeZone zone;
  std::vector<LocalWindow> weekly;
  std::vector<Interval> leave;   // exceptions with available = false
  std::vector<Interval> extra;   // exceptions with available = true
  std::vector<Interval> booked;  // sessions created, sorted after preparation
  std::vector<int> volunteers;   // indexes into the pool's volunteers
};

struct PoolVolunteer {
  std::string person_id;
  std::string authorization;
  int supervisor = 0;  // index of their own supervisor
  absl::TimeZone zone;
  std::optional<QuietHours> quiet;
  std::vector<Interval> booked;
};

std::string HourMinute(int minutes) {
  return absl::StrFormat("%02d:%02d", minutes / 60, minutes % 60);
}

constexpr int Hm(int hours, int minutes) { return hours * 60 + minutes; }

// Weekly patterns seen among supervisors of peer-support programmes: full days with a lunch
// break, mornings only, part-time, evenings for volunteers with day jobs, mixed days.
std::vector<LocalWindow> WeeklyPattern(std::mt19937& random) {
  std::vector<LocalWindow> windows;
  auto days = [&](std::initializer_list<int> weekdays, int start, int end) {
    for (int day : weekdays) windows.push_back({day, start, end});
  };
  switch (std::discrete_distribution<int>({30, 20, 20, 10, 10, 10})(random)) {
    case 0:  // full week with a lunch break
      days({1, 2, 3, 4, 5}, Hm(9, 0), Hm(12, 30));
      days({1, 2, 3, 4, 5}, Hm(13, 30), Hm(17, 0));
      break;
    case 1:  // mornings only
      days({1, 2, 3, 4, 5}, Hm(8, 30), Hm(12, 30));
      break;
    case 2:  // part-time, three days
      days({2, 3, 4}, Hm(10, 0), Hm(16, 0));
      break;
    case 3:  // late afternoons and evenings, and Saturday morning
      days({1, 3, 4}, Hm(16, 0), Hm(20, 0));
      days({6}, Hm(10, 0), Hm(13, 0));
      break;
    case 4:  // mixed days
      days({1}, Hm(9, 0), Hm(13, 0));
      days({3}, Hm(12, 0), Hm(18, 0));
      days({5}, Hm(9, 0), Hm(15, 0));
      break;
    default:  // three long days
      days({1, 2, 4}, Hm(8, 0), Hm(18, 0));
      break;
  }
  return windows;
}

// Most of the programme in one time zone, a few supervisors elsewhere (one with a half-hour
// offset, one in the other hemisphere's summer time); a supervisor's volunteers live where they do.
std::string TimeZoneOf(int supervisor) {
  if (supervisor % 10 == 3) return "Europe/Copenhagen";
  if (supervisor % 25 == 7) return "Europe/Dublin";
  if (supervisor % 50 == 19) return "America/St_Johns";
  if (supervisor % 50 == 44) return "Australia/Sydney";
  return "Europe/London";
}

std::optional<QuietHours> VolunteerQuietHours(std::mt19937& random) {
  switch (std::discrete_distribution<int>({60, 25, 10, 5})(random)) {
    case 0:
      return QuietHours{Hm(22, 0), Hm(7, 0)};
    case 1:
      return QuietHours{Hm(21, 0), Hm(8, 0)};
    case 2:
      return QuietHours{Hm(20, 30), Hm(8, 30)};
    default:
      return std::nullopt;
  }
}

bool InQuietHours(const std::optional<QuietHours>& quiet, const absl::TimeZone& zone,
                  absl::Time start, absl::Time end) {
  if (!quiet) return false;
  absl::CivilDay first = absl::ToCivilDay(start, zone) - 1;
  absl::CivilDay last = absl::ToCivilDay(end, zone);
  for (absl::CivilDay day = first; day <= last; ++day) {
    absl::CivilMinute from = absl::CivilMinute(day) + quiet->start;
    absl::CivilMinute to = absl::CivilMinute(day) + quiet->end;
    if (quiet->end <= quiet->start) to += 24 * 60;
    if (Interval{absl::FromCivil(from, zone), absl::FromCivil(to, zone)}.Overlaps(start, end)) {
      return true;
    }
  }
  return false;
}

bool Overlaps(const std::vector<Interval>& intervals, absl::Time start, absl::Time end) {
  return std::any_of(intervals.begin(), intervals.end(),
                     [&](const Interval& i) { return i.Overlaps(start, end); });
}

bool Inside(const std::vector<Interval>& intervals, absl::Time start, absl::Time end) {
  return std::any_of(intervals.begin(), intervals.end(),
                     [&](const Interval& i) { return i.start <= start && end <= i.end; });
}

int Weekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 0;
}

// Whether the supervisor works at [start, end): inside a weekly window of one local day and not
// on leave, or inside extra hours.
bool Available(const PoolSupervisor& supervisor, absl::Time start, absl::Time end) {
  if (Inside(supervisor.extra, start, end)) return true;
  if (Overlaps(supervisor.leave, start, end)) return false;
  absl::CivilMinute from = absl::ToCivilMinute(start, supervisor.zone);
  absl::CivilMinute to = absl::ToCivilMinute(end, supervisor.zone);
  absl::CivilDay day = absl::CivilDay(from);
  int from_minute = static_cast<int>(from - absl::CivilMinute(day));
  int to_minute = static_cast<int>(to - absl::CivilMinute(day));
  return std::any_of(supervisor.weekly.begin(), supervisor.weekly.end(), [&](const LocalWindow& w) {
    return w.weekday == Weekday(day) && w.start <= from_minute && to_minute <= w.end;
  });
}

std::string ConflictReason(const grpc::Status& status) {
  const std::string& message = status.error_message();
  size_t end = message.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
  std::string reason = message.substr(0, end);
  return reason.empty() ? "(no reason named)" : reason;
}

// The organisation, its coordinator and the pool, created through the directory and the
// supervision service as a programme would: supervisors with their weekly availability and leave,
// their volunteers, and four weeks of individual sessions booked inside availability, outside
// quiet hours, without double booking.
class Pool {
 public:
  explicit Pool(const ScenarioContext& context)
      : context_(context),
        directory_(dv1::DirectoryService::NewStub(ServiceChannel(context.directory_addr))),
        supervision_(sv1::SupervisionService::NewStub(ServiceChannel(context.supervision_addr))) {}

  absl::Status Prepare() {
    absl::Time started = absl::Now();
    now_ = started;
    dv1::CreateOrganizationRequest create_org;
    create_org.set_display_name("Bench supervision organisation");
    dv1::CreateOrganizationResponse org;
    grpc::Status status = directory_->CreateOrganization(
        Call(Mint(CallerRole::kAdmin, "bench", "")).get(), create_org, &org);
    if (!status.ok()) return Failed("directory CreateOrganization", status);
    org_id_ = org.organization().organization_id();
    dv1::CreatePersonRequest person;
    person.mutable_person()->set_display_name("Bench coordinator");
    person.mutable_person()->set_role(dv1::ROLE_COORDINATOR);
    dv1::CreatePersonResponse coordinator;
    status = directory_->CreatePerson(Call(Mint(CallerRole::kAdmin, "bench", org_id_)).get(),
                                      person, &coordinator);
    if (!status.ok()) return Failed("directory CreatePerson", status);
    coordinator_ = Mint(CallerRole::kCoordinator, coordinator.person().person_id(), org_id_);

    supervisors_.resize(context_.supervisors);
    std::vector<std::vector<PoolVolunteer>> volunteers(context_.supervisors);
    std::vector<absl::Status> results(context_.supervisors);
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < context_.supervisors; i = next++) {
          results[i] = PrepareSupervisor(i, volunteers[i]);
          if (!results[i].ok()) return;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (const absl::Status& result : results) {
      if (!result.ok()) return result;
    }
    for (int i = 0; i < context_.supervisors; ++i) {
      for (auto& volunteer : volunteers[i]) {
        supervisors_[i].volunteers.push_back(static_cast<int>(volunteers_.size()));
        volunteers_.push_back(std::move(volunteer));
      }
    }
    window_start_ = absl::FromUnixSeconds((absl::ToUnixSeconds(now_) / 3600 + 1) * 3600);
    window_end_ = window_start_ + absl::Hours(24 * 7 * kWeeks);
    preparation_ = absl::Now() - started;
    return absl::OkStatus();
  }

  std::vector<std::string> Notes() const {
    std::map<std::string, int> zones;
    for (const auto& supervisor : supervisors_) ++zones[supervisor.timezone];
    std::string zone_text;
    for (const auto& [zone, count] : zones) {
      absl::StrAppend(&zone_text, zone_text.empty() ? "" : ", ", count, " ", zone);
    }
    std::vector<std::string> notes = {absl::StrFormat(
        "pool: %d supervisors (%s), %d volunteers; %ld individual sessions booked over %d weeks "
        "(%.1f per supervisor-week), %d with leave; prepared in %.1f s",
        static_cast<int>(supervisors_.size()), zone_text, static_cast<int>(volunteers_.size()),
        booked_.load(), kWeeks,
        static_cast<double>(booked_.load()) / std::max<size_t>(1, supervisors_.size()) / kWeeks,
        on_leave_.load(), absl::ToDoubleSeconds(preparation_))};
    std::lock_guard<std::mutex> lock(mu_);
    std::string refused;
    for (const auto& [reason, count] : refusals_)
      absl::StrAppend(&refused, " ", reason, "=", count);
    notes.push_back(absl::StrCat("bookings refused ", refusals_total_, refused.empty() ? "" : ":",
                                 refused, "; bookings with no room left ", no_room_));
    return notes;
  }

  const std::vector<PoolSupervisor>& supervisors() const { return supervisors_; }
  const std::vector<PoolVolunteer>& volunteers() const { return volunteers_; }
  absl::Time window_start() const { return window_start_; }
  absl::Time window_end() const { return window_end_; }

 private:
  std::string Mint(CallerRole role, const std::string& subject, const std::string& org) const {
    return MintToken(context_.jwt_secret, {subject, org, role, absl::Hours(2)}, absl::Now());
  }

  static std::unique_ptr<grpc::ClientContext> Call(const std::string& token) {
    auto client_context = std::make_unique<grpc::ClientContext>();
    client_context->AddMetadata("authorization", "Bearer " + token);
    client_context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return client_context;
  }

  static absl::Status Failed(const std::string& what, const grpc::Status& status) {
    return absl::UnavailableError(absl::StrCat(what, ": ", status.error_message(), " (code ",
                                               static_cast<int>(status.error_code()), ")"));
  }

  absl::Status PrepareSupervisor(int index, std::vector<PoolVolunteer>& volunteers) {
    std::mt19937 random(20261201 + index);
    PoolSupervisor& supervisor = supervisors_[index];
    supervisor.timezone = TimeZoneOf(index);
    if (!absl::LoadTimeZone(supervisor.timezone, &supervisor.zone)) {
      return absl::FailedPreconditionError(
          absl::StrCat("no time zone data for ", supervisor.timezone));
    }
    dv1::CreatePersonRequest create;
    dv1::Person& person = *create.mutable_person();
    person.set_display_name(absl::StrCat("Bench supervisor ", index));
    person.set_role(dv1::ROLE_SUPERVISOR);
    person.set_timezone(supervisor.timezone);
    if (index % 3 == 0) {
      person.mutable_quiet_hours()->set_start("21:00");
      person.mutable_quiet_hours()->set_end("07:00");
    }
    create.set_request_id(absl::StrCat("bench-", org_id_, "-supervisor-", index));
    dv1::CreatePersonResponse created;
    grpc::Status status = directory_->CreatePerson(Call(coordinator_).get(), create, &created);
    if (!status.ok()) return Failed("directory CreatePerson (supervisor)", status);
    supervisor.person_id = created.person().person_id();
    std::string token = Mint(CallerRole::kSupervisor, supervisor.person_id, org_id_);
    supervisor.authorization = "Bearer " + token;

    // Availability: a weekly pattern, and for a few supervisors leave or extra hours.
    supervisor.weekly = WeeklyPattern(random);
    absl::CivilDay today = absl::ToCivilDay(now_, supervisor.zone);
    auto local_day = [&](int days_ahead) {
      return absl::FromCivil(absl::CivilSecond(today + days_ahead), supervisor.zone);
    };
    if (index % 17 == 5) supervisor.leave.push_back({local_day(9), local_day(16)});    // a week
    if (index % 23 == 11) supervisor.leave.push_back({local_day(17), local_day(19)});  // two days
    if (index % 29 == 13) {
      absl::CivilDay day = today + 3;
      supervisor.extra.push_back(
          {absl::FromCivil(absl::CivilMinute(day) + Hm(17, 0), supervisor.zone),
           absl::FromCivil(absl::CivilMinute(day) + Hm(19, 0), supervisor.zone)});
    }
    if (!supervisor.leave.empty()) ++on_leave_;
    sv1::SetAvailabilityRequest set;
    set.set_supervisor_id(supervisor.person_id);
    sv1::Availability& availability = *set.mutable_availability();
    availability.set_supervisor_id(supervisor.person_id);
    for (const LocalWindow& window : supervisor.weekly) {
      auto* weekly = availability.add_weekly();
      weekly->set_weekday(window.weekday);
      weekly->set_start(HourMinute(window.start));
      weekly->set_end(HourMinute(window.end));
    }
    auto add_exception = [&](const Interval& interval, bool available) {
      auto* exception = availability.add_exceptions();
      *exception->mutable_start_time() =
          TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(interval.start));
      *exception->mutable_end_time() =
          TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(interval.end));
      exception->set_available(available);
    };
    for (const Interval& leave : supervisor.leave) add_exception(leave, false);
    for (const Interval& extra : supervisor.extra) add_exception(extra, true);
    sv1::SetAvailabilityResponse set_response;
    status = supervision_->SetAvailability(Call(token).get(), set, &set_response);
    if (!status.ok()) return Failed("supervision SetAvailability", status);

    // A caseload of 8–12 volunteers in the supervisor's time zone, each with their quiet hours.
    int caseload = std::uniform_int_distribution<int>(8, 12)(random);
    for (int v = 0; v < caseload; ++v) {
      PoolVolunteer volunteer;
      volunteer.supervisor = index;
      volunteer.zone = supervisor.zone;
      volunteer.quiet = VolunteerQuietHours(random);
      dv1::CreatePersonRequest create_volunteer;
      dv1::Person& p = *create_volunteer.mutable_person();
      p.set_display_name(absl::StrCat("Bench volunteer ", index, "-", v));
      p.set_role(dv1::ROLE_VOLUNTEER);
      p.set_timezone(supervisor.timezone);
      if (volunteer.quiet) {
        p.mutable_quiet_hours()->set_start(HourMinute(volunteer.quiet->start));
        p.mutable_quiet_hours()->set_end(HourMinute(volunteer.quiet->end));
      }
      p.set_commitment_hours_per_month(std::uniform_int_distribution<int>(6, 16)(random));
      create_volunteer.set_request_id(
          absl::StrCat("bench-", org_id_, "-volunteer-", index, "-", v));
      dv1::CreatePersonResponse volunteer_created;
      status =
          directory_->CreatePerson(Call(coordinator_).get(), create_volunteer, &volunteer_created);
      if (!status.ok()) return Failed("directory CreatePerson (volunteer)", status);
      volunteer.person_id = volunteer_created.person().person_id();
      volunteer.authorization =
          "Bearer " + Mint(CallerRole::kVolunteer, volunteer.person_id, org_id_);
      dv1::AssignSupervisorRequest assign;
      assign.set_volunteer_id(volunteer.person_id);
      assign.set_supervisor_id(supervisor.person_id);
      dv1::AssignSupervisorResponse assigned;
      status = directory_->AssignSupervisor(Call(coordinator_).get(), assign, &assigned);
      if (!status.ok()) return Failed("directory AssignSupervisor", status);
      volunteers.push_back(std::move(volunteer));
    }

    // Four weeks of bookings: most volunteers see their supervisor once a week, at a free time
    // inside the supervisor's availability and outside everyone's quiet hours; a session is an
    // hour, now and then an hour and a half.
    std::optional<QuietHours> supervisor_quiet;
    if (index % 3 == 0) supervisor_quiet = QuietHours{Hm(21, 0), Hm(7, 0)};
    int booked = 0;
    for (int week = 0; week < kWeeks; ++week) {
      std::vector<int> order(volunteers.size());
      for (size_t v = 0; v < order.size(); ++v) order[v] = static_cast<int>(v);
      std::shuffle(order.begin(), order.end(), random);
      for (int v : order) {
        if (std::bernoulli_distribution(0.1)(random)) continue;  // a week without supervision
        PoolVolunteer& volunteer = volunteers[v];
        absl::Duration length =
            std::bernoulli_distribution(0.125)(random) ? absl::Minutes(90) : absl::Minutes(60);
        std::vector<absl::Time> candidates;
        for (int d = 1 + 7 * week; d <= 7 * (week + 1); ++d) {
          absl::CivilDay day = today + d;
          for (const LocalWindow& window : supervisor.weekly) {
            if (window.weekday != Weekday(day)) continue;
            for (int minute = window.start; minute + absl::ToInt64Minutes(length) <= window.end;
                 minute += 30) {
              absl::Time start = absl::FromCivil(absl::CivilMinute(day) + minute, supervisor.zone);
              absl::Time end = start + length;
              if (Available(supervisor, start, end) && !Overlaps(supervisor.booked, start, end) &&
                  !Overlaps(volunteer.booked, start, end) &&
                  !InQuietHours(volunteer.quiet, volunteer.zone, start, end) &&
                  !InQuietHours(supervisor_quiet, supervisor.zone, start, end)) {
                candidates.push_back(start);
              }
            }
          }
        }
        if (candidates.empty()) {
          std::lock_guard<std::mutex> lock(mu_);
          ++no_room_;
          continue;
        }
        absl::Time start =
            candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(random)];
        sv1::CreateSessionRequest create_session;
        sv1::Session& session = *create_session.mutable_session();
        session.set_kind(sv1::SESSION_KIND_INDIVIDUAL);
        session.set_title("Individual supervision");
        session.add_supervisor_ids(supervisor.person_id);
        session.add_participant_ids(volunteer.person_id);
        *session.mutable_start_time() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(start));
        *session.mutable_duration() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(length));
        session.set_capacity(1);
        create_session.set_request_id(
            absl::StrCat("bench-", org_id_, "-session-", index, "-", week, "-", v));
        sv1::CreateSessionResponse session_created;
        status = supervision_->CreateSession(Call(token).get(), create_session, &session_created);
        if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          std::lock_guard<std::mutex> lock(mu_);
          ++refusals_[ConflictReason(status)];
          ++refusals_total_;
          continue;
        }
        if (!status.ok()) return Failed("supervision CreateSession", status);
        supervisor.booked.push_back({start, start + length});
        volunteer.booked.push_back({start, start + length});
        ++booked;
      }
    }
    booked_ += booked;
    return absl::OkStatus();
  }

  const ScenarioContext context_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_;
  std::unique_ptr<sv1::SupervisionService::Stub> supervision_;
  absl::Time now_;
  std::string org_id_;
  std::string coordinator_;  // token
  std::vector<PoolSupervisor> supervisors_;
  std::vector<PoolVolunteer> volunteers_;
  absl::Time window_start_;
  absl::Time window_end_;
  absl::Duration preparation_;
  std::atomic<long> booked_{0};
  std::atomic<int> on_leave_{0};
  mutable std::mutex mu_;
  std::map<std::string, int> refusals_;
  int refusals_total_ = 0;
  int no_room_ = 0;
};

uint64_t Mix(uint64_t x) {  // splitmix64: a random-looking volunteer for each call number
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ProposeSlots for a random volunteer of the pool, as that volunteer: an individual session of
// an hour in the next four weeks.
class ProposeSlotsScenario final : public Scenario {
 public:
  ProposeSlotsScenario(std::unique_ptr<Pool> pool, const ScenarioContext& context)
      : pool_(std::move(pool)) {
    for (auto& channel : Channels(context.supervision_addr, context.channels)) {
      stubs_.push_back(sv1::SupervisionService::NewStub(channel));
    }
    for (size_t i = 0; i < pool_->supervisors().size(); ++i) {
      supervisor_index_[pool_->supervisors()[i].person_id] = static_cast<int>(i);
    }
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      const auto& volunteers = pool_->volunteers();
      const PoolVolunteer& volunteer = volunteers[Mix(next_++) % volunteers.size()];
      context->AddMetadata("authorization", volunteer.authorization);
      auto request = std::make_shared<sv1::ProposeSlotsRequest>();
      request->set_volunteer_id(volunteer.person_id);
      request->set_kind(sv1::SESSION_KIND_INDIVIDUAL);
      *request->mutable_duration() = TimeUtil::SecondsToDuration(3600);
      *request->mutable_window_start_time() =
          TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(pool_->window_start()));
      *request->mutable_window_end_time() =
          TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(pool_->window_end()));
      auto response = std::make_shared<sv1::ProposeSlotsResponse>();
      stubs_[slot % stubs_.size()]->async()->ProposeSlots(
          context, request.get(), response.get(),
          [this, &volunteer, request, response, done = std::move(done)](grpc::Status status) {
            if (status.ok()) Tally(volunteer, *response);
            done(status);
          });
    };
  }

  std::vector<std::string> Notes() override {
    std::vector<std::string> notes = pool_->Notes();
    long answers = answers_.load();
    std::lock_guard<std::mutex> lock(mu_);
    notes.push_back(absl::StrFormat(
        "answers %ld: %.1f slots each on average, %ld empty, first slot with the volunteer's own "
        "supervisor in %.0f %%; of the first %ld answers checked against the bookings, %ld slots "
        "odd%s",
        answers, static_cast<double>(slots_.load()) / std::max(1L, answers), empty_.load(),
        100.0 * own_first_.load() / std::max(1L, answers), checked_, odd_,
        first_odd_.empty() ? "" : absl::StrCat(" (first: ", first_odd_, ")")));
    return notes;
  }

 private:
  void Tally(const PoolVolunteer& volunteer, const sv1::ProposeSlotsResponse& response) {
    ++answers_;
    slots_ += response.slots_size();
    if (response.slots_size() == 0) {
      ++empty_;
    } else if (response.slots(0).supervisor_id() ==
               pool_->supervisors()[volunteer.supervisor].person_id) {
      ++own_first_;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (checked_ >= kCheckedAnswers) return;
      ++checked_;
    }
    Check(volunteer, response);
  }

  // A slot is odd when it is not the hour asked for inside the window, names a supervisor outside
  // the pool, is outside the supervisor's availability, overlaps a booking of the supervisor or
  // the volunteer, or falls in the volunteer's quiet hours. Only the first answers are checked
  // (in the warm-up, as a rule), so the check costs the measured calls nothing.
  void Check(const PoolVolunteer& volunteer, const sv1::ProposeSlotsResponse& response) {
    for (const sv1::Slot& slot : response.slots()) {
      absl::Time start = absl::FromUnixSeconds(TimeUtil::TimestampToSeconds(slot.start_time()));
      absl::Time end = absl::FromUnixSeconds(TimeUtil::TimestampToSeconds(slot.end_time()));
      std::string why;
      auto found = supervisor_index_.find(slot.supervisor_id());
      if (end - start != absl::Hours(1)) {
        why = "not an hour long";
      } else if (start < pool_->window_start() || end > pool_->window_end()) {
        why = "outside the window";
      } else if (found == supervisor_index_.end()) {
        why = "a supervisor outside the pool";
      } else if (!Available(pool_->supervisors()[found->second], start, end)) {
        why = "outside the supervisor's availability";
      } else if (Overlaps(pool_->supervisors()[found->second].booked, start, end)) {
        why = "the supervisor is booked";
      } else if (Overlaps(volunteer.booked, start, end)) {
        why = "the volunteer is booked";
      } else if (InQuietHours(volunteer.quiet, volunteer.zone, start, end)) {
        why = "in the volunteer's quiet hours";
      }
      if (why.empty()) continue;
      std::lock_guard<std::mutex> lock(mu_);
      ++odd_;
      if (first_odd_.empty()) {
        first_odd_ = absl::StrCat(why, ": ", slot.supervisor_id(), " at ",
                                  absl::FormatTime(absl::RFC3339_sec, start, absl::UTCTimeZone()),
                                  " for ", volunteer.person_id);
      }
    }
  }

  std::unique_ptr<Pool> pool_;
  std::vector<std::unique_ptr<sv1::SupervisionService::Stub>> stubs_;
  std::map<std::string, int> supervisor_index_;
  std::atomic<uint64_t> next_{0};
  std::atomic<long> answers_{0};
  std::atomic<long> slots_{0};
  std::atomic<long> empty_{0};
  std::atomic<long> own_first_{0};
  std::mutex mu_;
  long checked_ = 0;
  long odd_ = 0;
  std::string first_odd_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> MakeProposeSlotsScenario(const ScenarioContext& context) {
  if (context.supervision_addr.empty()) {
    return absl::FailedPreconditionError("propose-slots needs a supervision service");
  }
  auto pool = std::make_unique<Pool>(context);
  if (auto status = pool->Prepare(); !status.ok()) return status;
  return std::make_unique<ProposeSlotsScenario>(std::move(pool), context);
}

}  // namespace peerwell::bench
