#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/alerts/alerts.h"
#include "services/alerts/alerts_store.h"
#include "services/alerts/risk_engine.h"
#include "services/alerts/risk_rules.h"
#include "services/common/audit_record.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/text_cipher.h"

namespace peerwell::alerts {

struct AlertFilter {
  std::string volunteer_id;        // empty: every volunteer the caller may see
  std::vector<AlertState> states;  // empty: any
  Priority min_priority = Priority::kUnspecified;
};

struct AlertPage {
  std::vector<Alert> alerts;
  std::string next_position;  // empty on the last page
};

// Everything the alerts service holds about a person as a volunteer (GDPR articles 15 and 20),
// each list oldest first.
struct PersonRecords {
  std::vector<Alert> alerts;  // in every state, resolution notes opened
  // The risk engine's own copy of their check-ins, which its rules judge them by.
  std::vector<CheckinEvent> risk_history;
  std::vector<Silence> silences;           // ended ones too, until deleted
  std::optional<absl::Time> last_checkin;  // what the missed-check-in sweep goes by
};

// Who sees what (SPEC §4): a volunteer their own alerts and profile; a supervisor the alerts of
// the volunteers assigned to them; a coordinator every alert of the organisation. Supervisors
// and coordinators see factor values only with the volunteer's share_scores_with_supervisor
// consent (factor names otherwise). Reads by anyone but the volunteer are audited. Supervisors
// and coordinators acknowledge and resolve; resolving a wellbeing alert needs an outcome, and
// the resolution note is sealed under the volunteer's data key before it is stored. Every alert
// returned to someone who may read it carries its resolution note, opened then (left out when
// it no longer opens); nothing opens a note for anyone else.
// Where the alerts service keeps volunteers' data keys, and the AAD label of resolution notes.
inline const DataKeyFamily kResolutionNoteKeys{"alerts", "peerwell resolution note"};

class AlertService {
 public:
  AlertService(AlertStore& store, VolunteerDirectory& directory, AuditSink& audit,
               TextCipher& cipher, const Clock& clock)
      : store_(store), directory_(directory), audit_(audit), cipher_(cipher), clock_(clock) {}

  absl::StatusOr<AlertPage> ListAlerts(const Caller& caller, const AlertFilter& filter,
                                       int page_size, const std::string& position);
  absl::StatusOr<Alert> GetAlert(const Caller& caller, const std::string& alert_id);
  // The alerts a WatchAlerts pass delivers, each as GetAlert gives it, or nullopt for one the
  // caller may not see (or that is gone): read together, in one round trip, and audited once
  // per volunteer in one more, as a page of ListAlerts is.
  absl::StatusOr<std::vector<std::optional<Alert>>> WatchedAlerts(
      const Caller& caller, const std::vector<std::string>& alert_ids);
  absl::StatusOr<Alert> AcknowledgeAlert(const Caller& caller, const std::string& alert_id);
  absl::StatusOr<Alert> ResolveAlert(const Caller& caller, const std::string& alert_id,
                                     Outcome outcome, const std::string& note);
  absl::StatusOr<RiskProfile> GetRiskProfile(const Caller& caller, const std::string& volunteer_id);
  absl::StatusOr<AlertPolicy> GetAlertPolicy(const Caller& caller);
  absl::StatusOr<AlertPolicy> UpdateAlertPolicy(const Caller& caller, const AlertPolicy& policy);

  absl::StatusOr<Silence> CreateSilence(const Caller& caller, const std::string& volunteer_id,
                                        absl::Time end_time, const std::string& reason);
  absl::StatusOr<std::vector<Silence>> ListSilences(const Caller& caller);
  absl::Status DeleteSilence(const Caller& caller, const std::string& silence_id);

  // The directory's export of a person (CheckPersonRecordsRequest: role service alone), in the
  // caller's organisation; empty lists for a person the service knows nothing about.
  absl::StatusOr<PersonRecords> ExportPerson(const Caller& caller, const std::string& person_id);

  // Erases what the service holds about a person (GDPR article 17), on the directory's
  // `person.erased`: as a volunteer, their data key first, then their alerts, the risk engine's
  // history, their silences and the events naming them; as a supervisor or coordinator, their id
  // from the alerts they handled and the silences they set, which stay (the volunteers'
  // records). Idempotent, and a run that failed part way is finished by running it again.
  absl::Status ErasePerson(const std::string& organization_id, const std::string& person_id);

 private:
  struct Access {
    bool visible = false;
    bool values = false;  // factor values, not only names
  };
  // An alert the caller may see, as stored, and what of it they may see.
  struct VisibleAlert {
    SealedAlert stored;
    Access access;
  };
  absl::StatusOr<Access> AccessTo(const Caller& caller, const std::string& volunteer_id);
  // AccessTo with the directory's answer about the volunteer at hand.
  absl::StatusOr<Access> AccessFrom(const Caller& caller, const std::string& volunteer_id,
                                    const absl::StatusOr<VolunteerFacts>& facts);
  AuditRecord ReadRecord(const Caller& caller, const std::string& volunteer_id, const char* rpc,
                         const absl::Status& outcome) const;
  absl::Status Audit(const Caller& caller, const std::string& volunteer_id, const char* rpc,
                     const absl::Status& outcome);
  // The alert if the caller may see it (NOT_FOUND otherwise), audited; its note still sealed.
  absl::StatusOr<VisibleAlert> Visible(const Caller& caller, const std::string& alert_id,
                                       const char* rpc);
  // A stored alert as one who may read it gets it: factor values only with `values`, the
  // resolution note opened (empty when it no longer opens). Only for alerts the caller may see.
  absl::StatusOr<Alert> Readable(const std::string& organization_id, SealedAlert stored,
                                 bool values);

  AlertStore& store_;
  VolunteerDirectory& directory_;
  AuditSink& audit_;
  TextCipher& cipher_;
  const Clock& clock_;
};

}  // namespace peerwell::alerts
