// `peerwellctl demo seed`: a small, realistic organisation to click through locally, with a few
// weeks of check-in history when the check-in service is running, supervision (availability, a
// fortnightly reflective practice group, one-to-ones in the coming weeks), and the peer network
// when it is running (announcements, the volunteers' cohort group, a buddy pair and a direct
// conversation, with a few messages in each).

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/common/auth.h"
#include "services/common/proto_time.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/identity.h"
#include "tools/peerwellctl/network_format.h"
#include "tools/peerwellctl/supervision_format.h"

namespace peerwell::ctl {
namespace {

using Stub = v1::DirectoryService::Stub;
using CheckinStub = checkin_v1::CheckinService::Stub;
using SupervisionStub = supervision_v1::SupervisionService::Stub;
using NetworkStub = network_v1::PeerNetworkService::Stub;

constexpr absl::string_view kOrganizationName = "Harbour Peer Support (demo)";
// The platform operator's subject: CreateOrganization and the first coordinator are idempotent
// per caller and request_id, so a fixed subject plus fixed request ids make a re-run return
// the same organisation and people instead of a second copy.
constexpr absl::string_view kAdminSubject = "demo-admin";
// Bump to seed a fresh copy instead of replaying the earlier one.
constexpr absl::string_view kRequestPrefix = "demo-seed-v1";
// Long enough to copy into a browser session or a shell for a working day.
constexpr absl::Duration kPrintedTokenLifetime = absl::Hours(12);
// The identities used only while seeding.
constexpr absl::Duration kSeedingTokenLifetime = absl::Minutes(10);

struct DemoConsent {
  bool risk_monitoring = false;
  bool share_scores_with_supervisor = false;
  bool research_export = false;
};

struct DemoPerson {
  absl::string_view key;  // stable part of the request_id
  absl::string_view display_name;
  v1::Role role;
  absl::string_view timezone;
  absl::string_view quiet_start;
  absl::string_view quiet_end;
  int commitment_hours_per_month;
  bool lived_experience;
  int supervisor;  // index into kDemoSupervisors, volunteers only
  DemoConsent consent;
};

// One person per row reads better than one field per line.
// clang-format off
constexpr DemoPerson kDemoCoordinator = {
    "coordinator", "Grace Okafor", v1::ROLE_COORDINATOR, "Europe/London", "19:00", "08:00",
    0, false, -1, {}};

constexpr DemoPerson kDemoSupervisors[] = {
    {"supervisor-mette", "Mette Rasmussen", v1::ROLE_SUPERVISOR, "Europe/Copenhagen",
     "20:00", "08:00", 0, true, -1, {}},
    {"supervisor-daniel", "Daniel Hughes", v1::ROLE_SUPERVISOR, "Europe/London",
     "21:00", "07:30", 0, false, -1, {}},
};

// Most volunteers opt in to risk monitoring and to sharing scores; one shares alerts but not
// scores, and one has left everything off (the default), so the consent rules show. Five agree to
// research export: enough for the aggregates (cells of 5 or more) to show figures.
constexpr DemoPerson kDemoVolunteers[] = {
    {"volunteer-amira", "Amira Haddad", v1::ROLE_VOLUNTEER, "Europe/London",
     "22:00", "07:00", 20, false, 0, {true, true, true}},
    {"volunteer-jonas", "Jonas Nielsen", v1::ROLE_VOLUNTEER, "Europe/Copenhagen",
     "22:30", "07:30", 12, false, 0, {true, true, true}},
    {"volunteer-zofia", "Zofia Wiśniewska", v1::ROLE_VOLUNTEER, "Europe/Warsaw",
     "23:00", "07:00", 20, false, 0, {true, true, true}},
    {"volunteer-sean", "Seán O'Brien", v1::ROLE_VOLUNTEER, "Europe/Dublin",
     "22:00", "08:00", 24, false, 1, {true, true, true}},
    {"volunteer-priya", "Priya Natarajan", v1::ROLE_VOLUNTEER, "Europe/London",
     "21:30", "07:00", 20, false, 1, {true, false, true}},
    {"volunteer-kwame", "Kwame Mensah", v1::ROLE_VOLUNTEER, "Europe/London",
     "22:00", "06:30", 20, false, 1, {false, false, false}},
};
// clang-format on

// The check-in history: eight weeks of WHO-5s every 14 days (SPEC §3's default cadence) and 2-3
// after-session pulses a week, and a CBI every 30 days from 60 days back, so that three of them
// show a trend.
constexpr int kHistoryWeeks = 8;
constexpr int kWho5EveryDays = 14;
constexpr int kCbiEveryDays = 30;
constexpr int kCbiCount = 3;
// The story a new user follows on the dashboard: the second volunteer (Jonas) is drifting into
// burnout (volunteering-related burnout rising over the last three CBIs, WHO-5 falling, sessions
// that stay with him, more hours than he agreed), the third (Zofia) met a suicide disclosure last
// night, and everyone else is well: their sessions rarely stay with them and fit the hours they
// agreed, so no other alert clutters the picture.
constexpr int kStrugglingVolunteer = 1;
constexpr int kIncidentVolunteer = 2;
constexpr absl::Duration kIncidentBeforeNow = absl::Hours(16);

// Supervision: both supervisors are available Monday to Thursday (weekdays 1-4), 09:00-17:00 in
// their own timezone, unless they have set their availability themselves.
constexpr int kAvailableWeekdays = 4;
constexpr absl::string_view kAvailableFrom = "09:00";
constexpr absl::string_view kAvailableTo = "17:00";

// A fortnightly reflective practice group on Wednesday afternoons, led by both supervisors, with
// eight seats of which four are taken (indices into kDemoVolunteers); the others may join.
constexpr absl::string_view kReflectiveTitle = "Reflective practice";
constexpr absl::string_view kReflectiveRule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE";
constexpr int kReflectiveWeekday = 3;  // Wednesday, as BYDAY says
constexpr int kReflectiveHour = 14;    // in the first supervisor's timezone
constexpr absl::Duration kReflectiveDuration = absl::Minutes(90);
constexpr int kReflectiveCapacity = 8;
constexpr int kReflectiveParticipants[] = {0, 1, 3, 4};

// One-to-ones with the volunteer's own supervisor, at the supervisor's local time, in the week
// after the seed (week 1) or the one after (week 2). Kwame has none: his is the one to book with
// `supervision propose`.
struct DemoOneToOne {
  int volunteer;  // index into kDemoVolunteers
  int week;
  int weekday;  // 1 = Monday
  int hour;
};
constexpr DemoOneToOne kDemoOneToOnes[] = {
    {1, 1, 1, 10},  // Jonas, burning out, first
    {0, 1, 2, 10},  // Amira
    {3, 1, 4, 10},  // Seán
    {2, 2, 4, 10},  // Zofia
    {4, 2, 2, 14},  // Priya
};
constexpr absl::string_view kOneToOneTitle = "One-to-one supervision";
constexpr absl::Duration kOneToOneDuration = absl::Minutes(50);

// The peer network: the organisation's announcements, the volunteers' cohort group (which the
// coordinator keeps an eye on as a member), a buddy pair and a direct conversation. Volunteers
// are indices into kDemoVolunteers.
enum DemoChannel { kAnnouncements, kCohort, kBuddies, kDirect };
constexpr absl::string_view kAnnouncementsName = "Harbour announcements";
constexpr absl::string_view kCohortName = "Volunteer cohort";
constexpr int kCohortMembers[] = {0, 1, 2, 3, 4};
// Kwame is invited to the group and has not joined yet: his is the invitation to accept.
constexpr int kCohortInvited = 5;
// Amira asks Jonas, whose check-ins show him struggling, to be buddies; he joins.
constexpr int kBuddyInviter = 0;
constexpr int kBuddyInvitee = 1;
// Priya and Seán, both Daniel's volunteers, swap a shift.
constexpr int kDirectFrom = 4;
constexpr int kDirectTo = 3;
constexpr int kByCoordinator = -1;

struct DemoPost {
  DemoChannel channel;
  int author;                  // kByCoordinator or a volunteer
  absl::string_view key;       // stable part of the client_message_id
  absl::string_view reply_to;  // the key of the message it answers, if any
  absl::string_view body;
};

// In the order they are posted; a reply comes after the message it answers.
// clang-format off
constexpr DemoPost kDemoPosts[] = {
    {kAnnouncements, kByCoordinator, "welcome", "",
     "Welcome to the Harbour peer network! Programme news goes here: rota changes, training "
     "dates and anything the whole team should know. Day-to-day chat lives in the Volunteer "
     "cohort channel. If you would like a buddy to check in with between sessions, invite "
     "another volunteer; it is entirely optional. And a reminder: supervision is there for you, "
     "not only when something goes wrong."},
    {kCohort, kByCoordinator, "cohort-hello", "",
     "Hi all, this is our cohort's space for swapping shifts, sharing what works and asking for "
     "a hand. Please keep anything that could identify the people we support out of here, and "
     "bring that to supervision instead."},
    {kCohort, 2, "cohort-ending", "",
     "Does anyone have a good way of ending a group on time when someone is in the middle of "
     "their story? I found it hard on Tuesday."},
    {kCohort, 3, "cohort-ending-sean", "cohort-ending",
     "I give a five-minute warning and promise to come back to it first thing next week, and "
     "then I actually do. People seem to trust that."},
    {kCohort, 4, "cohort-ending-priya", "cohort-ending",
     "Same here. Saying it kindly (\"I want to give this the time it deserves\") helps me not "
     "feel like I am cutting them off."},
    {kBuddies, 0, "buddy-hello", "",
     "Hi Jonas, glad we are doing this buddy thing. How did Tuesday's group go? It sounded like "
     "a heavy one."},
    {kBuddies, 1, "buddy-heavy", "",
     "Honestly, it took it out of me. Someone shared something really hard near the end and I "
     "kept turning it over all evening."},
    {kBuddies, 0, "buddy-debrief", "buddy-heavy",
     "That is a lot to carry home. Have you been able to bring it to Mette? A debrief really "
     "does help. And I am around on Thursday evening if you would like to talk before then."},
    {kBuddies, 1, "buddy-thanks", "",
     "Thank you, that means a lot. I will ask Mette for a debrief this week, and Thursday works "
     "for me."},
    {kDirect, 4, "direct-swap", "",
     "Hi Seán, could you cover my Saturday drop-in this week? Happy to take one of your "
     "Wednesday evenings in return."},
    {kDirect, 3, "direct-swap-yes", "direct-swap",
     "Yes, no problem. I will let Grace know we have swapped."},
};
// clang-format on

std::string RequestId(absl::string_view key) { return absl::StrCat(kRequestPrefix, ":", key); }

// Keeps the service's code and says which step failed.
absl::Status InStep(absl::string_view step, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("demo seed: ", step, ": ", status.message()));
}

std::string Mint(const std::string& secret, v1::Role role, const std::string& subject,
                 const std::string& organization_id, absl::Duration lifetime) {
  TokenClaims claims;
  claims.subject = subject;
  claims.organization_id = organization_id;
  claims.lifetime = lifetime;
  switch (role) {
    case v1::ROLE_COORDINATOR:
      claims.role = CallerRole::kCoordinator;
      break;
    case v1::ROLE_SUPERVISOR:
      claims.role = CallerRole::kSupervisor;
      break;
    default:
      claims.role = CallerRole::kVolunteer;
      break;
  }
  return MintToken(secret, claims, absl::Now());
}

absl::StatusOr<v1::Person> CreateDemoPerson(Context& context, const std::string& token,
                                            const DemoPerson& demo) {
  v1::CreatePersonRequest request;
  v1::Person& person = *request.mutable_person();
  person.set_display_name(std::string(demo.display_name));
  person.set_role(demo.role);
  person.set_timezone(std::string(demo.timezone));
  person.mutable_quiet_hours()->set_start(std::string(demo.quiet_start));
  person.mutable_quiet_hours()->set_end(std::string(demo.quiet_end));
  person.set_commitment_hours_per_month(demo.commitment_hours_per_month);
  person.set_lived_experience(demo.lived_experience);
  request.set_request_id(RequestId(demo.key));
  auto response = context.directory.Call(&Stub::CreatePerson, request, token);
  if (!response.ok()) {
    return InStep(absl::StrCat("creating ", demo.display_name), response.status());
  }
  return response->person();
}

// `total` steps shared out over `count` items as evenly as can be, the first items taking the
// remainder: answers that add up to a wanted score.
std::vector<int> Spread(int total, int count) {
  std::vector<int> steps(count, total / count);
  for (int i = 0; i < total % count; ++i) ++steps[i];
  return steps;
}

void AddAnswer(checkin_v1::SubmitCheckinRequest& request, absl::string_view item_id, int value) {
  checkin_v1::Answer& answer = *request.add_answers();
  answer.set_item_id(std::string(item_id));
  answer.set_value(value);
}

// WHO-5 answers whose percentage score is close to `percent` (the raw score is a fifth of it in
// steps of 4; five items of 0-5).
void AnswerWho5(checkin_v1::SubmitCheckinRequest& request, int percent) {
  int raw = std::clamp(static_cast<int>(std::lround(percent / 4.0)), 0, 25);
  std::vector<int> values = Spread(raw, 5);
  for (int i = 0; i < 5; ++i) AddAnswer(request, absl::StrCat(i + 1), values[i]);
}

// CBI answers whose three subscale means are close to the levels given (answers are 0, 25, 50,
// 75 or 100; item 13 is reversed, so its answer is 100 minus its share).
void AnswerCbi(checkin_v1::SubmitCheckinRequest& request, int personal, int volunteering,
               int people_supported) {
  struct Subscale {
    int first_item;
    int item_count;
    int level;
  };
  for (const Subscale& subscale : {Subscale{1, 6, personal}, Subscale{7, 7, volunteering},
                                   Subscale{14, 6, people_supported}}) {
    int steps = static_cast<int>(std::lround(subscale.level * subscale.item_count / 25.0));
    std::vector<int> shares =
        Spread(std::clamp(steps, 0, 4 * subscale.item_count), subscale.item_count);
    for (int i = 0; i < subscale.item_count; ++i) {
      int item = subscale.first_item + i;
      int adjusted = 25 * shares[i];
      AddAnswer(request, absl::StrCat(item), item == 13 ? 100 - adjusted : adjusted);
    }
  }
}

// One planned check-in: how long before the current hour, and what.
struct PlannedCheckin {
  absl::Duration before_now;
  checkin_v1::SubmitCheckinRequest request;
};

// The history of demo volunteer `volunteer` (an index into kDemoVolunteers), oldest first.
// Deterministic: every value comes from the volunteer's index and the week, so a re-run asks for
// the same check-ins (and replays them by request id).
std::vector<PlannedCheckin> PlanHistory(int volunteer) {
  bool struggling = volunteer == kStrugglingVolunteer;
  std::vector<PlannedCheckin> plan;
  auto add = [&plan](int days_ago, int hours_earlier) -> checkin_v1::SubmitCheckinRequest& {
    PlannedCheckin& planned = plan.emplace_back();
    planned.before_now = absl::Hours(24 * days_ago + hours_earlier);
    return planned.request;
  };

  int who5_count = kHistoryWeeks * 7 / kWho5EveryDays + 1;
  for (int k = 0; k < who5_count; ++k) {
    checkin_v1::SubmitCheckinRequest& request =
        add(kHistoryWeeks * 7 - k * kWho5EveryDays, 3 + volunteer % 3);
    request.set_instrument_id("who5");
    // Healthy: 64-88 ("good"). Struggling: 72 falling by 8 each time, into "poor".
    AnswerWho5(request, struggling ? 72 - 8 * k
                                   : 64 + (volunteer * 7) % 16 + ((k * 5 + volunteer * 3) % 3) * 4);
  }

  for (int k = 0; k < kCbiCount; ++k) {
    checkin_v1::SubmitCheckinRequest& request =
        add((kCbiCount - 1 - k) * kCbiEveryDays, 4 + volunteer % 3);
    request.set_instrument_id("cbi");
    if (struggling) {
      // Volunteering-related burnout 35 -> 55 -> 75 (low -> moderate -> high).
      AnswerCbi(request, 40 + 12 * k, 35 + 20 * k, 30 + 10 * k);
    } else {
      AnswerCbi(request, 25 + (volunteer * 5) % 15,
                20 + (volunteer * 4) % 12 + (k * 3 + volunteer) % 6, 15 + (volunteer * 6) % 14);
    }
  }

  for (int week = 0; week < kHistoryWeeks; ++week) {
    int pulses = 2 + (volunteer + week) % 2;
    for (int i = 0; i < pulses; ++i) {
      int days_ago = (kHistoryWeeks - week) * 7 - (1 + 2 * i);
      checkin_v1::SubmitCheckinRequest& request = add(days_ago, 6 + 2 * i);
      request.set_instrument_id("pulse");
      int turn = volunteer + week + i;
      bool hard_weeks = struggling && week >= kHistoryWeeks - 3;
      AddAnswer(request, "energy", struggling ? std::max(1, 4 - week / 3 - i % 2) : 3 + turn % 3);
      // Well volunteers: a session stays with them about once a month, never twice in the
      // fortnight the talk_repeated rule looks at.
      bool stayed = hard_weeks || (!struggling && i == 0 && week % 4 == volunteer % 4);
      AddAnswer(request, "stayed_with_me", stayed ? 1 : 0);
      // A "yes" would raise a support request; the demo leaves that for someone to try.
      AddAnswer(request, "want_to_talk", 0);
      checkin_v1::CheckinContext& session = *request.mutable_context();
      // 1.5-2 hours, 10-11 sessions in four weeks: inside the 20+ hours a month the well
      // volunteers agreed (with the policy's 25 % margin); Jonas's hard weeks are not.
      session.set_hours(hard_weeks ? 3.0 : 1.5 + 0.5 * (turn % 2));
      session.set_session_kind((volunteer + i) % 2 == 0 ? "group" : "one_to_one");
      session.set_sessions_facilitated(1);
    }
  }
  return plan;
}

// Everything the seed created, for the summary.
struct SeededDemo {
  v1::Organization organization;
  v1::Person coordinator;
  std::vector<v1::Person> supervisors;
  std::vector<v1::Person> volunteers;
  std::vector<v1::Consent> consents;  // one per volunteer
  std::string coordinator_token;
  std::string supervisor_token;
  std::string volunteer_token;
  absl::Time tokens_expire;
  // nullopt when the check-in service was not running and the history was skipped.
  std::optional<int> checkins_imported;
  // The supervisors whose availability the seed set (not those who had set their own).
  std::vector<std::string> availability_set;
  // The reflective practice group's next occurrence, then each one-to-one.
  std::vector<supervision_v1::Session> sessions;
  // By DemoChannel; nullopt when the peer network was not running and was skipped.
  std::optional<std::vector<network_v1::Channel>> channels;
  // The demo partner's API key: its secret when this run made it; empty on a re-run, when the
  // first seed showed it (the directory keeps only its hash).
  v1::ApiKey partner_key;
  std::string partner_key_secret;
};

constexpr absl::string_view kDemoPartnerName = "Demo research partner";
constexpr const char* kDemoPartnerScopes[] = {"aggregates:read", "exports:read",
                                              "webhooks:manage"};

// A partner's API key with every scope, for trying `peerwellctl partner ...` and the partner API
// (docs/PARTNERS.md) locally: made once, found by its name on a re-run.
absl::Status SeedPartnerKey(Context& context, SeededDemo& demo) {
  v1::ListApiKeysRequest list;
  auto keys = FetchPages(context.directory, demo.coordinator_token, &Stub::ListApiKeys, list,
                         /*all=*/true);
  if (!keys.ok()) return InStep("listing the API keys", keys.status());
  for (const v1::ApiKey& key : keys->api_keys()) {
    if (key.display_name() == kDemoPartnerName && !key.has_revoke_time()) {
      demo.partner_key = key;
      return absl::OkStatus();
    }
  }
  v1::CreateApiKeyRequest create;
  create.set_display_name(std::string(kDemoPartnerName));
  for (const char* scope : kDemoPartnerScopes) create.add_scopes(scope);
  auto created = context.directory.Call(&Stub::CreateApiKey, create, demo.coordinator_token);
  if (!created.ok()) return InStep("creating the partner's API key", created.status());
  demo.partner_key = created->api_key();
  demo.partner_key_secret = created->secret();
  return absl::OkStatus();
}

// Imports every demo volunteer's history as the platform operator: an admin token with the demo
// organisation as its org claim may name the volunteer and set submit_time (checkin.proto).
// When the check-in service is not running, says so in one line and leaves the history out, so
// that seeding the directory alone still works.
absl::Status ImportCheckinHistory(Context& context, const std::string& secret, SeededDemo& demo) {
  auto probe = context.checkin.Call(&CheckinStub::ListInstruments,
                                    checkin_v1::ListInstrumentsRequest(), demo.coordinator_token);
  if (probe.status().code() == absl::StatusCode::kUnavailable) {
    std::cerr << "note: no check-in service answers at " << context.checkin.address()
              << "; seeded the directory only (start it and re-run for check-in history)\n";
    return absl::OkStatus();
  }
  if (!probe.ok()) {
    return FromBackend(Backend::kCheckin, InStep("reaching the check-in service", probe.status()));
  }

  TokenClaims admin{std::string(kAdminSubject), demo.organization.organization_id(),
                    CallerRole::kAdmin, kSeedingTokenLifetime};
  std::string token = MintToken(secret, admin, absl::Now());
  // Whole hours before the current one, so that the history reads like real check-in times.
  absl::Time this_hour =
      absl::UnixEpoch() + absl::Floor(absl::Now() - absl::UnixEpoch(), absl::Hours(1));
  int imported = 0;
  for (size_t v = 0; v < demo.volunteers.size(); ++v) {
    std::vector<PlannedCheckin> plan = PlanHistory(static_cast<int>(v));
    for (size_t n = 0; n < plan.size(); ++n) {
      checkin_v1::SubmitCheckinRequest& request = plan[n].request;
      request.set_volunteer_id(demo.volunteers[v].person_id());
      *request.mutable_submit_time() = TimestampToProto(this_hour - plan[n].before_now);
      request.set_request_id(RequestId(absl::StrCat("checkin:", v, ":", n)));
      auto submitted = context.checkin.Call(&CheckinStub::SubmitCheckin, request, token);
      if (!submitted.ok()) {
        return FromBackend(Backend::kCheckin, InStep(absl::StrCat("importing the check-ins of ",
                                                                  kDemoVolunteers[v].display_name),
                                                     submitted.status()));
      }
      ++imported;
    }
  }
  demo.checkins_imported = imported;

  // The night's critical incident, reported by the volunteer herself (a re-run returns it).
  const v1::Person& reporter = demo.volunteers[kIncidentVolunteer];
  checkin_v1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(checkin_v1::INCIDENT_TYPE_SUICIDE_DISCLOSURE);
  *incident.mutable_occur_time() = TimestampToProto(this_hour - kIncidentBeforeNow);
  incident.set_request_id(RequestId("incident"));
  auto reported = context.checkin.Call(
      &CheckinStub::ReportCriticalIncident, incident,
      Mint(secret, v1::ROLE_VOLUNTEER, reporter.person_id(),
           demo.organization.organization_id(), kSeedingTokenLifetime));
  if (!reported.ok()) {
    return FromBackend(Backend::kCheckin,
                       InStep(absl::StrCat("reporting ", reporter.display_name(), "'s incident"),
                              reported.status()));
  }
  return absl::OkStatus();
}

absl::Status SupervisionStep(absl::string_view step, const absl::Status& status) {
  return FromBackend(Backend::kSupervision, InStep(step, status));
}

// Monday 00:00 of the week after `now`, as a civil day in `zone`.
absl::CivilDay NextMonday(absl::Time now, absl::TimeZone zone) {
  absl::CivilDay today = absl::ToCivilDay(now, zone);
  int from_monday =
      (static_cast<int>(absl::GetWeekday(today)) - static_cast<int>(absl::Weekday::monday) + 7) % 7;
  return today + (7 - from_monday);
}

// `hour`:00 on `weekday` (1 = Monday) of week `week` after `now` (1 = the next one), in the
// timezone of `person`.
absl::StatusOr<absl::Time> LocalTime(const v1::Person& person, absl::Time now, int week,
                                     int weekday, int hour) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(person.timezone(), &zone)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no time zone data for ", person.timezone(), " on this machine (tzdata)"));
  }
  absl::CivilDay day = NextMonday(now, zone) + 7 * (week - 1) + (weekday - 1);
  return absl::FromCivil(absl::CivilHour(day.year(), day.month(), day.day(), hour), zone);
}

