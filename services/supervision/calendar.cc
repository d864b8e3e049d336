#include "services/supervision/calendar.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/supervision/libical_support.h"

namespace peerwell::supervision {
namespace {

icaltimetype FloatingLocal(absl::Time time, const absl::TimeZone& zone) {
  return FloatingIcalTime(absl::ToCivilSecond(time, zone));
}

icaltimetype Utc(absl::Time time) {
  icaltimetype out = FloatingLocal(time, absl::UTCTimeZone());
  out.zone = icaltimezone_get_utc_timezone();
  return out;
}

// A time property in `tzid`'s local time (with its TZID), or in UTC when the zone is unknown.
icalproperty* TimeProperty(icalproperty* (*make)(icaltimetype), absl::Time time,
                           const std::string& tzid, bool zoned) {
  absl::TimeZone zone;
  if (!zoned || !absl::LoadTimeZone(tzid, &zone)) return make(Utc(time));
  icalproperty* property = make(FloatingLocal(time, zone));
  icalproperty_add_parameter(property, icalparameter_new_tzid(tzid.c_str()));
  return property;
}

icalproperty_status StatusOf(SessionState state) {
  switch (state) {
    case SessionState::kOffered:
      return ICAL_STATUS_TENTATIVE;
    case SessionState::kCancelled:
    case SessionState::kDeclined:
      return ICAL_STATUS_CANCELLED;
    default:
      return ICAL_STATUS_CONFIRMED;
  }
}

}  // namespace

std::string SessionKindTitle(SessionKind kind) {
  switch (kind) {
    case SessionKind::kIndividual:
      return "Individual supervision";
    case SessionKind::kGroup:
      return "Group supervision";
    case SessionKind::kReflectivePractice:
      return "Reflective practice";
    case SessionKind::kDebrief:
      return "Debrief";
    case SessionKind::kPeer:
      return "Peer session";
    default:
      return "Session";
  }
}

std::string CalendarIcs(const std::vector<Session>& sessions, absl::Time now) {
  std::lock_guard<std::mutex> lock(LibicalMutex());
  icalcomponent* calendar = icalcomponent_new_vcalendar();
  icalcomponent_add_property(calendar, icalproperty_new_version("2.0"));
  icalcomponent_add_property(calendar, icalproperty_new_prodid("-//PeerWell//Supervision//EN"));
  icalcomponent_add_property(calendar, icalproperty_new_method(ICAL_METHOD_PUBLISH));
  icalcomponent_add_property(calendar, icalproperty_new_calscale("GREGORIAN"));

  // One VTIMEZONE per zone the sessions use, as the iCalendar zone libical builds from the same
  // zone database, named by its IANA name so that DTSTART;TZID= finds it.
  // Each zone's rules are kept from its first session on: the zone database's history back to
  // the 1890s would make the feed many times longer than its events.
  std::map<std::string, absl::Time> first_start;
  for (const Session& session : sessions) {
    if (session.timezone.empty()) continue;
    auto [it, added] = first_start.try_emplace(session.timezone, session.start_time);
    if (!added) it->second = std::min(it->second, session.start_time);
  }
  std::set<std::string> zoned;
  for (const Session& session : sessions) {
    if (session.timezone.empty() || zoned.count(session.timezone) > 0) continue;
    icaltimezone* zone = icaltimezone_get_builtin_timezone(session.timezone.c_str());
    if (zone == nullptr) continue;
    icalcomponent* component = icaltimezone_get_component(zone);
    if (component == nullptr) continue;
    icalcomponent* copy = icalcomponent_new_clone(component);
    icaltimezone_truncate_vtimezone(copy, Utc(first_start[session.timezone]), icaltime_null_time(),
                                    0);
    icalproperty* tzid = icalcomponent_get_first_property(copy, ICAL_TZID_PROPERTY);
    if (tzid != nullptr) icalproperty_set_tzid(tzid, session.timezone.c_str());
    icalcomponent_add_component(calendar, copy);
    zoned.insert(session.timezone);
  }

  for (const Session& session : sessions) {
    bool has_zone = zoned.count(session.timezone) > 0;
    icalcomponent* event = icalcomponent_new_vevent();
    std::string uid = absl::StrCat(session.id, "@peerwell");
    icalcomponent_add_property(event, icalproperty_new_uid(uid.c_str()));
    // RFC 5545: in a feed without METHOD, DTSTAMP is when the event was last revised, so the
    // feed's bytes change only with its sessions and the gateway's ETag lets clients skip it.
    absl::Time revised = session.update_time != absl::InfinitePast() ? session.update_time
                         : session.create_time != absl::InfinitePast() ? session.create_time
                                                                       : now;
    icalcomponent_add_property(event, icalproperty_new_dtstamp(Utc(revised)));
    icalcomponent_add_property(event, TimeProperty(icalproperty_new_dtstart, session.start_time,
                                                   session.timezone, has_zone));
    icalcomponent_add_property(event, TimeProperty(icalproperty_new_dtend, session.end_time(),
                                                   session.timezone, has_zone));
    std::string summary = session.title.empty() ? SessionKindTitle(session.kind) : session.title;
    icalcomponent_add_property(event, icalproperty_new_summary(summary.c_str()));
    std::string category = SessionKindTitle(session.kind);
    icalcomponent_add_property(event, icalproperty_new_categories(category.c_str()));
    icalcomponent_add_property(event, icalproperty_new_sequence(session.sequence));
    icalcomponent_add_property(event, icalproperty_new_status(StatusOf(session.state)));
    if (session.create_time != absl::InfinitePast()) {
      icalcomponent_add_property(event, icalproperty_new_created(Utc(session.create_time)));
    }
    if (session.update_time != absl::InfinitePast()) {
      icalcomponent_add_property(event, icalproperty_new_lastmodified(Utc(session.update_time)));
    }
    icalcomponent_add_component(calendar, event);
  }
  char* text = icalcomponent_as_ical_string_r(calendar);
  std::string out = text == nullptr ? "" : text;
  free(text);
  icalcomponent_free(calendar);
  return out;
}

}  // namespace peerwell::supervision