// The first upcoming scheduled session of `kind` titled `title` that `person_id` takes part in, or
// nullopt: how a re-run finds what an earlier run created, also after the service has forgotten
// its request ids (7 days).
absl::StatusOr<std::optional<supervision_v1::Session>> UpcomingSession(
    Context& context, const std::string& token, const std::string& person_id,
    supervision_v1::SessionKind kind, absl::string_view title, absl::Time now) {
  supervision_v1::ListSessionsRequest request;
  request.set_person_id(person_id);
  *request.mutable_start_time() = TimestampToProto(now);
  request.add_kinds(kind);
  request.add_states(supervision_v1::SESSION_STATE_SCHEDULED);
  // Kinds and states filter each page, so a page may hold none of them: read them all.
  auto listed = FetchPages(context.supervision, token, &SupervisionStub::ListSessions, request,
                           /*all=*/true);
  if (!listed.ok()) return listed.status();
  for (const supervision_v1::Session& session : listed->sessions()) {
    if (session.title() == title) return std::optional<supervision_v1::Session>(session);
  }
  return std::optional<supervision_v1::Session>();
}

// The supervision part of the demo: availability, the reflective practice group and the
// one-to-ones. The supervision service must answer: run-local starts it with the others.
absl::Status SeedSupervision(Context& context, const std::string& secret, SeededDemo& demo) {
  auto probe = context.supervision.Call(&SupervisionStub::GetSupervisionPolicy,
                                        supervision_v1::GetSupervisionPolicyRequest(),
                                        demo.coordinator_token);
  if (!probe.ok()) {
    return SupervisionStep(
        absl::StrCat("reaching the supervision service at ", context.supervision.address()),
        probe.status());
  }
  const std::string& org_id = demo.organization.organization_id();

  // Each supervisor sets their own weekly windows, unless they already have some: a re-run
  // leaves alone what a supervisor changed since.
  for (const v1::Person& supervisor : demo.supervisors) {
    std::string token =
        Mint(secret, v1::ROLE_SUPERVISOR, supervisor.person_id(), org_id, kSeedingTokenLifetime);
    auto current = context.supervision.Call(&SupervisionStub::GetAvailability,
                                            supervision_v1::GetAvailabilityRequest(), token);
    if (!current.ok()) {
      return SupervisionStep(
          absl::StrCat("reading the availability of ", supervisor.display_name()),
          current.status());
    }
    if (!current->availability().weekly().empty()) continue;
    supervision_v1::SetAvailabilityRequest set;
    for (int weekday = 1; weekday <= kAvailableWeekdays; ++weekday) {
      supervision_v1::WeeklyWindow& window = *set.mutable_availability()->add_weekly();
      window.set_weekday(weekday);
      window.set_start(std::string(kAvailableFrom));
      window.set_end(std::string(kAvailableTo));
    }
    auto stored = context.supervision.Call(&SupervisionStub::SetAvailability, set, token);
    if (!stored.ok()) {
      return SupervisionStep(
          absl::StrCat("setting the availability of ", supervisor.display_name()), stored.status());
    }
    demo.availability_set.push_back(supervisor.display_name());
  }

  absl::Time now = absl::Now();
  const std::string& token = demo.coordinator_token;
  auto series =
      UpcomingSession(context, token, demo.supervisors[0].person_id(),
                      supervision_v1::SESSION_KIND_REFLECTIVE_PRACTICE, kReflectiveTitle, now);
  if (!series.ok()) {
    return SupervisionStep("listing the reflective practice group", series.status());
  }
  if (series->has_value()) {
    demo.sessions.push_back(**series);
  } else {
    auto start = LocalTime(demo.supervisors[0], now, 1, kReflectiveWeekday, kReflectiveHour);
    if (!start.ok()) return InStep("planning the reflective practice group", start.status());
    supervision_v1::CreateSessionRequest create;
    supervision_v1::Session& session = *create.mutable_session();
    session.set_kind(supervision_v1::SESSION_KIND_REFLECTIVE_PRACTICE);
    session.set_title(std::string(kReflectiveTitle));
    for (const v1::Person& supervisor : demo.supervisors) {
      session.add_supervisor_ids(supervisor.person_id());
    }
    for (int volunteer : kReflectiveParticipants) {
      session.add_participant_ids(demo.volunteers[volunteer].person_id());
    }
    *session.mutable_start_time() = TimestampToProto(*start);
    *session.mutable_duration() = DurationToProto(kReflectiveDuration);
    session.set_capacity(kReflectiveCapacity);
    session.set_recurrence_rule(std::string(kReflectiveRule));
    create.set_request_id(RequestId("supervision:reflective-practice"));
    auto created = context.supervision.Call(&SupervisionStub::CreateSession, create, token);
    if (!created.ok()) {
      return SupervisionStep("creating the reflective practice group", created.status());
    }
    demo.sessions.push_back(created->session());
  }

  for (const DemoOneToOne& planned : kDemoOneToOnes) {
    const v1::Person& volunteer = demo.volunteers[planned.volunteer];
    const v1::Person& supervisor = demo.supervisors[kDemoVolunteers[planned.volunteer].supervisor];
    auto upcoming = UpcomingSession(context, token, volunteer.person_id(),
                                    supervision_v1::SESSION_KIND_INDIVIDUAL, kOneToOneTitle, now);
    if (!upcoming.ok()) {
      return SupervisionStep(absl::StrCat("listing the sessions of ", volunteer.display_name()),
                             upcoming.status());
    }
    if (upcoming->has_value()) {
      demo.sessions.push_back(**upcoming);
      continue;
    }
    auto start = LocalTime(supervisor, now, planned.week, planned.weekday, planned.hour);
    if (!start.ok()) return InStep("planning the one-to-ones", start.status());
    supervision_v1::CreateSessionRequest create;
    supervision_v1::Session& session = *create.mutable_session();
    session.set_kind(supervision_v1::SESSION_KIND_INDIVIDUAL);
    session.set_title(std::string(kOneToOneTitle));
    session.add_supervisor_ids(supervisor.person_id());
    session.add_participant_ids(volunteer.person_id());
    *session.mutable_start_time() = TimestampToProto(*start);
    *session.mutable_duration() = DurationToProto(kOneToOneDuration);
    // The date in the id: a re-run the same week replays it, one in a later week (once this one
    // has passed) plans the next.
    create.set_request_id(
        RequestId(absl::StrCat("supervision:one-to-one:", kDemoVolunteers[planned.volunteer].key,
                               ":", absl::FormatTime("%Y-%m-%d", *start, absl::UTCTimeZone()))));
    auto created = context.supervision.Call(&SupervisionStub::CreateSession, create, token);
    if (!created.ok()) {
      return SupervisionStep(absl::StrCat("creating the one-to-one of ", volunteer.display_name()),
                             created.status());
    }
    demo.sessions.push_back(created->session());
  }
  return absl::OkStatus();
}

absl::Status NetworkStep(absl::string_view step, const absl::Status& status) {
  return FromBackend(Backend::kNetwork, InStep(step, status));
}

bool Names(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// The demo channel `wanted` among those the holder of `token` has: by name for a group or
// announcements, by the other person for a pair. Created when there is none: how a re-run finds
// what an earlier run made, also after the service has forgotten its request ids.
absl::StatusOr<network_v1::Channel> DemoChannelFor(Context& context, const std::string& token,
                                                   const network_v1::Channel& wanted,
                                                   absl::string_view key) {
  auto listed = FetchPages(context.network, token, &NetworkStub::ListChannels,
                           network_v1::ListChannelsRequest(), /*all=*/true);
  if (!listed.ok()) return listed.status();
  bool pair = wanted.kind() == network_v1::CHANNEL_KIND_DIRECT ||
              wanted.kind() == network_v1::CHANNEL_KIND_BUDDY;
  std::string other;
  if (pair) other = wanted.member_ids().empty() ? wanted.invited_ids(0) : wanted.member_ids(0);
  for (const network_v1::Channel& channel : listed->channels()) {
    if (channel.kind() != wanted.kind()) continue;
    if (pair ? Names(channel.member_ids(), other) || Names(channel.invited_ids(), other)
             : channel.display_name() == wanted.display_name()) {
      return channel;
    }
  }
  network_v1::CreateChannelRequest create;
  *create.mutable_channel() = wanted;
  create.set_request_id(RequestId(absl::StrCat("network:", key)));
  auto created = context.network.Call(&NetworkStub::CreateChannel, create, token);
  if (!created.ok()) return created.status();
  return created->channel();
}

// The peer network part of the demo: the channels, the buddy's acceptance and the messages, each
// posted by its author. A re-run finds the channels and the messages already there (by author
// and text) and adds nothing; when the peer network is not running, it says so and is skipped.
absl::Status SeedNetwork(Context& context, const std::string& secret, SeededDemo& demo) {
  auto probe =
      context.network.Call(&NetworkStub::GetNetworkSettings,
                           network_v1::GetNetworkSettingsRequest(), demo.coordinator_token);
  if (probe.status().code() == absl::StatusCode::kUnavailable) {
    std::cerr << "note: no peer network answers at " << context.network.address()
              << "; seeded without its channels (start it and re-run for them)\n";
    return absl::OkStatus();
  }
  if (!probe.ok()) return NetworkStep("reaching the peer network", probe.status());
  const std::string& org_id = demo.organization.organization_id();
  std::vector<std::string> volunteer_tokens;
  for (const v1::Person& volunteer : demo.volunteers) {
    volunteer_tokens.push_back(
        Mint(secret, v1::ROLE_VOLUNTEER, volunteer.person_id(), org_id, kSeedingTokenLifetime));
  }
  auto token_of = [&](int author) -> const std::string& {
    return author == kByCoordinator ? demo.coordinator_token : volunteer_tokens[author];
  };
  auto id_of = [&](int author) -> const std::string& {
    return author == kByCoordinator ? demo.coordinator.person_id()
                                    : demo.volunteers[author].person_id();
  };

  // Each channel with the person who made it, who also reads it back below.
  struct Planned {
    DemoChannel channel;
    int owner;
    absl::string_view key;
    network_v1::Channel wanted;
  };
  std::vector<Planned> planned(4);
  planned[kAnnouncements] = {kAnnouncements, kByCoordinator, "announcements", {}};
  planned[kAnnouncements].wanted.set_kind(network_v1::CHANNEL_KIND_ANNOUNCEMENT);
  planned[kAnnouncements].wanted.set_display_name(std::string(kAnnouncementsName));
  planned[kCohort] = {kCohort, kByCoordinator, "cohort", {}};
  planned[kCohort].wanted.set_kind(network_v1::CHANNEL_KIND_GROUP);
  planned[kCohort].wanted.set_display_name(std::string(kCohortName));
  planned[kCohort].wanted.add_member_ids(demo.coordinator.person_id());
  for (int volunteer : kCohortMembers) {
    planned[kCohort].wanted.add_member_ids(demo.volunteers[volunteer].person_id());
  }
  planned[kCohort].wanted.add_invited_ids(demo.volunteers[kCohortInvited].person_id());
  planned[kBuddies] = {kBuddies, kBuddyInviter, "buddies", {}};
  planned[kBuddies].wanted.set_kind(network_v1::CHANNEL_KIND_BUDDY);
  planned[kBuddies].wanted.add_invited_ids(demo.volunteers[kBuddyInvitee].person_id());
  planned[kDirect] = {kDirect, kDirectFrom, "direct", {}};
  planned[kDirect].wanted.set_kind(network_v1::CHANNEL_KIND_DIRECT);
  planned[kDirect].wanted.add_member_ids(demo.volunteers[kDirectTo].person_id());

  std::vector<network_v1::Channel> channels;
  for (const Planned& plan : planned) {
    auto channel = DemoChannelFor(context, token_of(plan.owner), plan.wanted, plan.key);
    if (!channel.ok()) {
      return NetworkStep(absl::StrCat("creating the ", plan.key, " channel"), channel.status());
    }
    channels.push_back(*std::move(channel));
  }
  // The invited buddy accepts, unless they did on an earlier run.
  const std::string& invitee = demo.volunteers[kBuddyInvitee].person_id();
  if (!Names(channels[kBuddies].member_ids(), invitee)) {
    network_v1::JoinChannelRequest join;
    join.set_channel_id(channels[kBuddies].channel_id());
    auto joined =
        context.network.Call(&NetworkStub::JoinChannel, join, volunteer_tokens[kBuddyInvitee]);
    if (!joined.ok()) {
      return NetworkStep(
          absl::StrCat(kDemoVolunteers[kBuddyInvitee].display_name, " joining the buddy channel"),
          joined.status());
    }
  }

  // What each channel holds already, by author and text.
  std::vector<std::map<std::pair<std::string, std::string>, std::string>> existing(channels.size());
  for (const Planned& plan : planned) {
    network_v1::ListMessagesRequest list;
    list.set_channel_id(channels[plan.channel].channel_id());
    auto messages = FetchPages(context.network, token_of(plan.owner), &NetworkStub::ListMessages,
                               list, /*all=*/true);
    if (!messages.ok()) {
      return NetworkStep(absl::StrCat("reading the ", plan.key, " channel"), messages.status());
    }
    for (const network_v1::Message& message : messages->messages()) {
      existing[plan.channel][{message.author_id(), message.body()}] = message.message_id();
    }
  }
  std::map<absl::string_view, std::string> posted;  // key -> message id
  for (const DemoPost& post : kDemoPosts) {
    auto found = existing[post.channel].find({id_of(post.author), std::string(post.body)});
    if (found != existing[post.channel].end()) {
      posted[post.key] = found->second;
      continue;
    }
    network_v1::PostMessageRequest request;
    request.set_channel_id(channels[post.channel].channel_id());
    request.set_body(std::string(post.body));
    if (!post.reply_to.empty()) request.set_reply_to_message_id(posted[post.reply_to]);
    request.set_client_message_id(RequestId(absl::StrCat("network:", post.key)));
    auto message = context.network.Call(&NetworkStub::PostMessage, request, token_of(post.author));
    if (!message.ok()) {
      return NetworkStep(absl::StrCat("posting ", post.key), message.status());
    }
    posted[post.key] = message->message().message_id();
  }

  // The channels as they are now, for the summary.
  for (const Planned& plan : planned) {
    network_v1::GetChannelRequest get;
    get.set_channel_id(channels[plan.channel].channel_id());
    auto channel = context.network.Call(&NetworkStub::GetChannel, get, token_of(plan.owner));
    if (!channel.ok()) {
      return NetworkStep(absl::StrCat("reading the ", plan.key, " channel"), channel.status());
    }
    channels[plan.channel] = channel->channel();
  }
  demo.channels = std::move(channels);
  return absl::OkStatus();
}

absl::StatusOr<SeededDemo> Seed(Context& context, const std::string& secret) {
  SeededDemo demo;
  TokenClaims admin{std::string(kAdminSubject), "", CallerRole::kAdmin, kSeedingTokenLifetime};

  v1::CreateOrganizationRequest create_org;
  create_org.set_display_name(std::string(kOrganizationName));
  create_org.set_request_id(RequestId("organization"));
  auto org = context.directory.Call(&Stub::CreateOrganization, create_org,
                                    MintToken(secret, admin, absl::Now()));
  if (!org.ok()) return InStep("creating the organisation", org.status());
  demo.organization = org->organization();
  const std::string& org_id = demo.organization.organization_id();

  // SPEC §8: an admin token whose org claim is the new organisation creates its first
  // coordinator; from then on the coordinator creates everyone else.
  admin.organization_id = org_id;
  auto coordinator =
      CreateDemoPerson(context, MintToken(secret, admin, absl::Now()), kDemoCoordinator);
  if (!coordinator.ok()) return coordinator.status();
  demo.coordinator = *coordinator;
  demo.coordinator_token = Mint(secret, v1::ROLE_COORDINATOR, demo.coordinator.person_id(), org_id,
                                kPrintedTokenLifetime);
  demo.tokens_expire = absl::Now() + kPrintedTokenLifetime;

  for (const DemoPerson& supervisor : kDemoSupervisors) {
    auto created = CreateDemoPerson(context, demo.coordinator_token, supervisor);
    if (!created.ok()) return created.status();
    demo.supervisors.push_back(*created);
  }
  for (const DemoPerson& volunteer : kDemoVolunteers) {
    auto created = CreateDemoPerson(context, demo.coordinator_token, volunteer);
    if (!created.ok()) return created.status();
    // Assigning twice is harmless, so a re-run needs no check first.
    v1::AssignSupervisorRequest assign;
    assign.set_volunteer_id(created->person_id());
    assign.set_supervisor_id(demo.supervisors[volunteer.supervisor].person_id());
    auto assigned = context.directory.Call(&Stub::AssignSupervisor, assign, demo.coordinator_token);
    if (!assigned.ok()) {
      return InStep(absl::StrCat("assigning a supervisor to ", volunteer.display_name),
                    assigned.status());
    }
    demo.volunteers.push_back(assigned->person());
  }

  // Consent is the volunteer's alone to give, so each volunteer's own token sets it.
  for (size_t i = 0; i < demo.volunteers.size(); ++i) {
    const DemoConsent& wanted = kDemoVolunteers[i].consent;
    v1::SetConsentRequest set;
    set.mutable_consent()->set_risk_monitoring(wanted.risk_monitoring);
    set.mutable_consent()->set_share_scores_with_supervisor(wanted.share_scores_with_supervisor);
    set.mutable_consent()->set_research_export(wanted.research_export);
    std::string token = Mint(secret, v1::ROLE_VOLUNTEER, demo.volunteers[i].person_id(), org_id,
                             kSeedingTokenLifetime);
    auto consent = context.directory.Call(&Stub::SetConsent, set, token);
    if (!consent.ok()) {
      return InStep(absl::StrCat("setting the consent of ", kDemoVolunteers[i].display_name),
                    consent.status());
    }
    demo.consents.push_back(consent->consent());
  }
  if (auto status = SeedPartnerKey(context, demo); !status.ok()) return status;

  demo.supervisor_token = Mint(secret, v1::ROLE_SUPERVISOR, demo.supervisors[0].person_id(), org_id,
                               kPrintedTokenLifetime);
  demo.volunteer_token = Mint(secret, v1::ROLE_VOLUNTEER, demo.volunteers[0].person_id(), org_id,
                              kPrintedTokenLifetime);
  if (absl::Status status = ImportCheckinHistory(context, secret, demo); !status.ok()) {
    return status;
  }
  if (absl::Status status = SeedSupervision(context, secret, demo); !status.ok()) return status;
  if (absl::Status status = SeedNetwork(context, secret, demo); !status.ok()) return status;
  return demo;
}

std::string ConsentSummary(const v1::Consent& consent) {
  std::vector<absl::string_view> given;
  if (consent.risk_monitoring()) given.push_back("risk-monitoring");
  if (consent.share_scores_with_supervisor()) given.push_back("share-scores");
  if (consent.research_export()) given.push_back("research-export");
  return given.empty() ? "none" : absl::StrJoin(given, ", ");
}

std::string CheckinSummary(const SeededDemo& demo) {
  if (!demo.checkins_imported.has_value()) {
    return "\nCheck-in history: skipped (the check-in service is not running).\n";
  }
  return absl::StrCat("\nCheck-in history: ", *demo.checkins_imported, " check-ins over about ",
                      kHistoryWeeks, " weeks (WHO-5, CBI, after-session pulses).\n",
                      kDemoVolunteers[kStrugglingVolunteer].display_name,
                      "'s show rising burnout and falling wellbeing; ",
                      kDemoVolunteers[kIncidentVolunteer].display_name,
                      " reported a critical incident last night; everyone else is well. A re-run "
                      "returns the same ones.\nWhen the alerts service runs, alerts about them "
                      "follow for their supervisor (the token below): peerwellctl alerts list\n");
}

std::string SupervisionSummary(const SeededDemo& demo) {
  std::map<std::string, std::string> names;
  for (const std::vector<v1::Person>* group : {&demo.supervisors, &demo.volunteers}) {
    for (const v1::Person& person : *group) names[person.person_id()] = person.display_name();
  }
  auto people = [&names](const google::protobuf::RepeatedPtrField<std::string>& ids) {
    std::vector<std::string> named;
    for (const std::string& id : ids) named.push_back(names.count(id) ? names[id] : id);
    return absl::StrJoin(named, ", ");
  };
  std::vector<supervision_v1::Session> sessions = demo.sessions;
  std::stable_sort(sessions.begin(), sessions.end(),
                   [](const supervision_v1::Session& a, const supervision_v1::Session& b) {
                     return a.start_time().seconds() < b.start_time().seconds();
                   });
  std::vector<std::vector<std::string>> rows;
  for (const supervision_v1::Session& session : sessions) {
    rows.push_back({session.session_id(), FormatTimestamp(session.start_time()),
                    SessionKindWord(session.kind()), people(session.supervisor_ids()),
                    people(session.participant_ids())});
  }
  std::string availability =
      demo.availability_set.empty()
          ? "The supervisors keep the availability they had."
          : absl::StrCat(absl::StrJoin(demo.availability_set, " and "),
                         demo.availability_set.size() == 1 ? " is" : " are",
                         " available Monday to Thursday, 09:00-17:00 their time.");
  return absl::StrCat(
      "\n",
      Wrap(absl::StrCat("Supervision: ", availability,
                        " The reflective practice group meets every other Wednesday (8 seats; "
                        "the other volunteers may join); one-to-ones follow in the coming weeks. "
                        "A re-run keeps what is already planned:"),
           ""),
      FormatTable({"SESSION", "START", "KIND", "SUPERVISORS", "PARTICIPANTS"}, rows));
}

std::string NetworkSummary(const SeededDemo& demo) {
  if (!demo.channels.has_value()) {
    return "\nPeer network: skipped (the peer network is not running).\n";
  }
  // The service lists people by id; the summary names them in the order the seed introduced
  // them, the coordinator first.
  std::vector<const v1::Person*> everyone = {&demo.coordinator};
  for (const v1::Person& volunteer : demo.volunteers) everyone.push_back(&volunteer);
  auto people = [&everyone](const network_v1::Channel& channel) {
    if (channel.kind() == network_v1::CHANNEL_KIND_ANNOUNCEMENT) return std::string("everyone");
    std::vector<std::string> named;
    for (const v1::Person* person : everyone) {
      if (Names(channel.member_ids(), person->person_id())) {
        named.push_back(person->display_name());
      } else if (Names(channel.invited_ids(), person->person_id())) {
        named.push_back(absl::StrCat(person->display_name(), " (invited)"));
      }
    }
    return absl::StrJoin(named, ", ");
  };
  std::vector<std::vector<std::string>> rows;
  for (const network_v1::Channel& channel : *demo.channels) {
    rows.push_back({channel.channel_id(), ChannelKindWord(channel.kind()),
                    absl::StrCat(channel.last_sequence()), channel.display_name(),
                    people(channel)});
  }
  return absl::StrCat(
      "\n",
      Wrap(absl::StrCat("Peer network: ", demo.coordinator.display_name(),
                        "'s welcome in the announcements, the volunteers' cohort group (",
                        kDemoVolunteers[kCohortInvited].display_name, " is invited and may join), ",
                        kDemoVolunteers[kBuddyInviter].display_name, " and ",
                        kDemoVolunteers[kBuddyInvitee].display_name,
                        " as buddies, and a direct conversation; each volunteer posted their own "
                        "messages. A re-run posts nothing twice. The volunteer below reads "
                        "them with: peerwellctl network channels"),
           ""),
      FormatTable({"CHANNEL", "KIND", "MESSAGES", "NAME", "PEOPLE"}, rows));
}

std::string HumanSummary(const SeededDemo& demo, absl::string_view gateway) {
  std::vector<std::vector<std::string>> rows;
  auto add = [&rows](const v1::Person& person, absl::string_view supervisor,
                     absl::string_view consent) {
    rows.push_back({person.person_id(), RoleWord(person.role()), person.display_name(),
                    person.timezone(), std::string(supervisor), std::string(consent)});
  };
  add(demo.coordinator, "-", "-");
  for (const v1::Person& supervisor : demo.supervisors) add(supervisor, "-", "-");
  for (size_t i = 0; i < demo.volunteers.size(); ++i) {
    add(demo.volunteers[i], demo.supervisors[kDemoVolunteers[i].supervisor].display_name(),
        ConsentSummary(demo.consents[i]));
  }
  std::string out =
      absl::StrCat("Demo organisation seeded (a re-run returns the same one).\n\n",
                   FormatFields(OrganizationFields(demo.organization)), "\n",
                   FormatTable({"ID", "ROLE", "NAME", "TIMEZONE", "SUPERVISOR", "CONSENT"}, rows),
                   CheckinSummary(demo), SupervisionSummary(demo), NetworkSummary(demo),
                   "\nTokens for local use, valid until ", HumanTime(demo.tokens_expire),
                   ". Use one with: export PEERWELL_TOKEN=<token>\n");
  auto token = [&out](absl::string_view role, const v1::Person& person, absl::string_view value) {
    absl::StrAppend(&out, "\n", role, " (", person.display_name(), "):\n", value, "\n");
  };
  token("coordinator", demo.coordinator, demo.coordinator_token);
  token("supervisor", demo.supervisors[0], demo.supervisor_token);
  token("volunteer", demo.volunteers[0], demo.volunteer_token);
  absl::StrAppend(&out, "\nA partner's API key (", kDemoPartnerName, ": ",
                  absl::StrJoin(demo.partner_key.scopes(), ", "), "), for peerwellctl --api-key "
                  "and docs/PARTNERS.md:\n",
                  demo.partner_key_secret.empty()
                      ? "  shown by the first seed only (the directory keeps just its hash); make "
                        "another with: peerwellctl apikey create NAME --scope ...\n"
                      : absl::StrCat(demo.partner_key_secret, "\n"));
  absl::StrAppend(&out, "\nThe dashboard in a browser, signed in (when the gateway runs at ", gateway,
                  "):\n  ", demo.supervisors[0].display_name(), ", supervisor:  ",
                  DashboardUrl(gateway, demo.supervisor_token), "\n  ",
                  demo.coordinator.display_name(), ", coordinator:  ",
                  DashboardUrl(gateway, demo.coordinator_token), "\nThe volunteers' app (open it "
                  "on a phone, or in a narrow window):\n  ", demo.volunteers[0].display_name(),
                  ", volunteer:  ", VolunteerAppUrl(gateway, demo.volunteer_token), "\n");
  return out;
}

// One JSON object: protobuf's JSON mapping for the organisation, people and consents (as every
// other --json output), with the tokens alongside.
absl::StatusOr<std::string> JsonSummary(const SeededDemo& demo) {
  auto organization = MessageToJson(demo.organization);
  if (!organization.ok()) return organization.status();
  std::vector<std::string> people;
  std::vector<const v1::Person*> everyone = {&demo.coordinator};
  for (const v1::Person& person : demo.supervisors) everyone.push_back(&person);
  for (const v1::Person& person : demo.volunteers) everyone.push_back(&person);
  for (const v1::Person* person : everyone) {
    auto json = MessageToJson(*person);
    if (!json.ok()) return json.status();
    people.push_back(*json);
  }
  std::vector<std::string> sessions;
  for (const supervision_v1::Session& session : demo.sessions) {
    auto json = MessageToJson(session);
    if (!json.ok()) return json.status();
    sessions.push_back(*json);
  }
  std::string channels = "null";
  if (demo.channels.has_value()) {
    std::vector<std::string> each;
    for (const network_v1::Channel& channel : *demo.channels) {
      auto json = MessageToJson(channel);
      if (!json.ok()) return json.status();
      each.push_back(*json);
    }
    channels = absl::StrCat("[", absl::StrJoin(each, ","), "]");
  }
  std::vector<std::string> consents;
  for (size_t i = 0; i < demo.volunteers.size(); ++i) {
    auto json = MessageToJson(demo.consents[i]);
    if (!json.ok()) return json.status();
    consents.push_back(absl::StrCat(JsonString(demo.volunteers[i].person_id()), ":", *json));
  }
  return absl::StrCat(
      "{\"organization\":", *organization, ",\"people\":[", absl::StrJoin(people, ","),
      "],\"consents\":{", absl::StrJoin(consents, ","),
      "},\"tokens\":{\"coordinator\":", JsonString(demo.coordinator_token),
      ",\"supervisor\":", JsonString(demo.supervisor_token),
      ",\"volunteer\":", JsonString(demo.volunteer_token),
      ",\"partnerApiKey\":",
      demo.partner_key_secret.empty() ? "null" : JsonString(demo.partner_key_secret),
      ",\"expireTime\":", JsonString(JsonTime(demo.tokens_expire)), "},\"checkinsImported\":",
      demo.checkins_imported.has_value() ? absl::StrCat(*demo.checkins_imported) : "null",
      ",\"supervisionSessions\":[", absl::StrJoin(sessions, ","),
      "],\"networkChannels\":", channels, "}");
}

}  // namespace

absl::Status RunDemoSeed(Context& context, const ParsedArgs& args) {
  auto secret = LoadSigningSecret();
  if (!secret.ok()) return secret.status();
  auto demo = Seed(context, *secret);
  if (!demo.ok()) return demo.status();
  if (!context.json) {
    std::cout << HumanSummary(*demo, GatewayUrl(args));
    return absl::OkStatus();
  }
  auto json = JsonSummary(*demo);
  if (!json.ok()) return json.status();
  std::cout << *json << "\n";
  return absl::OkStatus();
}

}  // namespace peerwell::ctl
